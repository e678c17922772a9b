'use strict';
// wasm-event-store/server: the sync handler (Node, or any runtime with fetch's Request and
// Response) and toNodeListener for node:http. Use it with the EventStore of wasm-event-store/node.
const lib = require('./lib/node.cjs');

module.exports = lib.createServerApi(lib.core);
