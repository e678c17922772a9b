// Browser entry without top-level await: for bundlers that have none, and for apps that must
// catch a failed wasm load (an offline-first app started without a cached .wasm). Nothing works
// until `await init()`; wasm-event-store/web is this entry with the init() done for you.
import initWasm, * as core from './wasm/web/wasm_event_store.js';
import { createApi, EventStoreError, EventStoreConflictError, IndexedDbStorage, messageOf } from './lib/browser.mjs';

let loaded = false;
let loading; // { input, promise } of the load in flight

function ready() {
  if (!loaded) {
    throw new EventStoreError('NOT_INITIALIZED', 'wasm-event-store is not initialised yet: await init() from ' +
      "'wasm-event-store/init' before making a store (or import 'wasm-event-store/web', which does it itself)");
  }
}

const api = createApi(core, (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)), ready);

/** The rejection of a failed load, naming what was tried and, in Node, the entry to use. */
function notLoaded(error, input) {
  const what = input === undefined ? 'the .wasm next to this module' : typeof input === 'string' || input instanceof URL ? String(input) : 'the given module';
  const inNode = typeof globalThis.process?.versions?.node === 'string'
    ? "; this is the browser entry: in Node, import 'wasm-event-store' or 'wasm-event-store/node'"
    : '';
  return new EventStoreError('NOT_INITIALIZED', `cannot load wasm-event-store's wasm from ${what}: ${messageOf(error)}${inNode}`, { cause: error });
}

/**
 * Loads and instantiates the wasm from `input` (a URL or a path string, a URL, a Response, the
 * bytes, or a compiled WebAssembly.Module; by default the .wasm next to this module). Resolves
 * once stores can be made; rejects with an EventStoreError with code 'NOT_INITIALIZED' that the
 * app can catch. After a success it resolves at once; after a failure it may be called again.
 * A call while another load is in flight waits for it, and tries its own input if that fails.
 */
export function init(input) {
  if (loaded) return Promise.resolve();
  if (loading !== undefined) {
    return input === loading.input ? loading.promise : loading.promise.then(() => undefined, () => init(input));
  }
  const promise = (async () => {
    await undefined; // `loading` is set before anything here can fail
    try {
      await initWasm({ module_or_path: input ?? new URL('./wasm/web/wasm_event_store_bg.wasm', import.meta.url) });
      loaded = true;
    } catch (error) {
      throw notLoaded(error, input);
    } finally {
      loading = undefined;
    }
  })();
  loading = { input, promise };
  return promise;
}

export const { EventStore, Replica, HttpRemote } = api;
export { EventStoreError, EventStoreConflictError, IndexedDbStorage };
