// The global log's figures in Node, for `make bench` (bench/run.mjs imports it):
//
// - the cost of an open subscription to in-memory batch-1 appends: interleaved rounds of the
//   same appends with no subscription and with one (whose handler does nothing), medians;
// - loadAllEvents over 100k events in pages of 1,000 (the way a projection catches up), in
//   memory and over FileStorage, next to loading the same events stream by stream.
//
// The browser half (IndexedDbStorage against a raw cursor, live delivery between tabs) is
// bench/browser-log.mjs. Never fails on timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const makeEvent = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });

/** Batch-1 appends per second over `streams` streams, with `subscribed` subscriptions open. */
async function appendRate(EventStore, appends, streams, subscribed) {
  const store = new EventStore();
  const subscriptions = Array.from({ length: subscribed }, () => store.subscribe(() => {}));
  await Promise.all(subscriptions.map((s) => s.caughtUp));
  const versions = new Array(streams).fill(-1);
  const start = performance.now();
  for (let n = 0; n < appends; n++) {
    const s = n % streams;
    await store.appendEvents(`s${s}`, versions[s], [makeEvent(n)]);
    versions[s]++;
  }
  const perSecond = appends / ((performance.now() - start) / 1000);
  // The subscription must have kept up: it is part of what was paid for.
  for (const s of subscriptions) s.close();
  store.free();
  return perSecond;
}

/** Reads the whole log in pages of `page`; events per second. */
async function pagedRate(store, page) {
  const start = performance.now();
  let count = 0;
  for (let after = -1; ;) {
    const events = await store.loadAllEvents(after, { limit: page });
    if (events.length === 0) break;
    count += events.length;
    after = events[events.length - 1].position;
  }
  return { count, perSecond: count / ((performance.now() - start) / 1000) };
}

/** Fills `store` with `total` events over `streams` streams in batches of 100. */
async function fill(store, total, streams) {
  const versions = new Array(streams).fill(-1);
  for (let n = 0; n < total / 100; n++) {
    const s = n % streams;
    await store.appendEvents(`s${s}`, versions[s], Array.from({ length: 100 }, (_, k) => makeEvent(n * 100 + k)));
    versions[s] += 100;
  }
}

async function streamsRate(store, streams) {
  const start = performance.now();
  let count = 0;
  for (let s = 0; s < streams; s++) count += (await store.loadEvents(`s${s}`)).length;
  return count / ((performance.now() - start) / 1000);
}

export async function globalLog({ EventStore, FileStorage, quick, runs }) {
  const appends = quick ? 2_000 : 100_000;
  const total = quick ? 5_000 : 100_000;
  const streams = quick ? 10 : 100;
  const result = { appends, total, streams, page: 1000 };

  // Subscription cost: rounds alternate which goes first.
  const none = [];
  const one = [];
  for (let r = 0; r < Math.max(runs, 3); r++) {
    if (r % 2) {
      one.push(await appendRate(EventStore, appends, streams, 1));
      none.push(await appendRate(EventStore, appends, streams, 0));
    } else {
      none.push(await appendRate(EventStore, appends, streams, 0));
      one.push(await appendRate(EventStore, appends, streams, 1));
    }
  }
  result.append1NoSubscription = median(none);
  result.append1OneSubscription = median(one);
  result.subscriptionRatio = median(one.map((o, i) => o / none[i]));

  // Catch-up over the global log.
  const memory = { paged: [], streams: [] };
  const file = { paged: [], streams: [] };
  const dir = mkdtempSync(join(tmpdir(), 'wes-bench-log-'));
  try {
    const store = new EventStore();
    await fill(store, total, streams);
    const storage = await FileStorage.open(dir);
    const onFile = new EventStore({ storage });
    await fill(onFile, total, streams);
    for (let r = 0; r < Math.max(runs, 3); r++) {
      const paged = await pagedRate(store, 1000);
      if (paged.count !== total) throw new Error(`paged ${paged.count} of ${total} events`);
      memory.paged.push(paged.perSecond);
      memory.streams.push(await streamsRate(store, streams));
      file.paged.push((await pagedRate(onFile, 1000)).perSecond);
      file.streams.push(await streamsRate(onFile, streams));
    }
    store.free();
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.memoryPaged = median(memory.paged);
  result.memoryStreams = median(memory.streams);
  result.filePaged = median(file.paged);
  result.fileStreams = median(file.streams);
  return result;
}
