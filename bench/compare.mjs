// Before/after comparison of two builds of the package, side by side in one process:
//
//   PKG_OUT=/tmp/pkg-before ./scripts/build-pkg.sh     # on the old commit (a git worktree)
//   node --expose-gc bench/compare.mjs --before /tmp/pkg-before [--after pkg] [--rounds 7]
//
// Each round runs every scenario once per build, alternating which build goes first, and the
// table shows the median of the rounds and after/before. The scenarios are the paths a change to
// the core or the binding can slow down: the in-memory append (the JSON-text hot path) and the
// adapter path (JsStorage) over a plain in-process Map adapter, so that no disk or browser
// noise hides the boundary's cost. Never fails on timing.
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const here = new URL('.', import.meta.url).pathname;
const before = resolve(option('--before', ''));
const after = resolve(option('--after', join(here, '..', 'pkg')));
const rounds = Number(option('--rounds', 7));
const quick = args.includes('--quick');
const N = quick ? 500 : 20_000;

const load = async (dir) => (await import(pathToFileURL(join(dir, 'index.mjs')).href)).EventStore;
const builds = [['before', await load(before)], ['after', await load(after)]];

/** The simplest correct adapter: records kept in a Map of arrays, as the contract asks. */
class MapAdapter {
  streams = new Map();
  load(id, after) {
    return (this.streams.get(id) ?? []).slice(after + 1);
  }
  version(id) {
    return (this.streams.get(id)?.length ?? 0) - 1;
  }
  append(id, expected, records) {
    const stream = this.streams.get(id) ?? [];
    if (stream.length - 1 !== expected) return { ok: false, actualVersion: stream.length - 1 };
    stream.push(...records);
    this.streams.set(id, stream);
    return { ok: true };
  }
}

const event = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });
const STREAMS = 100;

/** Events per second of `count` awaited appends of `batch` events over STREAMS streams. */
async function appends(store, batch, count) {
  const versions = new Array(STREAMS).fill(-1);
  const start = performance.now();
  for (let n = 0; n < count; n++) {
    const s = n % STREAMS;
    await store.appendEvents(`s-${s}`, versions[s], Array.from({ length: batch }, (_, k) => event(n * batch + k)));
    versions[s] += batch;
  }
  return (count * batch) / ((performance.now() - start) / 1000);
}

const scenarios = {
  'in-memory append, batch 1': (Store) => appends(new Store(), 1, N),
  'adapter append, batch 1': (Store) => appends(new Store({ storage: new MapAdapter() }), 1, N),
  'adapter append, batch 100': (Store) => appends(new Store({ storage: new MapAdapter() }), 100, N / 100),
  'adapter load, 100-event streams': async (Store) => {
    const store = new Store({ storage: new MapAdapter() });
    await appends(store, 100, STREAMS);
    const start = performance.now();
    let loaded = 0;
    for (let pass = 0; pass < (quick ? 1 : 20); pass++) {
      for (let s = 0; s < STREAMS; s++) loaded += (await store.loadEvents(`s-${s}`)).length;
    }
    return loaded / ((performance.now() - start) / 1000);
  },
};

const results = Object.fromEntries(Object.keys(scenarios).map((name) => [name, { before: [], after: [] }]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [...builds].reverse() : builds;
  for (const [name, run] of Object.entries(scenarios)) {
    for (const [label, Store] of order) {
      globalThis.gc?.();
      results[name][label].push(await run(Store));
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`before: ${before}\nafter:  ${after}\n(events/s, median of ${rounds} interleaved rounds)`);
console.log('| scenario | before | after | after/before |');
console.log('|---|---:|---:|---:|');
for (const [name, { before: b, after: a }] of Object.entries(results)) {
  console.log(`| ${name} | ${fmt(median(b))} | ${fmt(median(a))} | ${(median(a) / median(b)).toFixed(2)}x |`);
}
