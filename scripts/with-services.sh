#!/usr/bin/env bash
# Run a command with throwaway PostgreSQL, Redis and S3 (moto) servers on loopback.
# Everything lives in one temporary folder and is stopped when the command ends.
# Exports DATABASE_URL (PostgreSQL), TEST_REDIS_URL and TEST_S3_ENDPOINT for the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
run=$(mktemp -d /tmp/par-services.XXXXXX)
chmod 755 "$run"
free_port() { "$here/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1)")
pg_port=$(free_port); redis_port=$(free_port); s3_port=$(free_port)
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  set +e
  [[ -n ${s3_pid:-} ]] && kill "$s3_pid" 2>/dev/null
  [[ -f $run/redis.pid ]] && kill "$(cat "$run/redis.pid")" 2>/dev/null
  [[ -d $run/pg ]] && as_pg "$pg_bin/pg_ctl" -D "$run/pg" -m immediate stop >/dev/null 2>&1
  # Servers a parallel test worker started for itself (tests/workers.py), if it did not stop them.
  for pid in "$run"/worker-*/redis/redis.pid; do [[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null; done
  for data in "$run"/worker-*/pg; do
    [[ -f $data/postmaster.pid ]] && as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$run"
}
trap cleanup EXIT INT TERM

mkdir -p "$run/pg" "$run/sock" "$run/redis"
[[ $(id -u) -eq 0 ]] && chown -R postgres "$run/pg" "$run/sock"
as_pg "$pg_bin/initdb" --no-sync -A trust -E UTF8 --locale=C.UTF-8 -U postgres -D "$run/pg" >/dev/null
# The tests need no durability and go faster without it. PG_DURABLE=1 (`make bench`) keeps
# the server's defaults, as production's PostgreSQL: each commit waits for its WAL to reach
# the disk, a cost every transaction pays there and a benchmark must count.
unsafe="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ ${PG_DURABLE:-} == 1 ]] && unsafe=""
as_pg "$pg_bin/pg_ctl" -D "$run/pg" -w -l "$run/sock/pg.log" start -o \
  "-p $pg_port -k $run/sock -c listen_addresses=127.0.0.1 $unsafe -c max_connections=200" >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$run/redis" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
("$here/.venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$run/moto.log" 2>&1) &
s3_pid=$!
for _ in $(seq 1 100); do
  if "$here/.venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $s3_port), 0.2)" 2>/dev/null; then break; fi
  sleep 0.1
done

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/par"
export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export TEST_S3_ENDPOINT="127.0.0.1:$s3_port"
export TEST_SERVICES_DIR="$run"
export TEST_PG_BIN="$pg_bin" TEST_PG_DATA="$run/pg" TEST_PG_PORT="$pg_port"
as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres par
"$@"
