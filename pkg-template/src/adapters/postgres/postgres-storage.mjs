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
import { Listener } from './listener.mjs';
import { namesFor, SCHEMA_VERSION, schemaStatements } from './schema.mjs';

/** The most appends (or payload bytes) one call of the append function carries. */
const GROUP_APPENDS = 1000;
const GROUP_BYTES = 16 * 1024 * 1024;

const CONSTRUCT = Symbol('PostgresStorage.open');

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

function checkAggregateId(aggregateId, method) {
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw new TypeError(`PostgresStorage.${method}: aggregateId must be a non-empty string`);
  }
}

function checkInteger(value, name, method, min) {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`PostgresStorage.${method}: ${name} must be an integer from ${min}, got ${String(value)}`);
  }
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
  #onPoolError = () => {};

  /** Use PostgresStorage.open(options). */
  constructor(token, state) {
    if (token !== CONSTRUCT) throw new TypeError('use `await PostgresStorage.open({ pool })` to get a PostgresStorage');
    this.#pool = state.pool;
    this.#ownsPool = state.ownsPool;
    this.#names = state.names;
    this.#sql = state.sql;
    this.#listener = new Listener(() => new this.#pool.Client(this.#pool.options), state.names.channel);
    // An idle client of the pool dying (a server restart) emits 'error' on the pool; with no
    // listener that would crash the process. The user's own listeners still hear it.
    this.#pool.on('error', this.#onPoolError);
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
    const onError = () => {};
    pool.on('error', onError); // while opening, too
    try {
      await PostgresStorage.#createSchema(pool, names);
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => {});
      if (error instanceof EventStoreError) throw error;
      throw storageError(`cannot create or check its tables: ${error.message}`, error);
    } finally {
      pool.off('error', onError);
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
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [names.lockKey]);
      const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [names.meta]);
      if (exists.rows[0].found) {
        const found = await client.query(`SELECT value FROM ${names.meta} WHERE key = 'schema_version'`);
        const version = found.rowCount > 0 ? Number(found.rows[0].value) : 0;
        if (version > SCHEMA_VERSION) {
          throw storageError(`the tables are at schema version ${version}, newer than this release's ${SCHEMA_VERSION}: ` +
            'upgrade wasm-event-store');
        }
      }
      for (const statement of schemaStatements(names)) await client.query(statement);
      await client.query(`INSERT INTO ${names.meta} (key, value) VALUES ('schema_version', $1)
                          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
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
    checkAggregateId(aggregateId, 'load');
    checkInteger(afterVersion, 'afterVersion', 'load', -1);
    if (limit !== undefined) checkInteger(limit, 'limit', 'load', 1);
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
    checkAggregateId(aggregateId, 'version');
    const { rows } = await this.#query(this.#sql.version, [hashOf(aggregateId)], 'version');
    return rows.length === 0 ? -1 : Number(rows[0].version);
  }

  /** The records of every stream with position > afterPosition, at most `limit`, ascending. */
  async loadAll(afterPosition, limit) {
    this.#check();
    checkInteger(afterPosition, 'afterPosition', 'loadAll', -1);
    checkInteger(limit, 'limit', 'loadAll', 1);
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
      checkAggregateId(aggregateId, 'append');
      checkInteger(expectedVersion, 'expectedVersion', 'append', -1);
      if (!Array.isArray(records) || records.length === 0) throw new TypeError('PostgresStorage.append: records must be a non-empty array');
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        if (record === null || typeof record !== 'object' || record.version !== expectedVersion + 1 + i || typeof record.payload !== 'string') {
          throw new TypeError(`PostgresStorage.append: records[${i}] must be { version: ${expectedVersion + 1 + i}, payload: string }`);
        }
        bytes += record.payload.length;
      }
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
      // Appends issued in this turn of the event loop join the first group.
      await null;
      while (this.#queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < this.#queue.length && count < GROUP_APPENDS && (count === 0 || bytes + this.#queue[count].bytes <= GROUP_BYTES)) {
          bytes += this.#queue[count].bytes;
          count++;
        }
        await this.#commit(this.#queue.splice(0, count));
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
    this.#pool.off('error', this.#onPoolError);
    if (this.#ownsPool) await this.#pool.end();
  }
}
