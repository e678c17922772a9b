'use strict';
// The package as a CommonJS consumer sees it: require() must give a working store
// and error classes that instanceof works with.
const { test } = require('node:test');
const assert = require('node:assert/strict');

const pkg = require('wasm-event-store');
const { EventStore, EventStoreError, EventStoreConflictError } = pkg;

test('require() exposes the store and the error classes', () => {
  assert.equal(typeof EventStore, 'function');
  assert.equal(typeof EventStoreError, 'function');
  assert.equal(typeof EventStoreConflictError, 'function');
  assert.ok(EventStoreError.prototype instanceof Error);
  assert.ok(EventStoreConflictError.prototype instanceof EventStoreError);
  // Same object on a second require (module cache), so instanceof stays stable.
  assert.equal(require('wasm-event-store').EventStore, EventStore);
});

test('append, load and version round trip', async () => {
  const store = new EventStore();
  assert.equal(await store.getCurrentVersion('cjs-1'), null);
  assert.equal(
    await store.appendEvents('cjs-1', -1, [
      { type: 'Created', data: { name: 'x' }, metadata: { via: 'cjs' }, occurredOn: '2024-05-01T12:00:00+02:00' },
      { type: 'Renamed', data: { name: 'y' } },
    ]),
    1,
  );
  const loaded = await store.loadEvents('cjs-1');
  assert.equal(loaded.length, 2);
  assert.deepEqual(loaded[0], {
    aggregateId: 'cjs-1',
    version: 0,
    type: 'Created',
    data: { name: 'x' },
    metadata: { via: 'cjs' },
    eventId: loaded[0].eventId,
    occurredOn: '2024-05-01T10:00:00.000Z',
    position: 0,
  });
  assert.match(loaded[0].eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i);
  assert.deepEqual(
    (await store.loadEvents('cjs-1', 0)).map((e) => [e.version, e.type, e.data, e.metadata]),
    [[1, 'Renamed', { name: 'y' }, {}]],
  );
  assert.equal(await store.getCurrentVersion('cjs-1'), 1);
});

test('a conflict rejects with EventStoreConflictError and writes nothing', async () => {
  const store = new EventStore();
  await store.appendEvents('cjs-2', -1, [{ type: 'A' }]);
  await assert.rejects(store.appendEvents('cjs-2', -1, [{ type: 'B' }]), (err) => {
    assert.ok(err instanceof EventStoreConflictError);
    assert.ok(err instanceof EventStoreError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'EventStoreConflictError');
    assert.equal(err.code, 'CONFLICT');
    assert.equal(err.aggregateId, 'cjs-2');
    assert.equal(err.expectedVersion, -1);
    assert.equal(err.actualVersion, 0);
    assert.equal(
      err.message,
      'Conflict appending events for aggregate cjs-2. Expected version -1, but current version is 0.',
    );
    return true;
  });
  assert.deepEqual((await store.loadEvents('cjs-2')).map((e) => e.type), ['A']);
});

test('bad input rejects with an INVALID_ARGUMENT EventStoreError, not a synchronous throw', async () => {
  const store = new EventStore();
  let pending;
  assert.doesNotThrow(() => {
    pending = store.appendEvents('cjs-3', -1, [{ type: 'A' }, { type: 'B', data: 1n }]);
  });
  await assert.rejects(pending, (err) => {
    assert.ok(err instanceof EventStoreError);
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof EventStoreConflictError));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.ok(err.message.includes('events[1]'), err.message);
    return true;
  });
  assert.equal(await store.getCurrentVersion('cjs-3'), null);
  // The store still works.
  assert.equal(await store.appendEvents('cjs-3', -1, [{ type: 'A' }]), 0);
});
