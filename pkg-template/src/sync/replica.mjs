// Replica: an EventStore on the device that syncs through a server (see ARCHITECTURE.md, "Sync").
//
// The decisions are the core's (SyncOutbox and syncPlanPull, src/sync in the crate): what a
// local append writes, what to push and how to read the answer, what pulled events do to what
// is pending. This class does the I/O around them: it reads and writes the device storage
// through an EventStore over it (layout.mjs says where), talks to the remote (http-remote.mjs),
// calls the app's rebase, and tells listeners. Every write to the outbox is an append at the
// outbox version the decision was made on, so a decision another tab made stale is made again.
import { checkAggregateId as checkStoreAggregateId, checkExpectedVersionType, fromVersionArgument, positionArgument, readOptions } from '../core/arguments.mjs';
import { describe, EventStoreError, fromCore, invalid } from '../core/errors.mjs';
import { internalsOf } from '../core/internals.mjs';
import { PAGE, Subscription } from '../core/subscription.mjs';
import { Device } from './device.mjs';
import { eventsJsonAndCount } from './events-json.mjs';
import { checkAppAggregateId, isReserved, unwrapConfirmed } from './layout.mjs';
import { withLock } from './locks.mjs';
import { SyncRounds } from './sync-rounds.mjs';

/** How long start()'s wait for the server's log to move lasts (the server caps it too). */
const LONG_POLL_MS = 25_000;
/** start()'s pause after a failed round: doubling from the first, up to the last. */
const BACKOFF_MS = [500, 30_000];
/** The shortest a long poll that comes back with nothing may take before the next one. */
const MIN_POLL_MS = 1_000;
const EVENTS = ['rejected', 'change', 'status'];

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// Lock names of storages that have no name of their own: one per adapter object.
const lockIds = new WeakMap();
let nextLockId = 0;

export function createReplicaClass({ core, EventStore, randomBytes }) {
  class Replica {
    #device;
    #rounds;
    #remote;
    #lockName;
    #listeners = new Map(EVENTS.map((name) => [name, new Set()]));
    // What status adds to the device's pending count and checkpoint.
    #status = { online: true, syncing: false, lastError: null, lastSyncAt: null };
    // start()'s loop: whether it runs, its Promise, and how to cut its current wait short.
    #started = false;
    #current;
    #loop;
    #wake;
    #running; // the sync in flight, and whether another is wanted after it
    #again = false;
    #subscriptions = new Set();
    // Stops listening to the device store's feed (while anyone listens to 'change').
    #unwatch;

    constructor(secret) {
      if (secret !== Replica.#token) throw invalid('use await Replica.open({ storage, remote, rebase }) to make a Replica');
    }

    static #token = Symbol('Replica.open');

    /**
     * Opens the replica kept in `options.storage` (a StorageAdapter with a global log; memory
     * when omitted), syncing with `options.remote` (an HttpRemote, or any { push, pull }),
     * re-deciding conflicting pending events with `options.rebase` (optional: without it they
     * are dropped and reported as 'rejected').
     */
    static async open(options) {
      if (options === null || typeof options !== 'object') throw invalid(`Replica.open takes an options object, got ${describe(options)}`);
      const { storage, remote, rebase, lockName } = readOptions(options, ['storage', 'remote', 'rebase', 'lockName'], 'Replica.open');
      if (remote === null || typeof remote !== 'object' || typeof remote.push !== 'function' || typeof remote.pull !== 'function') {
        throw invalid(`options.remote must be a remote with push() and pull() (new HttpRemote(url)), got ${describe(remote)}`);
      }
      if (rebase !== undefined && typeof rebase !== 'function') throw invalid(`options.rebase must be a function, got ${describe(rebase)}`);
      if (lockName !== undefined && typeof lockName !== 'string') throw invalid(`options.lockName must be a string, got ${describe(lockName)}`);
      const replica = new Replica(Replica.#token);
      const store = new EventStore(storage === undefined ? undefined : { storage });
      const { noLog } = internalsOf(store);
      if (noLog !== undefined) throw new EventStoreError('UNSUPPORTED', `a Replica needs a storage with a global log: ${noLog}`);
      let outbox;
      try {
        outbox = new core.SyncOutbox(randomBytes(32));
      } catch (error) {
        throw fromCore(error);
      }
      const device = new Device(store, outbox);
      replica.#device = device;
      replica.#remote = remote;
      replica.#rounds = new SyncRounds({
        core, device, remote, rebase,
        emit: (event, value) => replica.#emit(event, value),
        changed: (aggregateId) => replica.#changed(aggregateId),
      });
      // Syncs of one device storage take turns: named after the IndexedDB database or the
      // FileStorage directory (any other adapter: after the adapter object).
      let where = typeof storage?.name === 'string' ? storage.name : storage?.directory;
      if (typeof where !== 'string') {
        // Memory, or an adapter without a name: replicas over this same object take turns.
        const key = storage ?? replica;
        if (!lockIds.has(key)) lockIds.set(key, `unnamed-${++nextLockId}`);
        where = lockIds.get(key);
      }
      replica.#lockName = lockName ?? `wasm-event-store:sync:${where}`;
      await device.open();
      return replica;
    }

    /** { pending, lastPulledPosition, online, syncing, lastError, lastSyncAt }: a fresh copy. */
    get status() {
      const { position } = this.#device.checkpoint;
      return { pending: this.#device.outbox.pending_count(), lastPulledPosition: position < 0 ? null : position, ...this.#status };
    }

    /**
     * Listens to 'rejected' ({ aggregateId, events, reason, error }), 'change' ({ aggregateId }:
     * a stream's view changed here; `aggregateId: null`: the device storage changed, maybe by
     * another tab, so read again what you show) or 'status' (the new status).
     */
    on(event, listener) {
      const listeners = this.#listenersOf(event, listener);
      listeners.add(listener);
      if (event === 'change' && this.#unwatch === undefined) {
        // Other tabs' writes reach this tab through the device store's feed (its adapter's watch()).
        const { stop, armed } = internalsOf(this.#device.store).feed.listen(() => this.#emit('change', { aggregateId: null }));
        armed.catch(() => {}); // an adapter without watch(): only this tab's changes are told
        this.#unwatch = stop;
      }
      return () => this.off(event, listener);
    }

    off(event, listener) {
      const listeners = this.#listenersOf(event, listener);
      listeners.delete(listener);
      if (event === 'change' && listeners.size === 0) {
        this.#unwatch?.();
        this.#unwatch = undefined;
      }
    }

    /** The ids of the aggregates with pending events (sorted by id). */
    async pendingAggregates() {
      await this.#device.catchUp();
      return JSON.parse(this.#device.outbox.pending_aggregates()).map(([aggregateId]) => aggregateId);
    }

    /** Appends to the device's view of the stream (confirmed, then pending), offline or not. */
    async appendEvents(aggregateId, expectedVersion, events) {
      checkAggregateId(aggregateId);
      checkExpectedVersionType(expectedVersion);
      const { json, count } = eventsJsonAndCount(events);
      await this.#device.exclusive(() => this.#device.commit(async () => {
        const confirmed = await this.#device.confirmed(aggregateId);
        try {
          return { entry: this.#device.outbox.prepare_append(aggregateId, confirmed.version, confirmed.arrived, expectedVersion, json, Date.now()) };
        } catch (error) {
          throw fromCore(error);
        }
      }));
      const version = expectedVersion + count;
      if (count > 0) {
        this.#changed(aggregateId);
        this.#wake?.(); // start()'s loop pushes it now
      }
      return version < 0 ? null : version;
    }

    /** The stream's confirmed events, then its pending ones (`pending: true`, no position). */
    async loadEvents(aggregateId, fromVersion, options) {
      checkAggregateId(aggregateId);
      const after = fromVersionArgument(fromVersion);
      const limit = readLimit(options, 'loadEvents');
      await this.#device.catchUp();
      const { version, arrived } = await this.#device.confirmed(aggregateId);
      const confirmed = (await this.#device.store.loadEvents(aggregateId, after, limit === undefined ? undefined : { limit }))
        .filter((event) => event.version <= version)
        .map(unwrapConfirmed);
      const left = limit === undefined ? -1 : limit - confirmed.length;
      if (left === 0) return confirmed;
      const pending = JSON.parse(this.#device.outbox.pending_json(aggregateId, version, arrived, Math.max(after, version), left));
      return confirmed.concat(pending);
    }

    /** The version of the stream's view (confirmed and pending), null if it has no events. */
    async getCurrentVersion(aggregateId) {
      checkAggregateId(aggregateId);
      await this.#device.catchUp();
      const confirmed = await this.#device.confirmed(aggregateId);
      const version = this.#device.outbox.view_version(aggregateId, confirmed.version, confirmed.arrived);
      return version < 0 ? null : version;
    }

    /** Confirmed events of every stream after server position `fromPosition`, in the server's order. */
    async loadAllEvents(fromPosition, options) {
      const after = positionArgument(fromPosition, 'fromPosition');
      const limit = readLimit(options, 'loadAllEvents') ?? Infinity;
      const events = [];
      let cursor = await this.#device.localPositionBefore(after);
      while (events.length < limit) {
        const page = await this.#device.store.loadAllEvents(cursor, { limit: PAGE });
        for (const event of page) {
          cursor = event.position;
          if (isReserved(event.aggregateId)) continue;
          const confirmed = unwrapConfirmed(event);
          if (confirmed.position > after) events.push(confirmed);
          if (events.length >= limit) break;
        }
        if (page.length < PAGE) break;
      }
      return events;
    }

    /** The server position of the newest confirmed event on the device, null if none. */
    async getLastPosition() {
      await this.#device.readCheckpoint();
      return this.#device.checkpoint.lastEvent < 0 ? null : this.#device.checkpoint.lastEvent;
    }

    /** As EventStore.subscribe, over confirmed events (server positions, or a stream's versions). */
    subscribe(handler, options) {
      if (typeof handler !== 'function') throw invalid(`handler must be a function, got ${describe(handler)}`);
      const { fromPosition, aggregateId, fromVersion } =
        readOptions(options, ['fromPosition', 'aggregateId', 'fromVersion'], 'subscribe');
      let read;
      let cursorOf;
      let after;
      if (aggregateId !== undefined) {
        checkAggregateId(aggregateId);
        after = positionArgument(fromVersion, 'options.fromVersion');
        read = async (version) => {
          const confirmedVersion = await this.#device.confirmedVersion(aggregateId);
          const page = await this.#device.store.loadEvents(aggregateId, version, { limit: PAGE });
          return page.filter((event) => event.version <= confirmedVersion).map(unwrapConfirmed);
        };
        cursorOf = (event) => event.version;
      } else {
        after = positionArgument(fromPosition, 'options.fromPosition');
        read = (position) => this.loadAllEvents(position, { limit: PAGE });
        cursorOf = (event) => event.position;
      }
      const subscriptions = this.#subscriptions;
      const subscription = new Subscription({
        read, cursorOf, handler, after, feed: internalsOf(this.#device.store).feed,
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return Object.freeze({ caughtUp: subscription.caughtUp, done: subscription.done, close: subscription.close });
    }

    /**
     * Pushes the outbox and pulls what others wrote, until neither moves. Rejects with code
     * 'NETWORK' when the server cannot be reached (everything stays pending).
     */
    sync() {
      if (this.#running !== undefined) {
        // One more round after the one in flight, for what was appended since it started.
        this.#again = true;
        return this.#running;
      }
      this.#running = (async () => {
        try {
          do {
            this.#again = false;
            await this.#syncOnce();
          } while (this.#again);
        } finally {
          this.#running = undefined;
        }
      })();
      return this.#running;
    }

    /**
     * Keeps syncing: now, after every local append, whenever the server's log moves (a long
     * poll), and when the browser comes back online; after a failure, again after a pause that
     * doubles up to 30 s. Errors land in status.lastError, not in a rejection.
     */
    start() {
      if (this.#started) return;
      this.#started = true;
      // Each start() has its own loop: one stopped but still finishing its round (stop() not
      // awaited before this start()) sees it is no longer current and ends.
      const loop = {};
      this.#current = loop;
      const running = () => this.#started && this.#current === loop;
      const online = () => this.#wake?.();
      globalThis.addEventListener?.('online', online);
      const previous = this.#loop;
      this.#loop = (async () => {
        await previous; // the loop of an earlier start() ends first
        let failures = 0;
        try {
          while (running()) {
            const abort = new AbortController();
            this.#wake = () => abort.abort();
            try {
              await this.sync();
              failures = 0;
              if (!running() || abort.signal.aborted) continue;
              // Until the server's log moves past what this device has (or an append wakes it).
              const asked = performance.now();
              const after = this.#device.checkpoint.position;
              const answer = await this.#remote.pull(after, { limit: 1, wait: LONG_POLL_MS, signal: abort.signal });
              if (answer.lastPosition <= after && performance.now() - asked < MIN_POLL_MS) {
                // Nothing new, at once: a server that does not wait. Do not spin.
                await pause(MIN_POLL_MS, abort.signal);
              }
            } catch (error) {
              if (abort.signal.aborted || !running()) continue;
              failures++;
              if (!(error instanceof EventStoreError)) this.#setStatus({ lastError: error });
              await pause(Math.min(BACKOFF_MS[1], BACKOFF_MS[0] * 2 ** (failures - 1)), abort.signal);
            }
          }
        } finally {
          globalThis.removeEventListener?.('online', online);
        }
      })();
    }

    /** Stops what start() started; resolves once its round in flight is over. */
    async stop() {
      this.#started = false;
      this.#current = undefined;
      this.#wake?.();
      await this.#loop;
    }

    /** Stops syncing and releases the device store. */
    async close() {
      await this.stop();
      await this.#running?.catch(() => {}); // a sync() in flight ends before the store is freed
      for (const subscription of [...this.#subscriptions]) subscription.close();
      this.#unwatch?.();
      this.#unwatch = undefined;
      await this.#device.exclusive(() => {});
      this.#device.store.free();
    }

    // ---- the sync rounds ----

    async #syncOnce() {
      this.#setStatus({ syncing: true });
      this.#rounds.rebaseError = null;
      try {
        await withLock(this.#lockName, () => this.#rounds.run());
        // A rebase that threw left its pending events as they were: say why.
        this.#setStatus({ online: true, lastError: this.#rounds.rebaseError, lastSyncAt: Date.now() });
      } catch (error) {
        const online = !(error instanceof EventStoreError && error.code === 'NETWORK');
        this.#setStatus({ online, lastError: error });
        throw error;
      } finally {
        this.#setStatus({ syncing: false });
      }
    }

    // ---- listeners ----

    #listenersOf(event, listener) {
      const listeners = this.#listeners.get(event);
      if (listeners === undefined) throw invalid(`a Replica emits ${EVENTS.map((e) => `'${e}'`).join(', ')}, not ${describe(event)}`);
      if (typeof listener !== 'function') throw invalid(`listener must be a function, got ${describe(listener)}`);
      return listeners;
    }

    #emit(event, value) {
      for (const listener of [...this.#listeners.get(event)]) {
        try {
          listener(value);
        } catch (error) {
          // A listener's bug must not stop the sync; it surfaces as an unhandled error.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }

    #changed(aggregateId) {
      this.#emit('change', { aggregateId });
    }

    #setStatus(changes) {
      Object.assign(this.#status, changes);
      this.#emit('status', this.status);
    }
  }

  return Replica;
}

/** The store's check of an aggregate id, and the replica's own: not one of its bookkeeping streams. */
function checkAggregateId(aggregateId) {
  checkStoreAggregateId(aggregateId);
  checkAppAggregateId(aggregateId);
}

/** options.limit as a number (undefined for none): the replica counts with it. */
function readLimit(options, method) {
  const { limit } = readOptions(options, ['limit'], method);
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalid(`options.limit must be a positive integer, got ${describe(limit)}`);
  return limit;
}
