// The storage adapter conformance cases, free of any test framework so they run under node:test
// (entries/testing.cjs) and in a browser page alike. Each case gets a fresh backing store.
//
// options:
//   name        what is being tested
//   open()      a new adapter over a new, empty backing store
//   reopen(a)   optional: a new adapter instance over a's backing store (after a is closed), to
//               check persistence
//   second(a)   optional: another live adapter over a's backing store (another tab, connection
//               or process); without it, two stores share the one adapter
//   close(a)    optional: release an adapter
//
// A case with `adapterNeeds` (a list of method names) runs only over an adapter that has them:
// the global log's cases need loadAll and lastPosition, the live case watch too. A runner skips
// it otherwise (see skipReason).

function fail(message) {
  throw new Error(`storage conformance: ${message}`);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

const PAYLOADS = [
  '{"v":1,"plain":"json"}',
  'not json at all',
  'ünïcödé 😀 \u0000 \n "quotes" \\ backslash',
  'x'.repeat(100_000),
];

const records = (from, payloads) => payloads.map((payload, i) => ({ version: from + i, payload }));

/** What a load answers of its records, without positions (checked on their own). */
const placesOf = (answer) => answer.map(({ aggregateId, version, payload }) => ({ aggregateId, version, payload }));
const withoutPositions = (answer) => answer.map(({ version, payload }) => ({ version, payload }));

/** Why `conformanceCase` cannot run over `adapter` (a method it needs is missing), or null. */
function skipReason(conformanceCase, adapter) {
  const missing = (conformanceCase.adapterNeeds ?? []).filter((name) => typeof adapter?.[name] !== 'function');
  return missing.length === 0 ? null : `the adapter has no ${missing.join(', ')} (optional)`;
}

/** Resolves when `condition()` holds, checking after every turn of the event loop; fails after `ms`. */
async function eventually(condition, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) fail(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Asserts that positions are safe integers, strictly increasing. */
function increasing(positions, what) {
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isSafeInteger(positions[i]) || positions[i] < 0) fail(`${what}: position ${positions[i]} is not a safe integer from 0`);
    if (i > 0 && positions[i] <= positions[i - 1]) fail(`${what}: positions ${positions[i - 1]} then ${positions[i]} do not increase`);
  }
}

/**
 * The cases, each { name, needs?, adapterNeeds?, run(context) }. `run` resolves to undefined
 * when the case passed, to { skipped: reason } when the adapter lacks an optional method it
 * needs, and rejects when the adapter fails it.
 */
function createConformanceCases(api) {
  return cases(api).map((conformanceCase) => ({
    ...conformanceCase,
    async run(context) {
      const reason = skipReason(conformanceCase, context.adapter);
      if (reason !== null) return { skipped: reason };
      await conformanceCase.run(context);
      return undefined;
    },
  }));
}

function cases({ EventStore, EventStoreConflictError }) {
  return [
    {
      name: 'an unknown stream has version -1 and no records',
      async run({ adapter }) {
        equal(await adapter.version('nobody'), -1, 'version');
        equal(await adapter.load('nobody', -1), [], 'load');
      },
    },
    {
      name: 'records come back in order with payloads stored verbatim',
      async run({ adapter }) {
        equal(await adapter.append('s', -1, records(0, PAYLOADS)), { ok: true }, 'append');
        equal(withoutPositions(await adapter.load('s', -1)), records(0, PAYLOADS), 'load');
        equal(await adapter.version('s'), PAYLOADS.length - 1, 'version');
        equal(await adapter.append('s', 3, records(4, ['more'])), { ok: true }, 'second append');
        equal(withoutPositions(await adapter.load('s', 3)), records(4, ['more']), 'load after 3');
      },
    },
    {
      name: 'load returns only versions after afterVersion',
      async run({ adapter }) {
        const payloads = ['p0', 'p1', 'p2', 'p3', 'p4'];
        await adapter.append('s', -1, records(0, payloads));
        for (const after of [-1, 0, 2, 4, 9]) {
          const from = Math.max(after + 1, 0);
          equal(withoutPositions(await adapter.load('s', after)), records(from, payloads.slice(from)), `load after ${after}`);
        }
      },
    },
    {
      name: 'a conditional append with the wrong expected version stores nothing',
      async run({ adapter }) {
        await adapter.append('s', -1, records(0, ['p0', 'p1']));
        for (const expected of [-1, 0, 2, 7]) {
          equal(await adapter.append('s', expected, records(expected + 1, ['x', 'y', 'z'])),
            { ok: false, actualVersion: 1 }, `append at ${expected}`);
        }
        equal(await adapter.append('new', 0, records(1, ['x'])), { ok: false, actualVersion: -1 }, 'append at 0 to a new stream');
        equal(withoutPositions(await adapter.load('s', -1)), records(0, ['p0', 'p1']), 'stream after the conflicts');
        equal(await adapter.version('new'), -1, 'new stream after the conflict');
      },
    },
    {
      name: 'streams are independent, even when one id is a prefix of another',
      async run({ adapter }) {
        const ids = ['a', 'ab', 'a\u0000', 'A', 'a/b', ''.padEnd(300, 'k')];
        for (const [i, id] of ids.entries()) await adapter.append(id, -1, records(0, [`only ${i}`]));
        for (const [i, id] of ids.entries()) {
          equal(withoutPositions(await adapter.load(id, -1)), records(0, [`only ${i}`]), `stream ${JSON.stringify(id.slice(0, 8))}`);
          equal(await adapter.version(id), 0, `version of ${JSON.stringify(id.slice(0, 8))}`);
        }
      },
    },
    {
      name: 'an EventStore over the adapter keeps the event store contract',
      async run({ adapter }) {
        const store = new EventStore({ storage: adapter });
        equal(await store.getCurrentVersion('order'), null, 'version of a new stream');
        equal(await store.appendEvents('order', -1, [{ type: 'Placed', data: { total: 1 } }, { type: 'Paid' }]), 1, 'append');
        equal(await store.appendEvents('order', 1, []), 1, 'empty append');
        const loaded = await store.loadEvents('order', 0);
        equal(loaded.map((e) => [e.version, e.type, e.data]), [[1, 'Paid', null]], 'load after 0');
        let conflict;
        try { await store.appendEvents('order', 0, [{ type: 'Late' }]); } catch (error) { conflict = error; }
        if (!(conflict instanceof EventStoreConflictError)) fail(`expected a conflict, got ${conflict}`);
        equal([conflict.expectedVersion, conflict.actualVersion], [0, 1], 'conflict versions');
        equal(await store.getCurrentVersion('order'), 1, 'version after the conflict');
      },
    },
    {
      name: 'two stores over one backing store see each other and conflict when stale',
      async run({ adapter, other }) {
        const one = new EventStore({ storage: adapter });
        const two = new EventStore({ storage: other });
        await one.appendEvents('shared', -1, [{ type: 'ByOne' }]);
        equal(await two.getCurrentVersion('shared'), 0, 'second store sees the first one\'s append');
        equal(await two.appendEvents('shared', 0, [{ type: 'ByTwo' }]), 1, 'second store appends');
        let conflict;
        try { await one.appendEvents('shared', 0, [{ type: 'Stale' }]); } catch (error) { conflict = error; }
        if (!(conflict instanceof EventStoreConflictError)) fail(`stale append: expected a conflict, got ${conflict}`);
        equal(conflict.actualVersion, 1, 'actualVersion of the stale append');
        equal((await one.loadEvents('shared')).map((e) => e.type), ['ByOne', 'ByTwo'], 'events seen by the first store');
      },
    },
    {
      name: 'racing conditional appends from two stores: exactly one wins each round',
      async run({ adapter, other }) {
        const stores = [new EventStore({ storage: adapter }), new EventStore({ storage: other })];
        let expected = -1;
        for (let round = 0; round < 25; round++) {
          // Batches of one and two events, alternating, so the winner is visible in the version.
          const sizes = [1 + (round % 2), 2 - (round % 2)];
          const results = await Promise.allSettled(stores.map((store, by) => store.appendEvents('race', expected,
            Array.from({ length: sizes[by] }, () => ({ type: 'Won', data: { round, by } })))));
          const winners = results.flatMap((r, by) => (r.status === 'fulfilled' ? [by] : []));
          if (winners.length !== 1) fail(`round ${round}: ${winners.length} appends won`);
          const winner = winners[0];
          const loser = results[1 - winner];
          if (!(loser.reason instanceof EventStoreConflictError)) fail(`round ${round}: the loser got ${loser.reason}`);
          const version = expected + sizes[winner];
          equal(results[winner].value, version, `round ${round}: winner's version`);
          equal(loser.reason.actualVersion, version, `round ${round}: loser's actualVersion`);
          expected = version;
        }
        const events = await stores[1].loadEvents('race');
        equal(events.map((e) => e.version), events.map((_, i) => i), 'versions are contiguous');
      },
    },
    {
      name: 'what was appended survives reopening the backing store',
      needs: 'reopen',
      async run({ adapter, reopen, close }) {
        const store = new EventStore({ storage: adapter });
        await store.appendEvents('kept', -1, [{ type: 'A', data: { n: 1 } }, { type: 'B', data: [2] }]);
        const before = await store.loadEvents('kept');
        await close(adapter);
        const again = await reopen(adapter);
        try {
          const reopened = new EventStore({ storage: again });
          equal(await reopened.loadEvents('kept'), before, 'events after reopening');
          equal(await reopened.appendEvents('kept', 1, [{ type: 'C' }]), 2, 'append after reopening');
        } finally {
          await close(again);
        }
      },
    },
    {
      name: 'the global log: an empty log has last position -1 and no records',
      adapterNeeds: ['loadAll', 'lastPosition'],
      async run({ adapter }) {
        equal(await adapter.lastPosition(), -1, 'lastPosition');
        equal(await adapter.loadAll(-1, 10), [], 'loadAll');
      },
    },
    {
      name: 'the global log: every stream\'s records in commit order, with the positions loads report',
      adapterNeeds: ['loadAll', 'lastPosition'],
      async run({ adapter }) {
        await adapter.append('s1', -1, records(0, ['a0', 'a1']));
        await adapter.append('s2', -1, records(0, ['b0']));
        await adapter.append('s1', 1, records(2, [PAYLOADS[2]]));
        const all = await adapter.loadAll(-1, 100);
        equal(placesOf(all), [
          { aggregateId: 's1', version: 0, payload: 'a0' },
          { aggregateId: 's1', version: 1, payload: 'a1' },
          { aggregateId: 's2', version: 0, payload: 'b0' },
          { aggregateId: 's1', version: 2, payload: PAYLOADS[2] },
        ], 'loadAll');
        const positions = all.map((r) => r.position);
        increasing(positions, 'loadAll');
        equal(await adapter.lastPosition(), positions[3], 'lastPosition');
        const s1 = await adapter.load('s1', -1);
        equal(withoutPositions(s1), records(0, ['a0', 'a1', PAYLOADS[2]]), 'load of s1');
        equal(s1.map((r) => r.position), [positions[0], positions[1], positions[3]], 'positions of s1\'s records');
        equal((await adapter.load('s2', -1)).map((r) => r.position), [positions[2]], 'position of s2\'s record');
      },
    },
    {
      name: 'the global log: pages of at most limit records after a position',
      adapterNeeds: ['loadAll', 'lastPosition'],
      async run({ adapter }) {
        const versions = new Map();
        for (let i = 0; i < 12; i++) {
          const id = `p${i % 3}`;
          const version = versions.get(id) ?? -1;
          await adapter.append(id, version, records(version + 1, [`r${i}`]));
          versions.set(id, version + 1);
        }
        const all = await adapter.loadAll(-1, 1000);
        equal(all.length, 12, 'records in the log');
        for (const limit of [1, 5, 12]) {
          const seen = [];
          let after = -1;
          for (;;) {
            const page = await adapter.loadAll(after, limit);
            if (page.length > limit) fail(`loadAll(${after}, ${limit}) answered ${page.length} records`);
            if (page.length === 0) break;
            seen.push(...page);
            after = page[page.length - 1].position;
          }
          equal(seen, all, `pages of ${limit}`);
        }
        equal(await adapter.loadAll(all[11].position, 5), [], 'after the last position');
        equal(await adapter.loadAll(all[3].position, 2), all.slice(4, 6), 'a page from the middle');
      },
    },
    {
      name: 'the global log: a reader paging while writers race sees every record exactly once',
      adapterNeeds: ['loadAll', 'lastPosition'],
      async run({ adapter, other }) {
        const writers = [adapter, other];
        let writing = true;
        const seen = [];
        let after = -1;
        const readPage = async () => {
          const page = await adapter.loadAll(after, 7);
          increasing([after, ...page.map((r) => r.position)].filter((p) => p >= 0), 'pages read during the race');
          if (page.length > 0) after = page[page.length - 1].position;
          seen.push(...page);
          return page.length;
        };
        const reader = (async () => {
          while (writing) {
            await readPage();
            // A turn of the event loop, so that writers waiting on I/O get theirs.
            await new Promise((resolve) => setTimeout(resolve, 0));
          }
        })();
        // Each writer appends to its own streams and to one shared stream (where races conflict).
        const appended = [];
        await Promise.all(writers.map(async (writer, w) => {
          for (let i = 0; i < 40; i++) {
            const id = i % 4 === 0 ? 'shared' : `w${w}-${i % 3}`;
            const version = await writer.version(id);
            const batch = records(version + 1, Array.from({ length: 1 + (i % 3) }, (_, k) => `w${w} i${i} k${k}`));
            const answer = await writer.append(id, version, batch);
            if (answer.ok) appended.push(...batch.map((r) => `${id}@${r.version}=${r.payload}`));
          }
        }));
        writing = false;
        await reader;
        while ((await readPage()) > 0);
        const keys = seen.map((r) => `${r.aggregateId}@${r.version}=${r.payload}`);
        if (new Set(keys).size !== keys.length) fail('a record was read twice');
        equal([...keys].sort(), [...appended].sort(), 'records the reader saw');
      },
    },
    {
      name: 'the global log: watch() tells of another writer\'s append',
      adapterNeeds: ['loadAll', 'lastPosition', 'watch'],
      async run({ adapter, other }) {
        if (other === adapter) return; // only another instance is "another writer"
        let calls = 0;
        let unwatch = adapter.watch(() => { calls++; });
        // watch() may answer the function, or a Promise of it (settled once watching is armed).
        if (typeof unwatch?.then === 'function') unwatch = await unwatch;
        try {
          if (typeof unwatch !== 'function') fail('watch() did not return a function');
          await other.append('watched', -1, records(0, ['w0']));
          await eventually(() => calls > 0, 'onChange after the other writer\'s append');
        } finally {
          unwatch?.();
        }
      },
    },
    {
      name: 'an EventStore over the adapter: loadAllEvents, getLastPosition and a live subscription',
      adapterNeeds: ['loadAll', 'lastPosition'],
      async run({ adapter, other }) {
        const one = new EventStore({ storage: adapter });
        const two = new EventStore({ storage: other });
        equal(await one.getLastPosition(), null, 'last position of an empty log');
        await one.appendEvents('list-1', -1, [{ type: 'Created', data: { n: 1 } }, { type: 'Renamed' }]);
        await one.appendEvents('list-2', -1, [{ type: 'Created', data: { n: 2 } }]);
        const all = await one.loadAllEvents();
        equal(all.map((e) => [e.aggregateId, e.version, e.type]), [['list-1', 0, 'Created'], ['list-1', 1, 'Renamed'], ['list-2', 0, 'Created']], 'loadAllEvents');
        increasing(all.map((e) => e.position), 'loadAllEvents');
        equal(await one.getLastPosition(), all[2].position, 'getLastPosition');
        equal(await one.loadAllEvents(all[0].position, { limit: 1 }), [all[1]], 'a page after the first');
        const delivered = [];
        const subscription = one.subscribe((event) => { delivered.push(`${event.aggregateId}@${event.version}`); });
        await subscription.caughtUp;
        equal(delivered, ['list-1@0', 'list-1@1', 'list-2@0'], 'history delivered before caughtUp');
        await one.appendEvents('list-2', 0, [{ type: 'ByOne' }]);
        const live = typeof adapter.watch === 'function' || other === adapter ? two : one;
        await live.appendEvents('list-1', 1, [{ type: 'ByTwo' }]);
        await eventually(() => delivered.length === 5, 'live delivery of both appends');
        equal(delivered.slice(3).sort(), ['list-1@2', 'list-2@1'], 'live events');
        subscription.close();
        await subscription.done;
      },
    },
    {
      name: 'an EventStore over the adapter: a retried append with the same event ids writes nothing twice',
      async run({ adapter, other }) {
        const one = new EventStore({ storage: adapter });
        const two = new EventStore({ storage: other });
        const batch = [{ type: 'Placed', eventId: 'order-7-placed' }, { type: 'Paid', eventId: 'order-7-paid' }];
        equal(await one.appendEvents('order-7', -1, batch), 1, 'first attempt');
        equal(await two.appendEvents('order-7', -1, batch), 1, 'retry (the first answer was lost)');
        equal((await one.loadEvents('order-7')).map((e) => e.eventId), ['order-7-placed', 'order-7-paid'], 'events stored once');
        let conflict;
        try { await two.appendEvents('order-7', -1, [{ type: 'Other', eventId: 'order-7-other' }]); } catch (error) { conflict = error; }
        if (!(conflict instanceof EventStoreConflictError)) fail(`a different batch: expected a conflict, got ${conflict}`);
      },
    },
  ];
}

export { createConformanceCases };
