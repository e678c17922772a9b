#!/usr/bin/env bash
# The demo: builds the package, builds the browser app in www/ against the packed tarball (as a
# user would install it), then serves www/dist on 127.0.0.1 with its sync server at /sync
# (www/demo-server.mjs: FileStorage in www/.data, or PostgreSQL when DATABASE_URL is set) and
# prints its URL.
#   ./scripts/demo.sh [--port N] [--no-serve]
#     --port N     port to serve on (default: $PORT or 5173; a busy port falls back to a free one)
#     --no-serve   build only (www/dist), e.g. to deploy it to a static host
# Run ./scripts/setup.sh first (make demo does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

port=${PORT:-5173}
serve=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    --no-serve) serve=0; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "[demo] unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[demo] %s\n' "$*"; }

say "building the package (pkg/)"
./scripts/build-pkg.sh

say "the Node tour (www/node-demo.mjs)"
node www/node-demo.mjs

say "building the browser demo (www/dist) against the packed package"
www/build-packed.sh

if [ "$serve" = 0 ]; then
  say "built www/dist; serve it with its sync server: node www/demo-server.mjs (or only the app: node www/serve.mjs)"
  exit 0
fi
exec node www/demo-server.mjs --port "$port"
