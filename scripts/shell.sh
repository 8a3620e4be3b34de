#!/usr/bin/env bash
# `make shell`: chat with the bot in this terminal, with the actions server running.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
makegood db upgrade >/dev/null
makegood db seed-demo >/dev/null
# The terminal has no website to sign you in: in this development chat an order number names
# its owner (MAKEGOOD_CHAT_IDENTITY=open). Never run the product that way (docs/identity.md).
MAKEGOOD_CHAT_IDENTITY=open python -m makegood_rasa.action_server --actions actions --host "$MAKEGOOD_BIND" --port "$MAKEGOOD_ACTIONS_PORT" \
  > var/actions.log 2>&1 &
actions=$!
trap 'kill $actions 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fsS -o /dev/null "http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT/health" && break; sleep 1; done
echo "Try: 'my order MG-10421 arrived smashed'. Demo orders: makegood db seed-demo --list. Type /stop to quit."
# Loopback only: rasa shell serves its own REST webhook on the port while you chat.
rasa shell --model "$MAKEGOOD_MODEL" --endpoints rasa_project/endpoints.yml --interface "$MAKEGOOD_BIND" \
  --port "$MAKEGOOD_RASA_PORT"
