// Sync's figures in Node, for `make bench` (bench/run.mjs imports it), over loopback HTTP:
//
// - push: a replica with 10,000 pending events (batch-1 appends over 100 aggregates) syncs to a
//   createSyncHandler over an in-memory store; the time of its push requests, next to a plain
//   fetch loop posting the same request bodies to a handler that only reads them (the floor);
// - pull: a fresh replica pulls 100,000 events (pages of 1,000) and stores them, next to a fetch
//   loop getting the same pages from a handler that answers them prepared (the floor);
// - live: the time from one replica's append (both started) to another replica's view showing
//   it, median and p99.
// Never fails on timing.
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const makeEvent = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });

async function listen(listener) {
  const server = http.createServer(listener);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/sync`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

/** A remote that times its pushes (and keeps their bodies) and its pulls. */
function timed(remote) {
  const spent = { push: 0, pull: 0, bodies: [], pages: [] };
  return {
    spent,
    remote: {
      async push(body) {
        const start = performance.now();
        try {
          return await remote.push(body);
        } finally {
          spent.push += performance.now() - start;
          spent.bodies.push(body);
        }
      },
      async pull(after, options) {
        const start = performance.now();
        try {
          const page = await remote.pull(after, options);
          spent.pages.push(page);
          return page;
        } finally {
          spent.pull += performance.now() - start;
        }
      },
    },
  };
}

export async function syncBench({ pkgDir, quick, runs }) {
  const { EventStore, HttpRemote, Replica } = await import(pathToFileURL(join(pkgDir, 'node.mjs')).href);
  const { createSyncHandler, toNodeListener } = await import(pathToFileURL(join(pkgDir, 'server.mjs')).href);
  const pushEvents = quick ? 500 : 10_000;
  const pullEvents = quick ? 2_000 : 100_000;
  const result = { pushEvents, pullEvents, push: [], pushFloor: [], pull: [], pullFloor: [], live: [] };
  const floor = await listen(async (req, res) => {
    for await (const chunk of req) void chunk; // read the body, as the handler does
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(floor.answer ?? '{"protocol":1,"results":[]}');
  });
  try {
    for (let r = 0; r < Math.max(1, runs); r++) {
      // Push.
      const store = new EventStore();
      const server = await listen(toNodeListener(createSyncHandler({ store, authorize: () => true })));
      const { spent, remote } = timed(new HttpRemote(server.url));
      const replica = await Replica.open({ remote });
      for (let i = 0; i < pushEvents; i++) {
        const id = `s${i % 100}`;
        await replica.appendEvents(id, Math.floor(i / 100) - 1, [makeEvent(i)]);
      }
      await replica.sync();
      result.push.push(pushEvents / (spent.push / 1000));
      let start = performance.now();
      floor.answer = undefined;
      for (const body of spent.bodies) {
        const response = await fetch(`${floor.url}/push`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        await response.json();
      }
      result.pushFloor.push(pushEvents / ((performance.now() - start) / 1000));
      await replica.close();

      // Pull: fill the server, then a fresh replica pulls everything.
      for (let i = 0; store && i < pullEvents - pushEvents; i += 100) {
        const id = `bulk${i % 1000}`;
        const version = (await store.getCurrentVersion(id)) ?? -1;
        await store.appendEvents(id, version, Array.from({ length: 100 }, (_, k) => makeEvent(i + k)));
      }
      const puller = timed(new HttpRemote(server.url));
      const fresh = await Replica.open({ remote: puller.remote });
      start = performance.now();
      await fresh.sync();
      result.pull.push(pullEvents / ((performance.now() - start) / 1000));
      const pages = puller.spent.pages.map((page) => JSON.stringify({ protocol: 1, ...page }));
      start = performance.now();
      for (const page of pages) {
        floor.answer = page;
        const response = await fetch(`${floor.url}/pull?protocol=1&after=0&limit=1000`);
        await response.json();
      }
      result.pullFloor.push(pullEvents / ((performance.now() - start) / 1000));
      await fresh.close();

      // Live: two started replicas.
      const a = await Replica.open({ remote: new HttpRemote(server.url) });
      const b = await Replica.open({ remote: new HttpRemote(server.url) });
      await a.sync();
      await b.sync();
      a.start();
      b.start();
      for (let i = 0; i < (quick ? 5 : 30); i++) {
        const seen = new Promise((resolve) => {
          const off = b.on('change', ({ aggregateId }) => {
            if (aggregateId === 'live') {
              off();
              resolve();
            }
          });
        });
        const t0 = performance.now();
        await a.appendEvents('live', i - 1, [makeEvent(i)]);
        await seen;
        result.live.push(performance.now() - t0);
      }
      await Promise.all([a.stop(), b.stop()]);
      await a.close();
      await b.close();
      await server.close();
      store.free();
    }
  } finally {
    await floor.close();
  }
  return {
    pushEvents,
    pullEvents,
    push: median(result.push),
    pushFloor: median(result.pushFloor),
    pushRatio: median(result.push.map((p, i) => p / result.pushFloor[i])),
    pull: median(result.pull),
    pullFloor: median(result.pullFloor),
    pullRatio: median(result.pull.map((p, i) => p / result.pullFloor[i])),
    liveMedian: median(result.live),
    liveP99: percentile(result.live, 0.99),
    runs: Math.max(1, runs),
  };
}
