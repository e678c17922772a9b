#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm, wasm-bindgen glue, wasm-opt, the JS bundles,
# entry points and types.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

out=${PKG_OUT:-pkg}   # PKG_OUT: build elsewhere, e.g. for a side-by-side comparison
wasm=target/wasm32-unknown-unknown/release/wasm_event_store.wasm

cargo build --release --target wasm32-unknown-unknown --lib
rm -rf "$out"
mkdir -p "$out/wasm/web" "$out/lib"
# --weak-refs: stores that are garbage collected release their wasm memory (FinalizationRegistry).
# web: ES module glue with an async init() for the browser entries and an initSync() that the
# Node bundle below calls with the embedded bytes: one glue for both.
wasm-bindgen --target web --weak-refs --out-dir "$out/wasm/web" "$wasm"
rm -f "$out"/wasm/*/*.d.ts   # the package's own index.d.ts is the public type surface
for bg in "$out"/wasm/*/wasm_event_store_bg.wasm; do
  tools/node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers "$bg" -o "$bg.opt"
  mv "$bg.opt" "$bg"
done
# The JS around the wasm: ES modules in pkg-template/src, bundled by esbuild into one CommonJS
# module for the Node entries and one ES module for the browser entries (see ARCHITECTURE.md).
esbuild=tools/node_modules/.bin/esbuild
# The Node bundle takes the glue and the .wasm's bytes in (its init() default of a URL next to
# import.meta.url is never used there, hence the silenced warning).
"$esbuild" pkg-template/src/node.mjs --bundle --platform=node --format=cjs --target=node20 \
  --alias:wasm-glue="./$out/wasm/web/wasm_event_store.js" \
  --alias:wasm-bytes="./$out/wasm/web/wasm_event_store_bg.wasm" --loader:.wasm=binary \
  --log-override:empty-import-meta=silent --outfile="$out/lib/node.cjs" --log-level=warning
# PostgresStorage on its own (tools/bundle-postgres.mjs: `pg` stays the user's peer dependency).
node tools/bundle-postgres.mjs "$out"
"$esbuild" pkg-template/src/browser.mjs --bundle --platform=browser --format=esm --target=es2022 \
  --outfile="$out/lib/browser.mjs" --log-level=warning
# The entry points (one small file each) and the hand-written types, at the package root.
cp pkg-template/package.json pkg-template/entries/* pkg-template/types/*.d.ts "$out/"
cp README.md "$out/README.md" 2>/dev/null || true
raw=$(wc -c < "$out/wasm/web/wasm_event_store_bg.wasm")
gz=$(gzip -9 -c "$out/wasm/web/wasm_event_store_bg.wasm" | wc -c)
echo "[build] pkg/ ready: wasm_event_store_bg.wasm ${raw} bytes, ${gz} bytes gzipped"
