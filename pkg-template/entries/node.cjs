'use strict';
// wasm-event-store/node: everything in the main entry plus the Node-only FileStorage.
const api = require('./index.cjs');
const { FileStorage } = require('./lib/node.cjs');

module.exports = { ...api, FileStorage };
