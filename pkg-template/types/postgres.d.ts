import type { AppendResult, LogRecord, StorageAdapter, StoredRecord } from './index';

/**
 * What PostgresStorage uses of a pg.Pool (node-postgres). At run time it also reads the pool's
 * `Client` class and `options` (which every pg.Pool has, though @types/pg does not declare them):
 * the LISTEN connection is made from the pool's own settings.
 */
export interface PgPoolLike {
  query(config: { text: string; values?: unknown[] }): Promise<{ rows: any[]; rowCount: number | null }>;
  connect(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PostgresStorageOptions {
  /** A pg.Pool. close() never ends it. */
  pool?: PgPoolLike;
  /** Or a connection string: the storage makes a pg.Pool of its own (ended by close()). */
  connectionString?: string;
  /** The schema of its tables (created if missing). Default 'wes'. At most 63 bytes. */
  schema?: string;
  /** The prefix of its table names: `events`, `events_streams`, `events_meta`. Default 'events'. */
  table?: string;
}

/**
 * A StorageAdapter over PostgreSQL for many Node processes sharing one database: atomic
 * conditional appends, the global log (positions never skip, whatever the concurrency), and
 * watch() by LISTEN/NOTIFY on a connection of its own. Failures are EventStoreErrors ('STORAGE')
 * with the pg error as cause.
 */
export class PostgresStorage implements StorageAdapter {
  static open(options: PostgresStorageOptions): Promise<PostgresStorage>;
  load(aggregateId: string, afterVersion: number, limit?: number): Promise<StoredRecord[]>;
  version(aggregateId: string): Promise<number>;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  loadAll(afterPosition: number, limit: number): Promise<LogRecord[]>;
  lastPosition(): Promise<number>;
  watch(onChange: () => void): Promise<() => void>;
  /** Waits for appends in flight, ends the LISTEN connection, and the pool if it made it. */
  close(): Promise<void>;
}
