// Behaviour beyond the reference conformance cases: the shape of recorded
// events, copying (isolation), overlapping calls (concurrency), separate stores
// and the error classes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore, EventStoreError, EventStoreConflictError } from 'wasm-event-store';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const RECORDED_KEYS = ['aggregateId', 'data', 'eventId', 'metadata', 'occurredOn', 'position', 'type', 'version'];

// Appends `events` to a new stream of a new store and loads them back.
async function roundTrip(events, id = 'stream') {
  const store = new EventStore();
  await store.appendEvents(id, -1, events);
  return store.loadEvents(id);
}

describe('recorded event shape', () => {
  test('has exactly the documented keys, for minimal and full input alike', async () => {
    const loaded = await roundTrip([
      { type: 'Minimal' },
      {
        type: 'Full',
        data: { a: 1 },
        metadata: { m: true },
        eventId: randomUUID(),
        occurredOn: '2024-05-01T10:00:00.000Z',
      },
    ]);
    assert.equal(loaded.length, 2);
    for (const e of loaded) {
      assert.deepEqual(Object.keys(e).sort(), RECORDED_KEYS);
      assert.equal(typeof e.version, 'number');
      assert.equal(typeof e.eventId, 'string');
      assert.equal(typeof e.occurredOn, 'string');
    }
  });

  test('aggregateId, version and type are recorded', async () => {
    const loaded = await roundTrip([{ type: 'First' }, { type: 'Second' }], 'order-42');
    assert.deepEqual(
      loaded.map(({ aggregateId, version, type }) => ({ aggregateId, version, type })),
      [
        { aggregateId: 'order-42', version: 0, type: 'First' },
        { aggregateId: 'order-42', version: 1, type: 'Second' },
      ],
    );
  });

  test('absent data is recorded as null and absent metadata as {}', async () => {
    const [noData, nullData, emptyMeta] = await roundTrip([
      { type: 'NoData' },
      { type: 'NullData', data: null },
      { type: 'EmptyMeta', data: 1, metadata: {} },
    ]);
    assert.equal(noData.data, null);
    assert.deepEqual(noData.metadata, {});
    assert.equal(nullData.data, null);
    assert.deepEqual(emptyMeta.metadata, {});
  });

  test('a missing eventId is filled with a random UUID v4, different for every event', async () => {
    const store = new EventStore();
    await store.appendEvents('ids', -1, [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
    await store.appendEvents('ids', 2, [{ type: 'B' }, { type: 'B' }]);
    await new EventStore().appendEvents('ids', -1, [{ type: 'C' }]);
    const ids = (await store.loadEvents('ids')).map((e) => e.eventId);
    for (const id of ids) assert.match(id, UUID_V4);
    assert.equal(new Set(ids).size, ids.length, `eventIds repeat: ${ids.join(', ')}`);

    // A second store does not replay the same sequence of ids.
    const other = new EventStore();
    await other.appendEvents('ids', -1, [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
    const otherIds = (await other.loadEvents('ids')).map((e) => e.eventId);
    for (const id of otherIds) assert.ok(!ids.includes(id), `eventId ${id} repeated across stores`);
  });

  test('a given eventId is kept', async () => {
    const uuid = randomUUID();
    const loaded = await roundTrip([
      { type: 'A', eventId: uuid },
      { type: 'A', eventId: 'my-own-id-1' },
    ]);
    assert.equal(loaded[0].eventId, uuid);
    assert.equal(loaded[1].eventId, 'my-own-id-1');
  });

  test('a missing occurredOn is the time of the call, as an ISO-8601 UTC string', async () => {
    const store = new EventStore();
    const before = Date.now();
    await store.appendEvents('now', -1, [{ type: 'A' }, { type: 'B', data: 1 }]);
    const after = Date.now();
    for (const e of await store.loadEvents('now')) {
      assert.match(e.occurredOn, ISO_UTC_MS);
      assert.equal(new Date(e.occurredOn).toISOString(), e.occurredOn);
      const t = Date.parse(e.occurredOn);
      assert.ok(before <= t && t <= after, `${e.occurredOn} not within [${new Date(before).toISOString()}, ${new Date(after).toISOString()}]`);
    }
  });

  test('a given occurredOn is normalised to UTC with millisecond precision', async () => {
    const cases = [
      [new Date('2024-05-01T10:00:00.000Z'), '2024-05-01T10:00:00.000Z'],
      [new Date(Date.UTC(2023, 11, 31, 23, 59, 59, 999)), '2023-12-31T23:59:59.999Z'],
      ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
      ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
      ['2024-05-01T10:00:00.123Z', '2024-05-01T10:00:00.123Z'],
      ['2024-05-01T00:30:00-01:30', '2024-05-01T02:00:00.000Z'],
      ['2024-01-01T01:00:00+02:00', '2023-12-31T23:00:00.000Z'], // crosses a year
    ];
    const loaded = await roundTrip(cases.map(([occurredOn]) => ({ type: 'Timed', occurredOn })));
    assert.deepEqual(
      loaded.map((e) => e.occurredOn),
      cases.map(([, expected]) => expected),
    );
  });

  test('data and metadata come back deep-equal for all kinds of JSON values', async () => {
    const samples = [
      0, 1, -1, 42.5, 0.1, 0.1 + 0.2, 1 / 3, Math.PI, 4.35, 1e21, 1e-7, 5e-324,
      Number.MAX_VALUE, 2.2250738585072014e-308, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 64,
      '', 'plain', 'ünïcödé € 😀 中文', 'quote " backslash \\ newline \n tab \t nul \u0000',
      true, false, null, [], {},
      [1, 'a', null, true, { x: [] }],
      { nested: { deep: { deeper: [{ a: 1 }, [2, [3]]] } } },
      { '': 'empty key', 'with space': 1, 'ключ': 2, 'a.b': { 'c[0]': 3 } },
    ];
    const events = samples.map((value, i) => ({ type: 'Sample', data: value, metadata: { i, value } }));
    const loaded = await roundTrip(events);
    assert.equal(loaded.length, samples.length);
    loaded.forEach((e, i) => {
      assert.deepEqual(e.data, samples[i], `data of sample ${i}`);
      assert.deepEqual(e.metadata, { i, value: samples[i] }, `metadata of sample ${i}`);
    });
  });

  test('keys named __proto__ or constructor are kept as plain data', async () => {
    // JSON.parse makes "__proto__" an own property; a copy that assigns it
    // would change the prototype instead (and lose the data).
    const data = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": 1}, "toString": "x"}');
    const metadata = JSON.parse('{"__proto__": {"polluted": "meta"}}');
    const [e] = await roundTrip([{ type: 'Tricky', data, metadata }]);
    assert.ok(Object.hasOwn(e.data, '__proto__'), 'data.__proto__ must be an own property');
    assert.deepEqual(e.data, data);
    assert.ok(Object.hasOwn(e.metadata, '__proto__'), 'metadata.__proto__ must be an own property');
    assert.deepEqual(e.metadata, metadata);
    assert.equal({}.polluted, undefined);
  });

  test('strings with lone surrogates in data are kept exactly (JSON.stringify escapes them)', async () => {
    const store = new EventStore();
    const data = { s: 'a\ud800b', t: '\udfff', u: '\udc00\ud800' };
    assert.equal(await store.appendEvents('surrogates', -1, [{ type: 'S', data }]), 0);
    const [e] = await store.loadEvents('surrogates');
    assert.deepEqual(e.data, data);
    assert.equal(e.data.s.charCodeAt(1), 0xd800);
  });
});

describe('aggregate ids', () => {
  test('any non-empty string is an id, including ones that name Object.prototype members', async () => {
    const store = new EventStore();
    const ids = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', ' ', 'ünï😀', 'x'.repeat(10_000)];
    for (const id of ids) {
      assert.equal(await store.getCurrentVersion(id), null, `version of ${id.slice(0, 20)}`);
      assert.deepEqual(await store.loadEvents(id), []);
      assert.equal(await store.appendEvents(id, -1, [{ type: 'A' }]), 0);
    }
    for (const id of ids) {
      const loaded = await store.loadEvents(id);
      assert.equal(loaded.length, 1);
      assert.equal(loaded[0].aggregateId, id);
      assert.equal(await store.getCurrentVersion(id), 0);
    }
  });

  // Appends one event to each id, then checks every id has its own stream.
  async function checkDistinct(ids) {
    const store = new EventStore();
    for (const [i, id] of ids.entries()) {
      assert.equal(await store.appendEvents(id, -1, [{ type: 'A', data: { i } }]), 0, `append to id #${i}`);
    }
    for (const [i, id] of ids.entries()) {
      const loaded = await store.loadEvents(id);
      assert.equal(loaded.length, 1, `stream #${i}`);
      assert.equal(loaded[0].aggregateId, id, `aggregateId of stream #${i}`);
      assert.deepEqual(loaded[0].data, { i });
    }
  }

  test('ids that differ only in case are different streams', () => checkDistinct(['order', 'Order', 'ORDER']));

  test('ids with lone surrogates are rejected, never merged into one stream', async () => {
    // A lossy UTF-16 -> UTF-8 conversion would turn '\ud800' and '\udc00' into the same U+FFFD
    // and share one stream; the store rejects such ids (documented) instead.
    const store = new EventStore();
    for (const id of ['\ud800', '\udc00', 'a\ud800', 'a\udbff']) {
      for (const call of [
        () => store.appendEvents(id, -1, [{ type: 'A' }]),
        () => store.loadEvents(id),
        () => store.getCurrentVersion(id),
      ]) {
        await assert.rejects(call(), (err) => err instanceof EventStoreError && err.code === 'INVALID_ARGUMENT' && /aggregateId/.test(err.message));
      }
    }
    assert.equal(await store.getCurrentVersion('\ufffd'), null);
  });
});

describe('fromVersion: any integer is accepted, however large or small', () => {
  // The contract only rejects non-integers; at/past the end gives [], below 0 gives all.
  const seeded = async () => {
    const store = new EventStore();
    await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
    return store;
  };
  for (const from of [Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 64, Number.MAX_VALUE]) {
    test(`loadEvents(id, ${from}) is []`, async () => {
      assert.deepEqual(await (await seeded()).loadEvents('s', from), []);
    });
  }
  for (const from of [-Number.MAX_SAFE_INTEGER, -(2 ** 53), -(2 ** 64), -Number.MAX_VALUE]) {
    test(`loadEvents(id, ${from}) is every event`, async () => {
      assert.deepEqual(
        (await (await seeded()).loadEvents('s', from)).map((e) => e.type),
        ['A', 'B'],
      );
    });
  }
});

describe('isolation: the store keeps its own copies', () => {
  const makeInput = () => {
    const when = new Date('2024-05-01T10:00:00.000Z');
    const events = [
      {
        type: 'Original',
        data: { list: [1, 2], nested: { x: 1 } },
        metadata: { tags: ['a'], who: { name: 'ann' } },
        eventId: 'id-1',
        occurredOn: when,
      },
    ];
    return { events, when };
  };
  const expected = (id) => [
    {
      aggregateId: id,
      version: 0,
      type: 'Original',
      data: { list: [1, 2], nested: { x: 1 } },
      metadata: { tags: ['a'], who: { name: 'ann' } },
      eventId: 'id-1',
      occurredOn: '2024-05-01T10:00:00.000Z',
      position: 0,
    },
  ];
  const mutate = ({ events, when }) => {
    const [e] = events;
    e.data.list.push(3);
    e.data.nested.x = 99;
    e.data.added = true;
    e.metadata.tags[0] = 'changed';
    e.metadata.who.name = 'bob';
    e.type = 'Changed';
    e.eventId = 'id-2';
    when.setUTCFullYear(1999);
    events.push({ type: 'Smuggled' });
  };

  test('mutating appended objects after the append settled changes nothing', async () => {
    const store = new EventStore();
    const input = makeInput();
    await store.appendEvents('iso', -1, input.events);
    mutate(input);
    assert.deepEqual(await store.loadEvents('iso'), expected('iso'));
    assert.equal(await store.getCurrentVersion('iso'), 0);
  });

  test('mutating appended objects right after the call, before it settles, changes nothing', async () => {
    const store = new EventStore();
    const input = makeInput();
    const pending = store.appendEvents('iso', -1, input.events);
    mutate(input);
    assert.equal(await pending, 0);
    assert.deepEqual(await store.loadEvents('iso'), expected('iso'));
  });

  test('mutating loaded events changes nothing', async () => {
    const store = new EventStore();
    await store.appendEvents('iso', -1, makeInput().events);
    const loaded = await store.loadEvents('iso');
    assert.deepEqual(loaded, expected('iso'));

    loaded[0].data.list.push(3);
    loaded[0].data.nested.x = 99;
    loaded[0].metadata.tags.length = 0;
    loaded[0].metadata.who = null;
    loaded[0].version = 7;
    loaded[0].type = 'Changed';
    loaded[0].occurredOn = 'never';
    loaded.push(structuredClone(loaded[0]));

    assert.deepEqual(await store.loadEvents('iso'), expected('iso'));
    assert.equal(await store.getCurrentVersion('iso'), 0);
  });

  test('two loads do not share objects', async () => {
    const store = new EventStore();
    await store.appendEvents('iso', -1, makeInput().events);
    const [a] = await store.loadEvents('iso');
    const [b] = await store.loadEvents('iso');
    assert.notEqual(a, b);
    assert.notEqual(a.data, b.data);
    assert.notEqual(a.metadata, b.metadata);
    a.data.nested.x = 5;
    assert.equal(b.data.nested.x, 1);
  });
});

describe('concurrency: calls on one store may overlap', () => {
  test('many overlapping appends and loads on different streams', async () => {
    const store = new EventStore();
    const n = 40;
    const ids = Array.from({ length: n }, (_, i) => `c-${i}`);
    const batch = (i) => [
      { type: 'One', data: { i } },
      { type: 'Two', data: { i } },
    ];

    const appends = ids.map((id, i) => store.appendEvents(id, -1, batch(i)));
    const loads = ids.map((id) => store.loadEvents(id));
    const versions = ids.map((id) => store.getCurrentVersion(id));
    assert.deepEqual(await Promise.all(appends), ids.map(() => 1));

    // In memory, each call takes effect when it is made: loads called after the appends see
    // their batches, whole.
    for (const [i, loaded] of (await Promise.all(loads)).entries()) {
      assert.equal(loaded.length, 2, `load of ${ids[i]} saw ${loaded.length} events`);
    }
    for (const v of await Promise.all(versions)) assert.equal(v, 1);

    // Second round, all overlapping again, each with the right version.
    const second = await Promise.all(ids.map((id, i) => store.appendEvents(id, 1, [{ type: 'Three', data: { i } }])));
    assert.deepEqual(second, ids.map(() => 2));

    const all = await Promise.all(ids.map((id) => store.loadEvents(id)));
    all.forEach((loaded, i) => {
      assert.deepEqual(
        loaded.map(({ aggregateId, version, type, data }) => ({ aggregateId, version, type, data })),
        [
          { aggregateId: ids[i], version: 0, type: 'One', data: { i } },
          { aggregateId: ids[i], version: 1, type: 'Two', data: { i } },
          { aggregateId: ids[i], version: 2, type: 'Three', data: { i } },
        ],
      );
    });
  });

  // Racer i appends (i % 4) + 1 events, so the losers' actualVersion tells
  // which batch won.
  const racerBatch = (i) => Array.from({ length: (i % 4) + 1 }, (_, j) => ({ type: 'Raced', data: { racer: i, j } }));

  function checkRace(results, { id, expectedVersion, seedLength }) {
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `exactly one append must win, winners: ${winners}`);
    const [w] = winners;
    const finalVersion = seedLength + racerBatch(w).length - 1;
    assert.equal(results[w].value, finalVersion);
    results.forEach((r, i) => {
      if (i === w) return;
      const err = r.reason;
      assert.ok(err instanceof EventStoreConflictError, `racer ${i} failed with ${err}`);
      assert.equal(err.code, 'CONFLICT');
      assert.equal(err.aggregateId, id);
      assert.equal(err.expectedVersion, expectedVersion);
      assert.equal(err.actualVersion, finalVersion, `racer ${i} must see the winner's version`);
    });
    return w;
  }

  test('racing appends on a new stream: exactly one wins', async () => {
    const store = new EventStore();
    const racers = 20;
    const results = await Promise.allSettled(
      Array.from({ length: racers }, (_, i) => store.appendEvents('race', -1, racerBatch(i))),
    );
    const w = checkRace(results, { id: 'race', expectedVersion: -1, seedLength: 0 });

    const loaded = await store.loadEvents('race');
    assert.deepEqual(
      loaded.map((e) => [e.version, e.data]),
      racerBatch(w).map((e, v) => [v, e.data]),
    );
  });

  test('racing appends on an existing stream with overlapping reads', async () => {
    const store = new EventStore();
    await store.appendEvents('race', -1, [{ type: 'Seed' }, { type: 'Seed' }, { type: 'Seed' }]);
    const racers = 20;
    const appends = [];
    const loads = [];
    const versions = [];
    for (let i = 0; i < racers; i++) {
      appends.push(store.appendEvents('race', 2, racerBatch(i)));
      loads.push(store.loadEvents('race'));
      versions.push(store.getCurrentVersion('race'));
    }
    const results = await Promise.allSettled(appends);
    const w = checkRace(results, { id: 'race', expectedVersion: 2, seedLength: 3 });
    const winnerLength = racerBatch(w).length;

    // Every overlapping read saw the stream before the winning batch or after it, whole.
    for (const loaded of await Promise.all(loads)) {
      assert.ok([3, 3 + winnerLength].includes(loaded.length), `a load saw ${loaded.length} events`);
      assert.deepEqual(
        loaded.map((e) => e.version),
        loaded.map((_, v) => v),
      );
    }
    for (const v of await Promise.all(versions)) {
      assert.ok(v === 2 || v === 2 + winnerLength, `a version read saw ${v}`);
    }

    const loaded = await store.loadEvents('race', 2);
    assert.deepEqual(
      loaded.map((e) => e.data),
      racerBatch(w).map((e) => e.data),
    );
  });

  test('writers retrying on conflict end with every event stored exactly once', async () => {
    const store = new EventStore();
    const writers = 8;
    const perWriter = 10;
    let conflicts = 0;

    async function writer(w) {
      for (let k = 0; k < perWriter; k++) {
        // Bounded retries: some writer wins every round, so this ends.
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < writers * perWriter * 2, 'too many retries');
          const version = (await store.getCurrentVersion('shared')) ?? -1;
          try {
            await store.appendEvents('shared', version, [{ type: 'W', data: { w, k } }]);
            break;
          } catch (err) {
            if (!(err instanceof EventStoreConflictError)) throw err;
            assert.ok(err.actualVersion > version, 'a conflict means someone else appended');
            conflicts += 1;
          }
        }
      }
    }

    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));

    const loaded = await store.loadEvents('shared');
    assert.equal(loaded.length, writers * perWriter);
    assert.deepEqual(
      loaded.map((e) => e.version),
      loaded.map((_, v) => v),
    );
    assert.equal(await store.getCurrentVersion('shared'), writers * perWriter - 1);
    for (let w = 0; w < writers; w++) {
      // Each writer's events are all there, once, in its own order.
      assert.deepEqual(
        loaded.filter((e) => e.data.w === w).map((e) => e.data.k),
        Array.from({ length: perWriter }, (_, k) => k),
      );
    }
    // All writers read the version before any of them appends, so a correct store
    // must have reported conflicts; none would mean the race was never exercised.
    assert.ok(conflicts > 0, 'expected the overlapping writers to collide at least once');
  });
});

describe('separate stores', () => {
  test('two new EventStore() share nothing', async () => {
    const a = new EventStore();
    const b = new EventStore();
    assert.equal(await a.appendEvents('same', -1, [{ type: 'InA' }]), 0);

    assert.equal(await b.getCurrentVersion('same'), null);
    assert.deepEqual(await b.loadEvents('same'), []);
    // -1 is right for b, which has no such stream.
    assert.equal(await b.appendEvents('same', -1, [{ type: 'InB' }, { type: 'InB' }]), 1);

    assert.deepEqual((await a.loadEvents('same')).map((e) => e.type), ['InA']);
    assert.equal(await a.getCurrentVersion('same'), 0);
    assert.deepEqual((await b.loadEvents('same')).map((e) => e.type), ['InB', 'InB']);

    // Overlapping calls on both stores stay apart as well.
    const [ra, rb] = await Promise.all([
      a.appendEvents('both', -1, [{ type: 'A' }]),
      b.appendEvents('both', -1, [{ type: 'B' }]),
    ]);
    assert.deepEqual([ra, rb], [0, 0]);
  });
});

describe('error classes', () => {
  test('EventStoreConflictError extends EventStoreError, which extends Error', () => {
    assert.equal(typeof EventStoreError, 'function');
    assert.equal(typeof EventStoreConflictError, 'function');
    assert.ok(EventStoreError.prototype instanceof Error);
    assert.ok(EventStoreConflictError.prototype instanceof EventStoreError);
  });

  test('errors from different failures carry their own code', async () => {
    const store = new EventStore();
    await store.appendEvents('e', -1, [{ type: 'A' }]);
    const conflict = await store.appendEvents('e', 5, [{ type: 'B' }]).then(
      () => assert.fail('expected a conflict'),
      (err) => err,
    );
    const invalid = await store.appendEvents('e', 0, [{ type: '' }]).then(
      () => assert.fail('expected invalid input'),
      (err) => err,
    );
    assert.ok(conflict instanceof EventStoreConflictError);
    assert.equal(conflict.code, 'CONFLICT');
    assert.equal(conflict.name, 'EventStoreConflictError');
    assert.equal(typeof conflict.stack, 'string');
    assert.ok(invalid instanceof EventStoreError);
    assert.ok(!(invalid instanceof EventStoreConflictError));
    assert.equal(invalid.code, 'INVALID_ARGUMENT');
    assert.equal(await store.getCurrentVersion('e'), 0);
  });
});

describe('free()', () => {
  test('releases the store: later calls reject with FREED, other stores are untouched', async () => {
    const freed = new EventStore();
    const other = new EventStore();
    await freed.appendEvents('s', -1, [{ type: 'A' }]);
    await other.appendEvents('s', -1, [{ type: 'B' }]);
    freed.free();
    freed.free(); // twice is harmless
    for (const call of [() => freed.appendEvents('s', 0, [{ type: 'C' }]), () => freed.loadEvents('s'), () => freed.getCurrentVersion('s')]) {
      const pending = call();
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, (e) => e instanceof EventStoreError && e.code === 'FREED');
    }
    assert.deepEqual((await other.loadEvents('s')).map((e) => e.type), ['B']);
  });
});
