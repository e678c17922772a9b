// Type-level tests of the hand-written index.d.ts, checked with `tsc -p types`
// from a folder where the package is installed. Nothing here is run: every
// check is either an assignment/expectType that must compile, or a line under
// `// @ts-expect-error` that must NOT compile (an unused directive fails tsc).
// No top-level await: this file may be checked as CommonJS or as ESM.
import {
  EventStore,
  EventStoreError,
  EventStoreConflictError,
  type ErrorCode,
  type EventInput,
  type JsonValue,
  type RecordedEvent,
} from 'wasm-event-store';

// Exact type equality (not mere assignability).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {}

type OrderEvent =
  | { type: 'OrderPlaced'; data: { total: number } }
  | { type: 'OrderShipped'; data: { carrier: string } };

export async function typedStore(): Promise<void> {
  const store = new EventStore<OrderEvent>();

  const appended = store.appendEvents('o', -1, [{ type: 'OrderPlaced', data: { total: 1 } }]);
  expectType<Equal<typeof appended, Promise<number | null>>>();
  const version = await appended;
  expectType<Equal<typeof version, number | null>>();

  const current = await store.getCurrentVersion('o');
  expectType<Equal<typeof current, number | null>>();
  await store.appendEvents('o', current ?? -1, [
    { type: 'OrderShipped', data: { carrier: 'DHL' } },
    { type: 'OrderPlaced', data: { total: 2 } },
  ]);

  // A readonly batch is accepted.
  const batch: readonly OrderEvent[] = [{ type: 'OrderPlaced', data: { total: 3 } }];
  await store.appendEvents('o', 2, batch);
  await store.appendEvents('o', 3, []);

  const events = await store.loadEvents('o');
  expectType<Equal<typeof events, RecordedEvent<OrderEvent>[]>>();
  const first = events[0];
  if (first.type === 'OrderPlaced') {
    // Narrowed by the discriminant: data is the OrderPlaced payload.
    expectType<Equal<typeof first.data, { total: number }>>();
    const total: number = first.data.total;
    // @ts-expect-error OrderPlaced data has no carrier
    const carrier = first.data.carrier;
    void total;
    void carrier;
  } else {
    expectType<Equal<typeof first.type, 'OrderShipped'>>();
    const carrier: string = first.data.carrier;
    void carrier;
  }
  // @ts-expect-error before narrowing data is a union, total is not on all of it
  void first.data.total;

  for (const e of events) {
    switch (e.type) {
      case 'OrderPlaced':
        e.data.total.toFixed(2);
        break;
      case 'OrderShipped':
        e.data.carrier.toUpperCase();
        break;
      default: {
        // Exhaustive: no other event type can come back.
        const unreachable: never = e;
        void unreachable;
      }
    }
  }

  // Envelope fields every recorded event has.
  const aggregateId: string = first.aggregateId;
  const v: number = first.version;
  const eventId: string = first.eventId;
  const occurredOn: string = first.occurredOn;
  const metadata: Record<string, JsonValue> = first.metadata;
  void aggregateId;
  void v;
  void eventId;
  void occurredOn;
  void metadata;

  await store.loadEvents('o', 0);
  await store.loadEvents('o', null);
  await store.loadEvents('o', undefined);
  // @ts-expect-error fromVersion is a number
  await store.loadEvents('o', '0');

  // @ts-expect-error unknown event type name
  await store.appendEvents('o', 0, [{ type: 'OrderCancelled', data: { total: 1 } }]);
  // @ts-expect-error wrong data shape
  await store.appendEvents('o', 0, [{ type: 'OrderPlaced', data: { total: 'ten' } }]);
  // @ts-expect-error the other event type's data
  await store.appendEvents('o', 0, [{ type: 'OrderShipped', data: { total: 1 } }]);
  // @ts-expect-error data is required by OrderPlaced
  await store.appendEvents('o', 0, [{ type: 'OrderPlaced' }]);
  // @ts-expect-error expectedVersion is a number, not a string
  await store.appendEvents('o', '-1', [{ type: 'OrderPlaced', data: { total: 1 } }]);
  // @ts-expect-error aggregateId is a string
  await store.appendEvents(1, -1, []);
  // @ts-expect-error events is an array
  await store.appendEvents('o', -1, { type: 'OrderPlaced', data: { total: 1 } });

  // The envelope input fields (metadata, eventId, occurredOn) are open to every
  // event, typed or not: the contract allows them on any input event.
  await store.appendEvents('o', 3, [
    {
      type: 'OrderPlaced',
      data: { total: 4 },
      metadata: { by: 'me' },
      eventId: 'my-id',
      occurredOn: new Date(),
    },
  ]);

  store.free();
}

export async function untypedStore(): Promise<void> {
  const store = new EventStore();
  expectType<Equal<typeof store, EventStore<EventInput>>>();
  await store.appendEvents('x', -1, [
    {
      type: 'Anything',
      data: { a: [1, 'b', null] },
      metadata: { m: 1 },
      eventId: 'id-1',
      occurredOn: '2024-05-01T12:00:00+02:00',
    },
    { type: 'NoData' },
    { type: 'WithDate', occurredOn: new Date() },
  ]);
  const [e] = await store.loadEvents('x');
  const type: string = e.type;
  void type;
  // An untyped store records whatever data was appended: its type must admit
  // an object, not be just `null`.
  const data: typeof e.data = { a: [1, 'b', null] };
  void data;

  // @ts-expect-error type is required
  await store.appendEvents('x', 0, [{ data: 1 }]);
  // @ts-expect-error occurredOn is a string or a Date
  await store.appendEvents('x', 0, [{ type: 'T', occurredOn: 123 }]);
  // @ts-expect-error metadata is an object
  await store.appendEvents('x', 0, [{ type: 'T', metadata: 'm' }]);
  // @ts-expect-error eventId is a string
  await store.appendEvents('x', 0, [{ type: 'T', eventId: 1 }]);
}

// @ts-expect-error an event type must have a string `type`
export const wrongEventType = new EventStore<{ kind: 'X' }>();

export async function errors(store: EventStore<OrderEvent>): Promise<void> {
  try {
    await store.appendEvents('o', 0, [{ type: 'OrderShipped', data: { carrier: 'UPS' } }]);
  } catch (err: unknown) {
    // @ts-expect-error err is unknown until narrowed
    void err.actualVersion;

    if (err instanceof EventStoreConflictError) {
      const actual: number = err.actualVersion;
      const expected: number = err.expectedVersion;
      const id: string = err.aggregateId;
      expectType<Equal<typeof err.code, 'CONFLICT'>>();
      expectType<Equal<typeof err.actualVersion, number>>();
      // @ts-expect-error the fields are read-only
      err.actualVersion = 1;
      void actual;
      void expected;
      void id;
    } else if (err instanceof EventStoreError) {
      const code: ErrorCode = err.code;
      expectType<Equal<ErrorCode, 'INVALID_ARGUMENT' | 'CONFLICT' | 'STORAGE' | 'CORRUPT' | 'UNSUPPORTED' | 'OUT_OF_MEMORY' | 'LOCKED' | 'FREED' | 'NOT_INITIALIZED' | 'NETWORK' | 'INTERNAL'>>();
      // @ts-expect-error only the conflict error carries actualVersion
      void err.actualVersion;
      // @ts-expect-error not an error code
      if (err.code === 'NOT_A_CODE') void code;
    }
    if (err instanceof Error) {
      const message: string = err.message;
      void message;
    }
  }

  // Same through a .catch handler.
  const v = await store.getCurrentVersion('o').catch((err: unknown) => {
    if (err instanceof EventStoreError && err.code === 'INVALID_ARGUMENT') return -1;
    throw err;
  });
  expectType<Equal<typeof v, number | null>>();

  // The hierarchy: conflict error is an EventStoreError is an Error.
  const conflict = null as unknown as EventStoreConflictError;
  const asBase: EventStoreError = conflict;
  const asError: Error = asBase;
  void asError;
}

export const json: JsonValue = { a: [1, null, 'x', { b: true }] };
// @ts-expect-error a function is not a JSON value
export const notJson: JsonValue = { f: () => 1 };

// FileStorage (wasm-event-store/node): what open() reports.
import type { FileStorage, FileStorageRecovery } from 'wasm-event-store/node';
export function recoveryOf(storage: FileStorage): FileStorageRecovery {
  const { recovery } = storage;
  expectType<Equal<typeof recovery.tailFile, string | null>>();
  expectType<Equal<typeof recovery.discardedEvents, number | null>>();
  expectType<Equal<typeof recovery.discardedAt, number | null>>();
  // @ts-expect-error recovery is read-only
  recovery.discardedBytes = 0;
  return recovery;
}

// data and metadata are JSON values: what the store rejects or changes does not type-check.
export async function jsonOnly(store: EventStore): Promise<void> {
  await store.appendEvents('j', -1, [{ type: 'Fine', data: { n: 1, list: [1, 'a', null, { deep: true }] }, metadata: { by: 'me' } }]);
  // @ts-expect-error a Date comes back as a string: not JSON data
  await store.appendEvents('j', -1, [{ type: 'A', data: { when: new Date() } }]);
  // @ts-expect-error a bigint is rejected at runtime
  await store.appendEvents('j', -1, [{ type: 'A', data: { n: 1n } }]);
  // @ts-expect-error a function is rejected at runtime
  await store.appendEvents('j', -1, [{ type: 'A', data: { f: () => 1 } }]);
  // @ts-expect-error metadata holds JSON values too
  await store.appendEvents('j', -1, [{ type: 'A', metadata: { at: new Date() } }]);
}

// Event types declared with interfaces (no index signature) work, and are checked the same way.
interface Placed { type: 'Placed'; data: { total: number; lines: readonly Line[] } }
interface Line { sku: string; qty: number }
interface Stamped { type: 'Stamped'; data: { at: Date } }
export async function interfaces(store: EventStore<Placed | Stamped>): Promise<void> {
  await store.appendEvents('i', -1, [{ type: 'Placed', data: { total: 1, lines: [{ sku: 'a', qty: 1 }] } }]);
  // @ts-expect-error a Date member makes the event type impossible to append
  await store.appendEvents('i', -1, [{ type: 'Stamped', data: { at: new Date() } }]);
  const [first] = await store.loadEvents('i');
  if (first?.type === 'Placed') expectType<Equal<typeof first.data.lines, readonly Line[]>>();
}

// The error classes' real constructors.
export const made = new EventStoreError('STORAGE', 'disk full', { cause: new Error('ENOSPC') });
// @ts-expect-error the code comes first and must be a known code
export const wrong = new EventStoreError('disk full');
export const conflict = new EventStoreConflictError('a', 1, 2);

// Event types whose data is JsonValue or unknown: JSON either way, and no endless recursion.
type Loose = { type: 'Loose'; data: JsonValue } | { type: 'Any'; data: unknown } | { type: 'Rec'; data: { p: Record<string, JsonValue> } };
export async function loose(store: EventStore<Loose>): Promise<void> {
  await store.appendEvents('l', -1, [{ type: 'Loose', data: { a: [1, null] } }, { type: 'Any', data: null }, { type: 'Rec', data: { p: { x: 1 } } }]);
  // @ts-expect-error unknown data is JSON data: a bigint is not
  await store.appendEvents('l', -1, [{ type: 'Any', data: 5n }]);
}

// A generic helper over typed stores takes AppendedEvent<E>.
import type { AppendedEvent, EventShape } from 'wasm-event-store';
export function save<E extends EventShape>(store: EventStore<E>, event: AppendedEvent<E>): Promise<number | null> {
  return store.appendEvents('g', -1, [event]);
}

// The global log and subscriptions.
import type { Subscription, LogRecord } from 'wasm-event-store';
export async function globalLog(store: EventStore<OrderEvent>) {
  const all = await store.loadAllEvents(-1, { limit: 500 });
  const position: number | undefined = all[0]?.position;
  const last: number | null = await store.getLastPosition();
  const sub: Subscription = store.subscribe(async (event) => {
    if (event.type === 'OrderShipped') {
      const carrier: string = event.data.carrier;
      void carrier;
    }
  }, { fromPosition: last });
  store.subscribe(() => {}, { aggregateId: 'order-1', fromVersion: 3 });
  await sub.caughtUp;
  sub.close();
  await sub.done;
  // @ts-expect-error fromVersion is a number
  store.subscribe(() => {}, { aggregateId: 'order-1', fromVersion: '3' });
  const record: LogRecord = { aggregateId: 'a', version: 0, position: 0, payload: '{}' };
  return [position, record];
}

// PostgreSQL: a pg.Pool is what PostgresStorage takes.
import { Pool } from 'pg';
import { PostgresStorage } from 'wasm-event-store/postgres';
export async function postgres(connectionString: string) {
  const pool = new Pool({ connectionString });
  const storage = await PostgresStorage.open({ pool, schema: 'events' });
  const store = new EventStore({ storage });
  await store.appendEvents('order-1', -1, [{ type: 'Placed', data: { total: 1 } }]);
  const own = await PostgresStorage.open({ connectionString });
  await own.close();
  await storage.close();
  await pool.end();
}

// Sync: a Replica over the device storage, a server handler over a store.
import * as http from 'node:http';
import { HttpRemote, Replica, type RejectedEvent, type ReplicaStatus, type StorageAdapter } from 'wasm-event-store';
import { createSyncHandler, toNodeListener, type SyncHandler } from 'wasm-event-store/server';
export async function sync(storage: StorageAdapter) {
  type ListEvent = { type: 'Renamed'; data: { title: string } } | { type: 'Deleted' };
  const replica = await Replica.open<ListEvent>({
    storage,
    remote: new HttpRemote('https://api.example.com/es', { headers: async () => ({ authorization: 'Bearer t' }) }),
    rebase: async ({ pending, missed }) => (missed.some((e) => e.type === 'Deleted') ? [] : pending.map((e) => (e.type === 'Renamed' ? { type: 'Renamed' as const, data: e.data } : { type: 'Deleted' as const }))),
  });
  await replica.appendEvents('list-1', -1, [{ type: 'Renamed', data: { title: 'Groceries' } }]);
  // @ts-expect-error the data of a Renamed event is { title }
  await replica.appendEvents('list-1', 0, [{ type: 'Renamed', data: { name: 'x' } }]);
  for (const event of await replica.loadEvents('list-1')) {
    if ('pending' in event) {
      const pending: true = event.pending;
      void pending;
    } else {
      const position: number | undefined = event.position;
      void position;
    }
  }
  replica.on('rejected', (rejected: RejectedEvent<ListEvent>) => {
    const reason: 'conflict' | 'forbidden' | 'invalid' | 'too-large' = rejected.reason;
    void reason;
  });
  const off = replica.on('status', (status: ReplicaStatus) => void status.pending);
  off();
  await replica.sync();
  replica.start();
  await replica.stop();
  const status: ReplicaStatus = replica.status;
  const store = new EventStore();
  const handler: SyncHandler = createSyncHandler({ store, authorize: ({ request, aggregateId, access }) => access === 'read' || request.headers.get('authorization') === aggregateId });
  // @ts-expect-error authorize is required
  createSyncHandler({ store });
  http.createServer(toNodeListener(handler));
  const response: Response = await handler(new Request('http://localhost/sync/pull?protocol=1'));
  return [status, response];
}
