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

function createConformanceCases({ EventStore, EventStoreConflictError }) {
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
        equal(await adapter.load('s', -1), records(0, PAYLOADS), 'load');
        equal(await adapter.version('s'), PAYLOADS.length - 1, 'version');
        equal(await adapter.append('s', 3, records(4, ['more'])), { ok: true }, 'second append');
        equal(await adapter.load('s', 3), records(4, ['more']), 'load after 3');
      },
    },
    {
      name: 'load returns only versions after afterVersion',
      async run({ adapter }) {
        const payloads = ['p0', 'p1', 'p2', 'p3', 'p4'];
        await adapter.append('s', -1, records(0, payloads));
        for (const after of [-1, 0, 2, 4, 9]) {
          const from = Math.max(after + 1, 0);
          equal(await adapter.load('s', after), records(from, payloads.slice(from)), `load after ${after}`);
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
        equal(await adapter.load('s', -1), records(0, ['p0', 'p1']), 'stream after the conflicts');
        equal(await adapter.version('new'), -1, 'new stream after the conflict');
      },
    },
    {
      name: 'streams are independent, even when one id is a prefix of another',
      async run({ adapter }) {
        const ids = ['a', 'ab', 'a\u0000', 'A', 'a/b', ''.padEnd(300, 'k')];
        for (const [i, id] of ids.entries()) await adapter.append(id, -1, records(0, [`only ${i}`]));
        for (const [i, id] of ids.entries()) {
          equal(await adapter.load(id, -1), records(0, [`only ${i}`]), `stream ${JSON.stringify(id.slice(0, 8))}`);
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
  ];
}

export { createConformanceCases };
