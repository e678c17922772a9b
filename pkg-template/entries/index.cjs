'use strict';
// Node entry (CommonJS). The ESM entry re-exports this module, so `import` and `require` in one
// process share one set of classes and `instanceof` holds across them.
const lib = require('./lib/node.cjs'); // the wasm is in it, instantiated as it loads
const { randomFillSync } = require('node:crypto');

module.exports = {
  ...lib.createApi(lib.core, (n) => randomFillSync(new Uint8Array(n))),
  IndexedDbStorage: lib.IndexedDbStorage,
};
