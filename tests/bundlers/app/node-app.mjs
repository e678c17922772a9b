// A Node program bundled whole (as Next.js bundles server code): the wasm must come along.
import { EventStore, EventStoreConflictError } from 'wasm-event-store';

const store = new EventStore();
const result = { appended: await store.appendEvents('cart-1', -1, [{ type: 'ItemAdded', data: { sku: 'apple' } }]) };
try {
  await store.appendEvents('cart-1', -1, [{ type: 'ItemAdded', data: { sku: 'pear' } }]);
} catch (error) {
  result.conflict = error instanceof EventStoreConflictError ? error.actualVersion : String(error);
}
result.loaded = (await store.loadEvents('cart-1')).map((event) => event.data.sku);
console.log(JSON.stringify(result));
