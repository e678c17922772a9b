// Node entry (ESM): the CommonJS entry's exports, so both entries share one module instance.
import api from './index.cjs';

export const { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage, Replica, HttpRemote } = api;
export default api;
