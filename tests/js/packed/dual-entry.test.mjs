// One process loading both the ESM and the CJS entry (as happens when an ESM app
// uses a CJS dependency of the package) must see one set of classes: otherwise
// `err instanceof EventStoreConflictError` silently fails across the boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from 'wasm-event-store';

const cjs = createRequire(import.meta.url)('wasm-event-store');

test('both entries export the very same classes', () => {
  assert.equal(typeof esm.EventStore, 'function');
  assert.equal(cjs.EventStore, esm.EventStore);
  assert.equal(cjs.EventStoreError, esm.EventStoreError);
  assert.equal(cjs.EventStoreConflictError, esm.EventStoreConflictError);
});

async function conflictFrom(Store) {
  const store = new Store();
  await store.appendEvents('dual', -1, [{ type: 'A' }]);
  return store.appendEvents('dual', 5, [{ type: 'B' }]).then(
    () => assert.fail('expected a conflict'),
    (err) => err,
  );
}

async function invalidFrom(Store) {
  return new Store().loadEvents('dual', 'not a version').then(
    () => assert.fail('expected invalid input'),
    (err) => err,
  );
}

for (const [from, to, name] of [
  [cjs, esm, 'a CJS store is instanceof the ESM classes'],
  [esm, cjs, 'an ESM store is instanceof the CJS classes'],
]) {
  test(`${name}`, async () => {
    const conflict = await conflictFrom(from.EventStore);
    assert.ok(conflict instanceof to.EventStoreConflictError);
    assert.ok(conflict instanceof to.EventStoreError);
    assert.ok(conflict instanceof Error);
    assert.equal(conflict.code, 'CONFLICT');
    assert.equal(conflict.actualVersion, 0);
    assert.equal(conflict.expectedVersion, 5);

    const invalid = await invalidFrom(from.EventStore);
    assert.ok(invalid instanceof to.EventStoreError);
    assert.ok(!(invalid instanceof to.EventStoreConflictError));
    assert.equal(invalid.code, 'INVALID_ARGUMENT');
  });
}

test('stores made through either entry work side by side and share nothing', async () => {
  const a = new esm.EventStore();
  const b = new cjs.EventStore();
  assert.ok(b instanceof esm.EventStore);
  assert.ok(a instanceof cjs.EventStore);
  assert.deepEqual(
    await Promise.all([a.appendEvents('x', -1, [{ type: 'A' }]), b.appendEvents('x', -1, [{ type: 'B' }])]),
    [0, 0],
  );
  assert.deepEqual((await a.loadEvents('x')).map((e) => e.type), ['A']);
  assert.deepEqual((await b.loadEvents('x')).map((e) => e.type), ['B']);
});
