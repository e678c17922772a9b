// wasm-event-store/node (ESM): the CommonJS entry's exports, one module instance for both.
import api from './node.cjs';

export const { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage, FileStorage, Replica, HttpRemote } = api;
export default api;
