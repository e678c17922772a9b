// Two tabs of one browser over one IndexedDB replica, syncing at once, in real Chromium: the
// Web Lock the replica takes around each sync keeps them from pushing the same outbox twice
// (each event reaches the server in exactly one push request), and the outbox stays whole.
// The sync server runs in this process (createSyncHandler over an in-memory store) on another
// port, behind a small CORS wrapper that this test adds, as a server for another origin would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { useBrowser, withPages } from './harness.mjs';
import { PKG_DIR } from './server.mjs';

const env = useBrowser();
const EVENTS = 60;

async function syncServer() {
  const { EventStore } = await import(pathToFileURL(join(PKG_DIR, 'node.mjs')).href);
  const { createSyncHandler, toNodeListener } = await import(pathToFileURL(join(PKG_DIR, 'server.mjs')).href);
  const store = new EventStore();
  const handler = createSyncHandler({ store, authorize: () => true });
  const pushed = []; // every event id of every push request, in the order they arrived
  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type', 'access-control-allow-methods': 'GET, POST' };
  const listener = toNodeListener(async (request) => {
    if (request.method === 'POST') {
      const body = await request.clone().json();
      for (const batch of body.batches) for (const event of batch.events) pushed.push(event.eventId);
    }
    const response = await handler(request);
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(cors)) headers.set(name, value);
    return new Response(response.body, { status: response.status, headers });
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    listener(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { store, pushed, url: `http://127.0.0.1:${server.address().port}/sync`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

test('two tabs over one replica database sync at once: every event is pushed once', { timeout: 120_000 }, async () => {
  const sync = await syncServer();
  try {
    await withPages(env, async ({ open }) => {
      const tabs = [await open('/'), await open('/')];
      const openReplica = async (url) => {
        const { HttpRemote, IndexedDbStorage, Replica } = await window.wes;
        window.replica = await Replica.open({ storage: await IndexedDbStorage.open('sync-tabs'), remote: new HttpRemote(url) });
        return typeof navigator.locks?.request;
      };
      assert.deepEqual(await Promise.all(tabs.map((tab) => tab.evaluate(openReplica, sync.url))), ['function', 'function'], 'Web Locks are there');
      // Both tabs append to the one outbox (racing on its version), then both sync, often.
      await Promise.all(tabs.map((tab, t) => tab.evaluate(async ({ t, n }) => {
        for (let i = 0; i < n / 2; i++) {
          for (;;) {
            try {
              await window.replica.appendEvents(`list-${i % 3}`, (await window.replica.getCurrentVersion(`list-${i % 3}`)) ?? -1, [{ type: 'Added', data: { t, i } }]);
              break;
            } catch (error) {
              if (error.code !== 'CONFLICT') throw error;
            }
          }
        }
      }, { t, n: EVENTS })));
      await Promise.all(tabs.map((tab) => tab.evaluate(() => Promise.all([window.replica.sync(), window.replica.sync(), window.replica.sync()]))));
      const statuses = await Promise.all(tabs.map((tab) => tab.evaluate(async () => {
        await window.replica.sync(); // folds what the other tab settled
        return window.replica.status.pending;
      })));
      assert.deepEqual(statuses, [0, 0]);
    });
    const stored = await sync.store.loadAllEvents();
    assert.equal(stored.length, EVENTS);
    assert.equal(new Set(stored.map((e) => e.eventId)).size, EVENTS);
    assert.equal(sync.pushed.length, EVENTS, `each event in exactly one push request (${sync.pushed.length} pushed for ${EVENTS})`);
  } finally {
    await sync.close();
  }
});
