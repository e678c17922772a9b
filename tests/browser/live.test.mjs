// Live subscriptions across tabs in real Chromium: a subscription in one tab receives, in order
// and exactly once, the events two other tabs append while racing on shared and own streams
// (through IndexedDbStorage's BroadcastChannel watch), starting before, during and after its
// catch-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPages } from './harness.mjs';

const env = useBrowser();
const DB = 'live-tabs';
const PER_TAB = 200;

test(`a subscription in one tab sees ${2 * PER_TAB} appends by two racing tabs once each, in position order`, { timeout: 180_000 }, async () => {
  await withPages(env, async ({ open }) => {
    const [subscriber, ...writers] = [await open('/'), await open('/'), await open('/')];

    // History before the subscription: it must be delivered first.
    await writers[0].evaluate(async (dbName) => {
      const { EventStore, IndexedDbStorage } = await window.wes;
      const store = new EventStore({ storage: await IndexedDbStorage.open(dbName) });
      for (let i = 0; i < 20; i++) await store.appendEvents('history', i - 1, [{ type: 'Before', data: i }]);
    }, DB);

    await subscriber.evaluate(async (dbName) => {
      const { EventStore, IndexedDbStorage } = await window.wes;
      const store = new EventStore({ storage: await IndexedDbStorage.open(dbName) });
      window.live = { store, seen: [], keys: new Set(), duplicates: 0, caughtUp: false };
      window.live.subscription = store.subscribe((event) => {
        const key = `${event.aggregateId}@${event.version}`;
        if (window.live.keys.has(key)) window.live.duplicates++;
        window.live.keys.add(key);
        window.live.seen.push({ key, position: event.position });
      });
      // Not awaited: the writers start while the catch-up may still run.
      window.live.subscription.caughtUp.then(() => { window.live.caughtUp = true; });
    }, DB);

    // Two tabs race: each its own streams, and one shared stream where they conflict and retry.
    const acknowledged = (await Promise.all(writers.map((tab, w) => tab.evaluate(async ({ dbName, w, perTab }) => {
      const { EventStore, EventStoreConflictError, IndexedDbStorage } = await window.wes;
      const store = new EventStore({ storage: await IndexedDbStorage.open(dbName) });
      const keys = [];
      for (let i = 0; i < perTab; i++) {
        const id = i % 5 === 0 ? 'shared' : `tab-${w}-${i % 4}`;
        for (;;) {
          const version = (await store.getCurrentVersion(id)) ?? -1;
          try {
            await store.appendEvents(id, version, [{ type: 'Appended', data: { w, i } }]);
            keys.push(`${id}@${version + 1}`);
            break;
          } catch (error) {
            if (!(error instanceof EventStoreConflictError)) throw error;
          }
        }
      }
      return keys;
    }, { dbName: DB, w, perTab: PER_TAB })))).flat();
    assert.equal(acknowledged.length, 2 * PER_TAB);

    const total = 20 + 2 * PER_TAB;
    await subscriber.waitForFunction((n) => window.live.seen.length >= n, total, { timeout: 60_000 });
    const result = await subscriber.evaluate(async () => {
      const all = await window.live.store.loadAllEvents();
      return {
        seen: window.live.seen,
        duplicates: window.live.duplicates,
        caughtUp: window.live.caughtUp,
        all: all.map((e) => ({ key: `${e.aggregateId}@${e.version}`, position: e.position })),
      };
    });
    assert.equal(result.duplicates, 0, 'no event delivered twice');
    assert.ok(result.caughtUp);
    assert.equal(result.seen.length, total);
    assert.deepEqual(result.seen, result.all, 'exactly the log, in position order');
    for (const key of acknowledged) assert.ok(result.seen.some((s) => s.key === key), `acknowledged ${key} was delivered`);
    assert.deepEqual(result.seen.slice(0, 20).map((s) => s.key), Array.from({ length: 20 }, (_, i) => `history@${i}`));
    await subscriber.evaluate(async () => {
      window.live.subscription.close();
      await window.live.subscription.done;
    });
  });
});
