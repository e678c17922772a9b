// The public EventStore class over the wasm core, independent of how the wasm was loaded.
//
// What lives here and why: JS-only checks (typeof, lone surrogates), Promises, one JSON.parse per
// load (fresh objects for every caller), and the copy of each batch's JSON (json-writer.mjs) into
// the core. Everything else (validation of values, versions, ids, times, encoding) is in Rust.
import { readAppendAnswer, readRecords } from './adapter-answers.mjs';
import { encoder, giveBack, KEPT_BYTES, reserve, takeBytes, writeUtf8 } from './bytes.mjs';
import { describe, EventStoreError, EventStoreConflictError, fromCore, invalid, messageOf, tooLongForAString } from './errors.mjs';
import { encodeEvents } from './json-writer.mjs';

/** Whether `value` is a Promise (or any thenable), read without letting a getter throw out. */
function isThenable(value) {
  try {
    return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
  } catch {
    return false; // the core's check of the adapter's shape reports what cannot be read
  }
}

function checkAggregateId(aggregateId) {
  // Emptiness is the core's check; only JS can tell a string from other types, and strings with
  // lone surrogates would silently change on their way into UTF-8.
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw invalid(`aggregateId must be a non-empty string, got ${describe(aggregateId)}`);
  }
  if (!aggregateId.isWellFormed()) {
    throw invalid('aggregateId must be a well-formed Unicode string (it has a lone surrogate)');
  }
}

/** options.limit of a load as the core takes it: -1 for none; the core checks the rest. */
function limitArgument(options) {
  if (options === undefined || options === null) return -1;
  if (typeof options !== 'object') throw invalid(`options must be an object, got ${describe(options)}`);
  let limit;
  try {
    limit = options.limit;
  } catch (error) {
    throw invalid(`options.limit cannot be read: ${messageOf(error)}`, error);
  }
  if (limit === undefined) return -1;
  if (typeof limit !== 'number' || limit === -1) {
    throw invalid(`options.limit must be a positive integer, got ${describe(limit)}`);
  }
  return limit;
}

function fromVersionArgument(fromVersion) {
  if (fromVersion === undefined || fromVersion === null) return -1;
  if (typeof fromVersion !== 'number') {
    throw invalid(`fromVersion must be an integer, null or undefined, got ${describe(fromVersion)}`);
  }
  return fromVersion;
}

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
      } catch (error) {
        throw fromCore(error);
      }
    }

    /** Appends `events` if the stream is at `expectedVersion`; resolves to the new version. */
    async appendEvents(aggregateId, expectedVersion, events) {
      EventStore.#checkReceiver(this, 'appendEvents');
      checkAggregateId(aggregateId);
      if (typeof expectedVersion !== 'number') {
        const hint = expectedVersion === null || expectedVersion === undefined
          ? ' (use -1 for a stream that does not exist yet: getCurrentVersion answers null for it)'
          : '';
        throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}${hint}`);
      }
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
      return version < 0 ? null : version;
    }

    /** The events with version > fromVersion (all when omitted), oldest first, at most options.limit. */
    async loadEvents(aggregateId, fromVersion, options) {
      EventStore.#checkReceiver(this, 'loadEvents');
      checkAggregateId(aggregateId);
      const after = fromVersionArgument(fromVersion);
      const limit = limitArgument(options);
      let json;
      try {
        json = this.#live().load(aggregateId, after, limit);
        if (this.#suspends) json = await json;
      } catch (error) {
        throw fromCore(error, tooLongForAString);
      }
      return JSON.parse(json);
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

  return { EventStore, EventStoreError, EventStoreConflictError };
}

