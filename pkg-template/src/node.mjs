// What the Node entries need: the browser parts, FileStorage, and the wasm core with its bytes.
// esbuild bundles it into one CommonJS module, lib/node.cjs, which every Node entry requires, so
// that `import` and `require` (and the main, /node and /testing entries) share one set of classes.
//
// The core is wasm-bindgen's web glue (aliased as wasm-glue by scripts/build-pkg.sh) instantiated
// synchronously from the .wasm embedded in this bundle (esbuild's binary loader), not read from
// a file next to it: so a bundler that moves lib/node.cjs elsewhere (Next.js on the server) still
// finds its wasm.
import * as core from 'wasm-glue';
import wasmBytes from 'wasm-bytes';

core.initSync({ module: wasmBytes });

export { core };
export * from './browser.mjs';
export { FileStorage } from './adapters/file-storage/file-storage.mjs';
export { createServerApi } from './server/sync-handler.mjs';
