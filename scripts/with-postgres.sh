#!/usr/bin/env bash
# Runs a command with a private, throwaway PostgreSQL server on 127.0.0.1, for the PostgreSQL
# tests, benchmarks and demo:
#
#   scripts/with-postgres.sh node --test tests/...      # the command sees WES_TEST_DATABASE_URL
#
# initdb into a new temporary directory (as the `postgres` user when run as root: the server
# refuses to run as root), start on a free port, create the database `wes`, run the command, and
# stop the server and delete the directory afterwards, also when the command fails (a trap).
# The command also gets WES_PG_CTL, the pg_ctl command line of this cluster (for the fault tests:
# "$WES_PG_CTL restart -m fast"). With WES_TEST_DATABASE_URL already set, that server is used
# and nothing is started (WES_PG_CTL is then unset: the fault tests that restart the server
# skip). Needs Debian's postgresql server binaries (scripts/setup.sh --postgres installs them).
set -euo pipefail

if [ -n "${WES_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "[with-postgres] no PostgreSQL server binaries under /usr/lib/postgresql: run ./scripts/setup.sh --postgres" >&2
  exit 1
fi

dir=$(mktemp -d -t wes-pg-XXXXXX)
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_server() { runuser -u postgres -- "$@"; }
  ctl="runuser -u postgres -- $bin/pg_ctl -D $dir/data -l $dir/server.log -w"
else
  as_server() { "$@"; }
  ctl="$bin/pg_ctl -D $dir/data -l $dir/server.log -w"
fi

stop() {
  as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

port=$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
as_server "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync stays on (the default): benchmarks measure real commits. The socket lives in the
# cluster's own directory; clients use TCP on 127.0.0.1.
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
CONF
as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres wes

export WES_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/wes"
export WES_PG_CTL="$ctl"
echo "[with-postgres] PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)" >&2
"$@"
