#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm, wasm-bindgen glue, wasm-opt, JS wrapper, types.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

out=pkg
wasm=target/wasm32-unknown-unknown/release/wasm_event_store.wasm

cargo build --release --target wasm32-unknown-unknown --lib
rm -rf "$out"
mkdir -p "$out/wasm/node"
# --weak-refs: stores that are garbage collected release their wasm memory (FinalizationRegistry).
wasm-bindgen --target nodejs --weak-refs --out-dir "$out/wasm/node" "$wasm"
rm -f "$out"/wasm/node/*.d.ts   # the package's own index.d.ts is the public type surface
for bg in "$out"/wasm/*/wasm_event_store_bg.wasm; do
  tools/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers "$bg" -o "$bg.opt"
  mv "$bg.opt" "$bg"
done
cp pkg-template/package.json pkg-template/*.cjs pkg-template/*.mjs pkg-template/*.d.ts "$out/"
cp README.md "$out/README.md" 2>/dev/null || true
raw=$(wc -c < "$out/wasm/node/wasm_event_store_bg.wasm")
gz=$(gzip -9 -c "$out/wasm/node/wasm_event_store_bg.wasm" | wc -c)
echo "[build] pkg/ ready: wasm_event_store_bg.wasm ${raw} bytes, ${gz} bytes gzipped"
