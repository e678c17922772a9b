// A short tour of wasm-event-store in Node: append, load, hit a conflict, handle it.
import { EventStore, EventStoreConflictError } from '../pkg/index.mjs';

const store = new EventStore();
const log = (...args) => console.log('  ', ...args);

console.log('1. A new stream is appended with expectedVersion -1');
let version = await store.appendEvents('order-1', -1, [
  { type: 'OrderPlaced', data: { total: 42 } },
  { type: 'ItemAdded', data: { sku: 'tea', qty: 2 } },
]);
log('order-1 is now at version', version);

console.log('2. Loading rebuilds state from the log');
for (const event of await store.loadEvents('order-1')) {
  log(`v${event.version} ${event.type} ${JSON.stringify(event.data)} at ${event.occurredOn}`);
}

console.log('3. Two writers both read version', version, 'and both try to append');
const results = await Promise.allSettled([
  store.appendEvents('order-1', version, [{ type: 'OrderShipped', data: { carrier: 'post' } }]),
  store.appendEvents('order-1', version, [{ type: 'OrderCancelled', data: { reason: 'changed mind' } }]),
]);
for (const result of results) {
  if (result.status === 'fulfilled') log('appended, version', result.value);
  else log(`${result.reason.name}: ${result.reason.message}`);
}

console.log('4. The loser reloads what it missed and decides again');
const conflict = results.find((r) => r.status === 'rejected')?.reason;
if (conflict instanceof EventStoreConflictError) {
  const missed = await store.loadEvents('order-1', conflict.expectedVersion);
  log('missed:', missed.map((e) => e.type).join(', '));
  log('the order has shipped already, so the cancellation becomes a return request');
  version = await store.appendEvents('order-1', conflict.actualVersion, [{ type: 'ReturnRequested' }]);
  log('order-1 is now at version', version);
}

console.log('5. Bad input is a rejected Promise with a clear message');
try {
  await store.appendEvents('order-1', version, [{ type: 'Oops', data: { amount: 10n } }]);
} catch (error) {
  log(`${error.name} [${error.code}]: ${error.message}`);
}
log('final version:', await store.getCurrentVersion('order-1'));
