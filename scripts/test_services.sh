#!/usr/bin/env bash
# Installs (from Debian's packages, when missing) and starts on loopback the servers the test suite
# needs, then prints `export` lines for their URLs. Idempotent: a server already running is reused.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Cannot install $*: not root and no sudo" >&2; return 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]} from Debian's packages..." >&2
  as_root apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# chromium (and a font) for the web UI tests in a real browser; nginx serves a real directory listing (WAF);
# wrk drives the API benchmark.
apt_install postgresql redis-server rabbitmq-server chromium fonts-liberation nginx wrk

# --- PostgreSQL -------------------------------------------------------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=${HARVEST_TEST_PGPORT:-55432}
PGDATA=${HARVEST_TEST_PGDATA:-/tmp/harvest-test-pg}
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
    start >/dev/null
fi
echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PGPORT/postgres"

# --- Redis ------------------------------------------------------------------------------------
REDIS_PORT=${HARVEST_TEST_REDIS_PORT:-56379}
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  mkdir -p /tmp/harvest-test-redis
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir /tmp/harvest-test-redis --logfile /tmp/harvest-test-redis/server.log >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"

# --- RabbitMQ ---------------------------------------------------------------------------------
AMQP_PORT=${HARVEST_TEST_AMQP_PORT:-56720}
RABBIT_BASE=/tmp/harvest-test-rabbit
export RABBITMQ_NODENAME=harvest-test@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$((AMQP_PORT + 1)) ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_MNESIA_BASE=$RABBIT_BASE/mnesia RABBITMQ_LOG_BASE=$RABBIT_BASE/log \
  RABBITMQ_PID_FILE=$RABBIT_BASE/pid RABBITMQ_ENABLED_PLUGINS_FILE=$RABBIT_BASE/enabled_plugins
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  mkdir -p "$RABBIT_BASE"
  [ "$(id -u)" = 0 ] && chown -R rabbitmq:rabbitmq "$RABBIT_BASE"
  rabbitmq-server -detached >/dev/null 2>&1
  rabbitmqctl -q wait "$RABBIT_BASE/pid" --timeout 120 >/dev/null
fi
echo "export TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT"
echo "export TEST_RABBITMQ_NODENAME=$RABBITMQ_NODENAME"
