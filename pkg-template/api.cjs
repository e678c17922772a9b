'use strict';
// The public JS API over the wasm core, independent of how the wasm was loaded.
//
// What lives here and why: JS-only checks (typeof, and what JSON cannot carry faithfully, which
// only JS can see), one JSON.stringify per batch (the copy that isolates the store from callers),
// one JSON.parse per load (fresh objects for every caller), Promises, and the typed error
// classes. Everything else (validation of values, versions, ids, times, encoding) is in Rust.

/** Base class of every error the store reports. `code` says what kind of failure it is. */
class EventStoreError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'EventStoreError';
    this.code = code;
  }
}

/** The stream was not at the expected version; nothing was written. */
class EventStoreConflictError extends EventStoreError {
  constructor(aggregateId, expectedVersion, actualVersion) {
    super(
      'CONFLICT',
      `Conflict appending events for aggregate ${aggregateId}. ` +
        `Expected version ${expectedVersion}, but current version is ${actualVersion}.`,
    );
    this.name = 'EventStoreConflictError';
    this.aggregateId = aggregateId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

function invalid(message, cause) {
  return new EventStoreError('INVALID_ARGUMENT', message, cause === undefined ? undefined : { cause });
}

/** A core error (a plain Error with `code`) as the public typed error. */
function fromCore(error) {
  try {
    return fromCoreUnguarded(error);
  } catch (unreadable) {
    return new EventStoreError('INTERNAL', `internal error in the event store: ${messageOf(error)}`, { cause: unreadable });
  }
}

function fromCoreUnguarded(error) {
  if (error instanceof EventStoreError) return error;
  const code = error !== null && typeof error === 'object' ? error.code : undefined;
  if (code === 'CONFLICT') {
    return new EventStoreConflictError(error.aggregateId, error.expectedVersion, error.actualVersion);
  }
  if (code === 'INVALID_ARGUMENT' || code === 'STORAGE' || code === 'CORRUPT') {
    const wrapped = new EventStoreError(code, error.message, error.cause === undefined ? undefined : { cause: error.cause });
    if (error.aggregateId !== undefined) wrapped.aggregateId = error.aggregateId;
    if (error.version !== undefined) wrapped.version = error.version;
    return wrapped;
  }
  // A wasm trap or anything unforeseen: still an EventStoreError, never a raw value.
  return new EventStoreError('INTERNAL', `internal error in the event store: ${messageOf(error)}`, { cause: error });
}

/** Describes a value for a message without trusting it: proxies and getters may throw. */
function describe(value) {
  try {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    switch (typeof value) {
      case 'string': return value === '' ? 'an empty string' : 'a string';
      case 'number': return String(value);
      case 'bigint': return `a bigint (${value}n)`;
      case 'undefined': return 'undefined';
      case 'object': return `an object (${value.constructor?.name ?? 'no constructor'})`;
      default: return `a ${typeof value}`;
    }
  } catch {
    return 'an unreadable value';
  }
}

/** The message of something thrown, whatever was thrown. */
function messageOf(error) {
  try {
    if (typeof error?.message === 'string') return error.message;
    return String(error);
  } catch {
    return 'an unprintable value';
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

const objectPrototype = Object.prototype;

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === objectPrototype || proto === null;
}

// What JSON.stringify would silently change is rejected: BigInt and symbols, functions, NaN and
// infinities, undefined in arrays, invalid Dates, and objects that are neither plain objects nor
// arrays (Map, Set, class instances...). Undefined object members are dropped, as JSON does;
// values with toJSON (Date) are stored as its result.
//
// Every value is read exactly once: a getter, proxy or toJSON that answers differently on a
// second read cannot slip past the checks. The common case copies the batch into plain data
// while checking it (copyValue), then serialises the copy with JSON.stringify without a
// replacer, which keeps V8's fast serialiser. Values nested deeper than FAST_DEPTH (or cyclic)
// go through JSON.stringify with a checking replacer instead, which also reads each value once.
const FAST_DEPTH = 64;

class Unfaithful {
  constructor(message) { this.message = message; }
}
const TOO_DEEP = new Unfaithful('too deep for the fast check');

function unfaithful(value, key) {
  return new Unfaithful(`holds ${describe(value)} at ${JSON.stringify(String(key))}, which JSON cannot carry faithfully (only plain objects, arrays, finite numbers, strings, booleans and null)`);
}

function invalidDate(key) {
  return new Unfaithful(`holds an invalid Date at ${JSON.stringify(String(key))}`);
}

/** Sets a member of a fresh plain object; `__proto__` would otherwise set the prototype. */
function setMember(target, key, value) {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The value as plain JSON data, checked; undefined for a member JSON leaves out. */
function copyValue(value, key, depth, inArray) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'undefined':
      if (!inArray) return undefined; // a member left out, as JSON does
      break;
    case 'object': {
      if (value === null) return null;
      if (depth > FAST_DEPTH) throw TOO_DEEP;
      const toJSON = value.toJSON;
      if (typeof toJSON === 'function') {
        if (value instanceof Date && Number.isNaN(value.getTime())) throw invalidDate(key);
        return copyValue(toJSON.call(value, String(key)), key, depth + 1, inArray);
      }
      if (Array.isArray(value)) {
        // Filled by push, not `new Array(length)`: a holey array takes JSON.stringify off its
        // fast path (measured: copying and serialising the benchmark event took ~10% longer).
        const length = value.length;
        const out = [];
        for (let i = 0; i < length; i++) out.push(copyValue(value[i], i, depth + 1, true));
        return out;
      }
      if (isPlainObject(value)) return copyMembers(value, depth + 1);
      break;
    }
    default:
      break;
  }
  throw unfaithful(value, key);
}

function copyMembers(object, depth) {
  const out = {};
  for (const member of Object.keys(object)) {
    const copy = copyValue(object[member], member, depth, false);
    if (copy === undefined) continue;
    // A plain store, but for the one key that would set the prototype instead.
    if (member === '__proto__') setMember(out, member, copy);
    else out[member] = copy;
  }
  return out;
}

/**
 * The members of an event, each read once and checked, as a fresh plain object (type and data
 * first, the other members only when given), which keeps JSON.stringify on its fast path. Other
 * members are checked like the rest (the event must be something JSON carries faithfully) but
 * not stored: they are not part of an event.
 */
function copyEvent(event) {
  let type;
  let data;
  let metadata;
  let eventId;
  let occurredOn;
  for (const member of Object.keys(event)) {
    const copy = copyValue(event[member], member, 1, false);
    switch (member) {
      case 'type': type = copy; break;
      case 'data': data = copy; break;
      case 'metadata': metadata = copy; break;
      case 'eventId': eventId = copy; break;
      case 'occurredOn': occurredOn = copy; break;
      default: break;
    }
  }
  // Members left undefined are left out rather than set to undefined, which JSON.stringify
  // would have to skip one by one.
  const copy = { type, data };
  if (metadata !== undefined) copy.metadata = metadata;
  if (eventId !== undefined) copy.eventId = eventId;
  if (occurredOn !== undefined) copy.occurredOn = occurredOn;
  return copy;
}

function isEvent(event) {
  return event !== null && typeof event === 'object' && !Array.isArray(event) && isPlainObject(event);
}

/** JSON.stringify with the same checks as copyValue, in a replacer: for the deep cases. */
function stringifyChecked(events, at) {
  return JSON.stringify(events, function replacer(key, value) {
    if (this === events) {
      at.index = Number(key);
      if (!isEvent(value)) throw new Unfaithful(`must be a plain object, got ${describe(value)}`);
      return value;
    }
    if (value === null) {
      // toJSON already ran: an invalid Date arrives as null. Telling it apart from a real null
      // needs the original, read once more.
      if (this[key] instanceof Date) throw invalidDate(key);
      return value;
    }
    if (typeof value === 'object') {
      if (Array.isArray(value) || isPlainObject(value)) return value;
      throw unfaithful(value, key);
    }
    return copyValue(value, key, 0, Array.isArray(this));
  });
}

function isUnfaithful(error) {
  try {
    return error instanceof Unfaithful;
  } catch {
    return false; // a revoked proxy was thrown
  }
}

/** The batch as JSON text, or an INVALID_ARGUMENT error naming the event's index. */
function encodeEvents(events) {
  const at = { index: 0 };
  let listed = false;
  try {
    if (!Array.isArray(events)) {
      throw new Unfaithful(`must be an array of events, got ${describe(events)}`);
    }
    listed = true;
    try {
      const length = events.length;
      const copy = [];
      for (; at.index < length; at.index++) {
        const event = events[at.index];
        if (!isEvent(event)) throw new Unfaithful(`must be a plain object, got ${describe(event)}`);
        copy.push(copyEvent(event));
      }
      return JSON.stringify(copy);
    } catch (error) {
      if (error !== TOO_DEEP) throw error;
      at.index = 0;
      return stringifyChecked(events, at);
    }
  } catch (error) {
    if (isUnfaithful(error)) {
      throw invalid(listed ? `events[${at.index}] ${error.message}` : `events ${error.message}`);
    }
    // Cycles, throwing getters, hostile proxies, nesting too deep for the stack.
    throw invalid(listed ? `events[${at.index}] cannot be serialised: ${messageOf(error)}` : `events cannot be read: ${messageOf(error)}`, error);
  }
}

/**
 * Reads a storage adapter's load() answer for the core: [every payload joined by NUL, the
 * versions, and why it stopped early if it did]. In JS each record is read without a crossing
 * into wasm, and the payloads then cross as one string. Never throws: the answer may be a
 * hostile proxy. The core still checks every version and payload; a NUL (which no JSON text
 * holds) would make payloads ambiguous, so one stops the reading here. The whole answer is read
 * before the core checks the first record: an adapter that answers a huge array pays for it.
 */
function readRecords(answer) {
  const payloads = [];
  const versions = [];
  let problem;
  try {
    const length = Array.isArray(answer) ? answer.length : undefined;
    if (!Number.isSafeInteger(length) || length < 0) {
      problem = 'load() did not return an array of records';
    } else {
      for (let i = 0; i < length; i++) {
        const record = answer[i];
        const isObject = record !== null && typeof record === 'object';
        const version = isObject ? record.version : undefined;
        const payload = isObject ? record.payload : undefined;
        if (typeof version !== 'number' || typeof payload !== 'string') {
          problem = 'load() returned a record without an integer version and a string payload';
          break;
        }
        if (payload.includes('\u0000')) {
          problem = 'load() returned a payload with a NUL character, which no JSON text holds';
          break;
        }
        versions.push(version);
        payloads.push(payload);
      }
    }
  } catch (error) {
    problem = `reading record ${payloads.length} of load()'s answer threw: ${messageOf(error)}`;
  }
  return [payloads.join('\u0000'), new Float64Array(versions), problem];
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
 */
function createApi(core, randomBytes) {
  const memory = core.wasmMemory();
  const encoder = new TextEncoder();
  /**
   * Copies `text` from UTF-16 unit `from` as UTF-8 into the wasm memory at `address`, at most
   * `capacity` bytes, for the core (see JsStorage::utf8): [units read, bytes written].
   */
  const encodeIntoMemory = (text, from, address, capacity) => {
    const { read, written } = encoder.encodeInto(from === 0 ? text : text.slice(from), new Uint8Array(memory.buffer, address, capacity));
    return [read, written];
  };

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
      try {
        // Without storage the in-memory core; with it, the core over the host's adapter (which
        // checks the adapter's shape and names a missing method).
        this.#suspends = storage !== undefined;
        this.#core = this.#suspends
          ? new core.AdapterEventStore(storage, randomBytes(32), readRecords, encodeIntoMemory)
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
        throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}`);
      }
      const json = encodeEvents(events);
      let version;
      try {
        version = this.#suspends
          ? await this.#live().append(aggregateId, expectedVersion, json, Date.now())
          : this.#appendToMemory(aggregateId, expectedVersion, json);
      } catch (error) {
        throw fromCore(error);
      }
      return version < 0 ? null : version;
    }

    /** The events with version > fromVersion (all when omitted), oldest first. */
    async loadEvents(aggregateId, fromVersion) {
      EventStore.#checkReceiver(this, 'loadEvents');
      checkAggregateId(aggregateId);
      const after = fromVersionArgument(fromVersion);
      let json;
      try {
        json = this.#live().load(aggregateId, after);
        if (this.#suspends) json = await json;
      } catch (error) {
        throw fromCore(error);
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
      this.#core?.free();
      this.#core = undefined;
    }

    /** A method called on something else (a detached method, `.call(other)`) is bad input. */
    static #checkReceiver(store, method) {
      if (store === null || typeof store !== 'object' || !(#suspends in store)) {
        throw invalid(`EventStore.prototype.${method} was called on ${describe(store)}, not on an EventStore`);
      }
    }

    /**
     * The in-memory append, with the JSON and the aggregate id written straight into the core's
     * input buffer (instead of wasm-bindgen allocating in wasm and copying the strings there
     * character by character). The view is made again when it no longer fits or the
     * wasm memory grew (which detaches it).
     */
    #appendToMemory(aggregateId, expectedVersion, json) {
      const core = this.#live();
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      const needed = (aggregateId.length + json.length) * 3;
      let view = this.#input;
      if (view === undefined || view.byteLength < needed) {
        const capacity = Math.max(needed, view?.length ?? 0, 4096);
        const address = core.input_buffer(capacity); // may grow the memory: read its buffer after
        view = new Uint8Array(memory.buffer, address, capacity);
        this.#input = view;
      }
      // The batch first, with one encodeInto (a native copy); then the id, which is usually
      // short ASCII, byte by byte: cheaper than a second trip into encodeInto's C++.
      const jsonLength = encoder.encodeInto(json, view).written;
      let end = jsonLength;
      for (let i = 0; i < aggregateId.length; i++) {
        const unit = aggregateId.charCodeAt(i);
        if (unit >= 0x80) {
          end = jsonLength + encoder.encodeInto(aggregateId, view.subarray(jsonLength)).written;
          break;
        }
        view[end++] = unit;
      }
      return core.append_input(expectedVersion, jsonLength, end, Date.now());
    }

    /** The live core, or a FREED error for a store after free(). */
    #live() {
      if (this.#core === undefined) throw new EventStoreError('FREED', 'this EventStore was freed with free() and cannot be used any more');
      return this.#core;
    }
  }

  return { EventStore, EventStoreError, EventStoreConflictError };
}

module.exports = { createApi, EventStoreError, EventStoreConflictError };
