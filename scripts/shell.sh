#!/usr/bin/env bash
# `make shell`: chat with the bot in this terminal, with the actions server running.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
makegood db upgrade >/dev/null
makegood db seed-demo >/dev/null
rasa run actions --actions actions --port "$MAKEGOOD_ACTIONS_PORT" > var/actions.log 2>&1 &
actions=$!
trap 'kill $actions 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fsS -o /dev/null "http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT/health" && break; sleep 1; done
echo "Try: 'my order MG-10421 arrived smashed'. Demo orders: makegood db seed-demo --list. Type /stop to quit."
rasa shell --model "$MAKEGOOD_MODEL" --endpoints rasa_project/endpoints.yml
