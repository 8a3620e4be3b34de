#!/usr/bin/env bash
# `make cluster`: the production topology on one machine, on loopback ports
# (docs/operations.md#the-cluster-topology-make-cluster):
#
#   nginx :5005 ──round-robin──> Rasa :5006, Rasa :5007 ──> actions server :5055
#   nginx :8000 ──> agent desk :8010 (its copilot and chat proxy call Rasa through nginx :5005)
#   PostgreSQL :5432  ledger, customer store and Rasa's SQL tracker store (database makegood_cluster)
#   Redis :6379       Rasa's lock store (one conversation's turns in order across processes)
#   RabbitMQ :5672    Rasa's event broker (queue makegood_events)
#
# Starts PostgreSQL, Redis and RabbitMQ when they are not running (installing the Debian
# package when absent) and installs nginx when absent. Ctrl-C stops everything this script
# started, and only that: a PostgreSQL, Redis or RabbitMQ that was already running keeps running.
# `make run` is unchanged: one process, embedded SQLite.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# -- settings (override any from the shell) ------------------------------------------------------
PG_HOST=${MAKEGOOD_PG_HOST:-127.0.0.1}
PG_PORT=${MAKEGOOD_PG_PORT:-5432}
PG_USER=${MAKEGOOD_PG_USER:-postgres}
CLUSTER_DB=${MAKEGOOD_CLUSTER_DB:-makegood_cluster}
export MAKEGOOD_DATABASE_URL=${MAKEGOOD_CLUSTER_DATABASE_URL:-postgresql://$PG_USER@$PG_HOST:$PG_PORT/$CLUSTER_DB}
# nginx takes the ports `make run` uses, so the same URLs work; the processes sit behind it.
export MAKEGOOD_RASA_PORT=${MAKEGOOD_RASA_PORT:-5005}   # nginx -> the Rasa processes
RASA_PORTS=${MAKEGOOD_CLUSTER_RASA_PORTS:-5006 5007}    # one Rasa process per port
export MAKEGOOD_DESK_PORT=${MAKEGOOD_DESK_PORT:-8000}   # nginx -> the desk
DESK_BACKEND_PORT=${MAKEGOOD_CLUSTER_DESK_PORT:-8010}
export MAKEGOOD_REDIS_HOST=${MAKEGOOD_REDIS_HOST:-127.0.0.1}
export MAKEGOOD_REDIS_PORT=${MAKEGOOD_REDIS_PORT:-6379}
export MAKEGOOD_REDIS_DB=${MAKEGOOD_REDIS_DB:-1}
export MAKEGOOD_REDIS_KEY_PREFIX=${MAKEGOOD_REDIS_KEY_PREFIX:-makegood}
export MAKEGOOD_RABBITMQ_HOST=${MAKEGOOD_RABBITMQ_HOST:-127.0.0.1}
export MAKEGOOD_RABBITMQ_PORT=${MAKEGOOD_RABBITMQ_PORT:-5672}
export MAKEGOOD_RABBITMQ_USER=${MAKEGOOD_RABBITMQ_USER:-guest}
export MAKEGOOD_RABBITMQ_PASSWORD=${MAKEGOOD_RABBITMQ_PASSWORD:-guest}
export MAKEGOOD_RABBITMQ_QUEUE=${MAKEGOOD_RABBITMQ_QUEUE:-makegood_events}
START_TIMEOUT=${MAKEGOOD_CLUSTER_TIMEOUT:-300}  # seconds per server; two models load on two cores

source "$HERE/env.sh"
cd "$ROOT"
CLUSTER_DIR=$ROOT/var/cluster
mkdir -p "$CLUSTER_DIR"

say() { echo "==> $*"; }
die() { echo "error: $*" >&2; exit 1; }

# -- what we started, and how to stop it ---------------------------------------------------------
pids=()          # our child processes (servers, nginx)
stop_services=() # commands that stop a service this script started
cleanup() {
  trap - EXIT INT TERM
  echo
  say "stopping what make cluster started"
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  local i
  for ((i = ${#stop_services[@]} - 1; i >= 0; i--)); do
    eval "${stop_services[$i]}" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # Ctrl-C: exit, and the EXIT trap cleans up

wait_until() {  # name, seconds, command...: poll the command once a second
  local name=$1 limit=$2 waited=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    sleep 1; waited=$((waited + 1))
    [ "$waited" -lt "$limit" ] || die "$name did not come up within ${limit}s"
  done
}

wait_for() {  # url, name, log, seconds: our child process answers HTTP
  local url=$1 name=$2 log=$3 limit=${4:-$START_TIMEOUT} waited=0 pid
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    sleep 1; waited=$((waited + 1))
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || die "a server stopped while the $name was starting; see $log and var/cluster/*.log"
    done
    [ "$waited" -lt "$limit" ] || die "the $name did not answer within ${limit}s; see $log"
  done
}

apt_updated=0
install_debian() {  # package...: apt-get install what is absent
  say "installing Debian package(s): $* (absent on this machine)"
  [ "$(id -u)" -eq 0 ] || die "installing $* needs root: run as root, or install them yourself (apt-get install -y $*)"
  if [ "$apt_updated" -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# -- PostgreSQL ----------------------------------------------------------------------------------
pg_ready() { pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; }
if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  install_debian postgresql
  # trust auth on loopback, as the project's machines have it (like .ci/run)
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
  sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' "$hba"
fi
if pg_ready; then
  say "PostgreSQL: already running on $PG_HOST:$PG_PORT (left running on exit)"
else
  pg_version=$(ls /etc/postgresql | sort -V | tail -1)
  say "PostgreSQL: starting cluster $pg_version/main"
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || die "could not start PostgreSQL $pg_version/main"
  stop_services+=("pg_ctlcluster --skip-systemctl-redirect $pg_version main stop")
  wait_until "PostgreSQL" 30 pg_ready
fi
psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ -z "${MAKEGOOD_CLUSTER_DATABASE_URL:-}" ]; then
  psql_admin -c "select 1 from pg_database where datname = '$CLUSTER_DB'" | grep -q 1 \
    || { say "PostgreSQL: creating database $CLUSTER_DB"; psql_admin -c "create database \"$CLUSTER_DB\"" >/dev/null; }
fi

# -- Redis ---------------------------------------------------------------------------------------
redis_ready() { redis-cli -h "$MAKEGOOD_REDIS_HOST" -p "$MAKEGOOD_REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
command -v redis-server >/dev/null 2>&1 || install_debian redis-server
if redis_ready; then
  say "Redis: already running on $MAKEGOOD_REDIS_HOST:$MAKEGOOD_REDIS_PORT (left running on exit)"
else
  say "Redis: starting on $MAKEGOOD_REDIS_HOST:$MAKEGOOD_REDIS_PORT (log: var/cluster/redis.log)"
  redis-server --daemonize yes --bind "$MAKEGOOD_REDIS_HOST" --port "$MAKEGOOD_REDIS_PORT" \
    --dir "$CLUSTER_DIR" --logfile "$CLUSTER_DIR/redis.log" --pidfile "$CLUSTER_DIR/redis.pid" --save '' \
    || die "could not start redis-server; see var/cluster/redis.log"
  stop_services+=("redis-cli -h $MAKEGOOD_REDIS_HOST -p $MAKEGOOD_REDIS_PORT shutdown nosave")
  wait_until "Redis" 30 redis_ready
fi

# -- RabbitMQ ------------------------------------------------------------------------------------
rabbit_ready() { rabbitmq-diagnostics -q ping >/dev/null 2>&1 && tcp_open "$MAKEGOOD_RABBITMQ_HOST" "$MAKEGOOD_RABBITMQ_PORT"; }
command -v rabbitmq-server >/dev/null 2>&1 || install_debian rabbitmq-server
if rabbit_ready; then
  say "RabbitMQ: already running on $MAKEGOOD_RABBITMQ_HOST:$MAKEGOOD_RABBITMQ_PORT (left running on exit)"
else
  say "RabbitMQ: starting (loopback only; takes ~10 s)"
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$MAKEGOOD_RABBITMQ_PORT rabbitmq-server -detached \
    || die "could not start rabbitmq-server"
  stop_services+=("rabbitmqctl -q stop")
  wait_until "RabbitMQ" 90 rabbit_ready
fi

# -- nginx (the package only: we run our own nginx, not the system service) ----------------------
if ! command -v nginx >/dev/null 2>&1; then
  system_nginx_before=$([ -s /run/nginx.pid ] && echo 1 || echo 0)
  install_debian nginx
  # The package may start the system service on port 80; we did not ask for it.
  if [ "$system_nginx_before" = 0 ] && [ -s /run/nginx.pid ]; then
    say "nginx: stopping the system service the package started (make cluster runs its own)"
    nginx -s quit 2>/dev/null || true
  fi
fi

# -- the database, then our servers --------------------------------------------------------------
for port in "$MAKEGOOD_RASA_PORT" $RASA_PORTS "$MAKEGOOD_DESK_PORT" "$DESK_BACKEND_PORT" "$MAKEGOOD_ACTIONS_PORT"; do
  ! tcp_open 127.0.0.1 "$port" || die "port $port is already in use (is make run or another make cluster running?)"
done
say "database: ${MAKEGOOD_DATABASE_URL%%\?*}"
makegood db upgrade
makegood db seed-demo

actions_args=(--actions actions --host "$MAKEGOOD_BIND" --port "$MAKEGOOD_ACTIONS_PORT" --workers "$MAKEGOOD_ACTIONS_WORKERS")
say "actions server on $MAKEGOOD_BIND:$MAKEGOOD_ACTIONS_PORT ($MAKEGOOD_ACTIONS_WORKERS workers; log: var/cluster/actions.log)"
python -m makegood_rasa.action_server "${actions_args[@]}" > "$CLUSTER_DIR/actions.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT/health" "actions server" var/cluster/actions.log 120

read -r -a cors_origins <<< "${MAKEGOOD_CORS_ORIGINS//,/ }"
n=0
for port in $RASA_PORTS; do  # started together: each loads TensorFlow and the model
  n=$((n + 1))
  say "Rasa process $n on $MAKEGOOD_BIND:$port (log: var/cluster/rasa-$n.log)"
  rasa run --model "$MAKEGOOD_MODEL" --endpoints rasa_project/endpoints-cluster.yml \
    --credentials rasa_project/credentials.yml --port "$port" \
    --enable-api --auth-token "$MAKEGOOD_RASA_TOKEN" --interface "$MAKEGOOD_BIND" \
    --cors "${cors_origins[@]}" > "$CLUSTER_DIR/rasa-$n.log" 2>&1 &
  pids+=($!)
done
say "waiting for the Rasa processes to load the model (about a minute each on two cores)"
n=0
for port in $RASA_PORTS; do
  n=$((n + 1))
  wait_for "http://127.0.0.1:$port/status?token=$MAKEGOOD_RASA_TOKEN" "Rasa process $n" "var/cluster/rasa-$n.log"
done

say "nginx on $MAKEGOOD_BIND:$MAKEGOOD_RASA_PORT (Rasa, round-robin) and $MAKEGOOD_BIND:$MAKEGOOD_DESK_PORT (desk); config: var/cluster/nginx.conf"
"$HERE/cluster-nginx-conf.sh" "$CLUSTER_DIR" "$MAKEGOOD_BIND" "$MAKEGOOD_RASA_PORT" "$RASA_PORTS" \
  "$MAKEGOOD_DESK_PORT" "$DESK_BACKEND_PORT" > "$CLUSTER_DIR/nginx.conf"
nginx -t -q -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e "$CLUSTER_DIR/nginx-error.log" \
  || die "nginx refused var/cluster/nginx.conf (see above)"
nginx -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e "$CLUSTER_DIR/nginx-error.log" &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_RASA_PORT/" "nginx" var/cluster/nginx-error.log 30

say "agent desk on $MAKEGOOD_BIND:$DESK_BACKEND_PORT behind nginx :$MAKEGOOD_DESK_PORT (log: var/cluster/desk.log)"
MAKEGOOD_RASA_URL="http://127.0.0.1:$MAKEGOOD_RASA_PORT" MAKEGOOD_DEMO_SIGN_IN=${MAKEGOOD_DEMO_SIGN_IN:-1} \
  python -m makegood.desk --host "$MAKEGOOD_BIND" --port "$DESK_BACKEND_PORT" > "$CLUSTER_DIR/desk.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MAKEGOOD_DESK_PORT/health" "agent desk" var/cluster/desk.log 60

echo
echo "Demo accounts for the agent desk (change them before real use):"
makegood users seed-demo

rasa_direct=""
for port in $RASA_PORTS; do rasa_direct+=" http://127.0.0.1:$port"; done
cat <<MSG

Makegood is running as a cluster.
  Rasa, through nginx (round-robin): http://localhost:$MAKEGOOD_RASA_PORT
  Rasa processes, directly:         $rasa_direct
  Agent desk, through nginx:         http://localhost:$MAKEGOOD_DESK_PORT  (chat: /chat, live inbox: /live)
  Actions server:                    http://127.0.0.1:$MAKEGOOD_ACTIONS_PORT  (token required)
  Ledger + tracker store:            ${MAKEGOOD_DATABASE_URL%%\?*}
  Lock store:                        redis://$MAKEGOOD_REDIS_HOST:$MAKEGOOD_REDIS_PORT/$MAKEGOOD_REDIS_DB (key prefix $MAKEGOOD_REDIS_KEY_PREFIX)
  Event broker:                      amqp://$MAKEGOOD_RABBITMQ_HOST:$MAKEGOOD_RABBITMQ_PORT (queue $MAKEGOOD_RABBITMQ_QUEUE)
  Logs:                              var/cluster/ (nginx-access.log names the Rasa process of each request)
  Talk to the bot through nginx, signed in as demo customer C-1001 (source scripts/env.sh first):
    curl -s localhost:$MAKEGOOD_RASA_PORT/webhooks/rest/webhook \\
      -d '{"sender": "demo-1", "message": "the dinner set from order MG-10422 arrived smashed",
           "metadata": {"customer_token": "'\$(makegood customers token C-1001)'"}}'
  Proposals land in PostgreSQL: MAKEGOOD_DATABASE_URL=${MAKEGOOD_DATABASE_URL%%\?*} makegood ledger list
Press Ctrl-C to stop (PostgreSQL, Redis and RabbitMQ are stopped only if make cluster started them).
MSG
wait -n "${pids[@]}" || true
die "a server stopped unexpectedly; see var/cluster/*.log"
