// The persistent browser figures of `make bench`: IndexedDbStorage in headless Chromium against a
// hand-written raw IndexedDB loop doing the same writes and reads, in one page, one run.
//
//   node bench/browser-idb.mjs [--quick] [--runs N]   (prints JSON on stdout; bench/run.mjs calls it)
//
// Reuses the browser tests' static server and Chromium launcher (Debian's Chromium through
// playwright-core, installed by `./scripts/setup.sh --browser`).
import { launchChromium } from '../tests/browser/harness.mjs';
import { startServer } from '../tests/browser/server.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : quick ? 1 : 4;
const sizes = quick ? { appends1: 50, appends100: 5, streams: 5 } : { appends1: 1000, appends100: 100, streams: 10 };

/** Runs in the page: one measurement of ours and of the raw loop, for one batch size. */
async function measure({ appends, batch, streams, tag, rawFirst }) {
  const WARM_PASSES = 2;
  const LOAD_PASSES = 10;
  const { EventStore, IndexedDbStorage } = await import('/pkg/web.mjs');
  const makeEvent = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });
  const done = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
  const result = {};
  let versions;
  let start;
  // Each path's load of one stream (returns the events loaded) and close, set by runOurs/runRaw.
  let loadOurs;
  let loadRaw;
  let closeOurs;
  let closeRaw;

  const runOurs = async () => {
  // Ours: EventStore over IndexedDbStorage (durability 'strict', the default).
  const storage = await IndexedDbStorage.open(`ours-${tag}`);
  const store = new EventStore({ storage });
  versions = new Array(streams).fill(-1);
  start = performance.now();
  for (let n = 0; n < appends; n++) {
    const s = n % streams;
    const events = Array.from({ length: batch }, (_, k) => makeEvent(n * batch + k));
    await store.appendEvents(`stream-${s}`, versions[s], events);
    versions[s] += batch;
  }
  result.oursAppend = (appends * batch) / ((performance.now() - start) / 1000);
  loadOurs = async (s) => (await store.loadEvents(`stream-${s}`)).length;
  closeOurs = () => storage.close();
  };

  const runRaw = async () => {
  // Raw: the same object store layout ([aggregateId, version] keys, a JSON string per event,
  // one readwrite transaction per append with the same durability), with the version check
  // read that any correct conditional append needs, but none of the store's other work.
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(`raw-${tag}`, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('records');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  versions = new Array(streams).fill(-1);
  start = performance.now();
  for (let n = 0; n < appends; n++) {
    const s = n % streams;
    const id = `stream-${s}`;
    const tx = db.transaction('records', 'readwrite', { durability: 'strict' });
    const records = tx.objectStore('records');
    const expected = versions[s];
    records.openKeyCursor(IDBKeyRange.bound([id, 0], [id, Infinity]), 'prev').onsuccess = (e) => {
      const last = e.target.result ? e.target.result.key[1] : -1;
      if (last !== expected) throw new Error('raw loop out of step');
      for (let k = 0; k < batch; k++) {
        const version = expected + 1 + k;
        records.add(JSON.stringify({ aggregateId: id, version, ...makeEvent(n * batch + k), metadata: {}, eventId: crypto.randomUUID(), occurredOn: new Date().toISOString() }), [id, version]);
      }
    };
    await done(tx);
    versions[s] += batch;
  }
  result.rawAppend = (appends * batch) / ((performance.now() - start) / 1000);
  loadRaw = async (s) => {
    const tx = db.transaction('records', 'readonly');
    const request = tx.objectStore('records').getAll(IDBKeyRange.bound([`stream-${s}`, 0], [`stream-${s}`, Infinity]));
    await done(tx);
    return request.result.map((text) => JSON.parse(text)).length;
  };
  closeRaw = () => db.close();
  };

  // Warm up the page's IndexedDB backend and both code paths first (the first transactions of a
  // fresh profile are slower), and alternate which goes first, so neither is favoured.
  {
    const warmStorage = await IndexedDbStorage.open(`warm-${tag}`);
    const warmStore = new EventStore({ storage: warmStorage });
    for (let n = 0; n < 20; n++) await warmStore.appendEvents('warm', n * batch - 1, Array.from({ length: batch }, (_, k) => makeEvent(k)));
    await warmStore.loadEvents('warm');
    warmStorage.close();
  }
  if (rawFirst) {
    await runRaw();
    await runOurs();
  } else {
    await runOurs();
    await runRaw();
  }
  // Loads, interleaved pass by pass (alternating which path goes first), so that both meet the
  // same state of the IndexedDB backend; WARM_PASSES untimed passes first (the JIT compiles each
  // load path, and V8 tiers wasm up only once it runs hot), then LOAD_PASSES timed ones.
  const time = { ours: 0, raw: 0 };
  const loaded = { ours: 0, raw: 0 };
  const pass = async (name, load, timed) => {
    const passStart = performance.now();
    for (let s = 0; s < streams; s++) loaded[name] += await load(s);
    if (timed) time[name] += performance.now() - passStart;
  };
  for (let p = 0; p < WARM_PASSES + LOAD_PASSES; p++) {
    const timed = p >= WARM_PASSES;
    if (timed && p === WARM_PASSES) loaded.ours = loaded.raw = 0;
    const order = (p + (rawFirst ? 1 : 0)) % 2 ? [['raw', loadRaw], ['ours', loadOurs]] : [['ours', loadOurs], ['raw', loadRaw]];
    for (const [name, load] of order) await pass(name, load, timed);
  }
  result.oursLoad = loaded.ours / (time.ours / 1000);
  result.rawLoad = loaded.raw / (time.raw / 1000);
  closeOurs();
  closeRaw();
  return result;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startServer();
const browser = await launchChromium();
try {
  const out = {};
  for (const [batch, appends] of [[1, sizes.appends1], [100, sizes.appends100]]) {
    const samples = [];
    for (let r = 0; r < runs; r++) {
      // A new empty profile per run: no data left over from the run before.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/index.html`);
      const sample = await page.evaluate(measure, { appends, batch, streams: sizes.streams, tag: `${batch}-${r}`, rawFirst: r % 2 === 1 });
      if (!sample) throw new Error(`no figures from the page (batch ${batch})`);
      samples.push(sample);
      await context.close();
    }
    out[`batch${batch}`] = Object.fromEntries(Object.keys(samples[0]).map((k) => [k, median(samples.map((s) => s[k]))]));
    // Ratios are paired: ours / raw within each run (same page, same backend), then the median.
    out[`batch${batch}`].appendRatio = median(samples.map((s) => s.oursAppend / s.rawAppend));
    out[`batch${batch}`].loadRatio = median(samples.map((s) => s.oursLoad / s.rawLoad));
    out[`batch${batch}`].runs = samples;
  }
  process.stdout.write(JSON.stringify({ sizes, runs, ...out }));
} finally {
  await browser.close();
  await server.close();
}
