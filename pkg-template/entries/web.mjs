// Browser entry (also for bundlers and Web Workers): an ES module a page can import directly
// from a static server. It loads the wasm with top-level await, so importing it is all the setup
// there is; a failed load fails the import. Bundlers need a target with top-level await (Vite 6
// and 7: build.target 'es2022'). For an explicit, catchable load: wasm-event-store/init.
import { init } from './init.mjs';

await init();

export { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage } from './init.mjs';
