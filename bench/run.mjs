// make bench: wasm-event-store against named peers, in one process, on the same work.
//
//   node --expose-gc bench/run.mjs [--quick] [--runs N] [--json FILE] [--pkg DIR] [--only memory]
//
// Prints a table and writes JSON (default bench/results.json). --quick shrinks every size so
// `make test` can check that the harness works; its figures mean nothing. --pkg measures another
// build of the package in the Node scenarios (e.g. after PKG_OUT=/tmp/other ./scripts/build-pkg.sh)
// for before/after comparisons; --only memory skips FileStorage and IndexedDB. Never fails on timing.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, statSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { getInMemoryEventStore, STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { EventStore as CastoreEventStore, EventType } from '@castore/core';
import { InMemoryEventStorageAdapter } from '@castore/event-storage-adapter-in-memory';
import { globalLog } from './global-log.mjs';
import { syncBench } from './sync.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const quick = flag('--quick');
const runs = Number(option('--runs', quick ? 1 : 5));
const jsonPath = option('--json', join(here, 'results.json'));
const pkgDir = resolvePath(option('--pkg', join(here, '..', 'pkg')));
const onlyMemory = option('--only') === 'memory';
const { EventStore, FileStorage } = await import(pathToFileURL(join(pkgDir, 'node.mjs')).href);

const SIZES = quick
  ? { events: 2_000, streams: 20, bigStream: 5_000, memoryEvents: 5_000, latencyOps: 200, fileAppends: 50, fileWriters: 10 }
  : { events: 100_000, streams: 1_000, bigStream: 1_000_000, memoryEvents: 1_000_000, latencyOps: 20_000, fileAppends: 1_000, fileWriters: 100 };

const gc = globalThis.gc ?? (() => {});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The benchmark's event: the same shape for every store. */
const makeEvent = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });

// ---------------------------------------------------------------------------------------------
// The stores. Each: create(), append(store, id, expectedVersion, events), load(store, id).

/**
 * The floor to beat: JSON.stringify'd events in a Map of arrays, JSON.parse'd on load. It keeps
 * the same contract as ours (version check, eventId, occurredOn, copies in and out).
 */
class NaiveStore {
  streams = new Map();
  async appendEvents(id, expectedVersion, events) {
    let stream = this.streams.get(id);
    const current = stream ? stream.length - 1 : -1;
    if (current !== expectedVersion) throw new Error(`conflict on ${id}`);
    if (!stream) this.streams.set(id, (stream = []));
    const occurredOn = new Date().toISOString();
    let version = current;
    for (const e of events) {
      version += 1;
      stream.push(JSON.stringify({
        aggregateId: id, version, type: e.type, data: e.data ?? null, metadata: e.metadata ?? {},
        eventId: e.eventId ?? randomUUID(), occurredOn,
      }));
    }
    return version;
  }
  async loadEvents(id, fromVersion = -1) {
    const stream = this.streams.get(id) ?? [];
    const out = [];
    for (let v = Math.max(fromVersion + 1, 0); v < stream.length; v++) out.push(JSON.parse(stream[v]));
    return out;
  }
  async getCurrentVersion(id) {
    const stream = this.streams.get(id);
    return stream ? stream.length - 1 : null;
  }
}

const ours = {
  name: 'wasm-event-store',
  create: () => new EventStore(),
  // Releases the wasm memory at once, as an app would when done with a store (the others are
  // reclaimed by the garbage collector as soon as they are dropped).
  dispose: (s) => s.free(),
  append: (s, id, v, events) => s.appendEvents(id, v, events),
  load: (s, id) => s.loadEvents(id),
};

const naive = {
  name: 'naive Map + JSON',
  create: () => new NaiveStore(),
  append: (s, id, v, events) => s.appendEvents(id, v, events),
  load: (s, id) => s.loadEvents(id),
};

const emmett = {
  name: 'Emmett 0.42 in-memory',
  create: () => getInMemoryEventStore(),
  append: (s, id, v, events) =>
    s.appendToStream(id, events, { expectedStreamVersion: v === -1 ? STREAM_DOES_NOT_EXIST : BigInt(v + 1) }),
  load: async (s, id) => (await s.readStream(id)).events,
};

const castoreItemAdded = new EventType({ type: 'ItemAdded' });
const castore = {
  name: 'castore 2.4 in-memory',
  create: () => new CastoreEventStore({
    eventStoreId: 'bench',
    eventTypes: [castoreItemAdded],
    reducer: (aggregate, event) => ({ aggregateId: event.aggregateId, version: event.version }),
    eventStorageAdapter: new InMemoryEventStorageAdapter(),
  }),
  // castore versions are 1-based; its adapter refuses a version that exists (the concurrency check).
  append: (s, id, v, events) => {
    const details = events.map((e, i) => ({ aggregateId: id, version: v + 2 + i, type: e.type, payload: e.data }));
    return details.length === 1
      ? s.pushEvent(details[0])
      : CastoreEventStore.pushEventGroup(...details.map((d) => s.groupEvent(d)));
  },
  load: async (s, id) => (await s.getEvents(id)).events,
};

const contenders = [ours, naive, emmett, castore];

// ---------------------------------------------------------------------------------------------
// Scenarios

/** Appends SIZES.events events over SIZES.streams streams in batches of `batch`. */
async function appendRun(peer, batch) {
  const store = peer.create();
  const versions = new Array(SIZES.streams).fill(-1);
  const appends = SIZES.events / batch;
  gc();
  const start = performance.now();
  for (let n = 0; n < appends; n++) {
    const s = n % SIZES.streams;
    const events = [];
    for (let k = 0; k < batch; k++) events.push(makeEvent(n * batch + k));
    await peer.append(store, `stream-${s}`, versions[s], events);
    versions[s] += batch;
  }
  const seconds = (performance.now() - start) / 1000;
  return { store, perSecond: SIZES.events / seconds };
}

/** Reads every stream back whole, three times. */
async function loadRun(peer, store) {
  gc();
  let count = 0;
  const start = performance.now();
  for (let pass = 0; pass < 3; pass++) {
    for (let s = 0; s < SIZES.streams; s++) count += (await peer.load(store, `stream-${s}`)).length;
  }
  if (count !== 3 * SIZES.events) throw new Error(`${peer.name} loaded ${count} events, expected ${3 * SIZES.events}`);
  return count / ((performance.now() - start) / 1000);
}

async function throughput() {
  const rows = [];
  for (const peer of contenders) {
    const row = { store: peer.name, append1: [], append100: [], load: [] };
    for (let r = 0; r < runs; r++) {
      const single = await appendRun(peer, 1);
      row.append1.push(single.perSecond);
      peer.dispose?.(single.store);
      const { store, perSecond } = await appendRun(peer, 100);
      row.append100.push(perSecond);
      row.load.push(await loadRun(peer, store));
      peer.dispose?.(store);
    }
    rows.push({ store: peer.name, append1: median(row.append1), append100: median(row.append100), load: median(row.load) });
    console.error(`  measured ${peer.name}`);
  }
  return rows;
}

/** Median time per awaited call of `op`, in microseconds. */
async function timePerOp(op) {
  const samples = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    for (let i = 0; i < SIZES.latencyOps; i++) await op();
    samples.push(((performance.now() - start) * 1000) / SIZES.latencyOps);
  }
  return median(samples);
}

/** getCurrentVersion and a tail load (last 10 events) on a 10-event vs a huge stream. */
async function latency() {
  const rows = [];
  for (const peer of [ours, naive]) {
    const store = peer.create();
    await store.appendEvents('small', -1, Array.from({ length: 10 }, (_, i) => makeEvent(i)));
    let v = -1;
    for (let i = 0; i < SIZES.bigStream; i += 1000) {
      v = await store.appendEvents('big', v, Array.from({ length: 1000 }, (_, k) => makeEvent(i + k)));
    }
    const row = { store: peer.name };
    for (const [id, last] of [['small', 9], ['big', v]]) {
      row[`version_${id}`] = await timePerOp(() => store.getCurrentVersion(id));
      row[`tail_${id}`] = await timePerOp(() => store.loadEvents(id, last - 10));
    }
    rows.push(row);
  }
  return rows;
}

/** Bytes per stored event, heap + external (wasm memory counts there), in a fresh process. */
function memory() {
  const rows = [];
  for (const which of ['ours', 'naive']) {
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', which, '--pkg', pkgDir, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
    rows.push(JSON.parse(child.stdout));
  }
  return rows;
}

async function memoryChild(which) {
  const peer = which === 'ours' ? ours : naive;
  const store = peer.create();
  const used = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.external; };
  const before = used();
  const streams = 1_000;
  const perStream = SIZES.memoryEvents / streams;
  for (let s = 0; s < streams; s++) {
    for (let v = -1; v < perStream - 1; v += 100) {
      await peer.append(store, `stream-${s}`, v, Array.from({ length: 100 }, (_, k) => makeEvent(s * perStream + v + 1 + k)));
    }
  }
  const after = used();
  const sample = (await peer.load(store, 'stream-1')).slice(0, 100);
  const recordedJson = sample.reduce((n, e) => n + JSON.stringify(e).length, 0) / sample.length;
  const inputJson = sample.reduce((n, e) => n + JSON.stringify({ type: e.type, data: e.data }).length, 0) / sample.length;
  process.stdout.write(JSON.stringify({
    store: peer.name, events: SIZES.memoryEvents, bytesPerEvent: (after - before) / SIZES.memoryEvents, recordedJson, inputJson,
  }));
}

/**
 * FileStorage in Node: sequential appends (each waits for its fdatasync), concurrent appends
 * (group commit shares one flush), and loads after reopening; against a raw loop that appends
 * the same bytes to a file and fdatasyncs each write (the floor for durable sequential appends).
 */
async function fileStorage() {
  const dir = mkdtempSync(join(tmpdir(), 'wes-bench-'));
  const events = (n, batch) => Array.from({ length: batch }, (_, k) => makeEvent(n * batch + k));
  try {
    const result = {};
    let storage = await FileStorage.open(join(dir, 'ours'));
    let store = new EventStore({ storage });
    for (const batch of [1, 100]) {
      const appends = batch === 1 ? SIZES.fileAppends : SIZES.fileAppends / 10;
      const versions = new Array(10).fill(-1);
      const start = performance.now();
      for (let n = 0; n < appends; n++) {
        const s = n % 10;
        await store.appendEvents(`b${batch}-${s}`, versions[s], events(n, batch));
        versions[s] += batch;
      }
      result[`append${batch}`] = (appends * batch) / ((performance.now() - start) / 1000);
    }
    // Concurrent writers, one stream each, batch 1: group commit.
    const start = performance.now();
    await Promise.all(Array.from({ length: SIZES.fileWriters }, async (_, w) => {
      for (let n = 0; n < 20; n++) await store.appendEvents(`writer-${w}`, n - 1, events(n, 1));
    }));
    result.concurrent = (SIZES.fileWriters * 20) / ((performance.now() - start) / 1000);
    await storage.close();
    const reopenStart = performance.now();
    storage = await FileStorage.open(join(dir, 'ours'));
    result.reopenMs = performance.now() - reopenStart;
    store = new EventStore({ storage });
    const loadStart = performance.now();
    let loaded = 0;
    for (let pass = 0; pass < 3; pass++) {
      for (let s = 0; s < 10; s++) loaded += (await store.loadEvents(`b100-${s}`)).length;
    }
    result.load = loaded / ((performance.now() - loadStart) / 1000);
    await storage.close();

    // The raw floor: the same JSON text per event, appended and fdatasynced per append.
    const handle = await openFile(join(dir, 'raw.log'), 'a');
    const rawStart = performance.now();
    for (let n = 0; n < SIZES.fileAppends; n++) {
      const line = `${JSON.stringify({ aggregateId: `b1-${n % 10}`, version: n, ...makeEvent(n), metadata: {}, eventId: randomUUID(), occurredOn: new Date().toISOString() })}\n`;
      await handle.write(line);
      await handle.datasync();
    }
    result.rawAppend1 = SIZES.fileAppends / ((performance.now() - rawStart) / 1000);
    await handle.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** IndexedDbStorage against a raw IndexedDB loop, in headless Chromium (bench/browser-idb.mjs). */
function indexedDb() {
  if (!existsSync('/usr/bin/chromium') || !existsSync(join(here, '..', 'tests', 'browser', 'node_modules', 'playwright-core'))) {
    return { skipped: 'needs Debian chromium and tests/browser dependencies (./scripts/setup.sh --browser)' };
  }
  const child = spawnSync(process.execPath, [join(here, 'browser-idb.mjs'), ...(quick ? ['--quick'] : ['--runs', String(runs % 2 ? runs + 1 : runs)])], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`browser bench failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

/** PostgresStorage against Emmett's PostgreSQL store and a raw pg loop (bench/postgres.mjs), on a private server. */
function postgres() {
  if (!existsSync('/usr/lib/postgresql')) return { skipped: 'needs Debian postgresql (./scripts/setup.sh --postgres)' };
  const child = spawnSync(join(here, '..', 'scripts', 'with-postgres.sh'),
    [process.execPath, join(here, 'postgres.mjs'), '--pkg', pkgDir, ...(quick ? ['--quick'] : ['--runs', String(Math.max(3, runs))])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error('postgres bench failed');
  return JSON.parse(child.stdout);
}

function printPostgres(results) {
  const p = results.postgres;
  if (!p || p.skipped) {
    console.log(`\nPostgresStorage: skipped (${p?.skipped ?? 'not measured'})`);
    return;
  }
  const f = p.figures;
  console.log(`\nPostgresStorage vs Emmett 0.42 PostgreSQL and a raw pg loop, private PostgreSQL 15, fsync on (events/s, median of ${p.runs} runs; ratio = ours/Emmett)`);
  console.log('| work | PostgresStorage | Emmett 0.42 | raw pg loop | ours/Emmett | ours/raw |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [key, label] of [
    ['append1_w1', 'append, batch 1, 1 writer'],
    ['append1_w16', 'append, batch 1, 16 writers in one process'],
    ['append1_p4x4', 'append, batch 1, 4 processes x 4 writers'],
    ['append100_w1', 'append, batch 100, 1 writer'],
    ['append100_w16', 'append, batch 100, 16 writers in one process'],
    ['load', 'load whole streams'],
  ]) {
    console.log(`| ${label} | ${fmt(f[`ours.${key}`])} | ${fmt(f[`emmett.${key}`])} | ${fmt(f[`raw.${key}`])} | ${ratio(f[`ours.${key}`], f[`emmett.${key}`])} | ${ratio(f[`ours.${key}`], f[`raw.${key}`])} |`);
  }
  console.log(`| loadAllEvents over ${p.sizes.catchUp.toLocaleString('en-US')} events, pages of 1,000 | ${fmt(p.catchUp.ours)} | | ${fmt(p.catchUp.raw)} (raw paging SELECT) | | ${p.catchUp.ratio.toFixed(2)}x |`);
}

/** The global log in the browser (bench/browser-log.mjs): catch-up against a raw cursor, live delivery. */
function browserLog() {
  if (!existsSync('/usr/bin/chromium') || !existsSync(join(here, '..', 'tests', 'browser', 'node_modules', 'playwright-core'))) {
    return { skipped: 'needs Debian chromium and tests/browser dependencies (./scripts/setup.sh --browser)' };
  }
  const child = spawnSync(process.execPath, [join(here, 'browser-log.mjs'), ...(quick ? ['--quick'] : ['--runs', String(Math.max(3, runs))])], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`browser log bench failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

function printGlobalLog(results) {
  const g = results.globalLog;
  console.log(`
The global log in Node (events/s; ${g.total.toLocaleString('en-US')} events over ${g.streams} streams)`);
  console.log('| work | events/s | ratio |');
  console.log('|---|---:|---:|');
  console.log(`| in-memory append, batch 1, no subscription open | ${fmt(g.append1NoSubscription)} | |`);
  console.log(`| in-memory append, batch 1, one subscription open (each event delivered live) | ${fmt(g.append1OneSubscription)} | ${g.subscriptionRatio.toFixed(2)}x of none |`);
  console.log(`| loadAllEvents in pages of ${g.page}, memory | ${fmt(g.memoryPaged)} | ${ratio(g.memoryPaged, g.memoryStreams)} of loading each stream whole |`);
  console.log(`| loadAllEvents in pages of ${g.page}, FileStorage | ${fmt(g.filePaged)} | ${ratio(g.filePaged, g.fileStreams)} of loading each stream whole |`);
  const b = results.browserLog;
  if (!b || b.skipped) {
    console.log(`
The global log in Chromium: skipped (${b?.skipped ?? 'not measured'})`);
    return;
  }
  console.log(`
The global log in headless Chromium (median of ${b.runs} runs)`);
  console.log('| work | IndexedDbStorage | floor | ratio |');
  console.log('|---|---:|---:|---:|');
  console.log(`| loadAllEvents over ${b.sizes.events.toLocaleString('en-US')} events in pages of ${b.sizes.page} (events/s) | ${fmt(b.catchUp.ours)} | ${fmt(b.catchUp.raw)} (raw cursor over the position index) | ${b.catchUp.ratio.toFixed(2)}x |`);
  console.log(`| live delivery to another tab, median (ms, ${b.sizes.appends} appends) | ${b.live.median.toFixed(2)} | ${b.live.rawMedian.toFixed(2)} (raw BroadcastChannel message) | |`);
  console.log(`| live delivery to another tab, p99 (ms) | ${b.live.p99.toFixed(2)} | ${b.live.rawP99.toFixed(2)} | |`);
}

function printSync(results) {
  const s = results.sync;
  console.log(`
Sync over loopback HTTP (createSyncHandler over an in-memory store; median of ${s.runs} runs)`);
  console.log('| work | Replica + handler | floor: a fetch loop of the same JSON to a trivial handler | ratio |');
  console.log('|---|---:|---:|---:|');
  console.log(`| push ${s.pushEvents.toLocaleString('en-US')} pending events (batch-1 appends over 100 aggregates; events/s) | ${fmt(s.push)} | ${fmt(s.pushFloor)} | ${s.pushRatio.toFixed(2)}x |`);
  console.log(`| pull ${s.pullEvents.toLocaleString('en-US')} events into a fresh replica (pages of 1,000, stored; events/s) | ${fmt(s.pull)} | ${fmt(s.pullFloor)} | ${s.pullRatio.toFixed(2)}x |`);
  console.log(`| one replica's append to another's view, both started (ms): median / p99 | ${s.liveMedian.toFixed(1)} / ${s.liveP99.toFixed(1)} | | |`);
}

function wasmSize() {
  const path = join(pkgDir, 'wasm', 'web', 'wasm_event_store_bg.wasm');
  const bytes = readFileSync(path);
  return { raw: statSync(path).size, gzip: gzipSync(bytes, { level: 9 }).length };
}

// ---------------------------------------------------------------------------------------------

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

function printPersistent(results) {
  const f = results.fileStorage;
  console.log('\nFileStorage in Node (events/s; every acknowledged append fdatasynced)');
  console.log('| append, batch 1 | raw write+fdatasync loop | ratio | append, batch 100 | concurrent writers, batch 1 | load after reopen |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${fmt(f.append1)} | ${fmt(f.rawAppend1)} | ${ratio(f.append1, f.rawAppend1)} | ${fmt(f.append100)} | ${fmt(f.concurrent)} (${SIZES.fileWriters} writers) | ${fmt(f.load)} |`);

  const idb = results.indexedDb;
  if (idb.skipped) {
    console.log(`\nIndexedDbStorage: skipped (${idb.skipped})`);
  } else {
    console.log(`\nIndexedDbStorage in headless Chromium vs a raw IndexedDB loop (events/s, median of ${idb.runs} runs; ratio: median of each run's ours/raw; durability 'strict')`);
    console.log('| work | IndexedDbStorage | raw loop | ratio |');
    console.log('|---|---:|---:|---:|');
    for (const batch of [1, 100]) {
      const b = idb[`batch${batch}`];
      console.log(`| append, batch ${batch} | ${fmt(b.oursAppend)} | ${fmt(b.rawAppend)} | ${b.appendRatio.toFixed(2)}x |`);
      console.log(`| load (${batch === 1 ? idb.sizes.appends1 / idb.sizes.streams : (idb.sizes.appends100 * 100) / idb.sizes.streams} events per stream) | ${fmt(b.oursLoad)} | ${fmt(b.rawLoad)} | ${b.loadRatio.toFixed(2)}x |`);
    }
  }

}

async function main() {
  if (args.includes('--memory-child')) return memoryChild(option('--memory-child'));
  console.error(`wasm-event-store bench (${quick ? 'quick smoke run, figures meaningless' : `median of ${runs} runs`})`);
  const machine = { node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
  const results = {
    machine, sizes: SIZES, runs, throughput: await throughput(), latency: await latency(), memory: memory(), wasm: wasmSize(),
  };
  results.globalLog = await globalLog({ EventStore, FileStorage, quick, runs });
  results.sync = await syncBench({ pkgDir, quick, runs: Math.min(runs, 3) });
  if (!onlyMemory) {
    results.fileStorage = await fileStorage();
    results.indexedDb = indexedDb();
    results.browserLog = browserLog();
    results.postgres = postgres();
  }

  const [o, n, ...peers] = results.throughput;
  const bestPeer = (key) => peers.reduce((best, p) => (p[key] > best[key] ? p : best));
  console.log(`\nIn-memory throughput, ${SIZES.events.toLocaleString('en-US')} events over ${SIZES.streams} streams (events/s; ratio = ours/that store)`);
  console.log('| store | append, batch 1 | append, batch 100 | load (whole streams, x3) |');
  console.log('|---|---:|---:|---:|');
  for (const row of results.throughput) {
    const r = (key) => (row === o ? '' : ` (${ratio(o[key], row[key])})`);
    console.log(`| ${row.store} | ${fmt(row.append1)}${r('append1')} | ${fmt(row.append100)}${r('append100')} | ${fmt(row.load)}${r('load')} |`);
  }
  console.log(`\nours / best peer: append batch 1 ${ratio(o.append1, bestPeer('append1').append1)} (${bestPeer('append1').store}), ` +
    `batch 100 ${ratio(o.append100, bestPeer('append100').append100)} (${bestPeer('append100').store}); ours / naive: ` +
    `batch 1 ${ratio(o.append1, n.append1)}, batch 100 ${ratio(o.append100, n.append100)}, load ${ratio(o.load, n.load)}`);

  console.log(`\nLatency per awaited call (µs), stream of 10 vs ${SIZES.bigStream.toLocaleString('en-US')} events`);
  console.log('| store | getCurrentVersion @10 | @big | ratio | loadEvents(last-10) @10 | @big | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const row of results.latency) {
    console.log(`| ${row.store} | ${fmt(row.version_small)} | ${fmt(row.version_big)} | ${ratio(row.version_big, row.version_small)} | ${fmt(row.tail_small)} | ${fmt(row.tail_big)} | ${ratio(row.tail_big, row.tail_small)} |`);
  }

  console.log(`\nMemory at ${SIZES.memoryEvents.toLocaleString('en-US')} events (heap + external, which holds the wasm memory)`);
  console.log('| store | bytes/event | recorded event JSON | ratio | input event JSON | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of results.memory) {
    console.log(`| ${row.store} | ${fmt(row.bytesPerEvent)} | ${fmt(row.recordedJson)} | ${ratio(row.bytesPerEvent, row.recordedJson)} | ${fmt(row.inputJson)} | ${ratio(row.bytesPerEvent, row.inputJson)} |`);
  }
  if (results.fileStorage) printPersistent(results);
  printGlobalLog(results);
  if (results.postgres) printPostgres(results);
  printSync(results);

  console.log(`\nwasm: ${results.wasm.raw.toLocaleString('en-US')} bytes raw, ${results.wasm.gzip.toLocaleString('en-US')} bytes gzipped`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${jsonPath}`);
}

await main();
