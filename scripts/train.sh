#!/usr/bin/env bash
# Build the spaCy pipeline from code, then train the Rasa model. Called by make only when
# an input changed, so a second `make run` starts straight away.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
echo "==> building the spaCy pipeline (rule-based, from code)"
python -c "from makegood.nlp import save_pipeline, pipeline_is_current as c; p='models/spacy/makegood_en'; c(p) or save_pipeline(p)"
echo "==> training the Rasa model (about two minutes on two cores: MiniLM encodes the training data once; Rasa shows its own progress bars)"
rasa train --domain rasa_project/domain --config rasa_project/config.yml --data data \
  --out models --fixed-model-name makegood
echo "==> model ready: models/makegood.tar.gz"
