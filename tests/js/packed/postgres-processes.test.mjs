// Several Node processes over one PostgreSQL database: 4 writer processes race hundreds of
// appends (each with 4 concurrent writers, retrying on conflict) on 3 shared aggregates, while a
// fifth process subscribes. At the end every stream is contiguous, every acknowledged append is
// stored exactly once, and the subscriber was delivered every event once, in position order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EventStore } from 'wasm-event-store/node';
import { PostgresStorage } from 'wasm-event-store/postgres';

const url = process.env.WES_TEST_DATABASE_URL;
if (!url) throw new Error('WES_TEST_DATABASE_URL is not set: run this through scripts/with-postgres.sh (make test does)');
const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs `node fixture args`; resolves to its stdout lines. `onLine` sees each as it comes. */
function run(name, args, onLine = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let partial = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        lines.push(line);
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`${name} exited with ${code}: ${err}`));
    });
  });
}

const WRITERS = 4;
const PER_WRITER = 150;

test(`${WRITERS} processes race ${WRITERS * PER_WRITER} appends with retries; a fifth process sees every event once`, { timeout: 180_000 }, async () => {
  const schema = `wes_processes_${process.pid}`;
  const setup = await PostgresStorage.open({ connectionString: url, schema });
  await setup.close();

  let ready;
  const armed = new Promise((resolve) => { ready = resolve; });
  const subscriber = run('pg-subscriber.mjs', [url, schema, String(WRITERS * PER_WRITER)], (line) => {
    if (line === 'ready') ready();
  });
  await Promise.race([armed, subscriber]);
  const writers = await Promise.all(Array.from({ length: WRITERS }, (_, w) => run('pg-writer.mjs', [url, schema, String(w), String(PER_WRITER), '4'])));
  const acknowledged = writers.flatMap((lines) => JSON.parse(lines.at(-1)));
  assert.equal(acknowledged.length, WRITERS * PER_WRITER);

  const storage = await PostgresStorage.open({ pool: new pg.Pool({ connectionString: url }), schema });
  const store = new EventStore({ storage });
  try {
    // Every stream contiguous; every acknowledged append stored exactly once, where it was acknowledged.
    const stored = new Map();
    for (const id of ['shared-0', 'shared-1', 'shared-2']) {
      const events = await store.loadEvents(id);
      assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i), `${id} is contiguous`);
      for (const e of events) stored.set(`${id}@${e.version}`, e.eventId);
    }
    assert.equal(stored.size, WRITERS * PER_WRITER, 'nothing stored that was not acknowledged');
    for (const [id, version, eventId] of acknowledged) assert.equal(stored.get(`${id}@${version}`), eventId);
    assert.equal(new Set(stored.values()).size, stored.size, 'no event stored twice');

    const all = await store.loadAllEvents();
    const seen = JSON.parse((await subscriber).at(-1));
    assert.deepEqual(seen, all.map((e) => [e.position, e.aggregateId, e.version, e.eventId]), 'the subscriber saw the log, once each, in order');
    assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i), 'positions have no hole');
  } finally {
    await storage.close();
  }
});
