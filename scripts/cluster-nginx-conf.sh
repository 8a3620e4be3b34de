#!/usr/bin/env bash
# Print the nginx configuration of the cluster topology (used by scripts/cluster.sh and by
# tests/e2e/test_cluster.py, so both run the same load balancer):
#
#   scripts/cluster-nginx-conf.sh PREFIX BIND RASA_LB_PORT "RASA_PORT..." [DESK_LB_PORT DESK_PORT]
#
# nginx runs in the foreground as a child of its caller (`nginx -c FILE -p PREFIX`), never as
# the system service; every file it writes (pid, logs, temp bodies) is under PREFIX.
# Round-robin across the Rasa processes, no sticky sessions: Rasa's Redis lock store is what
# keeps one conversation's turns in order whichever process a turn lands on. A process that
# refuses the connection (stopped, killed) is skipped and the request goes to the next one;
# a request already sent to a process that then dies is not replayed (POST is not idempotent).
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 PREFIX BIND RASA_LB_PORT \"RASA_PORT...\" [DESK_LB_PORT DESK_PORT]" >&2; exit 2; }
prefix=$1 bind=$2 rasa_lb=$3 rasa_ports=$4 desk_lb=${5:-} desk_port=${6:-}

# As root the master would otherwise hand the workers to `nobody`; run them as the caller.
[ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
cat <<CONF
daemon off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/nginx-error.log notice;

events { worker_connections 512; }

http {
  # No query strings in the log: Rasa's API token travels as ?token=.
  log_format cluster '\$remote_addr [\$time_local] "\$request_method \$uri" \$status upstream=\$upstream_addr rt=\$request_time';
  access_log $prefix/nginx-access.log cluster;
  client_body_temp_path $prefix/client_body;
  proxy_temp_path $prefix/proxy;
  fastcgi_temp_path $prefix/fastcgi;
  uwsgi_temp_path $prefix/uwsgi;
  scgi_temp_path $prefix/scgi;
  client_max_body_size 12m;

  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }

  upstream rasa {
CONF
for port in $rasa_ports; do
  echo "    server 127.0.0.1:$port max_fails=1 fail_timeout=10s;"
done
cat <<CONF
  }

  server {
    listen $bind:$rasa_lb;
    location / {
      proxy_pass http://rasa;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      # socket.io: websocket upgrades pass through (polling needs stickiness; use websocket)
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_connect_timeout 3s;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout;
    }
  }
CONF
if [ -n "$desk_lb" ] && [ -n "$desk_port" ]; then
cat <<CONF

  server {
    listen $bind:$desk_lb;
    location / {
      proxy_pass http://127.0.0.1:$desk_port;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      # the live view streams server-sent events
      proxy_buffering off;
      proxy_read_timeout 3600s;
    }
  }
CONF
fi
echo "}"
