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
  const message = error instanceof Error ? error.message : String(error);
  return new EventStoreError('INTERNAL', `internal error in the event store: ${message}`, { cause: error });
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return value === '' ? 'an empty string' : 'a string';
    case 'number': return String(value);
    case 'bigint': return `a bigint (${value}n)`;
    case 'undefined': return 'undefined';
    default: return `a ${typeof value}`;
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
// The common case is checked by a plain walk (checkValue) followed by one JSON.stringify without
// a replacer, which keeps V8's fast serialiser. Values nested deeper than FAST_DEPTH (or cyclic)
// go through the replacer path, which is slower but reports cycles precisely.
const FAST_DEPTH = 64;

class Unfaithful {
  constructor(message) { this.message = message; }
}
const TOO_DEEP = new Unfaithful('too deep for the fast check');

function unfaithful(value, key) {
  const what = value !== null && typeof value === 'object'
    ? `a ${value.constructor?.name ?? 'non-plain'} object`
    : describe(value);
  return new Unfaithful(`holds ${what} at ${JSON.stringify(String(key))}, which JSON cannot carry faithfully (only plain objects, arrays, finite numbers, strings, booleans and null)`);
}

function checkValue(value, key, depth, inArray) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      break;
    case 'undefined':
      if (!inArray) return; // a member left out, as JSON does
      break;
    case 'object': {
      if (value === null) return;
      if (depth > FAST_DEPTH) throw TOO_DEEP;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkValue(value[i], i, depth + 1, true);
        return;
      }
      if (isPlainObject(value)) {
        for (const member in value) checkValue(value[member], member, depth + 1, false);
        return;
      }
      if (typeof value.toJSON === 'function') {
        if (value instanceof Date && Number.isNaN(value.getTime())) {
          throw new Unfaithful(`holds an invalid Date at ${JSON.stringify(String(key))}`);
        }
        checkValue(value.toJSON(String(key)), key, depth + 1, inArray);
        return;
      }
      break;
    }
    default:
      break;
  }
  throw unfaithful(value, key);
}

/** JSON.stringify with the same checks as checkValue, through a replacer: for the deep cases. */
function stringifyChecked(events, at) {
  return JSON.stringify(events, function replacer(key, value) {
    if (this === events) {
      at.index = Number(key);
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
        throw new Unfaithful(`must be a plain object, got ${describe(value)}`);
      }
      return value;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isPlainObject(value)) {
      throw unfaithful(value, key);
    }
    if (value === null && this[key] instanceof Date) throw new Unfaithful(`holds an invalid Date at ${JSON.stringify(key)}`);
    if (value === null || typeof value === 'object') return value;
    checkValue(value, key, 0, Array.isArray(this));
    return value;
  });
}

/** The batch as JSON text, or an INVALID_ARGUMENT error naming the event's index. */
function encodeEvents(events) {
  if (!Array.isArray(events)) {
    throw invalid(`events must be an array of events, got ${describe(events)}`);
  }
  const at = { index: 0 };
  try {
    try {
      for (; at.index < events.length; at.index++) {
        const event = events[at.index];
        if (event === null || typeof event !== 'object' || Array.isArray(event) || !isPlainObject(event)) {
          throw new Unfaithful(`must be a plain object, got ${describe(event)}`);
        }
        for (const member in event) checkValue(event[member], member, 1, false);
      }
      return JSON.stringify(events);
    } catch (error) {
      if (error !== TOO_DEEP) throw error;
      return stringifyChecked(events, at);
    }
  } catch (error) {
    if (error instanceof Unfaithful) throw invalid(`events[${at.index}] ${error.message}`);
    // Cycles, throwing getters, hostile proxies, nesting too deep for the stack.
    throw invalid(`events[${at.index}] cannot be serialised: ${error instanceof Error ? error.message : String(error)}`, error);
  }
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
  class EventStore {
    #core;
    // True over a host adapter: the core's methods then return Promises. The in-memory core
    // answers synchronously, and awaiting its plain values would only cost a microtask.
    #suspends;

    constructor(options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw invalid(`options must be an object, got ${describe(options)}`);
      }
      const storage = options?.storage;
      try {
        // Without storage the in-memory core; with it, the core over the host's adapter (which
        // checks the adapter's shape and names a missing method).
        this.#suspends = storage !== undefined;
        this.#core = this.#suspends
          ? new core.AdapterEventStore(storage, randomBytes(32))
          : new core.MemoryEventStore(randomBytes(32));
      } catch (error) {
        throw fromCore(error);
      }
    }

    /** Appends `events` if the stream is at `expectedVersion`; resolves to the new version. */
    async appendEvents(aggregateId, expectedVersion, events) {
      checkAggregateId(aggregateId);
      if (typeof expectedVersion !== 'number') {
        throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}`);
      }
      const json = encodeEvents(events);
      let version;
      try {
        version = this.#live().append(aggregateId, expectedVersion, json, Date.now());
        if (this.#suspends) version = await version;
      } catch (error) {
        throw fromCore(error);
      }
      return version < 0 ? null : version;
    }

    /** The events with version > fromVersion (all when omitted), oldest first. */
    async loadEvents(aggregateId, fromVersion) {
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
      this.#core?.free();
      this.#core = undefined;
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
