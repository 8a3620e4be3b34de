#!/usr/bin/env bash
# `make lint`, and the first step of `make test`: ruff (lint and format), mypy (strict on
# src/makegood/policy/) and the import contracts (lint-imports). All the configuration is in
# pyproject.toml; why it is what it is: docs/architecture.md, "Habits".
#   scripts/lint.sh          check only; every check runs, the exit status says whether all passed
#   scripts/lint.sh --fix    `make format`: apply ruff's safe fixes, format, then report what is left
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
PATHS=(src actions tests bench scripts)

if [ "${1:-}" = "--fix" ]; then
  ruff check --fix-only --quiet "${PATHS[@]}"
  ruff format --quiet "${PATHS[@]}"
  ruff check --output-format concise "${PATHS[@]}" || { echo "make format: the findings above need a hand (a fix, or a noqa that names its rule and says why)"; exit 1; }
  exit 0
fi

failed=()
check() {
  local name=$1; shift
  echo "--> $name"
  "$@" || failed+=("$name")
}
check "ruff check" ruff check --output-format concise "${PATHS[@]}"
check "ruff format --check" ruff format --check --output-format concise "${PATHS[@]}"
check "mypy" mypy
check "lint-imports" lint-imports --no-logo --cache-dir var/cache/import-linter
if [ ${#failed[@]} -gt 0 ]; then
  (IFS=,; echo "lint failed: ${failed[*]} (make format applies ruff's fixes and the formatting)")
  exit 1
fi
echo "lint: ok"
