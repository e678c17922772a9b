// Conformance cases ported from the reference design's EventStore test-suite
// (castlecraft_engineer BaseEventStoreTest), adapted to this package's contract:
// appendEvents resolves to the stream's current version, and an empty batch
// still checks expectedVersion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore, EventStoreError, EventStoreConflictError } from 'wasm-event-store';

const NEW_STREAM = -1;

// A fresh store and a fresh stream id for every test, like the reference fixtures.
let idCounter = 0;
function fixture() {
  idCounter += 1;
  return { store: new EventStore(), id: `aggregate-${idCounter}-${randomUUID()}` };
}

// Input events carry an explicit eventId and occurredOn so that the recorded
// events can be compared field for field with what was appended.
let clock = Date.UTC(2024, 0, 1);
function createTestEvents(count, prefix = 'event_data_') {
  return Array.from({ length: count }, (_, i) => {
    clock += 1000;
    return {
      type: 'MyTestEvent',
      data: { payload: `${prefix}${i + 1}` },
      eventId: randomUUID(),
      occurredOn: new Date(clock).toISOString(),
    };
  });
}

// What loadEvents must return for `events` appended to `id` starting at `firstVersion`, at
// `positions` of the store's global log (by default the versions: one stream per store).
// A deep copy, so that it cannot change along with the store's objects.
function recorded(id, firstVersion, events, positions = events.map((_, i) => firstVersion + i)) {
  return events.map((e, i) => ({
    aggregateId: id,
    version: firstVersion + i,
    type: e.type,
    data: structuredClone(e.data),
    metadata: {},
    eventId: e.eventId,
    occurredOn: e.occurredOn,
    position: positions[i],
  }));
}

function assertConflict(err, { aggregateId, expectedVersion, actualVersion }) {
  assert.ok(err instanceof EventStoreConflictError, `expected EventStoreConflictError, got ${err}`);
  assert.ok(err instanceof EventStoreError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'EventStoreConflictError');
  assert.equal(err.code, 'CONFLICT');
  assert.equal(err.aggregateId, aggregateId);
  assert.equal(err.expectedVersion, expectedVersion);
  assert.equal(err.actualVersion, actualVersion);
  assert.equal(
    err.message,
    `Conflict appending events for aggregate ${aggregateId}. ` +
      `Expected version ${expectedVersion}, but current version is ${actualVersion}.`,
  );
  return true;
}

test('append to a new stream', async () => {
  const { store, id } = fixture();
  const events = createTestEvents(2);

  assert.equal(await store.appendEvents(id, NEW_STREAM, events), 1);

  assert.deepEqual(await store.loadEvents(id), recorded(id, 0, events));
  // 0-based: after 2 events (versions 0 and 1) the version is 1.
  assert.equal(await store.getCurrentVersion(id), events.length - 1);
});

test('append to a new stream with no events creates no stream', async () => {
  const { store, id } = fixture();

  assert.equal(await store.appendEvents(id, NEW_STREAM, []), null);

  assert.deepEqual(await store.loadEvents(id), []);
  assert.equal(await store.getCurrentVersion(id), null);
  // The stream still does not exist, so -1 is still the right expected version.
  assert.equal(await store.appendEvents(id, NEW_STREAM, createTestEvents(1)), 0);
});

test('append to an existing stream', async () => {
  const { store, id } = fixture();
  const initial = createTestEvents(2, 'initial_');
  await store.appendEvents(id, NEW_STREAM, initial);

  const expectedForNext = initial.length - 1;
  assert.equal(await store.getCurrentVersion(id), expectedForNext);

  const additional = createTestEvents(3, 'additional_');
  assert.equal(await store.appendEvents(id, expectedForNext, additional), 4);

  const all = [...initial, ...additional];
  assert.deepEqual(await store.loadEvents(id), recorded(id, 0, all));
  assert.equal(await store.getCurrentVersion(id), all.length - 1);
});

test('append to an existing stream with no events changes nothing', async () => {
  const { store, id } = fixture();
  const initial = createTestEvents(1, 'initial_');
  await store.appendEvents(id, NEW_STREAM, initial);
  const expectedForNext = initial.length - 1;

  assert.equal(await store.appendEvents(id, expectedForNext, []), expectedForNext);

  assert.deepEqual(await store.loadEvents(id), recorded(id, 0, initial));
  assert.equal(await store.getCurrentVersion(id), expectedForNext);
});

test('conflict on a new stream with a wrong expected version', async () => {
  const { store, id } = fixture();
  const wrongExpected = 0; // should be -1 for a new stream

  await assert.rejects(store.appendEvents(id, wrongExpected, createTestEvents(1)), (err) =>
    // The actual version of a stream that does not exist is -1.
    assertConflict(err, { aggregateId: id, expectedVersion: wrongExpected, actualVersion: NEW_STREAM }),
  );

  assert.deepEqual(await store.loadEvents(id), []);
  assert.equal(await store.getCurrentVersion(id), null);
});

test('conflict on a new stream is reported for an empty batch too', async () => {
  const { store, id } = fixture();

  await assert.rejects(store.appendEvents(id, 0, []), (err) =>
    assertConflict(err, { aggregateId: id, expectedVersion: 0, actualVersion: -1 }),
  );

  assert.equal(await store.getCurrentVersion(id), null);
});

test('conflict on an existing stream with a wrong expected version', async () => {
  const { store, id } = fixture();
  const initial = createTestEvents(2, 'initial_');
  await store.appendEvents(id, NEW_STREAM, initial);

  const actual = initial.length - 1;
  const wrongExpected = actual - 1;

  await assert.rejects(store.appendEvents(id, wrongExpected, createTestEvents(1, 'additional_')), (err) =>
    assertConflict(err, { aggregateId: id, expectedVersion: wrongExpected, actualVersion: actual }),
  );
  // Ahead of the stream is a conflict too, and so is -1 on an existing stream.
  await assert.rejects(store.appendEvents(id, actual + 1, createTestEvents(1)), (err) =>
    assertConflict(err, { aggregateId: id, expectedVersion: actual + 1, actualVersion: actual }),
  );
  await assert.rejects(store.appendEvents(id, NEW_STREAM, []), (err) =>
    assertConflict(err, { aggregateId: id, expectedVersion: NEW_STREAM, actualVersion: actual }),
  );

  // The stream is unchanged.
  assert.deepEqual(await store.loadEvents(id), recorded(id, 0, initial));
  assert.equal(await store.getCurrentVersion(id), actual);
});

test('load of a stream that does not exist', async () => {
  const { store, id } = fixture();
  assert.deepEqual(await store.loadEvents(id), []);
  assert.deepEqual(await store.loadEvents(id, 0), []);
  assert.deepEqual(await store.loadEvents(id, -1), []);
});

test('load all events with fromVersion null or undefined', async () => {
  const { store, id } = fixture();
  const events = createTestEvents(3);
  await store.appendEvents(id, NEW_STREAM, events);

  const all = recorded(id, 0, events);
  assert.deepEqual(await store.loadEvents(id, null), all);
  assert.deepEqual(await store.loadEvents(id, undefined), all);
  assert.deepEqual(await store.loadEvents(id), all);
});

test('load events after a given version', async () => {
  const { store, id } = fixture();
  // E0..E4 with versions 0..4
  const events = createTestEvents(5);
  await store.appendEvents(id, NEW_STREAM, events);
  const all = recorded(id, 0, events);

  // fromVersion means "versions strictly greater than this".
  assert.deepEqual(await store.loadEvents(id, -1), all);
  assert.deepEqual(await store.loadEvents(id, 0), all.slice(1));
  assert.deepEqual(await store.loadEvents(id, 2), all.slice(3));
  assert.deepEqual(await store.loadEvents(id, 4), []); // the last version
  assert.deepEqual(await store.loadEvents(id, 5), []); // past the end
  assert.deepEqual(await store.loadEvents(id, -10), all); // below 0 behaves like -1
});

test('load returns a copy', async () => {
  const { store, id } = fixture();
  const events = createTestEvents(2);
  await store.appendEvents(id, NEW_STREAM, events);

  const expected = recorded(id, 0, events);
  const first = await store.loadEvents(id);
  assert.deepEqual(first, expected);

  first.push({ ...first[0], version: 2, type: 'Rogue' });
  first[0].data.payload = 'rogue';
  first.reverse();

  const second = await store.loadEvents(id);
  assert.deepEqual(second, expected);
  assert.equal(second.length, 2);
  assert.equal(await store.getCurrentVersion(id), 1);
});

test('version of a stream that does not exist is null', async () => {
  const { store, id } = fixture();
  assert.equal(await store.getCurrentVersion(id), null);
});

test('version after the first append is 0', async () => {
  const { store, id } = fixture();
  assert.equal(await store.appendEvents(id, NEW_STREAM, createTestEvents(1)), 0);
  assert.equal(await store.getCurrentVersion(id), 0);
});

test('version after several appends', async () => {
  const { store, id } = fixture();

  const batch1 = createTestEvents(1, 'batch1_');
  assert.equal(await store.appendEvents(id, NEW_STREAM, batch1), 0);
  const versionAfter1 = batch1.length - 1;
  assert.equal(await store.getCurrentVersion(id), versionAfter1);

  const batch2 = createTestEvents(2, 'batch2_');
  assert.equal(await store.appendEvents(id, versionAfter1, batch2), 2);
  // new version = old version + number of new events
  assert.equal(await store.getCurrentVersion(id), versionAfter1 + batch2.length);
  assert.equal(await store.getCurrentVersion(id), 2);

  const batch3 = createTestEvents(4, 'batch3_');
  assert.equal(await store.appendEvents(id, 2, batch3), 6);
  assert.equal(await store.getCurrentVersion(id), 6);
  assert.deepEqual(await store.loadEvents(id), recorded(id, 0, [...batch1, ...batch2, ...batch3]));
});

test('streams are isolated from each other', async () => {
  const { store, id: a } = fixture();
  const b = `${a}-b`;

  const a1 = createTestEvents(2, 'streamA_batch1_');
  assert.equal(await store.appendEvents(a, NEW_STREAM, a1), 1);
  const b1 = createTestEvents(3, 'streamB_batch1_');
  // b is a new stream even though a exists.
  assert.equal(await store.appendEvents(b, NEW_STREAM, b1), 2);

  assert.deepEqual(await store.loadEvents(a), recorded(a, 0, a1));
  assert.equal(await store.getCurrentVersion(a), 1);
  assert.deepEqual(await store.loadEvents(b), recorded(b, 0, b1, [2, 3, 4]));
  assert.equal(await store.getCurrentVersion(b), 2);

  const a2 = createTestEvents(1, 'streamA_batch2_');
  assert.equal(await store.appendEvents(a, 1, a2), 2);

  assert.deepEqual(await store.loadEvents(a), recorded(a, 0, [...a1, ...a2], [0, 1, 5]));
  assert.equal(await store.getCurrentVersion(a), 2);
  // b is untouched.
  assert.deepEqual(await store.loadEvents(b), recorded(b, 0, b1, [2, 3, 4]));
  assert.equal(await store.getCurrentVersion(b), 2);
});

test('50 events in one batch', async () => {
  const { store, id } = fixture();
  const many = createTestEvents(50);

  assert.equal(await store.appendEvents(id, NEW_STREAM, many), 49);

  const loaded = await store.loadEvents(id);
  assert.equal(loaded.length, 50);
  assert.deepEqual(loaded, recorded(id, 0, many));
  assert.deepEqual(
    loaded.map((e) => e.version),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(await store.getCurrentVersion(id), 49);
});
