// The error classes every entry point shares, and the translation of the core's errors into them.
//
// ERROR_CODES is the JS list of the codes an EventStoreError can carry; tests/error_codes.rs
// checks it against the core's ErrorCode, index.d.ts and the README.

/** Every `code` an EventStoreError can carry. */
export const ERROR_CODES = Object.freeze(['INVALID_ARGUMENT', 'CONFLICT', 'STORAGE', 'CORRUPT', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'LOCKED', 'FREED', 'NOT_INITIALIZED', 'NETWORK', 'INTERNAL']);

const KNOWN_CODES = new Set(ERROR_CODES);

// The codes of the core's errors that become an EventStoreError as they are.
const PLAIN_CODES = new Set(['INVALID_ARGUMENT', 'STORAGE', 'CORRUPT', 'UNSUPPORTED', 'OUT_OF_MEMORY']);

/** Base class of every error the store reports. `code` says what kind of failure it is. */
export class EventStoreError extends Error {
  /**
   * `code`: one of ERROR_CODES (a TypeError otherwise: `new EventStoreError('disk full')` is a
   * mistake, not an error with code 'disk full'); `options.cause` as for Error.
   */
  constructor(code, message, options) {
    if (!KNOWN_CODES.has(code)) {
      throw new TypeError(`EventStoreError: the code must be one of ${ERROR_CODES.join(', ')}, got ${describe(code)}; ` +
        'the message comes second: new EventStoreError(code, message, { cause })');
    }
    super(message, options);
    this.name = 'EventStoreError';
    this.code = code;
  }
}

/** The stream was not at the expected version; nothing was written. */
export class EventStoreConflictError extends EventStoreError {
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

export function invalid(message, cause) {
  return new EventStoreError('INVALID_ARGUMENT', message, cause === undefined ? undefined : { cause });
}

/**
 * A core error (a plain Error with `code`) as the public typed error. `uncoded(error)`, if
 * given, may name what a call's error without one of our codes means (else it is INTERNAL).
 */
export function fromCore(error, uncoded) {
  try {
    return fromCoreUnguarded(error, uncoded);
  } catch (unreadable) {
    return new EventStoreError('INTERNAL', `internal error in the event store: ${messageOf(error)}`, { cause: unreadable });
  }
}

function fromCoreUnguarded(error, uncoded) {
  if (error instanceof EventStoreError) return error;
  const code = error !== null && typeof error === 'object' ? error.code : undefined;
  if (code === 'CONFLICT') {
    return new EventStoreConflictError(error.aggregateId, error.expectedVersion, error.actualVersion);
  }
  if (PLAIN_CODES.has(code)) {
    const wrapped = new EventStoreError(code, error.message, error.cause === undefined ? undefined : { cause: error.cause });
    if (error.aggregateId !== undefined) wrapped.aggregateId = error.aggregateId;
    if (error.version !== undefined) wrapped.version = error.version;
    if (error.position !== undefined) wrapped.position = error.position;
    return wrapped;
  }
  const named = uncoded?.(error); // not one of ours: maybe the caller can say what it means
  if (named !== undefined) return named;
  // A wasm trap or anything unforeseen: still an EventStoreError, never a raw value.
  return new EventStoreError('INTERNAL', `internal error in the event store: ${messageOf(error)}`, { cause: error });
}

/** Describes a value for a message without trusting it: proxies and getters may throw. */
export function describe(value) {
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
export function messageOf(error) {
  try {
    if (typeof error?.message === 'string') return error.message;
    return String(error);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * A load whose JSON the glue could not make into one JS string (V8 strings hold at most about
 * 2^29 UTF-16 units): out of memory for this caller, with what to do about it.
 */
export function tooLongForAString(error) {
  if (!isStringTooLong(error)) return undefined;
  return new EventStoreError('OUT_OF_MEMORY', 'out of memory: the events asked for are too large for one JS string ' +
    `(${messageOf(error)}); load them in parts: loadEvents(id, fromVersion, { limit })`, { cause: error });
}

/**
 * Whether `error` says a string would be too long: V8's RangeError ("Invalid string length"),
 * Node's TextDecoder's ERR_STRING_TOO_LONG, Firefox's InternalError.
 */
export function isStringTooLong(error) {
  try {
    return error instanceof RangeError || error?.code === 'ERR_STRING_TOO_LONG' || error?.name === 'InternalError';
  } catch {
    return false;
  }
}
