// Bad input: every method reports every failure as a rejected Promise whose
// reason is an EventStoreError with code 'INVALID_ARGUMENT' (never a synchronous
// throw), the message names the argument (and the index for events), and the
// store keeps working afterwards holding exactly what it held before.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore, EventStoreError, EventStoreConflictError } from 'wasm-event-store';

// One store shared by every case below: each case checks that the store's
// content is the same after the rejected call as before it.
const store = new EventStore();
const SEEDED = 'seeded'; // holds 2 events, version 1
const FRESH = 'fresh'; // never successfully written to
let baseline;

async function snapshot() {
  return {
    seeded: await store.loadEvents(SEEDED),
    seededVersion: await store.getCurrentVersion(SEEDED),
    fresh: await store.loadEvents(FRESH),
    freshVersion: await store.getCurrentVersion(FRESH),
  };
}

before(async () => {
  assert.equal(
    await store.appendEvents(SEEDED, -1, [
      { type: 'Seeded', data: { n: 1 }, metadata: { by: 'setup' } },
      { type: 'Seeded', data: { n: 2 } },
    ]),
    1,
  );
  baseline = await snapshot();
  assert.equal(baseline.freshVersion, null);
});

/**
 * Calls `call` and checks it returns a Promise rejected with an
 * INVALID_ARGUMENT EventStoreError whose message contains `mentions`,
 * then that the store holds what it held before.
 */
async function expectInvalid(call, mentions) {
  let promise;
  assert.doesNotThrow(() => {
    promise = call();
  }, 'the method must not throw synchronously');
  assert.ok(promise instanceof Promise, 'the method must return a Promise');
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof EventStoreError, `expected an EventStoreError, got ${describeValue(err)}`);
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof EventStoreConflictError), 'bad input is not a conflict');
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(typeof err.message, 'string');
    assert.ok(
      err.message.includes(mentions),
      `message ${JSON.stringify(err.message)} should mention ${JSON.stringify(mentions)}`,
    );
    return true;
  });
  assert.deepEqual(await snapshot(), baseline, 'a rejected call must leave the store unchanged');
}

// String() works on symbols and BigInts where template literals do not.
function describeValue(v) {
  if (v instanceof Date) return `Date(${v.getTime()})`;
  if (v instanceof Map) return 'Map';
  if (typeof v === 'function') return 'function';
  try {
    const s = JSON.stringify(v);
    if (s !== undefined && !(typeof v === 'number' && !Number.isFinite(v))) return `${typeof v} ${s}`;
  } catch {
    /* fall through */
  }
  return `${typeof v} ${String(v)}`;
}

const good = (n) => ({ type: 'Good', data: { n } });

const badAggregateIds = [undefined, null, 1, '', {}, Symbol('id'), ['a'], true, new String('a')];

describe('aggregateId that is not a non-empty string', () => {
  for (const id of badAggregateIds) {
    test(`appendEvents(${describeValue(id)})`, () =>
      expectInvalid(() => store.appendEvents(id, -1, [good(1)]), 'aggregateId'));
    test(`appendEvents(${describeValue(id)}) with an empty batch`, () =>
      expectInvalid(() => store.appendEvents(id, -1, []), 'aggregateId'));
    test(`loadEvents(${describeValue(id)})`, () => expectInvalid(() => store.loadEvents(id), 'aggregateId'));
    test(`getCurrentVersion(${describeValue(id)})`, () =>
      expectInvalid(() => store.getCurrentVersion(id), 'aggregateId'));
  }
  test('no arguments at all', async () => {
    await expectInvalid(() => store.appendEvents(), 'aggregateId');
    await expectInvalid(() => store.loadEvents(), 'aggregateId');
    await expectInvalid(() => store.getCurrentVersion(), 'aggregateId');
  });
});

describe('expectedVersion that is not an integer in [-1, 2^53-1]', () => {
  const badVersions = [-2, 1.5, -0.5, NaN, Infinity, -Infinity, '0', '-1', 2 ** 53, null, undefined, 1n, -1n, {}, [0], true];
  for (const v of badVersions) {
    // On the fresh stream -1 would be right, on the seeded one 1 would be:
    // a bad value must never be taken as either, nor reported as a conflict.
    test(`expectedVersion ${describeValue(v)} on a new stream`, () =>
      expectInvalid(() => store.appendEvents(FRESH, v, [good(1)]), 'expectedVersion'));
    test(`expectedVersion ${describeValue(v)} on an existing stream`, () =>
      expectInvalid(() => store.appendEvents(SEEDED, v, [good(1)]), 'expectedVersion'));
    test(`expectedVersion ${describeValue(v)} with an empty batch`, () =>
      expectInvalid(() => store.appendEvents(FRESH, v, []), 'expectedVersion'));
  }

  test('the bounds themselves are valid: 2^53-1 is a conflict, not bad input', async () => {
    // The stream is at -1, not at 2^53-1: that is a version mismatch.
    await assert.rejects(store.appendEvents(FRESH, Number.MAX_SAFE_INTEGER, [good(1)]), (err) => {
      assert.ok(err instanceof EventStoreConflictError, `expected a conflict, got ${err?.code}: ${err?.message}`);
      assert.equal(err.expectedVersion, Number.MAX_SAFE_INTEGER);
      assert.equal(err.actualVersion, -1);
      return true;
    });
    // -1 on the fresh stream with an empty batch is fine and writes nothing.
    assert.equal(await store.appendEvents(FRESH, -1, []), null);
    assert.deepEqual(await snapshot(), baseline);
  });
});

describe('events that is not an array', () => {
  const notArrays = [undefined, null, {}, 'x', 1, new Set([good(1)]), { length: 1, 0: good(1) }];
  for (const events of notArrays) {
    test(`events ${describeValue(events)}`, () =>
      expectInvalid(() => store.appendEvents(FRESH, -1, events), 'events'));
  }
});

describe('an event that is not valid rejects the whole batch', () => {
  const cyclicData = { a: 1 };
  cyclicData.self = cyclicData;
  const cyclicArray = [1];
  cyclicArray.push(cyclicArray);
  const cyclicMeta = { deep: { list: [] } };
  cyclicMeta.deep.list.push(cyclicMeta);
  const throwingGetter = () =>
    Object.defineProperty({ ok: 1 }, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter exploded');
      },
    });

  const badEvents = {
    // not a plain object
    'null event': null,
    'undefined event': undefined,
    'string event': 'x',
    'number event': 1,
    'array event': [],
    'Map event': new Map([['type', 'X']]),
    'Date event': new Date(0),
    // type
    'missing type': { data: { a: 1 } },
    'empty type': { type: '' },
    'numeric type': { type: 1 },
    'null type': { type: null },
    // metadata
    'string metadata': { type: 'X', metadata: 'x' },
    'numeric metadata': { type: 'X', metadata: 1 },
    'array metadata': { type: 'X', metadata: [] },
    'null metadata': { type: 'X', metadata: null },
    // eventId
    'numeric eventId': { type: 'X', eventId: 1 },
    'object eventId': { type: 'X', eventId: {} },
    // occurredOn
    "occurredOn 'yesterday'": { type: 'X', occurredOn: 'yesterday' },
    'occurredOn in month 13': { type: 'X', occurredOn: '2024-13-01T00:00:00Z' },
    'occurredOn invalid Date': { type: 'X', occurredOn: new Date(NaN) },
    'occurredOn number': { type: 'X', occurredOn: 1714557600000 },
    // data that JSON cannot carry faithfully
    'BigInt data': { type: 'X', data: 1n },
    'nested BigInt data': { type: 'X', data: { a: [1, 2n] } },
    'function data': { type: 'X', data: () => 1 },
    'nested function data': { type: 'X', data: { f() {} } },
    'symbol data': { type: 'X', data: Symbol('s') },
    'nested symbol data': { type: 'X', data: { s: Symbol('s') } },
    'NaN data': { type: 'X', data: NaN },
    'nested NaN data': { type: 'X', data: { n: [NaN] } },
    'Infinity data': { type: 'X', data: Infinity },
    'nested -Infinity data': { type: 'X', data: { n: -Infinity } },
    'cyclic data': { type: 'X', data: cyclicData },
    'cyclic array data': { type: 'X', data: cyclicArray },
    'data with a throwing getter': { type: 'X', data: throwingGetter() },
    'data nesting a throwing getter': { type: 'X', data: { inner: [throwingGetter()] } },
    // metadata that JSON cannot carry faithfully
    'BigInt metadata': { type: 'X', metadata: { a: 1n } },
    'function metadata': { type: 'X', metadata: { f: () => 1 } },
    'symbol metadata': { type: 'X', metadata: { s: Symbol('s') } },
    'NaN metadata': { type: 'X', metadata: { n: NaN } },
    'Infinity metadata': { type: 'X', metadata: { n: Infinity } },
    'cyclic metadata': { type: 'X', metadata: cyclicMeta },
    'metadata with a throwing getter': { type: 'X', metadata: throwingGetter() },
  };

  for (const [name, bad] of Object.entries(badEvents)) {
    // The bad event is the third one, after two good ones: nothing may be written.
    test(`${name} in a new stream's batch`, () =>
      expectInvalid(() => store.appendEvents(FRESH, -1, [good(1), good(2), bad]), 'events[2]'));
    test(`${name} in an existing stream's batch`, () =>
      expectInvalid(() => store.appendEvents(SEEDED, 1, [good(1), good(2), bad, good(3)]), 'events[2]'));
  }

  test('the index named is the bad one', async () => {
    await expectInvalid(() => store.appendEvents(FRESH, -1, [{ type: '' }]), 'events[0]');
    await expectInvalid(
      () => store.appendEvents(FRESH, -1, [good(0), good(1), good(2), good(3), good(4), { type: 'X', data: 1n }]),
      'events[5]',
    );
  });

  test('the getter that throws is not a synchronous throw even at index 0', async () => {
    await expectInvalid(() => store.appendEvents(SEEDED, 1, [{ type: 'X', data: throwingGetter() }]), 'events[0]');
  });
});

describe('fromVersion that is not an integer, null or undefined', () => {
  const badFrom = [1.5, -0.5, '1', '', NaN, Infinity, -Infinity, {}, [1], true, 1n];
  for (const from of badFrom) {
    test(`loadEvents(seeded, ${describeValue(from)})`, () =>
      expectInvalid(() => store.loadEvents(SEEDED, from), 'fromVersion'));
    test(`loadEvents(fresh, ${describeValue(from)})`, () =>
      expectInvalid(() => store.loadEvents(FRESH, from), 'fromVersion'));
  }
});

// Declared last, so it runs after every case above.
test('the store still works after all the rejected calls and holds the same', async () => {
  assert.deepEqual(await snapshot(), baseline);
  assert.equal(await store.appendEvents(SEEDED, 1, [{ type: 'After' }]), 2);
  assert.equal(await store.appendEvents(FRESH, -1, [{ type: 'After' }]), 0);
  const loaded = await store.loadEvents(SEEDED, 1);
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0].type, 'After');
  assert.equal(loaded[0].version, 2);
});
