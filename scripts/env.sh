# Sourced by the other scripts: one place for the environment Makegood's processes share.
# Override any of these from your shell (e.g. MAKEGOOD_DATABASE_URL=postgresql://...).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$ROOT/var"
export MAKEGOOD_DATABASE_URL=${MAKEGOOD_DATABASE_URL:-sqlite:///$ROOT/var/makegood.db}
export MAKEGOOD_POLICY_PATH=${MAKEGOOD_POLICY_PATH:-$ROOT/policy}
export MAKEGOOD_ACTIONS_PORT=${MAKEGOOD_ACTIONS_PORT:-5055}
# Worker processes of the actions server (each with its own database pool and action threads).
export MAKEGOOD_ACTIONS_WORKERS=${MAKEGOOD_ACTIONS_WORKERS:-2}
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
# Network hardening (docs/security.md). Secrets: set them yourself in production; otherwise a
# random one is made once into var/ (mode 0600) so `make run` works out of the box.
#   MAKEGOOD_RASA_TOKEN     Rasa's HTTP API (--auth-token): send ?token=... to /model, /conversations, /status
#   MAKEGOOD_ACTIONS_TOKEN  the actions server's shared secret (Rasa sends it as ?token=, endpoints.yml)
#   MAKEGOOD_IDENTITY_SECRET  signs the customer tokens that bind a chat to a customer (docs/identity.md)
export MAKEGOOD_RASA_TOKEN=${MAKEGOOD_RASA_TOKEN:-$( f="$ROOT/var/rasa-token"; [ -s "$f" ] || ( umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$f" ); cat "$f" )}
export MAKEGOOD_ACTIONS_TOKEN=${MAKEGOOD_ACTIONS_TOKEN:-$( f="$ROOT/var/actions-token"; [ -s "$f" ] || ( umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$f" ); cat "$f" )}
export MAKEGOOD_IDENTITY_SECRET=${MAKEGOOD_IDENTITY_SECRET:-$( f="$ROOT/var/identity-secret"; [ -s "$f" ] || ( umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$f" ); cat "$f" )}
# Browser origins allowed to call Rasa (CORS and socket.io), comma or space separated.
export MAKEGOOD_CORS_ORIGINS=${MAKEGOOD_CORS_ORIGINS:-http://localhost:8000 http://127.0.0.1:8000}
# A customer message longer than this gets a polite "too long" reply instead of a model run.
export MAKEGOOD_MAX_MESSAGE_CHARS=${MAKEGOOD_MAX_MESSAGE_CHARS:-5000}
# Where every server listens. Keep loopback unless a TLS proxy is in front (docs/security.md).
export MAKEGOOD_BIND=${MAKEGOOD_BIND:-127.0.0.1}
