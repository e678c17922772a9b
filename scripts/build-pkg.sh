#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm, wasm-bindgen glue, wasm-opt, JS wrapper, types.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

out=${PKG_OUT:-pkg}   # PKG_OUT: build elsewhere, e.g. for a side-by-side comparison
wasm=target/wasm32-unknown-unknown/release/wasm_event_store.wasm

cargo build --release --target wasm32-unknown-unknown --lib
rm -rf "$out"
mkdir -p "$out/wasm/node" "$out/wasm/web" "$out/web"
# --weak-refs: stores that are garbage collected release their wasm memory (FinalizationRegistry).
# nodejs: CommonJS glue that loads the wasm synchronously (the Node entries, import and require).
# web: ES module glue with an async init (the browser/bundler/worker entry, web.mjs).
wasm-bindgen --target nodejs --weak-refs --out-dir "$out/wasm/node" "$wasm"
wasm-bindgen --target web --weak-refs --out-dir "$out/wasm/web" "$wasm"
rm -f "$out"/wasm/*/*.d.ts   # the package's own index.d.ts is the public type surface
for bg in "$out"/wasm/*/wasm_event_store_bg.wasm; do
  tools/node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers "$bg" -o "$bg.opt"
  mv "$bg.opt" "$bg"
done
cp pkg-template/package.json pkg-template/*.cjs pkg-template/*.mjs pkg-template/*.d.ts "$out/"
# The browser entry needs ES modules of the environment-free CommonJS files; they have no
# require() and end in one `module.exports = { ... };`, which becomes `export { ... };`.
for shared in api indexeddb-storage conformance; do
  if grep -q "require(" "pkg-template/$shared.cjs"; then
    echo "[build] pkg-template/$shared.cjs must not require() anything: the web entry imports it" >&2
    exit 1
  fi
  sed -e "/^'use strict';$/d" -e 's/^module\.exports = {\(.*\)};$/export {\1};/' \
    "pkg-template/$shared.cjs" > "$out/web/$shared.mjs"
  grep -q '^export {' "$out/web/$shared.mjs" || { echo "[build] no exports in $shared.cjs" >&2; exit 1; }
done
cp README.md "$out/README.md" 2>/dev/null || true
raw=$(wc -c < "$out/wasm/node/wasm_event_store_bg.wasm")
gz=$(gzip -9 -c "$out/wasm/node/wasm_event_store_bg.wasm" | wc -c)
echo "[build] pkg/ ready: wasm_event_store_bg.wasm ${raw} bytes, ${gz} bytes gzipped"
