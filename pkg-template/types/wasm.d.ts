/**
 * wasm-event-store/wasm: the .wasm file. A bundler set to emit it (esbuild --loader:.wasm=file,
 * Rollup's plugin-url) makes this import its URL, for init() of wasm-event-store/init.
 */
declare const url: string;
export default url;
