// PostgresStorage: a StorageAdapter over PostgreSQL, for many Node processes (and machines)
// sharing one database. With the global log (positions, loadAll, lastPosition) and watch() by
// LISTEN/NOTIFY.
//
//   import pg from 'pg';
//   const storage = await PostgresStorage.open({ pool: new pg.Pool({ connectionString }) });
//   const store = new EventStore({ storage });
//
// The tables and the append function are in schema.mjs. Appends are grouped: an append that
// arrives while this storage's previous call of the append function is in flight waits for it,
// and all that waited go together in the next call, one statement, one transaction, one WAL flush,
// each still checked against its own stream's version and answered on its own (as FileStorage's
// group commit does). Since appends from every process commit one at a time (the row lock of
// last_position, held through the commit's flush), grouping is what lets many concurrent writers
// of one process share a flush; across processes each process's group takes its turn.
import { createHash } from 'node:crypto';

import { EventStoreError } from '../../core/errors.mjs';
import { checkAggregateId, checkLimit, checkVersion, payloadsOf } from '../arguments.mjs';
import { Listener } from './listener.mjs';
import { namesFor, SCHEMA_VERSION, schemaStatements } from './schema.mjs';

/** The most appends (or payload bytes) one call of the append function carries. */
const GROUP_APPENDS = 1000;
const GROUP_BYTES = 16 * 1024 * 1024;

const CONSTRUCT = Symbol('PostgresStorage.open');

// One 'error' listener per pool, however many storages share it (one per tenant's schema, say):
// pool -> how many storages use it. The listener keeps an idle client's death (a server restart)
// from crashing the process; the user's own listeners still hear it.
const poolUsers = new WeakMap();
const ignorePoolError = () => {};
function usePool(pool) {
  const users = poolUsers.get(pool) ?? 0;
  if (users === 0) pool.on('error', ignorePoolError);
  poolUsers.set(pool, users + 1);
}
function leavePool(pool) {
  const users = (poolUsers.get(pool) ?? 1) - 1;
  poolUsers.set(pool, users);
  if (users === 0) pool.off('error', ignorePoolError);
}

function storageError(message, cause) {
  return new EventStoreError('STORAGE', `PostgresStorage: ${message}`, cause === undefined ? undefined : { cause });
}

/** A text value PostgreSQL's text can hold (no NUL), else its UTF-8 bytes: [text, bytes]. */
function textOrBytes(value) {
  return value.includes('\u0000') ? [null, Buffer.from(value, 'utf8')] : [value, null];
}

function hashOf(aggregateId) {
  return createHash('sha256').update(aggregateId, 'utf8').digest();
}

export class PostgresStorage {
  #pool;
  #ownsPool;
  #names;
  #listener;
  #sql;
  // Appends waiting for the next call of the append function, and whether one is in flight.
  #queue = [];
  #draining = false;
  #drained = Promise.resolve();
  #closed = false;

  /** Use PostgresStorage.open(options). */
  constructor(token, state) {
    if (token !== CONSTRUCT) throw new TypeError('use `await PostgresStorage.open({ pool })` to get a PostgresStorage');
    this.#pool = state.pool;
    this.#ownsPool = state.ownsPool;
    this.#names = state.names;
    this.#sql = state.sql;
    // The LISTEN connection: the pool's settings, with TCP keepalive, so that a silent network
    // cut ends it (and it is made again) instead of leaving it deaf.
    this.#listener = new Listener(
      () => new this.#pool.Client({ ...this.#pool.options, keepAlive: true, keepAliveInitialDelayMillis: 10_000 }),
      state.names.channel,
    );
    usePool(this.#pool);
  }

  /**
   * Opens the storage: options.pool (a pg.Pool; never ended by close()) or
   * options.connectionString (the storage makes a pool of its own, ended by close()), and
   * options.schema (default 'wes') and options.table (default 'events'), PostgreSQL identifiers of
   * at most 63 bytes. Creates the schema, the tables and the append function if missing, under an
   * advisory lock, so that processes starting at once do not race.
   */
  static async open(options) {
    if (options === null || typeof options !== 'object') {
      throw new EventStoreError('INVALID_ARGUMENT', 'PostgresStorage.open: options must be an object: { pool } or { connectionString }');
    }
    const { pool: given, connectionString, schema = 'wes', table = 'events' } = options;
    const names = namesFor(schema, table);
    let pool = given;
    let ownsPool = false;
    if (pool === undefined) {
      if (typeof connectionString !== 'string') {
        throw new EventStoreError('INVALID_ARGUMENT', 'PostgresStorage.open: pass options.pool (a pg.Pool) or options.connectionString');
      }
      const { default: pg } = await import('pg');
      pool = new pg.Pool({ connectionString });
      ownsPool = true;
    } else if (typeof pool?.query !== 'function' || typeof pool?.connect !== 'function' || typeof pool?.Client !== 'function') {
      throw new EventStoreError('INVALID_ARGUMENT', 'PostgresStorage.open: options.pool must be a pg.Pool');
    }
    usePool(pool); // while opening, too
    try {
      await PostgresStorage.#createSchema(pool, names);
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => {});
      if (error instanceof EventStoreError) throw error;
      throw storageError(`cannot create or check its tables: ${error.message}`, error);
    } finally {
      leavePool(pool);
    }
    const n = names;
    const sql = {
      load: `SELECT version, payload, payload_bytes, position FROM ${n.events}
             WHERE stream_hash = $1 AND version > $2 ORDER BY version LIMIT $3`,
      version: `SELECT version FROM ${n.streams} WHERE stream_hash = $1`,
      append: `SELECT ${n.append}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS outcomes`,
      loadAll: `SELECT e.position, e.version, e.payload, e.payload_bytes, s.aggregate_id, s.aggregate_id_bytes
                FROM ${n.events} e JOIN ${n.streams} s ON s.stream_hash = e.stream_hash
                WHERE e.position > $1 ORDER BY e.position LIMIT $2`,
      lastPosition: `SELECT value FROM ${n.meta} WHERE key = 'last_position'`,
    };
    return new PostgresStorage(CONSTRUCT, { pool, ownsPool, names, sql });
  }

  static async #createSchema(pool, names) {
    const client = await pool.connect();
    // A checked-out client has no pool listener: its backend dying must not crash the process.
    client.on('error', ignorePoolError);
    let failure;
    try {
      const { rows: [{ encoding }] } = await client.query('SELECT current_setting(\'server_encoding\') AS encoding');
      if (encoding !== 'UTF8' && encoding !== 'SQL_ASCII') {
        throw storageError(`the database's encoding is ${encoding}: event ids and payloads may be any Unicode text, ` +
          'which only a UTF8 (or SQL_ASCII) database stores faithfully');
      }
      // Tables already at this schema version: nothing to create, and no DDL rights needed.
      if (await PostgresStorage.#schemaVersion(client, names) === SCHEMA_VERSION) return;
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await client.query('SELECT pg_advisory_xact_lock($1)', [names.lockKey]);
      const version = await PostgresStorage.#schemaVersion(client, names);
      if (version > SCHEMA_VERSION) {
        throw storageError(`the tables are at schema version ${version}, newer than this release's ${SCHEMA_VERSION}: ` +
          'upgrade wasm-event-store');
      }
      for (const statement of schemaStatements(names)) await client.query(statement);
      await client.query(`INSERT INTO ${names.meta} (key, value) VALUES ('schema_version', $1)
                          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      failure = error;
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.off('error', ignorePoolError);
      client.release(failure); // a failed client is not reused
    }
  }

  /** The tables' schema version: 0 when they do not exist yet. */
  static async #schemaVersion(client, names) {
    const { rows: [{ found }] } = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [names.meta]);
    if (!found) return 0;
    const { rows } = await client.query(`SELECT value FROM ${names.meta} WHERE key = 'schema_version'`);
    return rows.length > 0 ? Number(rows[0].value) : 0;
  }

  #check() {
    if (this.#closed) throw storageError('closed with close()');
  }

  /** A query on the pool, its failures as STORAGE errors with the pg error as cause. */
  async #query(text, values, what) {
    try {
      return await this.#pool.query({ text, values });
    } catch (error) {
      throw storageError(`${what} failed: ${error.message}`, error);
    }
  }

  /** The stream's records with version > afterVersion, ascending, at most `limit`. */
  async load(aggregateId, afterVersion, limit) {
    this.#check();
    checkAggregateId('PostgresStorage.load', aggregateId);
    checkVersion('PostgresStorage.load', 'afterVersion', afterVersion);
    if (limit !== undefined) checkLimit('PostgresStorage.load', limit);
    const { rows } = await this.#query(this.#sql.load, [hashOf(aggregateId), afterVersion, limit ?? null], 'load');
    const records = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      records[i] = {
        version: Number(row.version),
        payload: row.payload ?? row.payload_bytes.toString('utf8'),
        position: Number(row.position),
      };
    }
    return records;
  }

  /** The stream's last version, -1 if it does not exist. */
  async version(aggregateId) {
    this.#check();
    checkAggregateId('PostgresStorage.version', aggregateId);
    const { rows } = await this.#query(this.#sql.version, [hashOf(aggregateId)], 'version');
    return rows.length === 0 ? -1 : Number(rows[0].version);
  }

  /** The records of every stream with position > afterPosition, at most `limit`, ascending. */
  async loadAll(afterPosition, limit) {
    this.#check();
    checkVersion('PostgresStorage.loadAll', 'afterPosition', afterPosition);
    checkLimit('PostgresStorage.loadAll', limit);
    const { rows } = await this.#query(this.#sql.loadAll, [afterPosition, limit], 'loadAll');
    const records = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      records[i] = {
        aggregateId: row.aggregate_id ?? row.aggregate_id_bytes.toString('utf8'),
        version: Number(row.version),
        position: Number(row.position),
        payload: row.payload ?? row.payload_bytes.toString('utf8'),
      };
    }
    return records;
  }

  /** The highest position, -1 for an empty log. */
  async lastPosition() {
    this.#check();
    const { rows } = await this.#query(this.#sql.lastPosition, [], 'lastPosition');
    return Number(rows[0].value);
  }

  /**
   * Calls `onChange` after any process appends (LISTEN/NOTIFY on a connection of its own);
   * resolves to the function that stops it once the connection listens.
   */
  async watch(onChange) {
    this.#check();
    if (typeof onChange !== 'function') throw new TypeError('PostgresStorage.watch: onChange must be a function');
    try {
      return await this.#listener.watch(onChange);
    } catch (error) {
      throw storageError(`cannot LISTEN: ${error.message}`, error);
    }
  }

  /** Stores `records` if the stream is at `expectedVersion`: { ok: true } or { ok: false, actualVersion }. */
  append(aggregateId, expectedVersion, records) {
    try {
      this.#check();
      checkAggregateId('PostgresStorage.append', aggregateId);
      checkVersion('PostgresStorage.append', 'expectedVersion', expectedVersion);
      if (!Array.isArray(records) || records.length === 0) throw new TypeError('PostgresStorage.append: records must be a non-empty array');
      let bytes = 0;
      for (const payload of payloadsOf('PostgresStorage.append', records, expectedVersion)) bytes += payload.length;
      bytes += aggregateId.length * records.length; // the stream's id goes with the group too
      return new Promise((resolve, reject) => {
        this.#queue.push({ aggregateId, expectedVersion, records, bytes, resolve, reject });
        if (!this.#draining) this.#drained = this.#drain();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Calls the append function for groups of queued appends until none is left. */
  async #drain() {
    this.#draining = true;
    try {
      // Appends made before this microtask runs (those of one synchronous burst) join the first group.
      await null;
      while (this.#queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < this.#queue.length && count < GROUP_APPENDS && (count === 0 || bytes + this.#queue[count].bytes <= GROUP_BYTES)) {
          bytes += this.#queue[count].bytes;
          count++;
        }
        const group = this.#queue.splice(0, count);
        try {
          await this.#commit(group);
        } catch (error) {
          // Never expected (#commit answers every append itself); if it happens, say so.
          const failure = storageError(`append failed: ${error?.message ?? error}`, error);
          for (const item of group) item.reject(failure);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** One call of the append function for `group`; answers each append. Never rejects. */
  async #commit(group) {
    const hashes = [];
    const ids = [];
    const idBytes = [];
    const expected = [];
    const counts = [];
    // Per event: which append it is of (1-based), its offset in it (1-based), its stream's
    // hash and its version, and the payload.
    const eventAppend = [];
    const eventOffset = [];
    const eventHash = [];
    const eventVersion = [];
    const payloads = [];
    const payloadBytes = [];
    for (const [index, item] of group.entries()) {
      const [id, idAsBytes] = textOrBytes(item.aggregateId);
      const hash = hashOf(item.aggregateId);
      hashes.push(hash);
      ids.push(id);
      idBytes.push(idAsBytes);
      expected.push(item.expectedVersion);
      counts.push(item.records.length);
      for (const [offset, record] of item.records.entries()) {
        const [text, asBytes] = textOrBytes(record.payload);
        eventAppend.push(index + 1);
        eventOffset.push(offset + 1);
        eventHash.push(hash);
        eventVersion.push(record.version);
        payloads.push(text);
        payloadBytes.push(asBytes);
      }
    }
    let outcomes;
    try {
      const { rows } = await this.#pool.query({ text: this.#sql.append, values: [hashes, ids, idBytes, expected, counts, eventAppend, eventOffset, eventHash, eventVersion, payloads, payloadBytes] });
      outcomes = rows[0].outcomes;
      if (!Array.isArray(outcomes) || outcomes.length !== group.length) throw new Error('the append function answered no outcome per append');
    } catch (error) {
      // The connection may have dropped after the commit: the outcome is unknown (a retry with
      // the same event ids settles it).
      const failure = storageError(`append failed: ${error.message}`, error);
      for (const item of group) item.reject(failure);
      return;
    }
    for (let i = 0; i < group.length; i++) {
      const outcome = Number(outcomes[i]);
      group[i].resolve(outcome === -2 ? { ok: true } : { ok: false, actualVersion: outcome });
    }
  }

  /** Waits for appends in flight, stops listening, and ends the pool if the storage made it. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#draining) await this.#drained;
    this.#listener.close();
    leavePool(this.#pool);
    if (this.#ownsPool) await this.#pool.end();
  }
}
