// The global log through the packed package, over every storage: positions, loadAllEvents and
// its paging, getLastPosition, subscriptions (catch-up, live, racing appends, backpressure, how
// they end), idempotent retries, the checks of what an adapter's loadAll answers, UNSUPPORTED, and
// an IndexedDB database written by the release before positions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { EventStore, EventStoreError, EventStoreConflictError, FileStorage, IndexedDbStorage } from 'wasm-event-store/node';
import { IndexedDbStorage as IndexedDbStorageV1 } from './fixtures/indexeddb-storage-v1.mjs';

/** A reference adapter with the global log: a Map of streams and one array of positions. */
class LogMapStorage {
  constructor(backing = { streams: new Map(), log: [], watchers: new Set() }) {
    this.backing = backing;
  }
  // Tests set these to change answers after a store captured the methods.
  loadAnswer;
  loadAllFailure;
  load(id, after, limit = Infinity) {
    if (this.loadAnswer) return this.loadAnswer;
    return (this.backing.streams.get(id) ?? []).filter((r) => r.version > after).slice(0, limit).map((r) => ({ ...r }));
  }
  version(id) {
    return (this.backing.streams.get(id)?.length ?? 0) - 1;
  }
  append(id, expected, records) {
    const actualVersion = this.version(id);
    if (actualVersion !== expected) return { ok: false, actualVersion };
    const stream = this.backing.streams.get(id) ?? [];
    for (const record of records) {
      const stored = { ...record, position: this.backing.log.length };
      stream.push(stored);
      this.backing.log.push({ ...stored, aggregateId: id });
    }
    this.backing.streams.set(id, stream);
    for (const watcher of this.backing.watchers) if (watcher.owner !== this) queueMicrotask(watcher.onChange);
    return { ok: true };
  }
  loadAll(after, limit) {
    if (this.loadAllFailure) throw this.loadAllFailure;
    return this.backing.log.filter((r) => r.position > after).slice(0, limit).map((r) => ({ ...r }));
  }
  lastPosition() {
    return this.backing.log.length - 1;
  }
  watch(onChange) {
    const watcher = { owner: this, onChange };
    this.backing.watchers.add(watcher);
    return () => this.backing.watchers.delete(watcher);
  }
}

/** The same without the optional methods: the three seed methods only. */
class PlainMapStorage {
  inner = new LogMapStorage();
  load(id, after) { return this.inner.load(id, after).map(({ version, payload }) => ({ version, payload })); }
  version(id) { return this.inner.version(id); }
  append(id, expected, records) { return this.inner.append(id, expected, records); }
}

const dirs = [];
process.on('exit', () => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });
let dbCounter = 0;

// Each storage kind: open() a fresh one; second(a) another instance over the same backing where
// there can be one (another tab's IndexedDbStorage; a second LogMapStorage), else undefined.
const KINDS = [
  { name: 'memory', open: async () => undefined },
  { name: 'a Map adapter with the global log', open: async () => new LogMapStorage(), second: (a) => new LogMapStorage(a.backing) },
  {
    name: 'FileStorage',
    open: async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'wes-log-'));
      dirs.push(dir);
      return FileStorage.open(dir);
    },
    close: (s) => s.close(),
  },
  {
    name: 'IndexedDbStorage on fake-indexeddb',
    open: async () => {
      const indexedDB = new IDBFactory();
      const name = `log-${++dbCounter}`;
      const storage = await IndexedDbStorage.open(name, { indexedDB, IDBKeyRange });
      storage.again = () => IndexedDbStorage.open(name, { indexedDB, IDBKeyRange });
      return storage;
    },
    second: (a) => a.again(),
    close: (s) => s.close(),
  },
];

async function withStore(kind, run) {
  const storage = await kind.open();
  const opened = [storage];
  const open = (s) => new EventStore(s === undefined ? undefined : { storage: s });
  try {
    await run({
      store: open(storage),
      storage,
      // Another store over the same backing storage (another tab's, where the kind has one).
      other: async () => {
        if (!kind.second) return storage === undefined ? undefined : open(storage);
        const second = await kind.second(storage);
        opened.push(second);
        return open(second);
      },
    });
  } finally {
    for (const s of opened) await kind.close?.(s);
  }
}

/** Resolves once `condition()` holds (checked after each turn of the event loop); fails after 10 s. */
async function until(condition, what) {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

const place = (e) => `${e.aggregateId}@${e.version}`;

for (const kind of KINDS) {
  describe(`the global log over ${kind.name}`, () => {
    test('positions: strictly increasing in commit order over all streams, the same from every read', async () => {
      await withStore(kind, async ({ store }) => {
        assert.equal(await store.getLastPosition(), null);
        assert.deepEqual(await store.loadAllEvents(), []);
        await store.appendEvents('list-1', -1, [{ type: 'Created' }, { type: 'Renamed' }]);
        await store.appendEvents('list-2', -1, [{ type: 'Created' }]);
        await store.appendEvents('list-1', 1, [{ type: 'Deleted' }]);
        const all = await store.loadAllEvents();
        assert.deepEqual(all.map(place), ['list-1@0', 'list-1@1', 'list-2@0', 'list-1@2']);
        const positions = all.map((e) => e.position);
        assert.ok(positions.every((p, i) => Number.isSafeInteger(p) && (i === 0 || p > positions[i - 1])), String(positions));
        assert.equal(await store.getLastPosition(), positions[3]);
        // A stream's own load carries the same positions and is the same event.
        const one = await store.loadEvents('list-1');
        assert.deepEqual(one, [all[0], all[1], all[3]]);
        assert.deepEqual(await store.loadEvents('list-1', 0, { limit: 1 }), [all[1]]);
        // Paging with the last position seen: every event once.
        const paged = [];
        for (let after = -1; ;) {
          const page = await store.loadAllEvents(after, { limit: 3 });
          if (page.length === 0) break;
          assert.ok(page.length <= 3);
          paged.push(...page);
          after = page.at(-1).position;
        }
        assert.deepEqual(paged, all);
        assert.deepEqual(await store.loadAllEvents(positions[1]), all.slice(2));
        assert.deepEqual(await store.loadAllEvents(-42, { limit: 1 }), all.slice(0, 1));
        assert.deepEqual(await store.loadAllEvents(null), all);
      });
    });

    test('a subscription delivers history, then live events, each once and in order, also while appends race the catch-up', async () => {
      await withStore(kind, async ({ store }) => {
        for (let i = 0; i < 30; i++) await store.appendEvents(`s${i % 3}`, Math.floor(i / 3) - 1, [{ type: 'Before', data: i }]);
        const delivered = [];
        let caughtUp = false;
        const subscription = store.subscribe((event) => {
          delivered.push(event);
        });
        subscription.caughtUp.then(() => { caughtUp = true; });
        // Appends racing the catch-up: from the same store, concurrently.
        const racing = Array.from({ length: 3 }, async (_, s) => {
          for (let i = 0; i < 20; i++) await store.appendEvents(`s${s}`, 9 + i, [{ type: 'During', data: i }]);
        });
        await Promise.all(racing);
        await subscription.caughtUp;
        assert.ok(caughtUp);
        await store.appendEvents('late', -1, [{ type: 'After' }, { type: 'After' }]);
        await until(() => delivered.length === 92, 'delivery of all 92 events');
        const all = await store.loadAllEvents();
        assert.deepEqual(delivered, all, 'every event once, in position order');
        subscription.close();
        await subscription.done;
        await store.appendEvents('late', 1, [{ type: 'Closed' }]);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(delivered.length, 92, 'nothing after close()');
      });
    });

    test('a subscription sees the appends of another store over the same backing storage', async () => {
      await withStore(kind, async ({ store, other }) => {
        const second = await other();
        if (second === undefined) return; // memory: stores share nothing
        const delivered = [];
        const subscription = store.subscribe((event) => { delivered.push(place(event)); }, { fromPosition: -1 });
        await subscription.caughtUp;
        await Promise.all([
          (async () => { for (let i = 0; i < 25; i++) await second.appendEvents('theirs', i - 1, [{ type: 'T' }]); })(),
          (async () => { for (let i = 0; i < 25; i++) await store.appendEvents('mine', i - 1, [{ type: 'M' }]); })(),
        ]);
        await until(() => delivered.length === 50, 'delivery of both stores\' appends');
        assert.deepEqual(delivered, (await store.loadAllEvents()).map(place));
        subscription.close();
        await subscription.done;
      });
    });

    test('a stream subscription follows one stream after fromVersion', async () => {
      await withStore(kind, async ({ store }) => {
        await store.appendEvents('list-1', -1, Array.from({ length: 6 }, (_, i) => ({ type: 'E', data: i })));
        await store.appendEvents('list-2', -1, [{ type: 'Other' }]);
        const versions = [];
        const subscription = store.subscribe((event) => { versions.push(event.version); }, { aggregateId: 'list-1', fromVersion: 4 });
        await subscription.caughtUp;
        assert.deepEqual(versions, [5]);
        await store.appendEvents('list-2', 0, [{ type: 'Other' }]);
        await store.appendEvents('list-1', 5, [{ type: 'E' }, { type: 'E' }]);
        await until(() => versions.length === 3, 'the stream\'s live events');
        assert.deepEqual(versions, [5, 6, 7]);
        subscription.close();
        await subscription.done;
      });
    });

    test('a retried append whose events carry ids resolves and writes nothing twice; anything else conflicts', async () => {
      await withStore(kind, async ({ store, other }) => {
        const second = (await other()) ?? store;
        const batch = [{ type: 'Placed', eventId: 'cmd-1/placed' }, { type: 'Paid', eventId: 'cmd-1/paid' }];
        assert.equal(await store.appendEvents('order', -1, batch), 1);
        assert.equal(await second.appendEvents('order', -1, batch), 1, 'the retry');
        await store.appendEvents('order', 1, [{ type: 'Shipped' }]);
        assert.equal(await second.appendEvents('order', -1, batch), 1, 'a retry after the stream moved on');
        assert.equal((await store.loadAllEvents()).length, 3, 'nothing written twice');
        await assert.rejects(second.appendEvents('order', -1, [...batch].reverse()), EventStoreConflictError);
        await assert.rejects(second.appendEvents('order', -1, [{ type: 'Placed' }, { type: 'Paid' }]), EventStoreConflictError);
      });
    });
  });
}

describe('subscriptions: how they wait and how they end', () => {
  test('the handler\'s Promise holds back the next event (backpressure)', async () => {
    const store = new EventStore();
    await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }, { type: 'C' }]);
    const log = [];
    let release;
    const subscription = store.subscribe(async (event) => {
      log.push(`start ${event.type}`);
      if (event.type === 'A') await new Promise((resolve) => { release = resolve; });
      log.push(`end ${event.type}`);
    });
    await until(() => release !== undefined, 'the first handler call');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['start A'], 'B waits for A');
    release();
    await subscription.caughtUp;
    assert.deepEqual(log, ['start A', 'end A', 'start B', 'end B', 'start C', 'end C']);
    subscription.close();
  });

  test('a handler that throws or rejects ends it: done rejects with that error, nothing more is delivered', async () => {
    for (const fails of [(e) => { throw e; }, async (e) => { throw e; }]) {
      const store = new EventStore();
      await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
      const boom = new Error('projection failed');
      const seen = [];
      const subscription = store.subscribe((event) => {
        seen.push(event.type);
        if (event.type === 'A') return fails(boom);
      });
      await assert.rejects(subscription.done, (error) => error === boom);
      await assert.rejects(subscription.caughtUp, (error) => error === boom, 'caughtUp settles as done');
      await store.appendEvents('s', 1, [{ type: 'C' }]);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(seen, ['A']);
    }
  });

  test('close() before catching up resolves caughtUp and done; close() twice is fine', async () => {
    const store = new EventStore();
    await store.appendEvents('s', -1, [{ type: 'A' }]);
    const subscription = store.subscribe(() => assert.fail('delivered after close()'));
    subscription.close();
    subscription.close();
    await subscription.caughtUp;
    await subscription.done;
    assert.ok(Object.isFrozen(subscription));
  });

  test('a storage failure ends it with an EventStoreError STORAGE, its cause the adapter\'s error', async () => {
    const storage = new LogMapStorage();
    const store = new EventStore({ storage });
    await store.appendEvents('s', -1, [{ type: 'A' }]);
    const seen = [];
    const subscription = store.subscribe((event) => { seen.push(event.type); });
    await subscription.caughtUp;
    const broken = new Error('disk on fire');
    storage.loadAllFailure = broken;
    await store.appendEvents('s', 0, [{ type: 'B' }]);
    await assert.rejects(subscription.done, (error) => {
      assert.ok(error instanceof EventStoreError);
      assert.equal(error.code, 'STORAGE');
      assert.equal(error.cause, broken);
      return true;
    });
    assert.deepEqual(seen, ['A']);
  });

  test('free() ends the store\'s subscriptions as close() does; subscribing to a freed store throws FREED', async () => {
    const store = new EventStore();
    const subscription = store.subscribe(() => {});
    await subscription.caughtUp;
    store.free();
    await subscription.done;
    for (const options of [undefined, { aggregateId: 's' }]) {
      assert.throws(() => store.subscribe(() => {}, options), { code: 'FREED' });
    }
    // Argument errors still come first.
    assert.throws(() => store.subscribe(() => {}, { fromVersion: 1 }), { code: 'INVALID_ARGUMENT' });
  });

  test('a subscription closed while watch() is still arming stops it as soon as it is armed', async () => {
    const storage = new LogMapStorage();
    const arms = [];
    let unwatched = 0;
    storage.watch = () => new Promise((resolve) => { arms.push(() => resolve(() => { unwatched++; })); });
    const store = new EventStore({ storage });
    const first = store.subscribe(() => {});
    await until(() => arms.length === 1, 'watch() called');
    first.close();
    await first.done;
    // A new subscription arms a watch of its own; the stale one is stopped when it settles.
    const second = store.subscribe(() => {});
    await until(() => arms.length === 2, 'a second watch()');
    arms[0]();
    await until(() => unwatched === 1, 'the stale watch stopped');
    arms[1]();
    await second.caughtUp;
    assert.equal(unwatched, 1, 'the live one keeps watching');
    second.close();
    assert.equal(unwatched, 2);
  });

  test('a watch() that fails ends the subscription with STORAGE; a watch that returns no function too', async () => {
    for (const watch of [() => { throw new Error('no channel'); }, () => 42, async () => { throw new Error('late'); }]) {
      const storage = new LogMapStorage();
      storage.watch = watch;
      const subscription = new EventStore({ storage }).subscribe(() => {});
      await assert.rejects(subscription.done, { code: 'STORAGE' });
    }
  });

  test('caughtUp waits for a watch() that arms asynchronously, and unwatching follows the last close()', async () => {
    const storage = new LogMapStorage();
    let armed = false;
    let unwatched = 0;
    let arm;
    storage.watch = (onChange) => new Promise((resolve) => {
      arm = () => { armed = true; resolve(() => { unwatched++; }); };
      void onChange;
    });
    const store = new EventStore({ storage });
    const one = store.subscribe(() => {});
    const two = store.subscribe(() => {});
    let caughtUp = false;
    one.caughtUp.then(() => { caughtUp = true; });
    await until(() => arm !== undefined, 'watch() called');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(caughtUp, false, 'not caught up before live delivery is armed');
    arm();
    await one.caughtUp;
    await two.caughtUp;
    assert.ok(armed);
    one.close();
    assert.equal(unwatched, 0, 'still one subscription');
    two.close();
    assert.equal(unwatched, 1);
  });
});

describe('bad input to the global log is INVALID_ARGUMENT, naming the argument; subscribe throws at once', () => {
  const store = new EventStore();
  for (const [what, call, pattern] of [
    ['a fractional fromPosition', () => store.loadAllEvents(0.5), /fromPosition/],
    ['a string fromPosition', () => store.loadAllEvents('3'), /fromPosition/],
    ['an unsafe fromPosition', () => store.loadAllEvents(2 ** 60), /fromPosition/],
    ['a zero limit', () => store.loadAllEvents(-1, { limit: 0 }), /options\.limit/],
    ['an unknown option', () => store.loadAllEvents(-1, { limt: 5 }), /options\.limt/],
    ['an unknown loadEvents option', () => store.loadEvents('s', -1, { from: 2 }), /options\.from/],
  ]) {
    test(`loadAllEvents: ${what}`, async () => {
      await assert.rejects(call(), (error) => error instanceof EventStoreError && error.code === 'INVALID_ARGUMENT' && pattern.test(error.message));
    });
  }
  for (const [what, call, pattern] of [
    ['a handler that is not a function', () => store.subscribe({}), /handler/],
    ['unknown options', () => store.subscribe(() => {}, { fromPostion: 3 }), /options\.fromPostion/],
    ['fromVersion without aggregateId', () => store.subscribe(() => {}, { fromVersion: 3 }), /aggregateId/],
    ['fromPosition with aggregateId', () => store.subscribe(() => {}, { aggregateId: 's', fromPosition: 3 }), /fromPosition/],
    ['a bad fromPosition', () => store.subscribe(() => {}, { fromPosition: NaN }), /fromPosition/],
    ['a bad aggregateId', () => store.subscribe(() => {}, { aggregateId: '' }), /aggregateId/],
    ['options that are not an object', () => store.subscribe(() => {}, 5), /options/],
  ]) {
    test(`subscribe: ${what}`, () => {
      assert.throws(call, (error) => error instanceof EventStoreError && error.code === 'INVALID_ARGUMENT' && pattern.test(error.message));
    });
  }
});

describe('over an adapter without the optional methods', () => {
  test('loadAllEvents, getLastPosition and position subscriptions are UNSUPPORTED, naming the method; the rest works', async () => {
    const store = new EventStore({ storage: new PlainMapStorage() });
    await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
    const events = await store.loadEvents('s');
    assert.ok(events.every((e) => !('position' in e)), 'recorded events carry no position');
    await assert.rejects(store.loadAllEvents(), (e) => e.code === 'UNSUPPORTED' && /loadAll/.test(e.message));
    await assert.rejects(store.getLastPosition(), (e) => e.code === 'UNSUPPORTED' && /loadAll/.test(e.message));
    assert.throws(() => store.subscribe(() => {}), (e) => e instanceof EventStoreError && e.code === 'UNSUPPORTED');
    // Argument errors win over UNSUPPORTED.
    await assert.rejects(store.loadAllEvents(0.5), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => store.subscribe(() => {}, { fromPosition: 'x' }), { code: 'INVALID_ARGUMENT' });
    // A stream subscription needs no global log: it sees this store's appends.
    const seen = [];
    const subscription = store.subscribe((e) => { seen.push(e.type); }, { aggregateId: 's' });
    await subscription.caughtUp;
    await store.appendEvents('s', 1, [{ type: 'C' }]);
    await until(() => seen.length === 3, 'the live event');
    assert.deepEqual(seen, ['A', 'B', 'C']);
    subscription.close();
  });

  test('with loadAll but no lastPosition, only getLastPosition is UNSUPPORTED', async () => {
    const storage = new LogMapStorage();
    storage.lastPosition = undefined;
    const store = new EventStore({ storage });
    await store.appendEvents('s', -1, [{ type: 'A' }]);
    assert.equal((await store.loadAllEvents()).length, 1);
    await assert.rejects(store.getLastPosition(), (e) => e.code === 'UNSUPPORTED' && /lastPosition/.test(e.message));
  });

  test('an optional member that is not a function is refused at construction', () => {
    const storage = new LogMapStorage();
    storage.loadAll = 'yes';
    assert.throws(() => new EventStore({ storage }), (e) => e.code === 'INVALID_ARGUMENT' && /loadAll/.test(e.message));
  });
});

describe('the core checks what loadAll answers: CORRUPT, naming the position', () => {
  const payloadOf = async (id, version) => {
    const storage = new LogMapStorage();
    const store = new EventStore({ storage });
    for (let v = 0; v <= version; v++) await store.appendEvents(id, v - 1, [{ type: 'E', data: v }]);
    return storage.backing.log[version].payload;
  };
  const cases = [
    ['positions out of order', async () => [{ aggregateId: 'a', version: 0, position: 5, payload: await payloadOf('a', 0) }, { aggregateId: 'b', version: 0, position: 3, payload: (await payloadOf('b', 0)) }]],
    ['a duplicated position', async () => [{ aggregateId: 'a', version: 0, position: 5, payload: await payloadOf('a', 0) }, { aggregateId: 'b', version: 0, position: 5, payload: await payloadOf('b', 0) }]],
    ['a record without a position', async () => [{ aggregateId: 'a', version: 0, payload: await payloadOf('a', 0) }]],
    ['a record without an aggregateId', async () => [{ version: 0, position: 0, payload: await payloadOf('a', 0) }]],
    ['a payload of another stream', async () => [{ aggregateId: 'b', version: 0, position: 0, payload: await payloadOf('a', 0) }]],
    ['a payload of another version', async () => [{ aggregateId: 'a', version: 0, position: 0, payload: await payloadOf('a', 1) }]],
    ['a fractional position', async () => [{ aggregateId: 'a', version: 0, position: 0.5, payload: await payloadOf('a', 0) }]],
    ['more records than the limit asked for', async () => Array.from({ length: 2 }, (_, i) => ({ aggregateId: 'a', version: 0, position: i, payload: 'x' }))],
    ['a position not after the one asked after', async () => [{ aggregateId: 'a', version: 0, position: 0, payload: await payloadOf('a', 0) }], 0],
    ['not an array', async () => ({ length: 1 })],
  ];
  for (const [what, answer, after = -1] of cases) {
    test(what, async () => {
      const storage = new LogMapStorage();
      const records = await answer();
      storage.loadAll = () => records;
      const store = new EventStore({ storage });
      await assert.rejects(store.loadAllEvents(after, { limit: 1 }), (error) => {
        assert.ok(error instanceof EventStoreError);
        assert.equal(error.code, 'CORRUPT', error.message);
        assert.equal(typeof error.position, 'number');
        return true;
      });
    });
  }

  test('the load() records of an adapter with the global log must carry increasing positions', async () => {
    const storage = new LogMapStorage();
    const store = new EventStore({ storage });
    await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
    const good = storage.load('s', -1);
    for (const bad of [
      good.map(({ version, payload }) => ({ version, payload })),
      [{ ...good[0], position: 1 }, { ...good[1], position: 1 }],
      [{ ...good[0], position: -3 }, good[1]],
    ]) {
      storage.loadAnswer = bad;
      await assert.rejects(store.loadEvents('s'), { code: 'CORRUPT' });
    }
  });
});

describe('IndexedDbStorage: a database written by the release before positions', () => {
  test('opens, upgrades once, keeps every event, and gives old events positions in a stable order', async () => {
    const indexedDB = new IDBFactory();
    const old = await IndexedDbStorageV1.open('app', { indexedDB, IDBKeyRange });
    const oldStore = new EventStore({ storage: old });
    await oldStore.appendEvents('list-b', -1, [{ type: 'Created', data: 'b' }, { type: 'Renamed', data: 'b2' }]);
    await oldStore.appendEvents('list-a', -1, [{ type: 'Created', data: 'a' }]);
    await oldStore.appendEvents('list-b', 1, [{ type: 'Deleted' }]);
    const before = {
      a: (await oldStore.loadEvents('list-a')).map(({ position, ...e }) => e),
      b: (await oldStore.loadEvents('list-b')).map(({ position, ...e }) => e),
    };
    old.close();

    const storage = await IndexedDbStorage.open('app', { indexedDB, IDBKeyRange });
    const store = new EventStore({ storage });
    const strip = (events) => events.map(({ position, ...e }) => e);
    assert.deepEqual(strip(await store.loadEvents('list-a')), before.a);
    assert.deepEqual(strip(await store.loadEvents('list-b')), before.b);
    // Key order: stream by stream (ids sorted), versions ascending, positions from 0.
    const all = await store.loadAllEvents();
    assert.deepEqual(all.map((e) => [e.aggregateId, e.version, e.position]),
      [['list-a', 0, 0], ['list-b', 0, 1], ['list-b', 1, 2], ['list-b', 2, 3]]);
    assert.equal(await store.getLastPosition(), 3);
    // New appends continue the log.
    await store.appendEvents('list-a', 0, [{ type: 'Renamed' }]);
    assert.deepEqual((await store.loadAllEvents(3)).map((e) => [e.aggregateId, e.version, e.position]), [['list-a', 1, 4]]);
    storage.close();

    // Opening again does not upgrade again: the same positions.
    const again = await IndexedDbStorage.open('app', { indexedDB, IDBKeyRange });
    assert.deepEqual((await new EventStore({ storage: again }).loadAllEvents()).map((e) => e.position), [0, 1, 2, 3, 4]);
    again.close();
  });
});

describe('a damaged record past a load\'s limit is not part of the load', () => {
  test('over an adapter without and with the global log', async () => {
    for (const Storage of [PlainMapStorage, LogMapStorage]) {
      const storage = new Storage();
      const store = new EventStore({ storage });
      await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
      const good = storage.load('s', -1);
      const answer = [...good, { version: 'not a version' }];
      if (storage instanceof LogMapStorage) storage.loadAnswer = answer;
      else storage.inner.loadAnswer = answer;
      assert.deepEqual((await store.loadEvents('s', -1, { limit: 2 })).map((e) => e.type), ['A', 'B']);
      await assert.rejects(store.loadEvents('s', -1, { limit: 3 }), { code: 'CORRUPT' });
      await assert.rejects(store.loadEvents('s'), { code: 'CORRUPT' });
    }
  });
});
