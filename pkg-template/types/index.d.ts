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
  /** The database's name. */
  readonly name: string;
  load(aggregateId: string, afterVersion: number, limit?: number): Promise<StoredRecord[]>;
  version(aggregateId: string): Promise<number>;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  loadAll(afterPosition: number, limit: number): Promise<LogRecord[]>;
  lastPosition(): Promise<number>;
  watch(onChange: () => void): () => void;
  /** Closes the connection for good: later calls reject. */
  close(): void;
}

/** A pending event as a Replica shows it: appended on this device, not yet confirmed by a pull. */
export type PendingEvent<E extends EventShape = EventInput> = E extends any ? Omit<RecordedEvent<E>, 'position'> & { pending: true } : never;

/** An event of a Replica's view: confirmed (with the server's position) or pending. */
export type ReplicaEvent<E extends EventShape = EventInput> = RecordedEvent<E> | PendingEvent<E>;

/** What a Replica's rebase is given: all of an aggregate's pending events and the confirmed ones it missed. */
export interface RebaseArguments<E extends EventShape = EventInput> {
  aggregateId: string;
  /** Oldest first, at the versions they now have in the view (after `missed`). */
  pending: PendingEvent<E>[];
  /** The confirmed events this device did not have when it decided the pending ones. */
  missed: RecordedEvent<E>[];
}

/** Why a batch did not make it to the server. */
export type RejectionReason = 'conflict' | 'forbidden' | 'invalid' | 'too-large';

export interface RejectedEvent<E extends EventShape = EventInput> {
  aggregateId: string;
  events: PendingEvent<E>[];
  reason: RejectionReason;
  /** An EventStoreConflictError for 'conflict', an 'INVALID_ARGUMENT' EventStoreError with the server's message otherwise. */
  error: EventStoreError;
}

export interface ReplicaStatus {
  /** Events appended on this device and not yet confirmed by a pull. */
  pending: number;
  /** The server position pulled up to; null before the first pull. */
  lastPulledPosition: number | null;
  /** False after a sync could not reach the server (a 'NETWORK' error), true after one did. */
  online: boolean;
  syncing: boolean;
  /** Why the last sync failed, or a rebase threw; null after a sync without either. */
  lastError: unknown;
  /** Date.now() of the last sync that succeeded; null before one. */
  lastSyncAt: number | null;
}

/**
 * How a Replica talks to its server: HttpRemote, or any transport speaking the sync protocol.
 * push resolves to the HTTP status and parsed body of a push; pull to a page of the log.
 * Both reject with an EventStoreError 'NETWORK' when the server cannot be reached.
 */
export interface SyncRemote {
  push(requestJson: string): Promise<{ status: number; body: any }>;
  pull(after: number, options?: { limit?: number; wait?: number; signal?: AbortSignal }): Promise<{ events: RecordedEvent[]; lastPosition: number; more: boolean }>;
}

export interface HttpRemoteOptions {
  /** Headers sent with every request (authorization), or a function (maybe async) returning them. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** A SyncRemote over HTTP (fetch) to a createSyncHandler mounted at `url`. */
export class HttpRemote implements SyncRemote {
  constructor(url: string | URL, options?: HttpRemoteOptions);
  push(requestJson: string): Promise<{ status: number; body: any }>;
  pull(after: number, options?: { limit?: number; wait?: number; signal?: AbortSignal }): Promise<{ events: RecordedEvent[]; lastPosition: number; more: boolean }>;
}

export interface ReplicaOptions<E extends EventShape = EventInput> {
  /** The device storage for confirmed events and the outbox (with the global log). Memory when omitted. */
  storage?: StorageAdapter;
  remote: SyncRemote;
  /**
   * Re-decides pending events after others changed their aggregate: returns the events that
   * replace all of them ([] drops them). Without it, conflicting pending events are dropped
   * and reported as 'rejected'. If it throws, they stay pending and status.lastError says why.
   */
  rebase?: (args: RebaseArguments<E>) => readonly AppendedEvent<E>[] | Promise<readonly AppendedEvent<E>[]>;
  /** The Web Lock (or in-process lock) name syncs of this device storage take. */
  lockName?: string;
}

export interface ReplicaEvents<E extends EventShape = EventInput> {
  rejected: RejectedEvent<E>;
  /**
   * A stream's view changed here (an append, a pull, a rebase, a drop); `aggregateId: null`: the
   * device storage changed (another tab's write, or this replica's own): read again what you show.
   */
  change: { aggregateId: string | null };
  status: ReplicaStatus;
}

/**
 * An EventStore on the device that syncs through a server: appends work offline at once, sync()
 * pushes them and pulls what others wrote, and the app decides conflicts (rebase).
 */
export class Replica<E extends EventShape = EventInput> {
  static open<E extends EventShape = EventInput>(options: ReplicaOptions<E>): Promise<Replica<E>>;
  readonly status: ReplicaStatus;
  appendEvents(aggregateId: string, expectedVersion: number, events: readonly AppendedEvent<E>[]): Promise<number | null>;
  /** Confirmed events, then pending ones (`pending: true`, no position). */
  loadEvents(aggregateId: string, fromVersion?: number | null, options?: LoadOptions): Promise<ReplicaEvent<E>[]>;
  /** The view's version (confirmed and pending), null for none. */
  getCurrentVersion(aggregateId: string): Promise<number | null>;
  /** Confirmed events of every stream after a server position, in the server's order. */
  loadAllEvents(fromPosition?: number | null, options?: LoadOptions): Promise<RecordedEvent<E>[]>;
  getLastPosition(): Promise<number | null>;
  /** The ids of the aggregates with pending events. */
  pendingAggregates(): Promise<string[]>;
  /** Confirmed events, as EventStore.subscribe delivers them. */
  subscribe(handler: (event: RecordedEvent<E>) => void | Promise<void>, options?: SubscribeOptions): Subscription;
  /** Pushes and pulls until neither moves; rejects with 'NETWORK' when the server is out of reach. */
  sync(): Promise<void>;
  /** Keeps syncing (after appends, on the server's live feed, when back online) until stop(). */
  start(): void;
  stop(): Promise<void>;
  /** Stops syncing and frees the device store. */
  close(): Promise<void>;
  on<K extends keyof ReplicaEvents<E>>(event: K, listener: (value: ReplicaEvents<E>[K]) => void): () => void;
  off<K extends keyof ReplicaEvents<E>>(event: K, listener: (value: ReplicaEvents<E>[K]) => void): void;
}
