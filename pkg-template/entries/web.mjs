// Browser entry (also for bundlers and Web Workers): an ES module a page can import directly
// from a static server. It loads the wasm with top-level await, so importing it is all the setup
// there is; a failed load fails the import. Bundlers need a target with top-level await (Vite 6
// and 7: build.target 'es2022'). For an explicit, catchable load: wasm-event-store/init.
//
// The exports are made after the await (not re-exported from init.mjs), and package.json lists
// this file under sideEffects: either alone keeps a bundler from binding an import straight to
// init.mjs and skipping the init() here (tests/bundlers caught Vite and webpack doing so).
import * as entry from './init.mjs';

await entry.init();

export const { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage, Replica, HttpRemote } = entry;
