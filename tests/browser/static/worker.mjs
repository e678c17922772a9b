// A module worker that uses the package, as an app that keeps its store off the main thread
// would. Importing web.mjs instantiates the wasm (top-level await), so "ready" is posted only
// once the package is usable; the page sends its job after that, so no message can be lost.
import { EventStore, EventStoreConflictError, IndexedDbStorage } from '/pkg/web.mjs';

// Appends, provokes a conflict and loads back; returns plain data for postMessage.
async function exercise(store, id) {
  const appended = await store.appendEvents(id, -1, [{ type: 'Placed', data: { total: 7 } }, { type: 'Paid' }]);
  let conflict = null;
  try {
    await store.appendEvents(id, 0, [{ type: 'Late' }]);
  } catch (error) {
    conflict = {
      isConflictError: error instanceof EventStoreConflictError,
      expectedVersion: error.expectedVersion,
      actualVersion: error.actualVersion,
    };
  }
  return {
    appended,
    conflict,
    version: await store.getCurrentVersion(id),
    events: await store.loadEvents(id),
  };
}

self.onmessage = async ({ data: { dbName } }) => {
  try {
    const memory = await exercise(new EventStore(), 'in-memory');
    const storage = await IndexedDbStorage.open(dbName);
    let indexedDb;
    try {
      indexedDb = await exercise(new EventStore({ storage }), 'in-indexeddb');
    } finally {
      storage.close();
    }
    self.postMessage({ ok: true, memory, indexedDb });
  } catch (error) {
    self.postMessage({ ok: false, error: String(error?.stack ?? error) });
  }
};

self.postMessage({ ready: true });
