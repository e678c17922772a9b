// Browser entry (also for bundlers and Web Workers): an ES module a page can import directly
// from a static server. It instantiates the wasm with top-level await, so importing it is all
// the setup there is. Bundlers need a target with top-level await (Vite: build.target 'es2022').
import init, * as core from './wasm/web/wasm_event_store.js';
import { createApi, EventStoreError, EventStoreConflictError, IndexedDbStorage } from './lib/browser.mjs';

await init({ module_or_path: new URL('./wasm/web/wasm_event_store_bg.wasm', import.meta.url) });

const api = createApi(core, (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));

export const { EventStore } = api;
export { EventStoreError, EventStoreConflictError, IndexedDbStorage };
