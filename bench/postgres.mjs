// PostgresStorage against Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql
// 0.42, getPostgreSQLEventStore) and a hand-written `pg` loop doing the same conditional insert
// in a transaction (BEGIN; read the stream's last version; insert the batch; COMMIT: the
// practical limit of a conditional append, without a global log), on one server, in one run:
//
// - appends at batch 1 and 100, with 1 writer and with 16 concurrent writers, each on its own
//   stream, in one process; and 16 writers as 4 processes of 4 (batch 1);
// - whole-stream loads;
// - catch-up over 100,000 events in pages of 1,000: loadAllEvents against a raw
//   `SELECT ... WHERE position > $1 ORDER BY position LIMIT 1000` paging loop over the same table.
//
//   scripts/with-postgres.sh node bench/postgres.mjs [--quick] [--runs N]   (prints JSON on stdout)
//
// The server is the one WES_TEST_DATABASE_URL names (scripts/with-postgres.sh starts a private
// one with fsync on). Never fails on timing.
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const quick = args.includes('--quick');
const runs = Number(option('--runs', quick ? 1 : 3));
const pkgDir = resolve(option('--pkg', join(here, '..', 'pkg')));
const url = process.env.WES_TEST_DATABASE_URL;
if (!url) throw new Error('WES_TEST_DATABASE_URL is not set: run this through scripts/with-postgres.sh');

const { EventStore } = await import(pathToFileURL(join(pkgDir, 'node.mjs')).href);
const { PostgresStorage } = await import(pathToFileURL(join(pkgDir, 'postgres.mjs')).href);

const SIZES = quick
  ? { appends1: 40, appends100: 4, catchUp: 5_000, loadStreams: 4, loadEvents: 200 }
  : { appends1: 600, appends100: 60, catchUp: 100_000, loadStreams: 10, loadEvents: 1_000 };
const makeEvent = (i) => ({ type: 'ItemAdded', data: { sku: `sku-${i}`, qty: i % 7, price: 12.5, tags: ['a', 'b'] } });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let tag = 0;

// Each peer: open(run) -> { append(stream, expectedVersion, events), load(stream), close() }.
const peers = {
  async ours(run) {
    const pool = new pg.Pool({ connectionString: url, max: 20 });
    const storage = await PostgresStorage.open({ pool, schema: `bench_ours_${run}` });
    const store = new EventStore({ storage });
    return {
      append: (id, v, events) => store.appendEvents(id, v, events),
      load: async (id) => (await store.loadEvents(id)).length,
      store,
      close: async () => { await storage.close(); await pool.end(); },
    };
  },
  async emmett(run) {
    const eventStore = getPostgreSQLEventStore(`${url}?application_name=bench_emmett_${run}`);
    return {
      append: (id, v, events) => eventStore.appendToStream(`${run}-${id}`, events,
        { expectedStreamVersion: v === -1 ? STREAM_DOES_NOT_EXIST : BigInt(v + 1) }),
      load: async (id) => (await eventStore.readStream(`${run}-${id}`)).events.length,
      close: () => eventStore.close(),
    };
  },
  async raw(run) {
    const pool = new pg.Pool({ connectionString: url, max: 20 });
    const table = `bench_raw_${run}`;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (stream text NOT NULL, version bigint NOT NULL, payload text NOT NULL, PRIMARY KEY (stream, version))`);
    return {
      async append(id, v, events) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query(`SELECT coalesce(max(version), -1) AS last FROM ${table} WHERE stream = $1`, [id]);
          if (Number(rows[0].last) !== v) throw new Error('raw loop out of step');
          await client.query(`INSERT INTO ${table} (stream, version, payload) SELECT $1, $2 + k, p FROM unnest($3::text[]) WITH ORDINALITY AS t(p, k)`,
            [id, v, events.map((e, i) => JSON.stringify({ aggregateId: id, version: v + 1 + i, ...e, metadata: {}, eventId: crypto.randomUUID(), occurredOn: new Date().toISOString() }))]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          client.release();
        }
      },
      load: async (id) => (await pool.query(`SELECT payload FROM ${table} WHERE stream = $1 ORDER BY version`, [id])).rows.map((r) => JSON.parse(r.payload)).length,
      close: () => pool.end(),
    };
  },
};

/** Events/s of `appends` appends of `batch` events by `writers` concurrent writers, each its own stream. */
async function appendRate(peer, { appends, batch, writers }) {
  const prefix = `w${++tag}`;
  const perWriter = Math.ceil(appends / writers);
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    let v = -1;
    for (let n = 0; n < perWriter; n++) {
      await peer.append(`${prefix}-${w}`, v, Array.from({ length: batch }, (_, k) => makeEvent(n * batch + k)));
      v += batch;
    }
  }));
  return (perWriter * writers * batch) / ((performance.now() - start) / 1000);
}

/** Child process mode: one process of the 4 x 4 writers; waits until `startAt`, prints its events/s window. */
async function child([kind, run, writers, appends, startAt]) {
  const peer = await peers[kind](run);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const t0 = Date.now();
  const rate = await appendRate(peer, { appends: Number(appends), batch: 1, writers: Number(writers) });
  const t1 = Date.now();
  await peer.close();
  process.stdout.write(JSON.stringify({ rate, t0, t1, events: Number(appends) }));
}

function spawnChild(kind, run, writers, appends, startAt) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, run, String(writers), String(appends), String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.on('close', (code) => (code === 0 ? resolvePromise(JSON.parse(out)) : reject(new Error(`bench child ${kind} exited with ${code}`))));
  });
}

/** 16 writers as 4 processes of 4: total events over the span from the first start to the last end. */
async function processesRate(kind, run) {
  const startAt = Date.now() + 1500; // all four have connected by then
  const results = await Promise.all(Array.from({ length: 4 }, (_, p) => spawnChild(kind, `${run}_${p}`, 4, SIZES.appends1 / 4, startAt)));
  const span = Math.max(...results.map((r) => r.t1)) - Math.min(...results.map((r) => r.t0));
  return results.reduce((sum, r) => sum + r.events, 0) / (span / 1000);
}

async function loadRate(peer) {
  const prefix = `load${++tag}`;
  for (let s = 0; s < SIZES.loadStreams; s++) {
    let v = -1;
    for (let n = 0; n < SIZES.loadEvents / 100; n++) {
      await peer.append(`${prefix}-${s}`, v, Array.from({ length: 100 }, (_, k) => makeEvent(k)));
      v += 100;
    }
  }
  const start = performance.now();
  let loaded = 0;
  for (let pass = 0; pass < 3; pass++) for (let s = 0; s < SIZES.loadStreams; s++) loaded += await peer.load(`${prefix}-${s}`);
  return loaded / ((performance.now() - start) / 1000);
}

/** loadAllEvents in pages of 1,000 against a raw paging SELECT over the same table. */
async function catchUp(run) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const schema = `bench_log_${run}`;
  const storage = await PostgresStorage.open({ pool, schema });
  const store = new EventStore({ storage });
  for (let n = 0; n < SIZES.catchUp / 1000; n++) {
    await store.appendEvents(`s${n % 50}`, Math.floor(n / 50) * 1000 - 1, Array.from({ length: 1000 }, (_, k) => makeEvent(k)));
  }
  const ours = async () => {
    let count = 0;
    for (let after = -1; ;) {
      const page = await store.loadAllEvents(after, { limit: 1000 });
      if (page.length === 0) return count;
      count += page.length;
      after = page[page.length - 1].position;
    }
  };
  const raw = async () => {
    let count = 0;
    for (let after = -1; ;) {
      const { rows } = await pool.query(`SELECT e.position, e.version, e.payload, s.aggregate_id FROM "${schema}".events e
        JOIN "${schema}".events_streams s ON s.stream_hash = e.stream_hash WHERE e.position > $1 ORDER BY e.position LIMIT 1000`, [after]);
      if (rows.length === 0) return count;
      const events = rows.map((r) => ({ ...JSON.parse(r.payload), position: Number(r.position) }));
      count += events.length;
      after = events[events.length - 1].position;
    }
  };
  const rates = { ours: [], raw: [] };
  await ours();
  await raw();
  for (let p = 0; p < 3; p++) {
    for (const [key, read] of p % 2 ? [['raw', raw], ['ours', ours]] : [['ours', ours], ['raw', raw]]) {
      const start = performance.now();
      const count = await read();
      if (count !== SIZES.catchUp) throw new Error(`${key} read ${count} of ${SIZES.catchUp}`);
      rates[key].push(count / ((performance.now() - start) / 1000));
    }
  }
  await storage.close();
  await pool.end();
  return { ours: median(rates.ours), raw: median(rates.raw), ratio: median(rates.ours.map((o, i) => o / rates.raw[i])) };
}

async function main() {
  if (args[0] === '--child') return child(args.slice(1));
  const scenarios = [
    ['append1_w1', { appends: SIZES.appends1 / 2, batch: 1, writers: 1 }],
    ['append1_w16', { appends: SIZES.appends1, batch: 1, writers: 16 }],
    ['append100_w1', { appends: SIZES.appends100 / 2, batch: 100, writers: 1 }],
    ['append100_w16', { appends: SIZES.appends100, batch: 100, writers: 16 }],
  ];
  const samples = {};
  for (let r = 0; r < runs; r++) {
    // Peers take turns, in a different order each run.
    const order = ['ours', 'emmett', 'raw'];
    for (let k = 0; k < r % 3; k++) order.push(order.shift());
    for (const kind of order) {
      const peer = await peers[kind](`${r}`);
      for (const [name, scenario] of scenarios) (samples[`${kind}.${name}`] ??= []).push(await appendRate(peer, scenario));
      (samples[`${kind}.load`] ??= []).push(await loadRate(peer));
      await peer.close();
      (samples[`${kind}.append1_p4x4`] ??= []).push(await processesRate(kind, `${kind}_${r}`));
      console.error(`  postgres run ${r + 1}: measured ${kind}`);
    }
  }
  const result = { sizes: SIZES, runs, figures: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) };
  result.catchUp = await catchUp('0');
  process.stdout.write(JSON.stringify(result));
}

await main();
