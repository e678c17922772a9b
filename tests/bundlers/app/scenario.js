// What each bundled app does in the page: append, conflict, load, then report as plain data in
// document.body.dataset.result (the test reads it).
export async function scenario({ EventStore, EventStoreConflictError, IndexedDbStorage }) {
  const result = {};
  try {
    const store = new EventStore({ storage: await IndexedDbStorage.open('bundled') });
    result.appended = await store.appendEvents('cart-1', -1, [{ type: 'ItemAdded', data: { sku: 'apple' } }]);
    try {
      await store.appendEvents('cart-1', -1, [{ type: 'ItemAdded', data: { sku: 'pear' } }]);
      result.conflict = 'none';
    } catch (error) {
      result.conflict = error instanceof EventStoreConflictError ? error.actualVersion : String(error);
    }
    result.loaded = (await store.loadEvents('cart-1')).map((event) => event.data.sku);
  } catch (error) {
    result.error = String(error?.stack ?? error);
  }
  document.body.dataset.result = JSON.stringify(result);
}
