'use strict';
// Node entry (CommonJS). The ESM entry re-exports this module, so `import` and `require` in one
// process share one set of classes and `instanceof` holds across them.
const core = require('./wasm/node/wasm_event_store.js');
const { createApi } = require('./api.cjs');
const { randomFillSync } = require('node:crypto');

const { IndexedDbStorage } = require('./indexeddb-storage.cjs');

module.exports = {
  ...createApi(core, (n) => randomFillSync(new Uint8Array(n))),
  IndexedDbStorage,
};
