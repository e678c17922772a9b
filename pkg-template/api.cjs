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

/**
 * JSON.stringify(events) with a replacer that rejects what JSON would silently change:
 * BigInt and symbols, functions, NaN and infinities, undefined in arrays, invalid Dates, and
 * objects that are neither plain objects nor arrays (Map, Set, class instances...). Undefined
 * object members are dropped, as JSON does; values with toJSON (Date) are stored as its result.
 */
function encodeEvents(events) {
  if (!Array.isArray(events)) {
    throw invalid(`events must be an array of events, got ${describe(events)}`);
  }
  let index = 0;
  let problem;
  function replacer(key, value) {
    if (this === events) {
      index = key;
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
        problem = `events[${key}] must be a plain object, got ${describe(value)}`;
        throw problem;
      }
      return value;
    }
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value)) return value;
        break;
      case 'object':
        if (value === null) {
          if (this[key] instanceof Date) {
            problem = `events[${index}] holds an invalid Date at ${JSON.stringify(key)}`;
            throw problem;
          }
          return value;
        }
        if (Array.isArray(value) || isPlainObject(value)) return value;
        problem = `events[${index}] holds a ${value.constructor?.name ?? 'non-plain'} object at ${JSON.stringify(key)}; only plain objects, arrays and JSON primitives can be stored`;
        throw problem;
      case 'undefined':
        if (!Array.isArray(this)) return value; // a member left out, as JSON does
        break;
      default:
        break;
    }
    problem = `events[${index}] holds ${describe(value)} at ${JSON.stringify(key)}, which JSON cannot carry faithfully`;
    throw problem;
  }
  try {
    return JSON.stringify(events, replacer);
  } catch (error) {
    if (problem !== undefined && error === problem) throw invalid(problem);
    // Cycles, throwing getters, hostile proxies, nesting too deep for the stack.
    throw invalid(`events[${index}] cannot be serialised: ${error instanceof Error ? error.message : String(error)}`, error);
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

    constructor(options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw invalid(`options must be an object, got ${describe(options)}`);
      }
      const storage = options?.storage;
      try {
        // Without storage the in-memory core; with it, the core over the host's adapter (which
        // checks the adapter's shape and names a missing method).
        this.#core = storage === undefined
          ? new core.MemoryEventStore(randomBytes(32))
          : new core.AdapterEventStore(storage, randomBytes(32));
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
        version = await this.#core.append(aggregateId, expectedVersion, json, Date.now());
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
        json = await this.#core.load(aggregateId, after);
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
        version = await this.#core.version(aggregateId);
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
      this.#core.free();
    }
  }

  return { EventStore, EventStoreError, EventStoreConflictError };
}

module.exports = { createApi, EventStoreError, EventStoreConflictError };
