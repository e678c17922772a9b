// The checks of the store's arguments that only JS can make (types, lone surrogates, option
// names), shared by EventStore and Replica, which take the same arguments.
import { describe, invalid, messageOf } from './errors.mjs';

export function checkAggregateId(aggregateId) {
  // Emptiness is the core's check; only JS can tell a string from other types, and strings with
  // lone surrogates would silently change on their way into UTF-8.
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw invalid(`aggregateId must be a non-empty string, got ${describe(aggregateId)}`);
  }
  if (!aggregateId.isWellFormed()) {
    throw invalid('aggregateId must be a well-formed Unicode string (it has a lone surrogate)');
  }
}

/**
 * The members of an options object, each read once: unknown names are refused (a misspelt
 * option must not be ignored silently). `method` names the call in messages.
 */
export function readOptions(options, names, method) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalid(`options must be an object, got ${describe(options)}`);
  const read = {};
  let keys;
  try {
    keys = Object.keys(options);
  } catch (error) {
    throw invalid(`options cannot be read: ${messageOf(error)}`, error);
  }
  for (const key of keys) {
    if (!names.includes(key)) {
      throw invalid(`options.${key} is not an option of ${method}; it takes ${names.map((n) => `options.${n}`).join(', ')}`);
    }
  }
  for (const name of names) {
    try {
      read[name] = options[name];
    } catch (error) {
      throw invalid(`options.${name} cannot be read: ${messageOf(error)}`, error);
    }
  }
  return read;
}

/** options.limit of a load as the core takes it: -1 for none; the core checks the rest. */
export function limitArgument(options, method) {
  const { limit } = readOptions(options, ['limit'], method);
  if (limit === undefined) return -1;
  if (typeof limit !== 'number' || limit === -1) {
    throw invalid(`options.limit must be a positive integer, got ${describe(limit)}`);
  }
  return limit;
}

/** A position argument: undefined or null for "from the start", else a safe integer. */
export function positionArgument(value, name) {
  if (value === undefined || value === null) return -1;
  if (!Number.isSafeInteger(value)) {
    throw invalid(`${name} must be a safe integer (negative: from the start), null or undefined, got ${describe(value)}`);
  }
  return value;
}

export function fromVersionArgument(fromVersion) {
  if (fromVersion === undefined || fromVersion === null) return -1;
  if (typeof fromVersion !== 'number') {
    throw invalid(`fromVersion must be an integer, null or undefined, got ${describe(fromVersion)}`);
  }
  return fromVersion;
}

/**
 * expectedVersion's type (the core checks its range): a number, with a hint for the null that
 * getCurrentVersion answers for a new stream.
 */
export function checkExpectedVersionType(expectedVersion) {
  if (typeof expectedVersion !== 'number') {
    const hint = expectedVersion === null || expectedVersion === undefined
      ? ' (use -1 for a stream that does not exist yet: getCurrentVersion answers null for it)'
      : '';
    throw invalid(`expectedVersion must be an integer from -1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(expectedVersion)}${hint}`);
  }
}
