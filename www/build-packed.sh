#!/usr/bin/env bash
# Builds the demo (www/dist) against the packed package, as a user of wasm-event-store would get it:
# npm pack ../pkg, install the tarball (--no-save: no tarball path or checksum ends up in
# package.json or package-lock.json), then vite build. Needs pkg/ (./scripts/build-pkg.sh).
set -euo pipefail
www=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$www/.." && pwd)
say() { printf '[www] %s\n' "$*"; }

if [ ! -f "$root/pkg/package.json" ] || [ ! -f "$root/pkg/web.mjs" ]; then
  echo "[www] $root/pkg is missing or incomplete: run ./scripts/build-pkg.sh first" >&2
  exit 1
fi

cd "$www"
# The demo's own dependencies (vite, playwright-core), exactly as package-lock.json pins them.
# npm ci also drops a previously installed wasm-event-store, which is reinstalled below anyway.
if [ ! -d node_modules/vite ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the demo's dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

pack_dir=$(mktemp -d -t wes-demo-pack-XXXXXX)
trap 'rm -rf "$pack_dir"' EXIT
npm pack "$root/pkg" --pack-destination "$pack_dir" --silent >/dev/null
tarball=$(ls "$pack_dir"/wasm-event-store-*.tgz)
say "installing $(basename "$tarball") (packed from pkg/)"
npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
node -e "const p=require('wasm-event-store/package.json'); console.log('[www] wasm-event-store ' + p.version + ' installed in www/node_modules')"

say "vite build"
npx --no-install vite build --logLevel warn
wasm=$(ls dist/assets/*.wasm 2>/dev/null | head -n 1 || true)
if [ -z "$wasm" ]; then
  echo "[www] no .wasm in dist/assets: the wasm URL of wasm-event-store was not bundled" >&2
  exit 1
fi
say "dist/ ready: $(find dist -type f | wc -l) files, $(basename "$wasm") $(wc -c < "$wasm") bytes"
