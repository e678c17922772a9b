'use strict';
// The public JS API over the wasm core, independent of how the wasm was loaded.
//
// What lives here and why: JS-only checks (typeof, and what JSON cannot carry faithfully, which
// only JS can see), the batch's JSON written as UTF-8 while those checks read it (the copy that
// isolates the store from callers; reading JS values from wasm would cost a crossing per value),
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

// What JSON.stringify would silently change is rejected: BigInt and symbols, functions, NaN and
// infinities, undefined in arrays, invalid Dates, and objects that are neither plain objects nor
// arrays (Map, Set, class instances...). Undefined object members are dropped, as JSON does;
// values with toJSON (Date) are stored as its result.
//
// The batch's JSON is written as UTF-8 straight into a byte buffer in the one pass that reads
// and checks it (writeValue): byte for byte what JSON.stringify and TextEncoder would make of the
// same values, without building a checked copy of the batch, the JSON string and then its UTF-8
// (measured on the benchmark event: 0.33 µs instead of 0.93 µs). Every value is read exactly
// once, so a getter, proxy or toJSON that answers differently on a second read cannot slip past
// the checks, and runs once. The writer recurses (two frames per level), so nesting is limited
// to MAX_DEPTH levels, which also stops a cycle without tracking the containers on the way
// down. 1,000 levels take about 0.4 MB of V8's 1 MB stack before the code is optimised; a
// caller deeper in the stack than that may see a stack overflow first, which is also rejected
// as INVALID_ARGUMENT.
const MAX_DEPTH = 1000;

class Unfaithful {
  constructor(message) { this.message = message; }
}

function unfaithful(value, key) {
  return new Unfaithful(`holds ${describe(value)} at ${JSON.stringify(String(key))}, which JSON cannot carry faithfully (only plain objects, arrays, finite numbers, strings, booleans and null)`);
}

function invalidDate(key) {
  return new Unfaithful(`holds an invalid Date at ${JSON.stringify(String(key))}`);
}

/** Bytes written so far into a growable buffer: `array` holds them up to `length`. */
class Bytes {
  constructor(capacity) {
    this.array = new Uint8Array(capacity);
    this.length = 0;
  }
}

/** Makes room for `extra` more bytes. */
function reserve(out, extra) {
  const needed = out.length + extra;
  if (needed > out.array.length) {
    const array = new Uint8Array(Math.max(needed, 2 * out.array.length));
    array.set(out.array.subarray(0, out.length));
    out.array = array;
  }
}

/** Appends a string known to be ASCII (a number, a literal, punctuation). */
function writeAscii(out, text) {
  const length = text.length;
  reserve(out, length);
  const array = out.array;
  let at = out.length;
  for (let i = 0; i < length; i++) array[at++] = text.charCodeAt(i);
  out.length = at;
}

function writeByte(out, byte) {
  reserve(out, 1);
  out.array[out.length++] = byte;
}

const encoder = new TextEncoder();

/** Appends `text`'s UTF-8 (a well-formed string). */
function writeUtf8(out, text) {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  reserve(out, 3 * text.length);
  out.length += encoder.encodeInto(text, out.array.subarray(out.length)).written;
}

// JSON.stringify's two-character escapes, by code unit; the other control characters and lone
// surrogates are written as \u followed by four lowercase hex digits.
const SHORT_ESCAPES = new Map([[0x08, 0x62], [0x09, 0x74], [0x0a, 0x6e], [0x0c, 0x66], [0x0d, 0x72], [0x22, 0x22], [0x5c, 0x5c]]);
const HEX = '0123456789abcdef';
// What a string needs escaped in JSON: `"`, `\`, control characters (lone surrogates are
// found by isWellFormed).
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
// Longer strings are copied by native code (TextEncoder) rather than unit by unit in JS.
const LONG_STRING = 128;

/** Appends `text` as a JSON string literal, as JSON.stringify writes it, in UTF-8. */
function writeString(out, text) {
  const length = text.length;
  if (length > LONG_STRING) {
    writeLongString(out, text);
    return;
  }
  // At most 6 bytes per UTF-16 unit (an escape), and the quotes.
  reserve(out, 6 * length + 2);
  const array = out.array;
  let at = out.length;
  array[at++] = 0x22; // "
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      if (unit >= 0x20 && unit !== 0x22 && unit !== 0x5c) {
        array[at++] = unit; // printable ASCII: the common case
      } else {
        at = writeEscape(array, at, unit);
      }
    } else if (unit < 0x800) {
      array[at++] = 0xc0 | (unit >> 6);
      array[at++] = 0x80 | (unit & 0x3f);
    } else if (unit < 0xd800 || unit > 0xdfff) {
      array[at++] = 0xe0 | (unit >> 12);
      array[at++] = 0x80 | ((unit >> 6) & 0x3f);
      array[at++] = 0x80 | (unit & 0x3f);
    } else {
      // A surrogate: with its low half, one code point in 4 bytes; alone, escaped.
      const low = text.charCodeAt(i + 1); // NaN past the end
      if (unit <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        const point = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        array[at++] = 0xf0 | (point >> 18);
        array[at++] = 0x80 | ((point >> 12) & 0x3f);
        array[at++] = 0x80 | ((point >> 6) & 0x3f);
        array[at++] = 0x80 | (point & 0x3f);
        i++;
      } else {
        at = writeEscape(array, at, unit);
      }
    }
  }
  array[at++] = 0x22;
  out.length = at;
}

/** Writes the JSON escape of a code unit at `at`; returns where it ends. */
function writeEscape(array, at, unit) {
  array[at++] = 0x5c; // \
  const short = SHORT_ESCAPES.get(unit);
  if (short !== undefined) {
    array[at++] = short;
    return at;
  }
  array[at++] = 0x75; // u
  array[at++] = HEX.charCodeAt(unit >> 12);
  array[at++] = HEX.charCodeAt((unit >> 8) & 0xf);
  array[at++] = HEX.charCodeAt((unit >> 4) & 0xf);
  array[at++] = HEX.charCodeAt(unit & 0xf);
  return at;
}

/** writeString for long strings: native checks and copies. */
function writeLongString(out, text) {
  if (NEEDS_ESCAPE.test(text) || !text.isWellFormed()) {
    writeUtf8(out, JSON.stringify(text));
  } else {
    writeByte(out, 0x22);
    writeUtf8(out, text);
    writeByte(out, 0x22);
  }
}

const dateGetTime = Date.prototype.getTime;

/** Whether `value` is a Date (of any realm: an iframe's, a vm context's) holding no time. */
function isInvalidDate(value) {
  try {
    return Number.isNaN(dateGetTime.call(value));
  } catch {
    return false; // not a Date
  }
}

/**
 * Appends the value's JSON, checked; false (writing nothing) for a member JSON leaves out.
 * `key` names the value in messages; `inArray`: undefined is an error there, not left out.
 */
function writeValue(out, value, key, depth, inArray) {
  if (typeof value === 'object' && value !== null) {
    // JSON calls one toJSON per value and takes what it returns as it is (a Date returned
    // would become {}, so it is rejected below like other objects that are not plain).
    const toJSON = value.toJSON;
    if (typeof toJSON === 'function') {
      const result = toJSON.call(value, String(key));
      // An invalid Date's toJSON answers null, which would store a value that was not there.
      if (result === null && isInvalidDate(value)) throw invalidDate(key);
      value = result;
    }
  }
  switch (typeof value) {
    case 'string':
      writeString(out, value);
      return true;
    case 'boolean':
      writeAscii(out, value ? 'true' : 'false');
      return true;
    case 'number':
      if (!Number.isFinite(value)) break;
      // JSON writes a finite number as String does (-0 as 0).
      writeAscii(out, String(value));
      return true;
    case 'undefined':
      if (!inArray) return false; // a member left out, as JSON does
      break;
    case 'object': {
      if (value === null) {
        writeAscii(out, 'null');
        return true;
      }
      const isArray = Array.isArray(value);
      if (!isArray && !isPlainObject(value)) break;
      if (depth > MAX_DEPTH) {
        throw new Unfaithful(`nests containers more than ${MAX_DEPTH} levels deep (or holds a cycle) at ${JSON.stringify(String(key))}`);
      }
      if (isArray) writeElements(out, value, depth + 1);
      else writeMembers(out, value, depth + 1, undefined);
      return true;
    }
    default:
      break;
  }
  throw unfaithful(value, key);
}

/**
 * An array's length as JSON reads it (ToLength, one read): a proxy of an array may answer
 * anything, and looping on a fraction or an object would write other elements than JSON does.
 */
function lengthOf(array) {
  const length = array.length;
  if (Number.isSafeInteger(length) && length >= 0) return length; // every real array
  const whole = Math.trunc(+length); // throws on a BigInt or Symbol, as JSON does
  return whole > 0 ? Math.min(whole, Number.MAX_SAFE_INTEGER) : 0;
}

function writeElements(out, array, depth) {
  const length = lengthOf(array);
  writeByte(out, 0x5b); // [
  for (let i = 0; i < length; i++) {
    if (i > 0) writeByte(out, 0x2c); // ,
    writeValue(out, array[i], i, depth, true);
  }
  writeByte(out, 0x5d); // ]
}

/** `only`: when given, the members to write; the others are checked and left out. */
function writeMembers(out, object, depth, only) {
  writeByte(out, 0x7b); // {
  let empty = true;
  for (const member of Object.keys(object)) {
    const start = out.length;
    if (!empty) writeByte(out, 0x2c); // ,
    writeString(out, member);
    writeByte(out, 0x3a); // :
    const written = writeValue(out, object[member], member, depth, false);
    if (written && (only === undefined || only.has(member))) empty = false;
    else out.length = start; // left out: undefined (as JSON does), or not in `only`
  }
  writeByte(out, 0x7d); // }
}

// An event's members. Others are checked like the rest but not written: they are not part of
// an event (the core would skip them, and cannot decode a name with a lone surrogate).
const EVENT_MEMBERS = new Set(['type', 'data', 'metadata', 'eventId', 'occurredOn']);

const objectPrototype = Object.prototype;

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === objectPrototype || proto === null;
}

function isEvent(event) {
  return event !== null && typeof event === 'object' && !Array.isArray(event) && isPlainObject(event);
}

function isUnfaithful(error) {
  try {
    return error instanceof Unfaithful;
  } catch {
    return false; // a revoked proxy was thrown
  }
}

// The buffer batches are written into, between writes. A write takes it and gives it back when
// done; a write that starts while another runs (a getter of the batch called appendEvents)
// finds none and makes its own, so no two writes ever share one.
const KEPT_BYTES = 1 << 20; // a buffer grown beyond this by a huge batch is not kept
let idleBytes = new Bytes(4096);

function takeBytes() {
  const out = idleBytes ?? new Bytes(1024);
  idleBytes = undefined;
  out.length = 0;
  return out;
}

function giveBack(out) {
  if (out.array.length <= KEPT_BYTES) idleBytes = out;
}

/**
 * Writes the batch's JSON as UTF-8 into `out` (from its start), or throws an INVALID_ARGUMENT
 * error naming the event's index.
 */
function encodeEvents(events, out) {
  let index = -1; // the event being written, once events is known to be an array
  try {
    if (!Array.isArray(events)) {
      throw new Unfaithful(`must be an array of events, got ${describe(events)}`);
    }
    index = 0;
    const length = lengthOf(events);
    writeByte(out, 0x5b); // [
    for (; index < length; index++) {
      const event = events[index];
      if (!isEvent(event)) throw new Unfaithful(`must be a plain object, got ${describe(event)}`);
      if (index > 0) writeByte(out, 0x2c); // ,
      writeMembers(out, event, 1, EVENT_MEMBERS);
    }
    writeByte(out, 0x5d); // ]
  } catch (error) {
    const listed = index >= 0;
    if (isUnfaithful(error)) {
      throw invalid(listed ? `events[${index}] ${error.message}` : `events ${error.message}`);
    }
    // Throwing getters, hostile proxies, nesting too deep for the stack.
    throw invalid(listed ? `events[${index}] cannot be serialised: ${messageOf(error)}` : `events cannot be read: ${messageOf(error)}`, error);
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

/**
 * Reads a storage adapter's append() answer for the core: a fresh plain { ok, actualVersion,
 * type }, with `ok` and `actualVersion` left out unless they are a boolean and a number, and
 * `type` what the answer is (for messages). Never throws: the answer may be a hostile proxy.
 */
function readAppendAnswer(answer) {
  const type = answer === null ? 'null' : typeof answer;
  const read = { type };
  if (type === 'object' || type === 'function') {
    // Each member on its own: a getter that throws loses only its own member.
    const ok = readMember(answer, 'ok');
    const actualVersion = readMember(answer, 'actualVersion');
    if (typeof ok === 'boolean') read.ok = ok;
    if (typeof actualVersion === 'number') read.actualVersion = actualVersion;
  }
  return read;
}

/** `object[key]`, or undefined where reading it throws (a getter, a revoked proxy). */
function readMember(object, key) {
  try {
    return object[key];
  } catch {
    return undefined;
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
  const memory = core.wasmMemory();
  /**
   * Copies `text` from UTF-16 unit `from` as UTF-8 into the wasm memory at `address`, at most
   * `capacity` bytes, for the core (see JsStorage::utf8): [units read, bytes written].
   */
  const encodeIntoMemory = (text, from, address, capacity) => {
    const { read, written } = encoder.encodeInto(from === 0 ? text : text.slice(from), new Uint8Array(memory.buffer, address, capacity));
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
        throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}`);
      }
      const now = Date.now();
      const out = takeBytes();
      let version;
      try {
        encodeEvents(events, out);
        try {
          version = this.#suspends
            ? this.#live().append(aggregateId, expectedVersion, out.array.subarray(0, out.length), now)
            : this.#appendToMemory(aggregateId, expectedVersion, out, now);
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
     * The in-memory append: the batch's JSON (in `out`) and then the aggregate id's UTF-8 are
     * copied into the core's input buffer in one native copy, instead of wasm-bindgen
     * allocating in wasm and copying strings there character by character. The view is made
     * again when it no longer fits or the wasm memory grew (which detaches it).
     */
    #appendToMemory(aggregateId, expectedVersion, out, now) {
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
        view = new Uint8Array(memory.buffer, address, capacity);
        this.#input = view;
      }
      view.set(out.array.subarray(0, length));
      return core.append_input(expectedVersion, jsonLength, length, now);
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
