export * from './index';

/**
 * Loads and instantiates the wasm from `input` (a URL or a path string, a URL, a Response or a
 * Promise of one, the bytes, or a compiled WebAssembly.Module; by default the .wasm next to the
 * module, which `wasm-event-store/wasm` also names for bundlers). Rejects with an EventStoreError
 * with code 'NOT_INITIALIZED' (a 404, offline without a cache); stores made before it resolves
 * throw that too.
 */
export function init(input?: WasmSource): Promise<void>;

/** Where init() takes the wasm from. */
export type WasmSource =
  | string
  | URL
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module
  | { arrayBuffer(): Promise<ArrayBuffer> } // a Response
  | PromiseLike<{ arrayBuffer(): Promise<ArrayBuffer> }>;
