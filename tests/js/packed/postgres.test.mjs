// PostgresStorage on a real PostgreSQL server (the private one scripts/with-postgres.sh starts,
// or WES_TEST_DATABASE_URL's): the conformance kit with every optional case, the schema and its
// names, hostile ids and payloads, and what it does with the user's pool.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { EventStore, EventStoreError } from 'wasm-event-store/node';
import { PostgresStorage } from 'wasm-event-store/postgres';
import { runStorageConformance } from 'wasm-event-store/testing';

const url = process.env.WES_TEST_DATABASE_URL;
if (!url) throw new Error('WES_TEST_DATABASE_URL is not set: run this through scripts/with-postgres.sh (make test does)');

let schemas = 0;
const freshSchema = () => `wes_test_${process.pid}_${++schemas}`;
const pools = [];
const newPool = () => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pools.push(pool);
  return pool;
};
after(() => Promise.all(pools.splice(0).map((p) => p.end().catch(() => {}))));

runStorageConformance({
  name: 'PostgresStorage',
  async open() {
    const schema = freshSchema();
    const storage = await PostgresStorage.open({ pool: newPool(), schema });
    storage.schema = schema;
    return storage;
  },
  // Another process's storage: its own pool, the same tables.
  second: async (a) => Object.assign(await PostgresStorage.open({ pool: newPool(), schema: a.schema }), { schema: a.schema }),
  reopen: async (a) => Object.assign(await PostgresStorage.open({ connectionString: url, schema: a.schema }), { schema: a.schema }),
  close: (a) => a.close(),
});

describe('PostgresStorage: schema, names and pools', () => {
  test('several processes opening at once on a new schema all succeed, with one set of tables', async () => {
    const schema = freshSchema();
    const storages = await Promise.all(Array.from({ length: 8 }, () => PostgresStorage.open({ connectionString: url, schema })));
    try {
      const store = new EventStore({ storage: storages[3] });
      await store.appendEvents('s', -1, [{ type: 'A' }]);
      assert.equal(await new EventStore({ storage: storages[6] }).getCurrentVersion('s'), 0);
      const { rows } = await newPool().query('SELECT key, value FROM ' + `"${schema}".events_meta ORDER BY key`);
      assert.deepEqual(rows.map((r) => [r.key, Number(r.value)]), [['last_position', 0], ['schema_version', 1]]);
    } finally {
      await Promise.all(storages.map((s) => s.close()));
    }
  });

  test('schema and table names are quoted, never interpolated as SQL; too long ones are refused', async () => {
    const hostile = `x"; DROP TABLE victim; --${process.pid}`;
    const pool = newPool();
    await pool.query('CREATE TABLE IF NOT EXISTS victim (n int)');
    const storage = await PostgresStorage.open({ pool, schema: hostile, table: 'ev"ents' });
    try {
      const store = new EventStore({ storage });
      await store.appendEvents('s', -1, [{ type: 'A' }]);
      assert.equal((await store.loadEvents('s')).length, 1);
      const { rows } = await pool.query("SELECT to_regclass('victim') IS NOT NULL AS still");
      assert.equal(rows[0].still, true, 'the other table is untouched');
      const tables = await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [hostile]);
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['ev"ents', 'ev"ents_meta', 'ev"ents_streams']);
    } finally {
      await storage.close();
    }
    for (const [options, pattern] of [
      [{ schema: 's'.repeat(64) }, /options\.schema .* 64 bytes/],
      [{ table: 't'.repeat(60) }, /_streams.*63 bytes|bytes; PostgreSQL truncates/],
      [{ schema: 'a\u0000b' }, /NUL/],
      [{ schema: '' }, /non-empty/],
    ]) {
      await assert.rejects(PostgresStorage.open({ pool, ...options }), (error) => {
        assert.ok(error instanceof EventStoreError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, pattern);
        return true;
      });
    }
    await assert.rejects(PostgresStorage.open({}), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(PostgresStorage.open({ pool: {} }), { code: 'INVALID_ARGUMENT' });
  });

  test('ids and payloads of any content and length: quotes, NULs, backslashes, a 1 MB random id and payload', async () => {
    const storage = await PostgresStorage.open({ pool: newPool(), schema: freshSchema() });
    try {
      const store = new EventStore({ storage });
      const random = (n) => Array.from({ length: n }, () => String.fromCharCode(0x20 + Math.floor(Math.random() * 0x5f))).join('');
      const ids = ["it's", 'a"b', 'nul\u0000in\u0000it', 'back\\slash\\', "'; DROP TABLE x; --", 'ünï😀', random(1 << 20)];
      const data = { text: `${random(1 << 20)}\u0000\\"'` };
      for (const id of ids) {
        assert.equal(await store.appendEvents(id, -1, [{ type: 'T', data: id.length > 1000 ? data : { id } }]), 0);
      }
      for (const id of ids) {
        const [event] = await store.loadEvents(id);
        assert.equal(event.aggregateId, id);
        assert.deepEqual(event.data, id.length > 1000 ? data : { id });
        assert.equal(await store.getCurrentVersion(id), 0);
      }
      const all = await store.loadAllEvents();
      assert.deepEqual(all.map((e) => e.aggregateId), ids);
      // Raw payloads the core never writes (a NUL in the text) come back verbatim too (the kit
      // checks it); ids that differ only after 1 MB are two streams.
      const long = random(1 << 20);
      await store.appendEvents(`${long}a`, -1, [{ type: 'T' }]);
      assert.equal(await store.getCurrentVersion(`${long}b`), null);
    } finally {
      await storage.close();
    }
  });

  test('close() leaves the user\'s pool open; the storage\'s own pool is ended', async () => {
    const pool = newPool();
    const storage = await PostgresStorage.open({ pool, schema: freshSchema() });
    await storage.close();
    assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
    await assert.rejects(storage.version('s'), { code: 'STORAGE' });
    const own = await PostgresStorage.open({ connectionString: url, schema: freshSchema() });
    await own.close();
    await own.close(); // again: fine
  });

  test('an idle pool client dying does not crash the process, and the user\'s own error listener still hears it', async () => {
    const pool = newPool();
    const heard = [];
    pool.on('error', (error) => heard.push(error.message));
    const storage = await PostgresStorage.open({ pool, schema: freshSchema() });
    try {
      await new EventStore({ storage }).appendEvents('s', -1, [{ type: 'A' }]);
      const victim = await pool.query('SELECT pg_backend_pid() AS pid');
      // Kill every idle backend of this pool from another connection.
      const killer = new pg.Client({ connectionString: url });
      await killer.connect();
      await killer.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1", [victim.rows[0].pid]);
      await killer.end();
      const deadline = Date.now() + 10_000;
      while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(heard.length > 0, 'the pool reported the dead client to the user\'s listener');
      // And the storage goes on with a new connection.
      assert.equal(await new EventStore({ storage }).getCurrentVersion('s'), 0);
    } finally {
      await storage.close();
    }
  });

  test('concurrent appends of one process share calls of the append function, each checked on its own', async () => {
    const storage = await PostgresStorage.open({ pool: newPool(), schema: freshSchema() });
    try {
      const store = new EventStore({ storage });
      // 50 appends at once: 10 streams, 5 appends racing for version -1 on each.
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.appendEvents(`s${i % 10}`, -1, [{ type: 'T', data: i }])));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 10, 'one winner per stream');
      assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason.code === 'CONFLICT' && r.reason.actualVersion === 0));
      const all = await store.loadAllEvents();
      assert.deepEqual(all.map((e) => e.position), Array.from({ length: 10 }, (_, i) => i));
    } finally {
      await storage.close();
    }
  });
});

describe('PostgresStorage: what the database must be, and what it refuses', () => {
  test('prefixes that would share tables are refused; prefixes of one new schema open at once', async () => {
    await assert.rejects(PostgresStorage.open({ pool: newPool(), table: 'orders_streams' }), (error) => error.code === 'INVALID_ARGUMENT' && /_streams/.test(error.message));
    const schema = freshSchema();
    const storages = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((table) => PostgresStorage.open({ connectionString: url, schema, table })));
    await Promise.all(storages.map((s) => s.close()));
  });

  test('an append in a session whose isolation is not read committed is refused, saying why', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2, options: '-c default_transaction_isolation=serializable' });
    pools.push(pool);
    const storage = await PostgresStorage.open({ pool, schema: freshSchema() });
    try {
      await assert.rejects(new EventStore({ storage }).appendEvents('s', -1, [{ type: 'A' }]), (error) => {
        assert.equal(error.code, 'STORAGE');
        assert.match(error.message, /read committed/);
        return true;
      });
    } finally {
      await storage.close();
    }
  });

  test('a database whose encoding is not UTF8 is refused at open()', async () => {
    const admin = newPool();
    const name = `wes_latin1_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    const other = new URL(url);
    other.pathname = `/${name}`;
    await assert.rejects(PostgresStorage.open({ connectionString: other.href }), (error) => error.code === 'STORAGE' && /LATIN1/.test(error.message));
  });

  test('once the tables exist, a role with only DML and EXECUTE rights opens and uses them', async () => {
    const admin = newPool();
    const schema = freshSchema();
    await (await PostgresStorage.open({ pool: admin, schema })).close();
    const role = `wes_app_${process.pid}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role}`);
    const asApp = new URL(url);
    asApp.username = role;
    const storage = await PostgresStorage.open({ connectionString: asApp.href, schema });
    try {
      const store = new EventStore({ storage });
      assert.equal(await store.appendEvents('s', -1, [{ type: 'A' }]), 0);
      assert.equal((await store.loadAllEvents()).length, 1);
    } finally {
      await storage.close();
    }
  });

  test('close() while watch() is still connecting leaves no LISTEN connection behind', async () => {
    const storage = await PostgresStorage.open({ connectionString: url, schema: freshSchema() });
    const watching = storage.watch(() => {});
    await storage.close();
    await watching.then((unwatch) => unwatch(), () => {});
    const admin = newPool();
    const deadline = Date.now() + 10_000;
    let left;
    do {
      left = (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND state = 'idle'")).rows[0].n;
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    } while (left > 0 && Date.now() < deadline);
    assert.equal(left, 0);
  });
});
