#!/usr/bin/env bash
# `make run`: prepare the database, start the actions server and the Rasa server, and
# say how to talk to them. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

pids=()
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() {  # url, name, seconds
  local url=$1 name=$2 limit=${3:-120} waited=0
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    sleep 1; waited=$((waited + 1))
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "error: the $name stopped while starting; see var/*.log" >&2; exit 1; }; done
    [ "$waited" -lt "$limit" ] || { echo "error: the $name did not start within ${limit}s; see var/*.log" >&2; exit 1; }
  done
}

echo "==> database: ${MAKEGOOD_DATABASE_URL%%\?*}"
makegood db upgrade
makegood db seed-demo

echo "==> starting the actions server on $MAKEGOOD_BIND:$MAKEGOOD_ACTIONS_PORT ($MAKEGOOD_ACTIONS_WORKERS workers; token required; log: var/actions.log)"
python -m makegood_rasa.action_server --actions actions --host "$MAKEGOOD_BIND" --port "$MAKEGOOD_ACTIONS_PORT" \
  > var/actions.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT/health" "actions server"

echo "==> starting the Rasa server on $MAKEGOOD_BIND:$MAKEGOOD_RASA_PORT (REST and socket.io; API needs the token; log: var/rasa.log)"
read -r -a cors_origins <<< "${MAKEGOOD_CORS_ORIGINS//,/ }"
rasa run --model "$MAKEGOOD_MODEL" --endpoints rasa_project/endpoints.yml \
  --credentials rasa_project/credentials.yml --port "$MAKEGOOD_RASA_PORT" \
  --enable-api --auth-token "$MAKEGOOD_RASA_TOKEN" --interface "$MAKEGOOD_BIND" \
  --cors "${cors_origins[@]}" > var/rasa.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_RASA_PORT/status?token=$MAKEGOOD_RASA_TOKEN" "Rasa server" 300

export MAKEGOOD_DESK_PORT=${MAKEGOOD_DESK_PORT:-8000}
echo "==> starting the agent desk on :$MAKEGOOD_DESK_PORT (log: var/desk.log)"
# The demo chat page lets you pick which demo customer you are (docs/identity.md); a real
# website signs its own customer in instead, so production leaves MAKEGOOD_DEMO_SIGN_IN unset.
MAKEGOOD_RASA_URL="http://127.0.0.1:$MAKEGOOD_RASA_PORT" MAKEGOOD_DEMO_SIGN_IN=${MAKEGOOD_DEMO_SIGN_IN:-1} \
  python -m makegood.desk --host "$MAKEGOOD_BIND" --port "$MAKEGOOD_DESK_PORT" > var/desk.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_DESK_PORT/health" "agent desk"

echo
echo "Demo accounts for the agent desk (change them before real use):"
makegood users seed-demo

cat <<MSG

Makegood is running.
  Agent desk:       http://localhost:$MAKEGOOD_DESK_PORT  (sign in with an account above)
  Customer chat:    http://localhost:$MAKEGOOD_DESK_PORT/chat  (pick a demo customer; play the customer in one tab)
  Live inbox:       http://localhost:$MAKEGOOD_DESK_PORT/live  (the agent's side: claim a handed-over chat and answer)
  Talk to the bot over REST, signed in as demo customer C-1001 (docs/identity.md; source scripts/env.sh first):
    curl -s localhost:$MAKEGOOD_RASA_PORT/webhooks/rest/webhook \\
      -d '{"sender": "demo-1", "message": "the dinner set from order MG-10422 arrived smashed",
           "metadata": {"customer_token": "'\$(makegood customers token C-1001)'"}}'
  Rasa's HTTP API needs the token (var/rasa-token unless MAKEGOOD_RASA_TOKEN is set), e.g.
    curl -s "localhost:$MAKEGOOD_RASA_PORT/status?token=\$(cat var/rasa-token)"
  Or chat in the terminal instead: stop this (Ctrl-C) and run make shell
  Proposals land in the ledger: makegood ledger list
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "error: a server stopped unexpectedly; see var/actions.log and var/rasa.log" >&2
exit 1
