// For bundlers that do not see the .wasm by themselves (esbuild, Rollup): import the file for its
// URL and hand it to init(), whose failure the app could catch.
import { init, EventStore, EventStoreConflictError, IndexedDbStorage } from 'wasm-event-store/init';
import wasmUrl from 'wasm-event-store/wasm';
import { scenario } from './scenario.js';

init(wasmUrl).then(() => scenario({ EventStore, EventStoreConflictError, IndexedDbStorage }), (error) => {
  document.body.dataset.result = JSON.stringify({ error: `init: ${error.message}` });
});
