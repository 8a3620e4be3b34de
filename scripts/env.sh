# Sourced by the other scripts: one place for the environment Makegood's processes share.
# Override any of these from your shell (e.g. MAKEGOOD_DATABASE_URL=postgresql://...).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$ROOT/var"
export MAKEGOOD_DATABASE_URL=${MAKEGOOD_DATABASE_URL:-sqlite:///$ROOT/var/makegood.db}
export MAKEGOOD_POLICY_PATH=${MAKEGOOD_POLICY_PATH:-$ROOT/policy}
export MAKEGOOD_ACTIONS_PORT=${MAKEGOOD_ACTIONS_PORT:-5055}
export MAKEGOOD_RASA_PORT=${MAKEGOOD_RASA_PORT:-5005}
export MAKEGOOD_ACTION_URL=${MAKEGOOD_ACTION_URL:-http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT/webhook}
export MAKEGOOD_MODEL=${MAKEGOOD_MODEL:-$ROOT/models/makegood.tar.gz}
# TensorFlow's start-up chatter is not for users; real errors still surface.
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export LOG_LEVEL_LIBRARIES=${LOG_LEVEL_LIBRARIES:-ERROR}
export SQLALCHEMY_SILENCE_UBER_WARNING=1
# No telemetry or error reports leave the machine.
export RASA_TELEMETRY_ENABLED=false
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
RASA_FLAGS=(--domain "$ROOT/rasa_project/domain")
