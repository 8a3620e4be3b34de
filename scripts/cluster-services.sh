#!/usr/bin/env bash
# Redis, RabbitMQ and nginx for the cluster topology's tests (.ci/run) and figures (make bench):
# install the Debian package where absent, start Redis and RabbitMQ when not running (loopback
# only, left running). nginx is only installed: the tests and the benchmark run their own, never
# the system service. Exits non-zero, saying what is missing, when something could not be had.
set -uo pipefail
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
rabbit_ready() { rabbitmq-diagnostics -q ping >/dev/null 2>&1 && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

apt_missing=()
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
command -v rabbitmq-server >/dev/null 2>&1 || apt_missing+=(rabbitmq-server)
have_nginx || apt_missing+=(nginx)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "==> installing ${apt_missing[*]} (Debian packages) for the cluster topology"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null \
    || echo "warning: could not install ${apt_missing[*]}; the cluster tests and figures will be skipped"
  # the nginx package may start the system service; the tests run their own
  if [[ " ${apt_missing[*]} " == *" nginx "* ]] && [ -s /run/nginx.pid ]; then nginx -s quit 2>/dev/null || true; fi
fi
if command -v redis-server >/dev/null 2>&1 && ! redis_ready; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' || true
  for _ in $(seq 30); do redis_ready && break; sleep 1; done
fi
if command -v rabbitmq-server >/dev/null 2>&1 && ! rabbit_ready; then
  echo "==> starting RabbitMQ"
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached || true
  for _ in $(seq 90); do rabbit_ready && break; sleep 1; done
  rabbit_ready || echo "warning: RabbitMQ is not reachable; the cluster tests and figures will be skipped"
fi

missing=()
redis_ready || missing+=("Redis on 127.0.0.1:6379")
rabbit_ready || missing+=("RabbitMQ on 127.0.0.1:5672")
have_nginx || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "cluster services missing: ${missing[*]}" >&2
  exit 1
fi
