// PostgresStorage's tables and its append function, and the identifiers they are named by.
//
// Names. The schema and the table prefix are the user's; every identifier made from them is
// checked to fit PostgreSQL's 63 bytes (longer ones are silently truncated by the server, which
// could make two configurations share tables) and double-quoted. Values never go into SQL text:
// they are always parameters.
//
// Tables (in the configured schema, `t` the table prefix, default "events"):
//   t_streams  one row per stream: stream_hash (SHA-256 of the id's UTF-8, the primary key: a
//              btree row holds at most ~2.7 KB, so long ids cannot be keys), the full id (text,
//              or bytes when it holds a NUL, which text cannot), and the last version.
//   t          one row per event: position (primary key: the global log), stream_hash and version
//              (unique together), the payload stored verbatim (text; bytes if it holds a NUL).
//   t_meta     schema_version (for later migrations) and last_position, whose row lock orders
//              appends (see below).
//
// Appends go through one function, t_append(...), called as one statement: it takes the row lock
// of last_position, checks every append of a group against its stream's version (each on its
// own), inserts the events of those that apply at the next positions, and NOTIFYs. The lock is
// held until commit, so appends commit one at a time in position order, and a reader can never
// see position p+1 before p: no holes. One statement is one round trip and one WAL flush for a
// whole group of appends (see postgres-storage.mjs for how a process groups them).
import { createHash } from 'node:crypto';

import { EventStoreError } from '../../core/errors.mjs';

export const SCHEMA_VERSION = 1;
const MAX_IDENTIFIER = 63;

function invalidName(message) {
  return new EventStoreError('INVALID_ARGUMENT', `PostgresStorage.open: ${message}`);
}

/** `name` double-quoted, after checking it is a usable identifier of at most 63 bytes. */
export function quoted(name, what) {
  if (typeof name !== 'string' || name === '') throw invalidName(`${what} must be a non-empty string`);
  if (name.includes('\u0000')) throw invalidName(`${what} must not contain a NUL character`);
  if (!name.isWellFormed()) throw invalidName(`${what} must be well-formed Unicode`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER) {
    throw invalidName(`${what} ${JSON.stringify(name)} is ${bytes} bytes; PostgreSQL truncates identifiers past ` +
      `${MAX_IDENTIFIER} bytes, which could make two names share tables, so it is refused`);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** Every name the storage uses, quoted, for `schema` and table prefix `table`. */
export function namesFor(schema, table) {
  const s = quoted(schema, 'options.schema');
  // Another prefix's tables would be this one's: `a_streams` is the streams table of `a`.
  if (/_(streams|meta|append)$/.test(table)) {
    throw invalidName(`options.table ${JSON.stringify(table)} ends like a name the storage derives from another table ` +
      "name (_streams, _meta, _append): two storages' tables could be the same; choose another");
  }
  const q = (suffix) => `${s}.${quoted(`${table}${suffix}`, `the table name "${table}${suffix}" (from options.table)`)}`;
  quoted(table, 'options.table');
  // The channel and the lock key are derived: a digest fits any name, and says nothing of it.
  const digest = createHash('sha256').update(`${schema}\u0000${table}`).digest();
  const schemaDigest = createHash('sha256').update(schema).digest();
  return {
    schema: s,
    events: q(''),
    streams: q('_streams'),
    meta: q('_meta'),
    append: q('_append'),
    channel: `wes_${digest.subarray(0, 12).toString('hex')}`,
    // pg_advisory_xact_lock(bigint) while the schema is created or upgraded: one per schema
    // (CREATE SCHEMA races between any two prefixes of one schema).
    lockKey: schemaDigest.readBigInt64LE(0).toString(),
  };
}

/** The statements that create (or bring up to date) the tables and the append function. */
export function schemaStatements(n) {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${n.schema}`,
    `CREATE TABLE IF NOT EXISTS ${n.meta} (key text PRIMARY KEY, value bigint NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${n.streams} (
       stream_hash bytea PRIMARY KEY,
       aggregate_id text,
       aggregate_id_bytes bytea,
       version bigint NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${n.events} (
       position bigint PRIMARY KEY,
       stream_hash bytea NOT NULL,
       version bigint NOT NULL,
       payload text,
       payload_bytes bytea,
       UNIQUE (stream_hash, version))`,
    `INSERT INTO ${n.meta} (key, value) VALUES ('last_position', -1) ON CONFLICT (key) DO NOTHING`,
    `CREATE OR REPLACE FUNCTION ${n.append}(
       hashes bytea[], ids text[], id_bytes bytea[], expected bigint[], counts int[],
       event_append int[], event_offset int[], event_hash bytea[], event_version bigint[],
       payloads text[], payload_bytes bytea[])
     RETURNS bigint[] LANGUAGE plpgsql AS $fn$
     DECLARE
       last bigint;
       outcomes bigint[] := '{}';
       -- Per append: the position before its first event, or -2 when it does not apply.
       bases bigint[] := '{}';
       current bigint;
       stored_id text;
       stored_bytes bytea;
       a record;
     BEGIN
       -- Under repeatable read or serializable the lock below would fail the append (40001)
       -- rather than wait and re-read: refuse, saying why.
       IF current_setting('transaction_isolation') <> 'read committed' THEN
         RAISE EXCEPTION 'PostgresStorage needs read committed (the default isolation), not %',
           current_setting('transaction_isolation');
       END IF;
       -- The row lock that orders appends: held until this transaction commits.
       SELECT value INTO last FROM ${n.meta} WHERE key = 'last_position' FOR UPDATE;
       FOR a IN SELECT * FROM unnest(hashes, ids, id_bytes, expected, counts) AS t(h, id, idb, e, c) LOOP
         SELECT s.version, s.aggregate_id, s.aggregate_id_bytes INTO current, stored_id, stored_bytes
           FROM ${n.streams} s WHERE s.stream_hash = a.h;
         IF NOT FOUND THEN
           current := -1;
         ELSIF stored_id IS DISTINCT FROM a.id OR stored_bytes IS DISTINCT FROM a.idb THEN
           RAISE EXCEPTION 'two aggregate ids share a SHA-256 digest';
         END IF;
         IF current <> a.e THEN
           outcomes := outcomes || current;            -- a conflict: the stream's true version
           bases := bases || (-2)::bigint;
         ELSE
           INSERT INTO ${n.streams} (stream_hash, aggregate_id, aggregate_id_bytes, version)
             VALUES (a.h, a.id, a.idb, a.e + a.c)
             ON CONFLICT (stream_hash) DO UPDATE SET version = EXCLUDED.version;
           outcomes := outcomes || (-2)::bigint;       -- stored
           bases := bases || last;
           last := last + a.c;
         END IF;
       END LOOP;
       -- Every event of the appends that apply, in one statement, at the positions after each
       -- append's base (arrays walked once, by unnest).
       INSERT INTO ${n.events} (position, stream_hash, version, payload, payload_bytes)
         SELECT bases[t.a] + t.k, t.h, t.v, t.p, t.pb
         FROM unnest(event_append, event_offset, event_hash, event_version, payloads, payload_bytes) AS t(a, k, h, v, p, pb)
         WHERE bases[t.a] <> -2;
       UPDATE ${n.meta} SET value = last WHERE key = 'last_position';
       PERFORM pg_notify('${n.channel}', '');
       RETURN outcomes;
     END
     $fn$`,
  ];
}
