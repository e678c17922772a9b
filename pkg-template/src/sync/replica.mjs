// Replica: an EventStore on the device that syncs through a server (see ARCHITECTURE.md, "Sync").
//
// The decisions are the core's (SyncOutbox and syncPlanPull, src/sync in the crate): what a
// local append writes, what to push and how to read the answer, what pulled events do to what
// is pending. This class does the I/O around them: it reads and writes the device storage
// through an EventStore over it (layout.mjs says where), talks to the remote (http-remote.mjs),
// calls the app's rebase, and tells listeners. Every write to the outbox is an append at the
// outbox version the decision was made on, so a decision another tab made stale is made again.
import { giveBack, takeBytes } from '../core/bytes.mjs';
import { describe, EventStoreConflictError, EventStoreError, fromCore, invalid, messageOf } from '../core/errors.mjs';
import { internalsOf } from '../core/internals.mjs';
import { encodeEvents } from '../core/json-writer.mjs';
import { PAGE, Subscription } from '../core/subscription.mjs';
import { checkAppAggregateId, CHECKPOINT, isReserved, OUTBOX, unwrapConfirmed, wrapConfirmed } from './layout.mjs';
import { withLock } from './locks.mjs';

const decoder = new TextDecoder();
/** What one push carries at most (the server's defaults are 100 batches, 1,000 events, 1 MB). */
const PUSH_LIMITS = { batches: 100, events: 1000, bytes: 900_000 };
const PULL_PAGE = 1000;
/** How long start()'s wait for the server's log to move lasts (the server caps it too). */
const LONG_POLL_MS = 25_000;
/** start()'s pause after a failed round: doubling from the first, up to the last. */
const BACKOFF_MS = [500, 30_000];
const EVENTS = ['rejected', 'change', 'status'];

/** An app's events as the JSON text the core takes, checked as appendEvents checks them. */
function eventsJson(events) {
  const out = takeBytes();
  try {
    encodeEvents(events, out);
    return decoder.decode(out.array.subarray(0, out.length));
  } finally {
    giveBack(out);
  }
}

function isConflict(error) {
  return error instanceof EventStoreError && error.code === 'CONFLICT';
}

export function createReplicaClass({ core, EventStore, randomBytes }) {
  class Replica {
    #store;
    #outbox;
    #remote;
    #rebase;
    #lockName;
    #listeners = new Map(EVENTS.map((name) => [name, new Set()]));
    #checkpoint = { version: -1, position: -1, lastEvent: -1, local: -1 };
    #status = { pending: 0, lastPulledPosition: null, online: true, syncing: false, lastError: null, lastSyncAt: null };
    // Local operations of this replica, one at a time (other tabs are kept out by the outbox's
    // expected version instead).
    #turn = Promise.resolve();
    // start()'s loop: whether it runs, its Promise, and how to cut its current wait short.
    #started = false;
    #loop;
    #wake;
    #running; // the sync in flight, and whether another is wanted after it
    #again = false;
    #subscriptions = new Set();
    // Why a rebase of the round in flight failed (the round goes on; status.lastError says it).
    #roundError = null;

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
      const { storage, remote, rebase, lockName } = options;
      for (const name of Object.keys(options)) {
        if (!['storage', 'remote', 'rebase', 'lockName'].includes(name)) {
          throw invalid(`options.${name} is not an option of Replica.open; it takes options.storage, options.remote, options.rebase, options.lockName`);
        }
      }
      if (remote === null || typeof remote !== 'object' || typeof remote.push !== 'function' || typeof remote.pull !== 'function') {
        throw invalid(`options.remote must be a remote with push() and pull() (new HttpRemote(url)), got ${describe(remote)}`);
      }
      if (rebase !== undefined && typeof rebase !== 'function') throw invalid(`options.rebase must be a function, got ${describe(rebase)}`);
      if (lockName !== undefined && typeof lockName !== 'string') throw invalid(`options.lockName must be a string, got ${describe(lockName)}`);
      const replica = new Replica(Replica.#token);
      replica.#store = new EventStore(storage === undefined ? undefined : { storage });
      const { noLog } = internalsOf(replica.#store);
      if (noLog !== undefined) throw new EventStoreError('UNSUPPORTED', `a Replica needs a storage with a global log: ${noLog}`);
      try {
        replica.#outbox = new core.SyncOutbox(randomBytes(32));
      } catch (error) {
        throw fromCore(error);
      }
      replica.#remote = remote;
      replica.#rebase = rebase;
      replica.#lockName = lockName ?? `wasm-event-store:sync:${typeof storage?.name === 'string' ? storage.name : 'default'}`;
      await replica.#catchUp();
      await replica.#readCheckpoint();
      return replica;
    }

    /** { pending, lastPulledPosition, online, syncing, lastError, lastSyncAt }: a fresh copy. */
    get status() {
      return { ...this.#status };
    }

    /** Listens to 'rejected' ({ aggregateId, events, reason, error }), 'change' ({ aggregateId }) or 'status'. */
    on(event, listener) {
      this.#listenersOf(event, listener).add(listener);
      return () => this.off(event, listener);
    }

    off(event, listener) {
      this.#listenersOf(event, listener).delete(listener);
    }

    /** Appends to the device's view of the stream (confirmed, then pending), offline or not. */
    async appendEvents(aggregateId, expectedVersion, events) {
      checkAggregateId(aggregateId);
      if (typeof expectedVersion !== 'number') {
        throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}`);
      }
      const json = eventsJson(events);
      const count = JSON.parse(json).length;
      await this.#exclusive(() => this.#commit(async () => {
        const confirmed = await this.#confirmedVersion(aggregateId);
        try {
          return { entry: this.#outbox.prepare_append(aggregateId, confirmed, expectedVersion, json, Date.now()) };
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
      const after = fromVersion === undefined || fromVersion === null ? -1 : fromVersion;
      if (typeof after !== 'number') throw invalid(`fromVersion must be an integer, null or undefined, got ${describe(fromVersion)}`);
      const limit = readLimit(options, 'loadEvents');
      const confirmedVersion = await this.#confirmedVersion(aggregateId);
      const confirmed = (await this.#store.loadEvents(aggregateId, after, limit === undefined ? undefined : { limit }))
        .filter((event) => event.version <= confirmedVersion)
        .map(unwrapConfirmed);
      const left = limit === undefined ? -1 : limit - confirmed.length;
      if (left === 0) return confirmed;
      await this.#catchUp();
      const pending = JSON.parse(this.#outbox.pending_json(aggregateId, confirmedVersion, Math.max(after, confirmedVersion), left));
      return confirmed.concat(pending);
    }

    /** The version of the stream's view (confirmed and pending), null if it has no events. */
    async getCurrentVersion(aggregateId) {
      checkAggregateId(aggregateId);
      await this.#catchUp();
      const version = (await this.#confirmedVersion(aggregateId)) + this.#outbox.pending_of(aggregateId);
      return version < 0 ? null : version;
    }

    /** Confirmed events of every stream after server position `fromPosition`, in the server's order. */
    async loadAllEvents(fromPosition, options) {
      const after = fromPosition === undefined || fromPosition === null ? -1 : fromPosition;
      if (!Number.isSafeInteger(after)) throw invalid(`fromPosition must be a safe integer, null or undefined, got ${describe(fromPosition)}`);
      const limit = readLimit(options, 'loadAllEvents') ?? Infinity;
      const events = [];
      let cursor = await this.#localPositionBefore(after);
      while (events.length < limit) {
        const page = await this.#store.loadAllEvents(cursor, { limit: PAGE });
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
      await this.#readCheckpoint();
      return this.#checkpoint.lastEvent < 0 ? null : this.#checkpoint.lastEvent;
    }

    /** As EventStore.subscribe, over confirmed events (server positions, or a stream's versions). */
    subscribe(handler, options) {
      if (typeof handler !== 'function') throw invalid(`handler must be a function, got ${describe(handler)}`);
      const { fromPosition, aggregateId, fromVersion } = options ?? {};
      let read;
      let cursorOf;
      let after;
      if (aggregateId !== undefined) {
        checkAggregateId(aggregateId);
        after = fromVersion ?? -1;
        read = async (version) => {
          const confirmedVersion = await this.#confirmedVersion(aggregateId);
          const page = await this.#store.loadEvents(aggregateId, version, { limit: PAGE });
          return page.filter((event) => event.version <= confirmedVersion).map(unwrapConfirmed);
        };
        cursorOf = (event) => event.version;
      } else {
        after = fromPosition ?? -1;
        read = (position) => this.loadAllEvents(position, { limit: PAGE });
        cursorOf = (event) => event.position;
      }
      const subscriptions = this.#subscriptions;
      const subscription = new Subscription({
        read, cursorOf, handler, after, feed: internalsOf(this.#store).feed,
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
      const online = () => this.#wake?.();
      globalThis.addEventListener?.('online', online);
      this.#loop = (async () => {
        let failures = 0;
        try {
          while (this.#started) {
            const abort = new AbortController();
            this.#wake = () => abort.abort();
            try {
              await this.sync();
              failures = 0;
              if (!this.#started || abort.signal.aborted) continue;
              // Until the server's log moves past what this device has (or an append wakes it).
              await this.#remote.pull(this.#checkpoint.position, { limit: 1, wait: LONG_POLL_MS, signal: abort.signal });
            } catch (error) {
              if (abort.signal.aborted || !this.#started) continue;
              failures++;
              if (!(error instanceof EventStoreError)) this.#setStatus({ lastError: error });
              const pause = Math.min(BACKOFF_MS[1], BACKOFF_MS[0] * 2 ** (failures - 1));
              await new Promise((resolve) => {
                const timer = setTimeout(resolve, pause);
                abort.signal.addEventListener('abort', () => {
                  clearTimeout(timer);
                  resolve();
                });
              });
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
      this.#wake?.();
      await this.#loop;
      this.#loop = undefined;
    }

    /** Stops syncing and releases the device store. */
    async close() {
      await this.stop();
      for (const subscription of [...this.#subscriptions]) subscription.close();
      await this.#turn;
      this.#store.free();
    }

    // ---- the sync rounds ----

    async #syncOnce() {
      this.#setStatus({ syncing: true });
      this.#roundError = null;
      try {
        await withLock(this.#lockName, async () => {
          await this.#reconcileAll();
          await this.#push();
          let pulled = await this.#pull();
          // What the pull confirmed or a rebase re-decided is pushed, then confirmed, at once.
          for (let round = 0; round < 3 && (await this.#push()) + pulled > 0 && this.#outbox.pending_count() > 0; round++) {
            pulled = await this.#pull();
          }
        });
        this.#setStatus({ online: true, lastError: this.#roundError, lastSyncAt: Date.now() });
      } catch (error) {
        const online = !(error instanceof EventStoreError && error.code === 'NETWORK');
        this.#setStatus({ online, lastError: error });
        throw error;
      } finally {
        this.#setStatus({ syncing: false });
      }
    }

    /** Pushes until nothing is left to push; the number of batches the server accepted. */
    async #push() {
      let accepted = 0;
      let maxBatches = PUSH_LIMITS.batches;
      for (;;) {
        await this.#catchUp();
        const request = this.#outbox.plan_push(maxBatches, PUSH_LIMITS.events, PUSH_LIMITS.bytes);
        if (request === undefined) return accepted;
        const answer = await this.#remote.push(request);
        const batches = JSON.parse(this.#outbox.in_flight_aggregates()).length;
        if (answer.status === 200) {
          try {
            accepted += this.#outbox.push_results(JSON.stringify(answer.body?.results));
          } catch (error) {
            throw new EventStoreError('NETWORK', `the sync server's answer to a push cannot be read: ${messageOf(error)}`, { cause: error });
          }
          continue;
        }
        const error = answer.body?.error ?? {};
        if (answer.status === 413 && batches > 1) {
          this.#outbox.refuse([]); // nothing dropped: send fewer at a time
          maxBatches = Math.max(1, Math.floor(batches / 2));
          continue;
        }
        let reason;
        let indexes;
        if (answer.status === 403) {
          reason = 'forbidden';
          const named = new Set(Array.isArray(error.aggregates) ? error.aggregates : []);
          indexes = JSON.parse(this.#outbox.in_flight_aggregates()).flatMap((id, index) => (named.has(id) ? [index] : []));
        } else if (answer.status === 400 && error.code === 'invalid') {
          reason = 'invalid';
          indexes = Array.isArray(error.batches) ? error.batches.filter(Number.isInteger) : [];
        } else if (answer.status === 413) {
          reason = 'too-large';
          indexes = [0];
        } else {
          this.#outbox.refuse([]);
          throw new EventStoreError('NETWORK', `the sync server refused a push (${answer.status}): ${messageOf(error.message ?? 'no reason given')}`);
        }
        if (indexes.length === 0) {
          this.#outbox.refuse([]);
          throw new EventStoreError('NETWORK', `the sync server refused a push (${answer.status}) without naming a batch: ${messageOf(error.message)}`);
        }
        await this.#refuse(indexes, reason, error);
      }
    }

    async #refuse(indexes, reason, body) {
      const refusals = JSON.parse(this.#outbox.refuse(indexes));
      // The server's word, as an error the app can show or log ('reason' says which refusal).
      const error = new EventStoreError('INVALID_ARGUMENT', `the sync server refused the batch (${reason}): ${messageOf(body.message ?? reason)}`);
      for (const refusal of refusals) {
        const written = await this.#exclusive(() => this.#commitAt(refusal.entry));
        if (!written) continue; // the outbox moved meanwhile: the next push asks again
        for (const events of refusal.batches) this.#emit('rejected', { aggregateId: refusal.aggregateId, events, reason, error });
        this.#changed(refusal.aggregateId);
      }
    }

    /** Pulls pages until the server has no more; how many events it applied. */
    async #pull() {
      let applied = 0;
      for (;;) {
        await this.#readCheckpoint();
        const after = this.#checkpoint.position;
        const answer = await this.#remote.pull(after, { limit: PULL_PAGE });
        const events = answer.events;
        if (events.length > 0) applied += await this.#applyPage(after, events);
        const lastEvent = events.length > 0 ? events[events.length - 1].position : this.#checkpoint.lastEvent;
        if (answer.lastPosition > after) {
          await this.#writeCheckpoint({ position: answer.lastPosition, lastEvent, local: (await this.#store.getLastPosition()) ?? -1 });
        }
        if (!answer.more) break;
      }
      if (applied > 0) await this.#reconcileAll();
      return applied;
    }

    async #applyPage(after, events) {
      const versions = {};
      for (const event of events) {
        if (!(event.aggregateId in versions)) versions[event.aggregateId] = await this.#confirmedVersion(event.aggregateId);
      }
      let plan;
      try {
        plan = JSON.parse(core.syncPlanPull(JSON.stringify(events), after, JSON.stringify(versions)));
      } catch (error) {
        throw fromCore(error);
      }
      let applied = 0;
      for (const [aggregateId, expectedVersion, start, end] of plan) {
        // Another tab may have stored this page already: the same eventIds make it a retry.
        await this.#store.appendEvents(aggregateId, expectedVersion, events.slice(start, end).map(wrapConfirmed));
        applied += end - start;
        this.#changed(aggregateId);
      }
      return applied;
    }

    /** Reconciles every aggregate whose confirmed stream moved past its pending base. */
    async #reconcileAll() {
      await this.#catchUp();
      for (const [aggregateId] of JSON.parse(this.#outbox.pending_aggregates())) {
        await this.#reconcile(aggregateId);
      }
      this.#setStatus({});
    }

    async #reconcile(aggregateId) {
      for (;;) {
        await this.#catchUp();
        const stale = JSON.parse(this.#outbox.pending_aggregates()).find(([id]) => id === aggregateId);
        if (stale === undefined) return;
        const base = stale[1];
        const confirmed = await this.#confirmedVersion(aggregateId);
        if (confirmed === base) return;
        const applied = this.#outbox.applied();
        const arrived = (await this.#store.loadEvents(aggregateId, base)).filter((e) => e.version <= confirmed).map(unwrapConfirmed);
        const decision = JSON.parse(this.#outbox.reconcile(aggregateId, confirmed, JSON.stringify(arrived.map((e) => e.eventId))));
        if (decision.kind === 'unchanged') return;
        if (decision.kind === 'settle') {
          if (await this.#exclusive(() => this.#commitAt(decision.entry, applied))) {
            this.#changed(aggregateId);
            return;
          }
          continue;
        }
        const missed = arrived.slice(decision.missedFrom);
        let entry;
        let dropped = false;
        if (this.#rebase === undefined) {
          entry = this.#outbox.rebase_entry(aggregateId, decision.base, '[]', Date.now());
          dropped = true;
        } else {
          let answer;
          try {
            answer = await this.#rebase({ aggregateId, pending: decision.pending, missed });
            if (!Array.isArray(answer)) throw invalid(`rebase must return an array of events ([] to drop them), got ${describe(answer)}`);
            entry = this.#outbox.rebase_entry(aggregateId, decision.base, eventsJson(answer), Date.now());
          } catch (error) {
            // The pending events stay as they are; status.lastError says why.
            this.#roundError = error;
            this.#setStatus({ lastError: error });
            return;
          }
          dropped = answer.length === 0;
        }
        if (!(await this.#exclusive(() => this.#commitAt(entry, applied)))) continue;
        if (dropped) {
          const last = missed.length > 0 ? missed[missed.length - 1].version : confirmed;
          const error = new EventStoreConflictError(aggregateId, decision.base, last);
          this.#emit('rejected', { aggregateId, events: decision.pending, reason: 'conflict', error });
        }
        this.#changed(aggregateId);
        return;
      }
    }

    // ---- the device storage ----

    /** Folds the outbox entries other tabs (or this one) stored since the last fold. */
    async #catchUp() {
      const entries = await this.#store.loadEvents(OUTBOX, this.#outbox.applied());
      for (const event of entries) {
        try {
          this.#outbox.apply(event.version, JSON.stringify(event.data));
        } catch (error) {
          throw fromCore(error);
        }
      }
      this.#status.pending = this.#outbox.pending_count();
    }

    /**
     * Runs `decide` (which returns { entry, result }) and stores its entry at the outbox version
     * it was decided on, deciding again when another tab wrote first. Resolves to `result`.
     */
    async #commit(decide) {
      for (;;) {
        await this.#catchUp();
        const applied = this.#outbox.applied();
        const { entry, result } = await decide();
        if (entry === undefined) return result;
        if (await this.#commitAt(entry, applied)) return result;
      }
    }

    /** Stores `entry` if the outbox is still at `applied`; whether it did. */
    async #commitAt(entry, applied = this.#outbox.applied()) {
      try {
        await this.#store.appendEvents(OUTBOX, applied, [{ type: 'outbox-entry', data: JSON.parse(entry) }]);
      } catch (error) {
        if (isConflict(error)) {
          await this.#catchUp();
          return false;
        }
        throw error;
      }
      this.#outbox.apply(applied + 1, entry);
      this.#status.pending = this.#outbox.pending_count();
      return true;
    }

    async #confirmedVersion(aggregateId) {
      return (await this.#store.getCurrentVersion(aggregateId)) ?? -1;
    }

    async #readCheckpoint() {
      const newer = await this.#store.loadEvents(CHECKPOINT, this.#checkpoint.version);
      const last = newer[newer.length - 1];
      if (last !== undefined) this.#checkpoint = { version: last.version, ...last.data };
      this.#status.lastPulledPosition = this.#checkpoint.position < 0 ? null : this.#checkpoint.position;
    }

    async #writeCheckpoint(checkpoint) {
      try {
        await this.#store.appendEvents(CHECKPOINT, this.#checkpoint.version, [{ type: 'checkpoint', data: checkpoint }]);
      } catch (error) {
        if (isConflict(error)) return; // another tab pulled and wrote one: read it next time
        throw error;
      }
      this.#checkpoint = { version: this.#checkpoint.version + 1, ...checkpoint };
      this.#setStatus({ lastPulledPosition: checkpoint.position });
    }

    /**
     * The device log's position from which every confirmed event after server position
     * `after` follows: the checkpoint with the highest position <= `after` (a binary search over
     * the checkpoint stream's versions), or the start.
     */
    async #localPositionBefore(after) {
      if (after < 0) return -1;
      await this.#readCheckpoint();
      let low = 0;
      let high = this.#checkpoint.version;
      let found = -1;
      while (low <= high) {
        const middle = Math.floor((low + high) / 2);
        const [checkpoint] = await this.#store.loadEvents(CHECKPOINT, middle - 1, { limit: 1 });
        if (checkpoint.data.lastEvent <= after) {
          found = checkpoint.data.local;
          low = middle + 1;
        } else {
          high = middle - 1;
        }
      }
      return found;
    }

    // ---- listeners ----

    #exclusive(task) {
      const run = this.#turn.then(task, task);
      this.#turn = run.catch(() => {});
      return run;
    }

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
      this.#status.pending = this.#outbox.pending_count();
      this.#emit('change', { aggregateId });
    }

    #setStatus(changes) {
      Object.assign(this.#status, changes);
      this.#status.pending = this.#outbox.pending_count();
      this.#emit('status', this.status);
    }
  }

  return Replica;
}

function checkAggregateId(aggregateId) {
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw invalid(`aggregateId must be a non-empty string, got ${describe(aggregateId)}`);
  }
  checkAppAggregateId(aggregateId);
}

function readLimit(options, method) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw invalid(`options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'limit') throw invalid(`options.${key} is not an option of ${method}; it takes options.limit`);
  }
  const { limit } = options;
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalid(`options.limit must be a positive integer, got ${describe(limit)}`);
  return limit;
}
