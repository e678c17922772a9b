// The package's browser entry (pkg/web.mjs) in a real page and a real module worker: the
// in-memory store, IndexedDbStorage persistence across a reload and a browser restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBrowser, withPages, launchPersistent, openPage, waitForPackage, serverErrorsSince } from './harness.mjs';

const env = useBrowser();
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

test('in-memory store: append, load, conflict and the error classes in a page', { timeout: 60_000 }, async () => {
  await withPages(env, async ({ open }) => {
    const page = await open('/');
    // Everything that involves classes (instanceof) is checked in the page: only plain data
    // crosses back to Node.
    const r = await page.evaluate(async () => {
      const { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage } = await window.wes;
      const store = new EventStore();
      const out = { exports: [typeof EventStore, typeof EventStoreError, typeof EventStoreConflictError, typeof IndexedDbStorage] };
      out.versionBefore = await store.getCurrentVersion('order');
      out.appended = await store.appendEvents('order', -1, [
        { type: 'Placed', data: { total: 42, lines: ['a', 'b'] }, metadata: { by: 'page' } },
        { type: 'Paid' },
      ]);
      out.emptyAppend = await store.appendEvents('order', 1, []);
      out.all = await store.loadEvents('order');
      out.afterFirst = (await store.loadEvents('order', 0)).map((e) => e.type);
      out.versionAfter = await store.getCurrentVersion('order');
      try {
        await store.appendEvents('order', 0, [{ type: 'Late' }]);
        out.conflict = 'no error';
      } catch (error) {
        out.conflict = {
          isConflictError: error instanceof EventStoreConflictError,
          isStoreError: error instanceof EventStoreError,
          isError: error instanceof Error,
          name: error.name,
          code: error.code,
          aggregateId: error.aggregateId,
          expectedVersion: error.expectedVersion,
          actualVersion: error.actualVersion,
        };
      }
      out.afterConflict = (await store.loadEvents('order')).length;
      try {
        await store.appendEvents('', -1, [{ type: 'X' }]);
        out.invalid = 'no error';
      } catch (error) {
        out.invalid = { isStoreError: error instanceof EventStoreError, isConflictError: error instanceof EventStoreConflictError, code: error.code };
      }
      // In-memory stores share nothing.
      out.otherStore = await new EventStore().getCurrentVersion('order');
      // After free() the store must reject, not trap or hang.
      const freed = new EventStore();
      freed.free();
      try {
        await freed.getCurrentVersion('order');
        out.afterFree = 'no error';
      } catch (error) {
        out.afterFree = { isStoreError: error instanceof EventStoreError, name: error?.name };
      }
      return out;
    });

    assert.deepEqual(r.exports, ['function', 'function', 'function', 'function']);
    assert.equal(r.versionBefore, null);
    assert.equal(r.appended, 1);
    assert.equal(r.emptyAppend, 1);
    assert.deepEqual(r.all.map((e) => [e.aggregateId, e.version, e.type, e.data, e.metadata]), [
      ['order', 0, 'Placed', { total: 42, lines: ['a', 'b'] }, { by: 'page' }],
      ['order', 1, 'Paid', null, {}],
    ]);
    // eventId comes from the page's crypto.getRandomValues, occurredOn from Date.now().
    for (const e of r.all) {
      assert.match(e.eventId, UUID_V4);
      assert.ok(Math.abs(Date.parse(e.occurredOn) - Date.now()) < 60_000, e.occurredOn);
    }
    assert.notEqual(r.all[0].eventId, r.all[1].eventId);
    assert.deepEqual(r.afterFirst, ['Paid']);
    assert.equal(r.versionAfter, 1);
    assert.deepEqual(r.conflict, {
      isConflictError: true,
      isStoreError: true,
      isError: true,
      name: 'EventStoreConflictError',
      code: 'CONFLICT',
      aggregateId: 'order',
      expectedVersion: 0,
      actualVersion: 1,
    });
    assert.equal(r.afterConflict, 2, 'a conflicting append stores nothing');
    assert.deepEqual(r.invalid, { isStoreError: true, isConflictError: false, code: 'INVALID_ARGUMENT' });
    assert.equal(r.otherStore, null);
    assert.deepEqual(r.afterFree, { isStoreError: true, name: 'EventStoreError' });
  });
});

// Appends to two streams of the IndexedDB database `dbName` and returns what loads back.
async function appendInPage(page, dbName) {
  return page.evaluate(async (name) => {
    const { EventStore, IndexedDbStorage } = await window.wes;
    const storage = await IndexedDbStorage.open(name);
    const store = new EventStore({ storage });
    await store.appendEvents('cart', -1, [{ type: 'Created', data: { owner: 'ann' } }]);
    await store.appendEvents('cart', 0, [{ type: 'ItemAdded', data: { sku: 'ü-1', qty: 2 } }, { type: 'ItemAdded', data: { sku: 'x' } }]);
    await store.appendEvents('other', -1, [{ type: 'Unrelated' }]);
    const loaded = { cart: await store.loadEvents('cart'), other: await store.loadEvents('other') };
    storage.close();
    return loaded;
  }, dbName);
}

// Loads both streams back in a page that has just started, then checks the store goes on
// from the stored version.
async function loadInPage(page, dbName) {
  return page.evaluate(async (name) => {
    const { EventStore, IndexedDbStorage } = await window.wes;
    const storage = await IndexedDbStorage.open(name);
    const store = new EventStore({ storage });
    const loaded = { cart: await store.loadEvents('cart'), other: await store.loadEvents('other') };
    loaded.version = await store.getCurrentVersion('cart');
    loaded.next = await store.appendEvents('cart', loaded.version, [{ type: 'CheckedOut' }]);
    storage.close();
    return loaded;
  }, dbName);
}

test('IndexedDbStorage: events survive a page reload', { timeout: 60_000 }, async () => {
  await withPages(env, async ({ open }) => {
    const page = await open('/');
    const before = await appendInPage(page, 'reload-test');
    assert.equal(before.cart.length, 3);

    // A marker in the page's globals shows the reload really started a new document, so what
    // loads afterwards came from IndexedDB, not from memory.
    await page.evaluate(() => { window.beforeReload = true; });
    await page.reload();
    await waitForPackage(page);
    assert.equal(await page.evaluate(() => window.beforeReload), undefined);

    const after = await loadInPage(page, 'reload-test');
    // Every field, eventId and occurredOn included, comes back as it was.
    assert.deepEqual(after.cart, before.cart);
    assert.deepEqual(after.other, before.other);
    assert.equal(after.version, 2);
    assert.equal(after.next, 3);
  });
});

test('IndexedDbStorage: another tab deleting the database, then upgrading it, neither blocks nor breaks a store', { timeout: 60_000 }, async () => {
  await withPages(env, async ({ open }) => {
    const [holder, other] = [await open('/'), await open('/')];
    const dbName = `versionchange-${Date.now()}`;
    // Tab 1 keeps a store open over the database.
    await holder.evaluate(async (name) => {
      const { EventStore, IndexedDbStorage } = await window.wes;
      window.vcStore = new EventStore({ storage: await IndexedDbStorage.open(name) });
      await window.vcStore.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }]);
    }, dbName);
    // Tab 2 deletes it ("clear data"): tab 1's connection closes for it, so this completes.
    await other.evaluate(async (name) => {
      window.idbRequest = (r) => new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
        r.onblocked = () => reject(new Error('blocked by the other tab'));
      });
      await window.idbRequest(indexedDB.deleteDatabase(name));
    }, dbName);
    // Tab 1 goes on, on a fresh database.
    const afterDelete = await holder.evaluate(async () => {
      const version = await window.vcStore.getCurrentVersion('s');
      const appended = await window.vcStore.appendEvents('s', -1, [{ type: 'C' }]);
      return { version, appended, types: (await window.vcStore.loadEvents('s')).map((e) => e.type) };
    });
    assert.deepEqual(afterDelete, { version: null, appended: 0, types: ['C'] });
    // Tab 2 runs a newer schema (version 3; this release's is 2): not blocked either; tab 1 then gets STORAGE errors
    // naming the VersionError, not a hang or an InvalidStateError.
    await other.evaluate(async (name) => {
      const upgrade = indexedDB.open(name, 3);
      upgrade.onupgradeneeded = () => upgrade.result.createObjectStore('newer');
      window.newer = await window.idbRequest(upgrade);
    }, dbName);
    const afterUpgrade = await holder.evaluate(async () => {
      try {
        await window.vcStore.loadEvents('s');
        return 'no error';
      } catch (error) {
        return { code: error.code, cause: error.cause?.name };
      }
    });
    assert.deepEqual(afterUpgrade, { code: 'STORAGE', cause: 'VersionError' });
    await other.evaluate(() => window.newer.close());
  });
});

test('IndexedDbStorage: appends ask IndexedDB for durability strict (or relaxed when told)', { timeout: 60_000 }, async () => {
  // What 'strict' buys (Chromium flushes to disk before 'complete') only a power cut would show;
  // this checks that every readwrite transaction asks for it, as the README says.
  await withPages(env, async ({ open }) => {
    const page = await open('/');
    const asked = await page.evaluate(async () => {
      const { EventStore, IndexedDbStorage } = await window.wes;
      const seen = [];
      const transaction = IDBDatabase.prototype.transaction;
      IDBDatabase.prototype.transaction = function recorded(scope, mode, options) {
        if (mode === 'readwrite') seen.push(options?.durability ?? 'default');
        return transaction.call(this, scope, mode, options);
      };
      try {
        for (const durability of [undefined, 'relaxed']) {
          const storage = await IndexedDbStorage.open(`durability-${durability}`, durability ? { durability } : undefined);
          const store = new EventStore({ storage });
          await store.appendEvents('d', -1, [{ type: 'A' }]);
          await store.appendEvents('d', 0, [{ type: 'B' }]);
          storage.close();
        }
      } finally {
        IDBDatabase.prototype.transaction = transaction;
      }
      return seen;
    });
    assert.deepEqual(asked, ['strict', 'strict', 'relaxed', 'relaxed']);
  });
});

test('IndexedDbStorage: events survive closing and restarting the browser (profile on disk)', { timeout: 60_000 }, async () => {
  // Beyond a reload: the profile directory is the only thing the two browsers share, so this
  // checks that acknowledged appends were on disk after the browser closed cleanly (which would
  // hold with durability 'relaxed' too: the test above checks that 'strict' is asked for).
  const profile = await mkdtemp(join(tmpdir(), 'wes-chromium-profile-'));
  const problems = [];
  const serverErrorsBefore = env.server.errors.length;
  try {
    let context = await launchPersistent(profile);
    let before;
    try {
      before = await appendInPage(await openPage(context, `${env.server.url}/`, problems), 'restart-test');
    } finally {
      await context.close();
    }
    context = await launchPersistent(profile);
    try {
      const after = await loadInPage(await openPage(context, `${env.server.url}/`, problems), 'restart-test');
      assert.deepEqual(after.cart, before.cart);
      assert.deepEqual(after.other, before.other);
      assert.equal(after.next, 3);
    } finally {
      await context.close();
    }
    problems.push(...serverErrorsSince(env.server, serverErrorsBefore));
    assert.deepEqual(problems, [], 'the pages reported errors or warnings');
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
});

test('the store works in a module Web Worker, in memory and over IndexedDB', { timeout: 60_000 }, async () => {
  await withPages(env, async ({ open }) => {
    const page = await open('/');
    const r = await page.evaluate(async (dbName) => {
      const worker = new Worker('/worker.mjs', { type: 'module' });
      // The next message from the worker, or its error (a module that fails to load fires a
      // plain 'error' Event without a message).
      const next = () => new Promise((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(`worker error: ${event.message ?? 'the module failed to load'}`));
      });
      try {
        const ready = await next();
        if (!ready.ready) throw new Error(`unexpected first message ${JSON.stringify(ready)}`);
        const reply = next();
        worker.postMessage({ dbName });
        const result = await reply;
        // The page reads what the worker wrote: one origin, one IndexedDB.
        const { EventStore, IndexedDbStorage } = await window.wes;
        const storage = await IndexedDbStorage.open(dbName);
        result.seenByPage = await new EventStore({ storage }).loadEvents('in-indexeddb');
        storage.close();
        return result;
      } finally {
        worker.terminate();
      }
    }, 'worker-test');

    assert.ok(r.ok, r.error);
    for (const [where, result] of [['in memory', r.memory], ['over IndexedDB', r.indexedDb]]) {
      assert.equal(result.appended, 1, where);
      assert.deepEqual(result.conflict, { isConflictError: true, expectedVersion: 0, actualVersion: 1 }, where);
      assert.equal(result.version, 1, where);
      assert.deepEqual(result.events.map((e) => [e.version, e.type, e.data]), [[0, 'Placed', { total: 7 }], [1, 'Paid', null]], where);
      for (const e of result.events) assert.match(e.eventId, UUID_V4, where);
    }
    assert.deepEqual(r.seenByPage, r.indexedDb.events);
  });
});
