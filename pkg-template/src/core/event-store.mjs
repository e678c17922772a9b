// The public EventStore class over the wasm core, independent of how the wasm was loaded.
//
// What lives here and why: JS-only checks (typeof, lone surrogates, option names), Promises, one
// JSON.parse per load (fresh objects for every caller), the copy of each batch's JSON
// (json-writer.mjs) into the core, and subscriptions (subscription.mjs), which call back into
// the app. Everything else (validation of values, versions, positions, ids, times, encoding,
// idempotent retries) is in Rust.
import { isThenable, readAppendAnswer, readRecords } from './adapter-answers.mjs';
import { encoder, giveBack, KEPT_BYTES, reserve, takeBytes, writeUtf8 } from './bytes.mjs';
import { describe, EventStoreError, EventStoreConflictError, fromCore, invalid, messageOf, tooLongForAString } from './errors.mjs';
import { checkAggregateId, checkExpectedVersionType, fromVersionArgument, limitArgument, positionArgument, readOptions } from './arguments.mjs';
import { internals } from './internals.mjs';
import { encodeEvents } from './json-writer.mjs';
import { ChangeFeed, PAGE, Subscription } from './subscription.mjs';
import { createReplicaClass } from '../sync/replica.mjs';
import { HttpRemote } from '../sync/http-remote.mjs';

// One ChangeFeed per adapter object: every store of this realm over it hears the others.
const feeds = new WeakMap();

/**
 * Builds the public API over the wasm bindings.
 * @param core the wasm-bindgen module (MemoryEventStore)
 * @param randomBytes (n) => Uint8Array of n cryptographically random bytes
 * @param ready optional: throws if the wasm is not instantiated yet (the init entry's check), so
 *   that a store made too early says so instead of failing somewhere inside the glue
 */
export function createApi(core, randomBytes, ready = () => {}) {
  // The wasm memory, read once the wasm is there (the init entry makes the API before).
  let wasmMemory;
  const memoryOf = () => (wasmMemory ??= core.wasmMemory());
  /**
   * Copies `text` from UTF-16 unit `from` as UTF-8 into the wasm memory at `address`, at most
   * `capacity` bytes, for the core (see JsStorage::utf8): [units read, bytes written].
   */
  const encodeIntoMemory = (text, from, address, capacity) => {
    const { read, written } = encoder.encodeInto(from === 0 ? text : text.slice(from), new Uint8Array(memoryOf().buffer, address, capacity));
    return [read, written];
  };
  // What the adapter-backed core calls back into (see JsStorage in src/wasm/js_storage.rs).
  const helpers = { readRecords, readAppendAnswer, encodeInto: encodeIntoMemory };

  class EventStore {
    #core;
    // True over a host adapter: the core's methods then return Promises. The in-memory core
    // answers synchronously, and awaiting its plain values would only cost a microtask.
    #suspends;
    // A view of the in-memory core's input buffer; see #appendToMemory.
    #input;
    // Who hears of this store's appends: the subscriptions of every store over the same adapter.
    #feed;
    // Why the storage has no global log (undefined: it has one).
    #noLog;
    // The open subscriptions, ended when the store is freed.
    #subscriptions = new Set();

    constructor(options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw invalid(`options must be an object, got ${describe(options)}`);
      }
      let storage;
      try {
        storage = options?.storage;
      } catch (error) {
        throw invalid(`options.storage cannot be read: ${messageOf(error)}`, error);
      }
      ready();
      if (isThenable(storage)) {
        throw invalid('options.storage is a Promise, not a StorageAdapter: FileStorage.open() and ' +
          'IndexedDbStorage.open() must be awaited (new EventStore({ storage: await FileStorage.open(dir) }))');
      }
      try {
        // Without storage the in-memory core; with it, the core over the host's adapter (which
        // checks the adapter's shape and names a missing method).
        this.#suspends = storage !== undefined;
        this.#core = this.#suspends
          ? new core.AdapterEventStore(storage, randomBytes(32), helpers)
          : new core.MemoryEventStore(randomBytes(32));
        this.#noLog = this.#core.log_support();
      } catch (error) {
        throw fromCore(error);
      }
      if (this.#suspends) {
        let feed = feeds.get(storage);
        if (feed === undefined) feeds.set(storage, (feed = new ChangeFeed(storage)));
        this.#feed = feed;
      } else {
        this.#feed = new ChangeFeed(undefined);
      }
      internals.set(this, { feed: this.#feed, noLog: this.#noLog });
    }

    /** Appends `events` if the stream is at `expectedVersion`; resolves to the new version. */
    async appendEvents(aggregateId, expectedVersion, events) {
      EventStore.#checkReceiver(this, 'appendEvents');
      checkAggregateId(aggregateId);
      checkExpectedVersionType(expectedVersion);
      const now = Date.now();
      const out = takeBytes();
      let version;
      try {
        encodeEvents(events, out);
        try {
          version = this.#appendInput(aggregateId, expectedVersion, out, now);
        } catch (error) {
          throw fromCore(error);
        }
      } finally {
        // The core has copied the bytes: the adapter core's append before its Promise.
        giveBack(out);
      }
      if (this.#suspends) {
        try {
          version = await version;
        } catch (error) {
          throw fromCore(error);
        }
      }
      if (this.#feed.listening) this.#feed.notify();
      return version < 0 ? null : version;
    }

    /** The events with version > fromVersion (all when omitted), oldest first, at most options.limit. */
    async loadEvents(aggregateId, fromVersion, options) {
      EventStore.#checkReceiver(this, 'loadEvents');
      checkAggregateId(aggregateId);
      const after = fromVersionArgument(fromVersion);
      const limit = limitArgument(options, 'loadEvents');
      let json;
      try {
        json = this.#live().load(aggregateId, after, limit);
        if (this.#suspends) json = await json;
      } catch (error) {
        throw fromCore(error, tooLongForAString);
      }
      return JSON.parse(json);
    }

    /**
     * Every event of every stream with position > fromPosition (all when omitted or negative),
     * in commit order, at most options.limit.
     */
    async loadAllEvents(fromPosition, options) {
      EventStore.#checkReceiver(this, 'loadAllEvents');
      const after = positionArgument(fromPosition, 'fromPosition');
      const limit = limitArgument(options, 'loadAllEvents');
      let json;
      try {
        json = this.#live().load_all(after, limit);
        if (this.#suspends) json = await json;
      } catch (error) {
        throw fromCore(error, tooLongForAString);
      }
      return JSON.parse(json);
    }

    /** The newest event's position, or null for an empty store. */
    async getLastPosition() {
      EventStore.#checkReceiver(this, 'getLastPosition');
      let position;
      try {
        position = this.#live().last_position();
        if (this.#suspends) position = await position;
      } catch (error) {
        throw fromCore(error);
      }
      return position < 0 ? null : position;
    }

    /**
     * Delivers the history (after options.fromPosition, or with options.aggregateId that
     * stream's after options.fromVersion), then every event committed afterwards, in order,
     * each once, awaiting what `handler` returns. Throws at once for bad arguments.
     */
    subscribe(handler, options) {
      EventStore.#checkReceiver(this, 'subscribe');
      if (typeof handler !== 'function') {
        throw invalid(`handler must be a function, got ${describe(handler)}`);
      }
      const { fromPosition, aggregateId, fromVersion } =
        readOptions(options, ['fromPosition', 'aggregateId', 'fromVersion'], 'subscribe');
      let read;
      let cursorOf;
      let after;
      if (aggregateId !== undefined) {
        checkAggregateId(aggregateId);
        if (fromPosition !== undefined) {
          throw invalid('options.fromPosition cannot be combined with options.aggregateId: a stream is followed by version (options.fromVersion)');
        }
        after = positionArgument(fromVersion, 'options.fromVersion');
        read = (version) => this.loadEvents(aggregateId, version, { limit: PAGE });
        cursorOf = (event) => event.version;
      } else {
        if (fromVersion !== undefined) {
          throw invalid('options.fromVersion needs options.aggregateId (the stream it is a version of); follow the global log with options.fromPosition');
        }
        after = positionArgument(fromPosition, 'options.fromPosition');
        if (this.#noLog !== undefined) throw new EventStoreError('UNSUPPORTED', this.#noLog);
        read = (position) => this.loadAllEvents(position, { limit: PAGE });
        cursorOf = (event) => event.position;
      }
      this.#live(); // a freed store throws FREED now, after the argument checks
      const subscriptions = this.#subscriptions;
      const subscription = new Subscription({
        read, cursorOf, handler, after, feed: this.#feed,
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return Object.freeze({ caughtUp: subscription.caughtUp, done: subscription.done, close: subscription.close });
    }

    /** The stream's last version, or null if it does not exist. */
    async getCurrentVersion(aggregateId) {
      EventStore.#checkReceiver(this, 'getCurrentVersion');
      checkAggregateId(aggregateId);
      let version;
      try {
        version = this.#live().version(aggregateId);
        if (this.#suspends) version = await version;
      } catch (error) {
        throw fromCore(error);
      }
      return version < 0 ? null : version;
    }

    /**
     * Releases the store's wasm memory now. Optional: a store that is garbage collected is
     * released by a FinalizationRegistry. Calls after free() reject.
     */
    free() {
      EventStore.#checkReceiver(this, 'free');
      const core = this.#core;
      this.#core = undefined;
      // Freeing the store is its owner ending it: its subscriptions end as by close().
      for (const subscription of [...this.#subscriptions]) subscription.close();
      try {
        core?.free();
      } catch {
        // Only a trap can leave the core unable to free itself ("borrowed"): its memory is then
        // lost to the instance, but free() keeps its promise to the caller and never throws.
      }
    }

    /** A method called on something else (a detached method, `.call(other)`) is bad input. */
    static #checkReceiver(store, method) {
      if (store === null || typeof store !== 'object' || !(#suspends in store)) {
        throw invalid(`EventStore.prototype.${method} was called on ${describe(store)}, not on an EventStore`);
      }
    }

    /**
     * The batch's JSON (in `out`) and then the aggregate id's UTF-8 are copied into the core's
     * input buffer in one native copy, instead of wasm-bindgen allocating in wasm (which traps
     * when the memory is full) and copying strings there character by character. The view is
     * made again when it no longer fits or the wasm memory grew (which detaches it). The
     * in-memory core answers the version; the adapter core a Promise of it.
     */
    #appendInput(aggregateId, expectedVersion, out, now) {
      const core = this.#live();
      const jsonLength = out.length;
      // The id is usually short ASCII: byte by byte is cheaper than a trip into encodeInto.
      reserve(out, aggregateId.length);
      for (let i = 0; i < aggregateId.length; i++) {
        const unit = aggregateId.charCodeAt(i);
        if (unit >= 0x80) {
          out.length = jsonLength;
          writeUtf8(out, aggregateId);
          break;
        }
        out.array[out.length++] = unit;
      }
      const length = out.length;
      let view = this.#input;
      if (view === undefined || view.byteLength < length) {
        const capacity = Math.max(length, view?.length ?? 0, 4096);
        const address = core.input_buffer(capacity); // may grow the memory: read its buffer after
        view = new Uint8Array(memoryOf().buffer, address, capacity);
        this.#input = view;
      }
      view.set(out.array.subarray(0, length));
      try {
        return core.append_input(expectedVersion, jsonLength, length, now);
      } finally {
        // The core is done with the buffer (the adapter core copied the texts out). One huge
        // batch must not keep its size of the shared wasm memory until free().
        if (length > KEPT_BYTES) {
          core.release_input();
          this.#input = undefined;
        }
      }
    }

    /** The live core, or a FREED error for a store after free(). */
    #live() {
      if (this.#core === undefined) throw new EventStoreError('FREED', 'this EventStore was freed with free() and cannot be used any more');
      return this.#core;
    }
  }

  const Replica = createReplicaClass({ core, EventStore, randomBytes });
  return { EventStore, EventStoreError, EventStoreConflictError, Replica, HttpRemote };
}

