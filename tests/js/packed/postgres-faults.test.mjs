// PostgresStorage when things break, on a real server: the server restarted (pg_ctl restart -m
// fast) while appends are in flight; the connection cut after the commit, before the answer (a
// TCP proxy in between drops the server's reply), then the caller's retry; the LISTEN connection
// killed (pg_terminate_backend) while a subscription is live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import pg from 'pg';
import { EventStore, EventStoreError } from 'wasm-event-store/node';
import { PostgresStorage } from 'wasm-event-store/postgres';

const url = process.env.WES_TEST_DATABASE_URL;
if (!url) throw new Error('WES_TEST_DATABASE_URL is not set: run this through scripts/with-postgres.sh (make test does)');
const pgCtl = process.env.WES_PG_CTL; // unset with an external server: the restart test skips

let schemas = 0;
const freshSchema = () => `wes_faults_${process.pid}_${++schemas}`;

async function until(condition, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a server restart with appends in flight: acknowledged ones survive, failed ones are STORAGE, and the storage recovers by itself', { skip: pgCtl ? false : 'needs the private server of scripts/with-postgres.sh (WES_PG_CTL)', timeout: 120_000 }, async () => {
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5_000 });
  const storage = await PostgresStorage.open({ pool, schema: freshSchema() });
  const store = new EventStore({ storage });
  try {
    const acknowledged = [];
    const failures = [];
    // Writers run until the server is back and a hundred more appends were acknowledged.
    let stop = false;
    // Each writer appends back to back with the version its last append answered, so appends
    // are in flight all the time; after a failed one (its outcome unknown) it reads the version.
    const writers = Array.from({ length: 6 }, async (_, w) => {
      const id = `s${w}`;
      let expected = -1;
      for (let i = 0; !stop; i++) {
        const eventId = `${id}-${i}`;
        try {
          expected = await store.appendEvents(id, expected, [{ type: 'T', eventId }]);
          acknowledged.push([id, expected, eventId]);
          continue;
        } catch (error) {
          assert.ok(error instanceof EventStoreError, String(error));
          assert.equal(error.code, 'STORAGE', `${error.code}: ${error.message}`);
          failures.push(eventId);
        }
        for (;;) {
          try {
            expected = (await store.getCurrentVersion(id)) ?? -1;
            break;
          } catch (error) {
            assert.equal(error.code, 'STORAGE', error.message);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
      }
    });
    await until(() => acknowledged.length >= 50, 'the first acknowledged appends');
    // Not execSync: the appends go on (and fail) while the server restarts.
    await promisify(exec)(`${pgCtl} restart -m fast`);
    const before = acknowledged.length;
    await until(() => acknowledged.length >= before + 100, 'appends acknowledged after the restart');
    stop = true;
    await Promise.all(writers);
    assert.ok(failures.length > 0, 'some appends in flight failed as STORAGE');
    // The storage works again without a new open().
    await until(async () => {
      try {
        await store.appendEvents('after', (await store.getCurrentVersion('after')) ?? -1, [{ type: 'Back' }]);
        return true;
      } catch {
        return false;
      }
    }, 'an append after the restart');
    for (const [id, version, eventId] of acknowledged) {
      const [event] = await store.loadEvents(id, version - 1, { limit: 1 });
      assert.equal(event?.eventId, eventId, `acknowledged ${eventId} at ${id}@${version} survived`);
    }
    const all = await store.loadAllEvents();
    assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i), 'no hole in the log');
  } finally {
    await storage.close();
    await pool.end();
  }
});

/** A TCP proxy to the server that can drop the next reply it sees and cut the connection. */
async function proxy(target) {
  const sockets = new Set();
  let dropNextReply = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (data) => upstream.write(data));
    upstream.on('data', (data) => {
      if (dropNextReply) {
        dropNextReply = false;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(data);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => { client.destroy(); upstream.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    dropNextReply: () => { dropNextReply = true; },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(resolve); }),
  };
}

test('the connection cut between the commit and its answer: the append is STORAGE, its retry stores nothing twice', async () => {
  const target = new URL(url);
  const cut = await proxy({ host: target.hostname, port: Number(target.port) });
  const viaProxy = new URL(url);
  viaProxy.port = String(cut.port);
  const pool = new pg.Pool({ connectionString: viaProxy.href, max: 1 });
  const schema = freshSchema();
  const storage = await PostgresStorage.open({ pool, schema });
  const store = new EventStore({ storage });
  try {
    await store.appendEvents('order', -1, [{ type: 'Placed', eventId: 'order/placed' }]);
    const batch = [{ type: 'Paid', eventId: 'order/paid' }, { type: 'Shipped', eventId: 'order/shipped' }];
    cut.dropNextReply();
    await assert.rejects(store.appendEvents('order', 0, batch), (error) => {
      assert.ok(error instanceof EventStoreError);
      assert.equal(error.code, 'STORAGE');
      return true;
    });
    // It was committed: the reply was lost, not the append.
    const direct = await PostgresStorage.open({ connectionString: url, schema });
    try {
      assert.deepEqual((await new EventStore({ storage: direct }).loadEvents('order')).map((e) => e.eventId), ['order/placed', 'order/paid', 'order/shipped']);
    } finally {
      await direct.close();
    }
    // The caller retries the same append: it resolves as the first attempt would have.
    assert.equal(await store.appendEvents('order', 0, batch), 2);
    assert.deepEqual((await store.loadEvents('order')).map((e) => e.eventId), ['order/placed', 'order/paid', 'order/shipped']);
    assert.deepEqual((await store.loadAllEvents()).map((e) => e.position), [0, 1, 2]);
  } finally {
    await storage.close();
    await pool.end();
    await cut.close();
  }
});

test('the LISTEN connection killed: live delivery comes back and nothing appended meanwhile is missed', { timeout: 60_000 }, async () => {
  const schema = freshSchema();
  const reader = await PostgresStorage.open({ connectionString: url, schema });
  const writer = await PostgresStorage.open({ connectionString: url, schema });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const seen = [];
    const subscription = new EventStore({ storage: reader }).subscribe((event) => { seen.push(event.eventId); });
    await subscription.caughtUp;
    const store = new EventStore({ storage: writer });
    await store.appendEvents('s', -1, [{ type: 'T', eventId: 'before' }]);
    await until(() => seen.length === 1, 'live delivery before the cut');
    const killed = await admin.query("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND datname = current_database()");
    assert.ok(killed.rowCount >= 1, 'the LISTEN connection was found');
    // Appends right away, while the listener is down or coming back.
    for (let i = 0; i < 20; i++) await store.appendEvents('s', i, [{ type: 'T', eventId: `during-${i}` }]);
    await until(() => seen.length === 21, 'every event appended while the LISTEN connection was down');
    await until(async () => (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")).rows[0].n >= 1, 'a new LISTEN connection');
    await store.appendEvents('s', 20, [{ type: 'T', eventId: 'after' }]);
    await until(() => seen.length === 22, 'live delivery after the cut');
    assert.deepEqual(seen, ['before', ...Array.from({ length: 20 }, (_, i) => `during-${i}`), 'after']);
    subscription.close();
    await subscription.done;
  } finally {
    await admin.end();
    await reader.close();
    await writer.close();
  }
});
