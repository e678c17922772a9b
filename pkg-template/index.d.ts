// Hand-written types of wasm-event-store. Parameterise EventStore with a union of your events to
// get typed appends and narrowed loads:
//
//   type OrderEvent =
//     | { type: 'OrderPlaced'; data: { total: number } }
//     | { type: 'OrderShipped'; data: { carrier: string } };
//   const store = new EventStore<OrderEvent>();

/** A value JSON carries faithfully. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An event as appended. `eventId` and `occurredOn` are filled in when absent. */
export interface EventInput {
  type: string;
  /** Any JSON value (plain objects, arrays, finite numbers, strings, booleans, null). */
  data?: unknown;
  /** A plain object of JSON values. */
  metadata?: Record<string, unknown>;
  /** Defaults to a random UUID v4. */
  eventId?: string;
  /** An ISO-8601 date-time with a time zone, or a Date. Defaults to now. */
  occurredOn?: string | Date;
}

/** An event as loaded: a fresh object, safe to mutate. */
export type RecordedEvent<E extends EventInput = EventInput> = E extends any
  ? {
      aggregateId: string;
      /** 0-based position in the stream. */
      version: number;
      type: E['type'];
      /** What was appended; null when `data` was absent. */
      data: E extends { data: infer D } ? D : null;
      /** What was appended; {} when `metadata` was absent. */
      metadata: Record<string, JsonValue>;
      eventId: string;
      /** UTC, millisecond precision, as Date.prototype.toISOString() writes it. */
      occurredOn: string;
    }
  : never;

export interface EventStoreOptions {}

export class EventStore<E extends EventInput = EventInput> {
  /** An in-memory store. Stores share nothing with each other. */
  constructor(options?: EventStoreOptions);
  /**
   * Appends `events` atomically if the stream is at `expectedVersion` (-1: the stream must not
   * exist). Resolves to the stream's version afterwards (null if it still does not exist).
   * Rejects with EventStoreConflictError on a version mismatch, EventStoreError otherwise.
   */
  appendEvents(aggregateId: string, expectedVersion: number, events: readonly E[]): Promise<number | null>;
  /** Events with version > fromVersion (all when omitted, null or negative), oldest first. */
  loadEvents(aggregateId: string, fromVersion?: number | null): Promise<RecordedEvent<E>[]>;
  /** The last event's version, or null if the stream does not exist. */
  getCurrentVersion(aggregateId: string): Promise<number | null>;
  /** Releases the wasm memory now instead of at garbage collection. The store is unusable after. */
  free(): void;
}

export type ErrorCode = 'INVALID_ARGUMENT' | 'CONFLICT' | 'STORAGE' | 'CORRUPT' | 'INTERNAL';

/** Every failure of the store is an EventStoreError (a rejected Promise, never a throw). */
export class EventStoreError extends Error {
  readonly code: ErrorCode;
}

/** The stream was not at the expected version; nothing was written. */
export class EventStoreConflictError extends EventStoreError {
  readonly code: 'CONFLICT';
  readonly aggregateId: string;
  readonly expectedVersion: number;
  /** The stream's version when the append was tried; -1 if it did not exist. */
  readonly actualVersion: number;
}
