'use strict';
// wasm-event-store/postgres: PostgresStorage, the StorageAdapter over PostgreSQL (Node), with
// `pg` (node-postgres) as a peer dependency. Use it with the EventStore of wasm-event-store/node.
const { PostgresStorage } = require('./lib/postgres.cjs');

module.exports = { PostgresStorage };
