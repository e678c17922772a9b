// Everything in the package that needs no Node API. esbuild bundles it into lib/browser.mjs,
// which the browser entries (web.mjs, web-testing.mjs) import; bundling for the browser platform
// also fails the build if a Node module ever creeps in here.
export { createApi } from './core/event-store.mjs';
export { ERROR_CODES, EventStoreError, EventStoreConflictError, messageOf } from './core/errors.mjs';
export { IndexedDbStorage } from './adapters/indexeddb-storage.mjs';
export { createConformanceCases } from './testing/conformance.mjs';
