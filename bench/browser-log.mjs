// The global log's browser figures of `make bench`, in headless Chromium:
//
// - catch-up: loadAllEvents over 100k events in pages of 1,000 through IndexedDbStorage, against
//   a raw IndexedDB cursor over the same records (the same database, its position index, each
//   value's payload JSON.parse'd: what a hand-written reader of this layout would do);
// - live delivery: from one tab's appendEvents resolving to another tab's subscription handler
//   running, over 1,000 appends, next to a raw BroadcastChannel message between the same two tabs
//   (the floor: IndexedDbStorage's watch rides on one). Both timed on the pages' shared clock
//   (performance.timeOrigin + performance.now()).
//
//   node bench/browser-log.mjs [--quick] [--runs N]   (prints JSON on stdout; bench/run.mjs calls it)
import { launchChromium } from '../tests/browser/harness.mjs';
import { startServer } from '../tests/browser/server.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : quick ? 1 : 3;
const sizes = quick ? { events: 5_000, page: 1000, appends: 50 } : { events: 100_000, page: 1000, appends: 1000 };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** In the page: fill a database with `events` events, then time both readers of the log. */
async function catchUp({ events, page, tag }) {
  const { EventStore, IndexedDbStorage } = await import('/pkg/web.mjs');
  const name = `log-${tag}`;
  const storage = await IndexedDbStorage.open(name, { durability: 'relaxed' });
  const store = new EventStore({ storage });
  const streams = 100;
  const versions = new Array(streams).fill(-1);
  for (let n = 0; n < events / 500; n++) {
    const s = n % streams;
    await store.appendEvents(`s${s}`, versions[s], Array.from({ length: 500 }, (_, k) => ({ type: 'ItemAdded', data: { sku: `sku-${k}`, qty: k % 7, price: 12.5, tags: ['a', 'b'] } })));
    versions[s] += 500;
  }
  const ours = async () => {
    let count = 0;
    for (let after = -1; ;) {
      const got = await store.loadAllEvents(after, { limit: page });
      if (got.length === 0) return count;
      count += got.length;
      after = got[got.length - 1].position;
    }
  };
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  // The raw reader: one readonly transaction per page, a cursor over the position index.
  const raw = async () => {
    let count = 0;
    for (let after = -1; ;) {
      const got = await new Promise((resolve, reject) => {
        const tx = db.transaction('records', 'readonly');
        const index = tx.objectStore('records').index('position');
        const out = [];
        index.openCursor(after < 0 ? undefined : IDBKeyRange.lowerBound(after, true)).onsuccess = (e) => {
          const cursor = e.target.result;
          if (!cursor || out.length === page) return;
          const event = JSON.parse(cursor.value.payload);
          event.position = cursor.value.position;
          out.push(event);
          cursor.continue();
        };
        tx.oncomplete = () => resolve(out);
        tx.onabort = () => reject(tx.error);
      });
      if (got.length === 0) return count;
      count += got.length;
      after = got[got.length - 1].position;
    }
  };
  const result = { ours: [], raw: [] };
  await ours(); // warm both paths
  await raw();
  for (let p = 0; p < 3; p++) {
    for (const [key, read] of p % 2 ? [['raw', raw], ['ours', ours]] : [['ours', ours], ['raw', raw]]) {
      const start = performance.now();
      const count = await read();
      if (count !== events) throw new Error(`${key} read ${count} of ${events} events`);
      result[key].push(count / ((performance.now() - start) / 1000));
    }
  }
  db.close();
  storage.close();
  return result;
}


async function live(context, server, appends, tag) {
  const [reader, writer] = [await context.newPage(), await context.newPage()];
  for (const page of [reader, writer]) await page.goto(`${server.url}/index.html`);
  const name = `live-${tag}`;
  await reader.evaluate(async ({ name, appends }) => {
    const { EventStore, IndexedDbStorage } = await import('/pkg/web.mjs');
    const store = new EventStore({ storage: await IndexedDbStorage.open(name) });
    window.arrivals = [];
    window.all = new Promise((resolve) => {
      const subscription = store.subscribe(() => {
        window.arrivals.push(performance.timeOrigin + performance.now());
        if (window.arrivals.length === appends) resolve();
      });
      window.subscription = subscription;
    });
    await window.subscription.caughtUp;
    const channel = new BroadcastChannel(`raw-${name}`);
    window.rawArrivals = [];
    channel.onmessage = () => window.rawArrivals.push(performance.timeOrigin + performance.now());
  }, { name, appends });
  const sent = await writer.evaluate(async ({ name, appends }) => {
    const { EventStore, IndexedDbStorage } = await import('/pkg/web.mjs');
    const store = new EventStore({ storage: await IndexedDbStorage.open(name) });
    const at = [];
    for (let i = 0; i < appends; i++) {
      await store.appendEvents('live', i - 1, [{ type: 'Tick', data: i }]);
      at.push(performance.timeOrigin + performance.now());
      // Spaced by a timer, so that deliveries do not queue behind each other: each delay is
      // one append's own.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const channel = new BroadcastChannel(`raw-${name}`);
    const rawAt = [];
    for (let i = 0; i < appends; i++) {
      rawAt.push(performance.timeOrigin + performance.now());
      channel.postMessage(i);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return { at, rawAt };
  }, { name, appends });
  await reader.evaluate(() => window.all);
  await reader.waitForFunction((n) => window.rawArrivals.length === n, appends);
  const { arrivals, rawArrivals } = await reader.evaluate(() => ({ arrivals: window.arrivals, rawArrivals: window.rawArrivals }));
  await reader.close();
  await writer.close();
  const delays = arrivals.map((t, i) => t - sent.at[i]);
  const rawDelays = rawArrivals.map((t, i) => t - sent.rawAt[i]);
  return { median: median(delays), p99: percentile(delays, 0.99), rawMedian: median(rawDelays), rawP99: percentile(rawDelays, 0.99) };
}

const server = await startServer();
const browser = await launchChromium();
try {
  const catchUps = [];
  const lives = [];
  for (let r = 0; r < runs; r++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/index.html`);
    catchUps.push(await page.evaluate(catchUp, { events: sizes.events, page: sizes.page, tag: r }));
    await page.close();
    lives.push(await live(context, server, sizes.appends, r));
    await context.close();
  }
  const ours = median(catchUps.flatMap((c) => c.ours));
  const raw = median(catchUps.flatMap((c) => c.raw));
  const ratio = median(catchUps.flatMap((c) => c.ours.map((o, i) => o / c.raw[i])));
  const pick = (key) => median(lives.map((l) => l[key]));
  process.stdout.write(JSON.stringify({
    sizes, runs,
    catchUp: { ours, raw, ratio },
    live: { median: pick('median'), p99: pick('p99'), rawMedian: pick('rawMedian'), rawP99: pick('rawP99') },
    samples: { catchUps, lives },
  }));
} finally {
  await browser.close();
  await server.close();
}
