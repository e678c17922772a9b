// Host-provided storage through the packed package: the adapter contract as the core enforces
// it (shape, errors, corruption, serialisation), and the conformance kit over a reference Map
// adapter and over IndexedDbStorage on fake-indexeddb.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage } from 'wasm-event-store';
import { runStorageConformance } from 'wasm-event-store/testing';

/** The simplest correct adapter: synchronous, atomic because JS runs one call at a time. */
class MapStorage {
  streams = new Map();
  load(id, after) {
    return (this.streams.get(id) ?? []).filter((r) => r.version > after).map((r) => ({ ...r }));
  }
  version(id) {
    return (this.streams.get(id)?.length ?? 0) - 1;
  }
  append(id, expected, records) {
    const actualVersion = this.version(id);
    if (actualVersion !== expected) return { ok: false, actualVersion };
    this.streams.set(id, [...(this.streams.get(id) ?? []), ...records.map((r) => ({ ...r }))]);
    return { ok: true };
  }
}

/** The same backing store behind Promise-returning methods, with a turn of the event loop. */
class AsyncMapStorage {
  constructor(backing = new MapStorage()) { this.backing = backing; }
  async load(id, after) { await null; return this.backing.load(id, after); }
  async version(id) { await null; return this.backing.version(id); }
  async append(id, expected, records) { await null; return this.backing.append(id, expected, records); }
}

runStorageConformance({ name: 'synchronous Map adapter', open: () => new MapStorage() });
runStorageConformance({
  name: 'asynchronous Map adapter, two instances over one backing store',
  open: () => new AsyncMapStorage(),
  second: (a) => new AsyncMapStorage(a.backing),
  reopen: (a) => new AsyncMapStorage(a.backing),
});

let dbCounter = 0;
runStorageConformance({
  name: 'IndexedDbStorage on fake-indexeddb',
  open: async () => {
    const indexedDB = new IDBFactory();
    const name = `conformance-${++dbCounter}`;
    const storage = await IndexedDbStorage.open(name, { indexedDB, IDBKeyRange });
    storage.reopenWith = () => IndexedDbStorage.open(name, { indexedDB, IDBKeyRange });
    return storage;
  },
  second: (a) => a.reopenWith(),
  reopen: (a) => a.reopenWith(),
  close: (a) => a.close(),
});

describe('the adapter shape is checked when the store is constructed', () => {
  for (const missing of ['load', 'version', 'append']) {
    test(`a storage without ${missing}() is refused, naming it`, () => {
      const storage = new MapStorage();
      const broken = { load: storage.load, version: storage.version, append: storage.append, [missing]: undefined };
      assert.throws(() => new EventStore({ storage: broken }), (error) =>
        error instanceof EventStoreError && error.code === 'INVALID_ARGUMENT' && error.message.includes(`${missing}()`));
    });
  }
  test('a storage that is not an object is refused', () => {
    for (const storage of [null, 1, 'x']) {
      assert.throws(() => new EventStore({ storage }), (error) => error instanceof EventStoreError && error.code === 'INVALID_ARGUMENT');
    }
  });
});

describe('adapter failures are STORAGE errors with the cause, and the store stays usable', () => {
  for (const [how, fail] of [
    ['throws', () => { throw new Error('disk on fire'); }],
    ['rejects', () => Promise.reject(new Error('disk on fire'))],
  ]) {
    for (const method of ['load', 'version', 'append']) {
      test(`${method}() ${how}`, async () => {
        const backing = new MapStorage();
        const storage = new MapStorage();
        storage.streams = backing.streams;
        let broken = true;
        const original = storage[method].bind(storage);
        storage[method] = (...args) => (broken ? fail() : original(...args));
        const store = new EventStore({ storage });
        const call = {
          load: () => store.loadEvents('s'),
          version: () => store.getCurrentVersion('s'),
          append: () => store.appendEvents('s', -1, [{ type: 'A' }]),
        }[method];
        await assert.rejects(call(), (error) => {
          assert.ok(error instanceof EventStoreError, `got ${error}`);
          assert.equal(error.code, 'STORAGE');
          assert.ok(error.cause instanceof Error);
          assert.equal(error.cause.message, 'disk on fire');
          assert.match(error.message, new RegExp(`${method}\\(\\)`));
          return true;
        });
        broken = false;
        assert.equal(await store.appendEvents('s', -1, [{ type: 'A' }]), 0);
        assert.equal((await store.loadEvents('s')).length, 1);
      });
    }
  }

  test('answers that break the contract are STORAGE errors', async () => {
    const answers = [undefined, null, {}, { ok: 'yes' }, { ok: false }, { ok: false, actualVersion: 0.5 }, { ok: false, actualVersion: -1 }];
    for (const answer of answers) {
      const store = new EventStore({ storage: { ...new MapStorage(), load: () => [], version: () => -1, append: () => answer } });
      await assert.rejects(store.appendEvents('s', -1, [{ type: 'A' }]), (e) => e.code === 'STORAGE', JSON.stringify(answer));
    }
    for (const version of ['0', 0.5, -2, null, undefined, NaN]) {
      const store = new EventStore({ storage: { load: () => [], version: () => version, append: () => ({ ok: true }) } });
      await assert.rejects(store.getCurrentVersion('s'), (e) => e.code === 'STORAGE', String(version));
    }
  });
});

describe('fault injection: an adapter failing at random during concurrent appends', () => {
  test('every acknowledged append is stored, no rejected one is, versions stay contiguous', async () => {
    // A seeded PRNG keeps a failing run reproducible.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const backing = new MapStorage();
    const flaky = {
      async load(id, after) { await null; return backing.load(id, after); },
      async version(id) { await null; return backing.version(id); },
      async append(id, expected, records) {
        await null;
        const roll = random();
        if (roll < 0.15) throw new Error('injected failure before writing');
        if (roll < 0.3) return Promise.reject(new Error('injected rejection before writing'));
        return backing.append(id, expected, records);
      },
    };
    const stores = [new EventStore({ storage: flaky }), new EventStore({ storage: flaky })];
    const acknowledged = new Map(); // token -> { id }
    const ids = ['a', 'b', 'c'];
    const writer = async (w) => {
      for (let n = 0; n < 40; n++) {
        const store = stores[w % 2];
        const id = ids[(w + n) % ids.length];
        const token = `${w}-${n}`;
        const expected = (await store.getCurrentVersion(id).catch(() => null)) ?? -1;
        try {
          await store.appendEvents(id, expected, [{ type: 'T', data: { token } }, { type: 'T2', data: { token } }]);
          acknowledged.set(token, id);
        } catch (error) {
          assert.ok(error instanceof EventStoreError, `unexpected ${error}`);
          assert.ok(['STORAGE', 'CONFLICT'].includes(error.code), error.code);
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));
    assert.ok(acknowledged.size > 20, `only ${acknowledged.size} appends succeeded`);
    const seen = new Map();
    for (const id of ids) {
      const events = await new EventStore({ storage: backing }).loadEvents(id);
      assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i), `stream ${id} is contiguous`);
      for (let i = 0; i < events.length; i += 2) {
        // Batches are atomic: each token's two events are adjacent.
        assert.equal(events[i].data.token, events[i + 1].data.token);
        assert.equal(seen.has(events[i].data.token), false, 'no append stored twice');
        seen.set(events[i].data.token, id);
      }
    }
    assert.deepEqual(new Map([...seen].sort()), new Map([...acknowledged].sort()), 'stored exactly the acknowledged appends');
  });
});

describe('the core never trusts what load returns: CORRUPT, naming stream and version', () => {
  const good = async () => {
    const backing = new MapStorage();
    await new EventStore({ storage: backing }).appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }, { type: 'C' }]);
    return backing;
  };
  const cases = {
    'a gap': (r) => [r[0], r[2]],
    'a duplicate version': (r) => [r[0], r[1], r[1], r[2]],
    'versions out of order': (r) => [r[1], r[0], r[2]],
    'not starting after afterVersion': (r) => [r[1], r[2]],
    'a payload that does not decode': (r) => [r[0], { version: 1, payload: '{"v":1,"broken' }, r[2]],
    'a payload of another encoding version': (r) => [r[0], { version: 1, payload: r[1].payload.replace('"v":1', '"v":99') }, r[2]],
    'a payload of another stream': (r) => [r[0], { version: 1, payload: r[1].payload.replace('"aggregateId":"s"', '"aggregateId":"t"') }, r[2]],
    'a payload of another version': (r) => [r[0], { version: 1, payload: r[2].payload }, r[2]],
    'a record without a payload': (r) => [r[0], { version: 1 }, r[2]],
    'a record with a fractional version': (r) => [r[0], { ...r[1], version: 1.5 }, r[2]],
    'not an array': () => ({ length: 0 }),
    'a null record': (r) => [r[0], null, r[2]],
    'a record with a version given as a string': (r) => [r[0], { ...r[1], version: '1' }, r[2]],
    // Payloads cross into the core joined by NUL: a payload holding a NUL and the next payload
    // must not pass for two records.
    'two payloads in one record, joined by a NUL': (r) => [{ version: 0, payload: `${r[0].payload}\u0000${r[1].payload}` }, r[2]],
    'a payload with a NUL inside a string': (r) => [r[0], { version: 1, payload: r[1].payload.replace('"B"', '"B\u0000"') }, r[2]],
    'an array whose length is not a count': (r) => new Proxy(r, { get: (t, k) => (k === 'length' ? 1.5 : t[k]) }),
    'an array whose length is undefined': (r) => new Proxy(r, { get: (t, k) => (k === 'length' ? undefined : t[k]) }),
  };
  for (const [what, tamper] of Object.entries(cases)) {
    test(what, async () => {
      const backing = await good();
      const storage = { ...backing, load: (id, after) => tamper(backing.load(id, after)), version: (id) => backing.version(id), append: () => ({ ok: true }) };
      const store = new EventStore({ storage });
      await assert.rejects(store.loadEvents('s'), (error) => {
        assert.ok(error instanceof EventStoreError);
        assert.equal(error.code, 'CORRUPT', error.message);
        assert.match(error.message, /stream s at version \d+/);
        return true;
      });
      assert.equal(await store.getCurrentVersion('s'), 2, 'store still usable');
    });
  }
  test('payloads of every UTF-8 width load back as they were stored', async () => {
    // The core copies the joined payloads with a buffer sized for ASCII and grows it for the
    // rest: 2-, 3- and 4-byte characters, also at the buffer's end, must come back whole.
    const store = new EventStore({ storage: new MapStorage() });
    const texts = ['a', 'é', '€', '😀', 'aé€😀'.repeat(50), '€'.repeat(3000), `${'x'.repeat(999)}😀`];
    const events = texts.map((text, i) => ({ type: `T${i}`, data: { text }, metadata: { text } }));
    await store.appendEvents('u', -1, events);
    const loaded = await store.loadEvents('u');
    assert.deepEqual(loaded.map((e) => e.data.text), texts);
    assert.deepEqual(loaded.map((e) => e.metadata.text), texts);
    assert.deepEqual((await store.loadEvents('u', 5)).map((e) => e.data.text), texts.slice(6));
  });

  test('an intact stream loads through the same checks', async () => {
    const store = new EventStore({ storage: await good() });
    assert.deepEqual((await store.loadEvents('s', 0)).map((e) => e.type), ['B', 'C']);
  });
});

describe('one store serialises operations on an aggregate, so a non-atomic adapter is safe', () => {
  test('concurrent appends through one store over a check-then-write adapter: one wins', async () => {
    const backing = new MapStorage();
    // Not atomic: it yields between reading the version and writing.
    const racy = {
      load: (id, after) => backing.load(id, after),
      version: (id) => backing.version(id),
      async append(id, expected, records) {
        const actualVersion = backing.version(id);
        await new Promise((resolve) => setImmediate(resolve));
        if (actualVersion !== expected) return { ok: false, actualVersion };
        backing.streams.set(id, [...(backing.streams.get(id) ?? []), ...records]);
        return { ok: true };
      },
    };
    const store = new EventStore({ storage: racy });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.appendEvents('s', -1, [{ type: 'T', data: { i } }])));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof EventStoreConflictError);
      assert.equal(r.reason.actualVersion, 0);
    }
    assert.equal(backing.version('s'), 0);
  });
});

describe('persistence and instances', () => {
  test('a new store over the same adapter sees the events of an earlier one', async () => {
    const storage = new MapStorage();
    await new EventStore({ storage }).appendEvents('kept', -1, [{ type: 'A', data: { x: 1 } }]);
    const later = new EventStore({ storage });
    const [event] = await later.loadEvents('kept');
    assert.deepEqual([event.type, event.data, event.version], ['A', { x: 1 }, 0]);
    await assert.rejects(later.appendEvents('kept', -1, [{ type: 'B' }]), EventStoreConflictError);
  });

  test('payloads are the documented version-1 encoding', async () => {
    const storage = new MapStorage();
    await new EventStore({ storage }).appendEvents('p', -1, [{ type: 'A', data: { x: 1 }, eventId: 'e1', occurredOn: '2024-05-01T10:00:00Z' }]);
    const [record] = storage.load('p', -1);
    assert.equal(record.version, 0);
    assert.deepEqual(JSON.parse(record.payload), {
      v: 1, aggregateId: 'p', version: 0, type: 'A', data: { x: 1 }, metadata: {}, eventId: 'e1', occurredOn: '2024-05-01T10:00:00.000Z',
    });
  });
});

describe('IndexedDbStorage after another connection changes the database version', () => {
  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

  test('after a deleteDatabase (e.g. "clear data" in another tab) it reconnects to a fresh, empty database', async () => {
    const indexedDB = new IDBFactory();
    const storage = await IndexedDbStorage.open('vc-delete', { indexedDB, IDBKeyRange });
    const store = new EventStore({ storage });
    await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
    // Our connection closes on versionchange, so the deletion is not blocked.
    await request(indexedDB.deleteDatabase('vc-delete'));
    assert.equal(await store.getCurrentVersion('s'), null);
    assert.equal(await store.appendEvents('s', -1, [{ type: 'C' }]), 0);
    assert.deepEqual((await store.loadEvents('s')).map((e) => e.type), ['C']);
    // A second store over the same database sees the same fresh data.
    const other = new EventStore({ storage: await IndexedDbStorage.open('vc-delete', { indexedDB, IDBKeyRange }) });
    assert.deepEqual((await other.loadEvents('s')).map((e) => e.type), ['C']);
  });

  test('after a newer schema version took over, operations fail as STORAGE with the VersionError as cause', async () => {
    const indexedDB = new IDBFactory();
    const storage = await IndexedDbStorage.open('vc-upgrade', { indexedDB, IDBKeyRange });
    const store = new EventStore({ storage });
    await store.appendEvents('s', -1, [{ type: 'A' }]);
    const upgrade = indexedDB.open('vc-upgrade', 3); // this release's schema is 2
    upgrade.onupgradeneeded = () => upgrade.result.createObjectStore('newer');
    const newer = await request(upgrade); // not blocked: our connection closed for it
    for (const call of [() => store.loadEvents('s'), () => store.appendEvents('s', 0, [{ type: 'B' }]), () => store.getCurrentVersion('s')]) {
      await assert.rejects(call(), (error) => {
        assert.ok(error instanceof EventStoreError);
        assert.equal(error.code, 'STORAGE', error.message);
        assert.equal(error.cause?.name, 'VersionError');
        return true;
      });
    }
    newer.close();
  });

  test('operations wait for one reconnection, and after close() they reject', async () => {
    const indexedDB = new IDBFactory();
    const storage = await IndexedDbStorage.open('vc-many', { indexedDB, IDBKeyRange });
    const store = new EventStore({ storage });
    await request(indexedDB.deleteDatabase('vc-many'));
    const versions = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendEvents(`s-${i}`, -1, [{ type: 'A' }])));
    assert.deepEqual(versions, new Array(20).fill(0));
    storage.close();
    await assert.rejects(store.loadEvents('s-0'), (error) => {
      assert.equal(error.code, 'STORAGE');
      assert.match(error.cause?.message ?? '', /closed/);
      return true;
    });
  });
});
