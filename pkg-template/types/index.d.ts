// Hand-written types of wasm-event-store. Parameterise EventStore with a union of your events to
// get typed appends and narrowed loads:
//
//   type OrderEvent =
//     | { type: 'OrderPlaced'; data: { total: number } }
//     | { type: 'OrderShipped'; data: { carrier: string } };
//   const store = new EventStore<OrderEvent>();

/** A value JSON carries faithfully. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * `T` if JSON carries it faithfully, member by member (interfaces included, which have no index
 * signature); what the store would reject (bigint, functions, symbols, undefined in arrays) or
 * change (a Date becomes a string) becomes `never`, so a value with such a member does not
 * type-check.
 */
export type Json<T> = unknown extends T
  ? JsonValue // unknown (or any): what JSON carries
  : [T] extends [JsonValue]
    ? T // already JSON (and JsonValue itself, which recursing into would never end)
    : T extends string | number | boolean | null
      ? T
      : T extends bigint | symbol | Function | Date | undefined | Map<unknown, unknown> | Set<unknown>
        ? never
        : { [K in keyof T]: Json<T[K]> };

/** The envelope members every appended event may carry, whatever its type. */
export interface EventEnvelopeInput {
  /** A plain object of JSON values. Defaults to {}. */
  metadata?: { [key: string]: JsonValue };
  /** Defaults to a random UUID v4. */
  eventId?: string;
  /** An ISO-8601 date-time with a time zone, or a Date. Defaults to now. */
  occurredOn?: string | Date;
}

/** What every event type a store is parameterised with has. */
export interface EventShape {
  type: string;
  data?: unknown;
}

/** An event as appended. `eventId` and `occurredOn` are filled in when absent. */
export interface EventInput extends EventEnvelopeInput {
  type: string;
  /**
   * Any JSON value (plain objects, arrays, finite numbers, strings, booleans, null), nesting
   * arrays and objects at most 1,000 levels deep (metadata too).
   */
  data?: JsonValue;
}

/**
 * An event of type `E` as appendEvents takes it: its data checked to be JSON, and the envelope.
 * A generic helper over stores takes `AppendedEvent<E>` (an `E` is not one until checked):
 * `function save<E extends EventShape>(store: EventStore<E>, event: AppendedEvent<E>)`.
 * The default store (no type parameter) takes `data` typed as JsonValue: a value whose type is
 * an interface (which has no index signature) needs a typed store, `EventStore<YourEvents>`.
 */
export type AppendedEvent<E extends EventShape> = [EventInput] extends [E]
  ? EventInput // the default: data is already a JsonValue
  : E extends EventShape
    ? { [K in keyof E]: K extends 'data' ? Json<E[K]> : E[K] } & EventEnvelopeInput
    : never;

/** An event as loaded: a fresh object, safe to mutate. */
export type RecordedEvent<E extends EventShape = EventInput> = E extends any
  ? {
      aggregateId: string;
      /** 0-based position in the stream. */
      version: number;
      type: E['type'];
      /** What was appended; null when `data` was absent. */
      data: E extends { data: infer D } ? D : E extends { data?: infer D } ? Exclude<D, undefined> | null : null;
      /** What was appended; {} when `metadata` was absent. */
      metadata: Record<string, JsonValue>;
      eventId: string;
      /** UTC, millisecond precision, as Date.prototype.toISOString() writes it. */
      occurredOn: string;
      /**
       * 0-based place in the global log of the backing storage: strictly increasing in commit
       * order over all streams. Absent over an adapter without the global log (no loadAll).
       */
      position?: number;
    }
  : never;

/**
 * One stored event: its version and the core's encoding of it. Store the payload verbatim.
 * An adapter with the global log also gives `position` (from `load` and `loadAll`) and
 * `aggregateId` (from `loadAll`).
 */
export interface StoredRecord {
  version: number;
  payload: string;
  position?: number;
  aggregateId?: string;
}

/** A record of the global log, as `loadAll` answers it. */
export interface LogRecord extends StoredRecord {
  aggregateId: string;
  position: number;
}

export type AppendResult = { ok: true } | { ok: false; actualVersion: number };

/**
 * Where a store keeps its events. Each method may answer with a value or a Promise. See the
 * README's "Writing a storage adapter" for the full contract (atomic conditional append).
 */
export interface StorageAdapter {
  /**
   * Records of the stream with version > afterVersion, ascending; [] for an unknown stream. At
   * most `limit` when given (more is allowed: the store takes what it asked for). With the
   * global log, each record carries its `position`.
   */
  load(aggregateId: string, afterVersion: number, limit?: number): StoredRecord[] | Promise<StoredRecord[]>;
  /** The stream's last version, or -1 if the stream does not exist. */
  version(aggregateId: string): number | Promise<number>;
  /**
   * Atomically: if the stream's last version is expectedVersion, store all records and return
   * { ok: true }; otherwise store nothing and return { ok: false, actualVersion }.
   */
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): AppendResult | Promise<AppendResult>;
  /**
   * Optional, the global log: records of every stream with position > afterPosition, ascending,
   * at most `limit` (always a positive integer). Positions are assigned at commit, in the same
   * atomic step as the records, so that no record ever commits below a position a reader has
   * seen. Without it, loadAllEvents, getLastPosition and position subscriptions reject with
   * 'UNSUPPORTED'.
   */
  loadAll?(afterPosition: number, limit: number): LogRecord[] | Promise<LogRecord[]>;
  /** Optional: the highest position, -1 when the log is empty. */
  lastPosition?(): number | Promise<number>;
  /**
   * Optional: calls `onChange` whenever another writer (a tab, worker or process) may have
   * appended; returns the function that stops it (or a Promise of it, settled once watching is
   * armed). Without it, subscriptions see this realm's appends only.
   */
  watch?(onChange: () => void): (() => void) | Promise<() => void>;
}

export interface LoadOptions {
  /** At most this many events (a positive integer); all when absent. */
  limit?: number;
}

export interface SubscribeOptions {
  /**
   * Deliver the global log's events with position > fromPosition (default -1, the start). Not
   * with aggregateId.
   */
  fromPosition?: number | null;
  /** Follow one stream instead of the global log (works over any adapter). */
  aggregateId?: string;
  /** With aggregateId: deliver that stream's events with version > fromVersion (default -1). */
  fromVersion?: number | null;
}

export interface Subscription {
  /** Resolves once the history is delivered and live delivery runs; settles as `done` if it ends first. */
  readonly caughtUp: Promise<void>;
  /**
   * Resolves after close() (or the store's free()); rejects with the handler's error if it threw
   * or rejected, or with an EventStoreError ('STORAGE', 'CORRUPT'...) if reading failed. Nothing
   * is delivered after it settles.
   */
  readonly done: Promise<void>;
  /** Stops delivery at once and resolves `done`. */
  close(): void;
}

export interface EventStoreOptions {
  /** Where events are kept. Defaults to memory. */
  storage?: StorageAdapter;
}

export class EventStore<E extends EventShape = EventInput> {
  /**
   * An in-memory store, or one over `options.storage`. Throws EventStoreError
   * ('INVALID_ARGUMENT') when the storage lacks a method. In-memory stores share nothing.
   */
  constructor(options?: EventStoreOptions);
  /**
   * Appends `events` atomically if the stream is at `expectedVersion` (-1: the stream must not
   * exist). Resolves to the stream's version afterwards (null if it still does not exist).
   * Rejects with EventStoreConflictError on a version mismatch, EventStoreError otherwise.
   */
  appendEvents(aggregateId: string, expectedVersion: number, events: readonly AppendedEvent<E>[]): Promise<number | null>;
  /**
   * Events with version > fromVersion (all when omitted, null or a negative integer), oldest
   * first; at most `options.limit` (a positive integer) of them: page through a long stream with
   * the last version seen as the next fromVersion.
   */
  loadEvents(aggregateId: string, fromVersion?: number | null, options?: LoadOptions): Promise<RecordedEvent<E>[]>;
  /** The last event's version, or null if the stream does not exist. */
  getCurrentVersion(aggregateId: string): Promise<number | null>;
  /**
   * Every event of every stream with position > fromPosition (all when omitted, null or
   * negative), in commit order; at most `options.limit`. Page with the last position seen: no
   * event is ever skipped or repeated. Rejects with 'UNSUPPORTED' over an adapter without loadAll.
   */
  loadAllEvents(fromPosition?: number | null, options?: LoadOptions): Promise<RecordedEvent<E>[]>;
  /** The newest event's position, or null for an empty store. 'UNSUPPORTED' without lastPosition. */
  getLastPosition(): Promise<number | null>;
  /**
   * Calls `handler` with every event after the start point, history first, then live (this
   * store's appends, other stores' over the same adapter, and other tabs' or processes' where
   * the adapter can watch), in order, each exactly once; the next waits for what handler
   * returns. Throws synchronously (EventStoreError 'INVALID_ARGUMENT', or 'UNSUPPORTED' for a
   * position subscription over an adapter without loadAll) for bad arguments, like
   * addEventListener.
   */
  subscribe(handler: (event: RecordedEvent<E>) => void | Promise<void>, options?: SubscribeOptions): Subscription;
  /** Releases the wasm memory now instead of at garbage collection. Later calls reject with code 'FREED'. */
  free(): void;
}

/**
 * - 'INVALID_ARGUMENT', 'CONFLICT', 'CORRUPT', 'OUT_OF_MEMORY', 'FREED', 'INTERNAL': nothing was
 *   written, and the store keeps working.
 * - 'STORAGE': the adapter failed. For an append the outcome is unknown (the adapter may have
 *   stored the records before it failed): read the stream again and look for the batch's
 *   eventIds before deciding again.
 * - 'OUT_OF_MEMORY': the wasm memory (at most 4 GiB, shared by every store of the page or
 *   process) could not give what the call needed, or a load is too large for one JS string.
 * - 'CONFLICT' is never the answer to a retry: an append whose events all carry `eventId`, sent
 *   again with the same expectedVersion after it succeeded, resolves to the version its last
 *   event has and writes nothing.
 * - 'UNSUPPORTED': the storage adapter lacks an optional method the call needs (named).
 * - 'NOT_INITIALIZED': from wasm-event-store/init, before `await init()` or when it failed.
 * - 'LOCKED': FileStorage's own, when another process holds its directory (then `pid` names it)
 *   or its lock was taken from it (through a store, the cause of a 'STORAGE' error).
 */
export type ErrorCode = 'INVALID_ARGUMENT' | 'CONFLICT' | 'STORAGE' | 'CORRUPT' | 'UNSUPPORTED' | 'OUT_OF_MEMORY' | 'LOCKED' | 'FREED' | 'NOT_INITIALIZED' | 'NETWORK' | 'INTERNAL';

/**
 * Every failure of the store is an EventStoreError: a rejected Promise from the methods (the
 * constructor throws one for bad options). See ErrorCode for what each code says of the data.
 */
export class EventStoreError extends Error {
  /** Throws a TypeError if `code` is not one of ErrorCode (the store's errors use these codes). */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  readonly code: ErrorCode;
  /** With code 'STORAGE': what the adapter threw or rejected with. */
  readonly cause?: unknown;
  /** With code 'CORRUPT': the stream and the version at which its records could not be used. */
  readonly aggregateId?: string;
  readonly version?: number;
  /** With code 'CORRUPT' from loadAllEvents: the position in the global log the problem concerns. */
  readonly position?: number;
  /** With code 'LOCKED' from FileStorage.open(): the process that holds the directory. */
  readonly pid?: number;
  /** With code 'CORRUPT' from FileStorage.open(): the byte of the log where the damage starts. */
  readonly offset?: number;
}

/** The stream was not at the expected version; nothing was written. */
export class EventStoreConflictError extends EventStoreError {
  constructor(aggregateId: string, expectedVersion: number, actualVersion: number);
  readonly code: 'CONFLICT';
  readonly aggregateId: string;
  readonly expectedVersion: number;
  /** The stream's version when the append was tried; -1 if it did not exist. */
  readonly actualVersion: number;
}

/**
 * What the storage uses of IndexedDB's factory (IDBFactory in a DOM project), written out so that
 * these types compile in projects without the DOM library (Node-only ones).
 */
export interface IndexedDbFactoryLike {
  open(name: string, version?: number): unknown;
}

/** What the storage uses of IDBKeyRange (its static bound() and lowerBound()). */
export interface IdbKeyRangeLike {
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown;
  lowerBound(lower: unknown, open?: boolean): unknown;
}

export interface IndexedDbStorageOptions {
  /** The IndexedDB factory; defaults to globalThis.indexedDB (pass fake-indexeddb's in Node). */
  indexedDB?: IndexedDbFactoryLike;
  /** Defaults to globalThis.IDBKeyRange. */
  IDBKeyRange?: IdbKeyRangeLike;
  /** 'strict' (default): an acknowledged append is flushed to disk. 'relaxed': faster. */
  durability?: 'strict' | 'relaxed';
}

/**
 * A StorageAdapter over the browser's IndexedDB, with the global log; safe across tabs. Other
 * tabs' and workers' appends reach watch() through a BroadcastChannel. It steps aside for another
 * connection's version change (a delete or a newer schema) and reconnects on its next call.
 */
export class IndexedDbStorage implements StorageAdapter {
  static open(name: string, options?: IndexedDbStorageOptions): Promise<IndexedDbStorage>;
  load(aggregateId: string, afterVersion: number, limit?: number): Promise<StoredRecord[]>;
  version(aggregateId: string): Promise<number>;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  loadAll(afterPosition: number, limit: number): Promise<LogRecord[]>;
  lastPosition(): Promise<number>;
  watch(onChange: () => void): () => void;
  /** Closes the connection for good: later calls reject. */
  close(): void;
}
