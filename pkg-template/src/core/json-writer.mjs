// The batch's JSON, written as UTF-8 while it is checked.
//
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
import { reserve, writeAscii, writeByte, writeUtf8 } from './bytes.mjs';
import { describe, invalid, messageOf } from './errors.mjs';

const MAX_DEPTH = 1000;

/**
 * Why a value cannot be written: `problem` is said of the value, whose place is `path` (the keys
 * from the value up to its event, innermost first: each container adds its own on the way out,
 * so nothing is spent on paths until something is wrong). `cause`: what was thrown, if anything.
 */
class Unfaithful {
  constructor(problem, cause) {
    this.problem = problem;
    this.path = [];
    this.cause = cause;
  }
}

function unfaithful(value) {
  return new Unfaithful(`is ${describe(value)}, which JSON cannot carry faithfully (only plain objects, arrays, finite numbers, strings, booleans and null)`);
}

/** What was thrown while reading, as an Unfaithful: itself, or "cannot be read" with it as cause. */
function asUnfaithful(error) {
  return isUnfaithful(error) ? error : new Unfaithful(`cannot be read: ${messageOf(error)}`, error);
}

/** `error` with `key` added to its path. */
function within(error, key) {
  const problem = asUnfaithful(error);
  problem.path.push(key);
  return problem;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
// Paths longer than this are shortened in messages (a cycle makes a path of 1,000 keys): the
// first HEAD_KEYS and the last TAIL_KEYS are shown. Keys longer than KEY_CHARS are cut too.
const HEAD_KEYS = 8;
const TAIL_KEYS = 4;
const KEY_CHARS = 40;

/** `events[2].data.order.lines[0]["unit price"]`, from the keys innermost first. */
function pathText(index, innermostFirst) {
  const keys = innermostFirst.slice().reverse();
  const segment = (key) => {
    if (typeof key === 'number') return `[${key}]`;
    const shown = key.length > KEY_CHARS ? `${key.slice(0, KEY_CHARS)}…` : key;
    return IDENTIFIER.test(key) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
  };
  const shown = keys.length <= HEAD_KEYS + TAIL_KEYS ? keys.map(segment) : [
    ...keys.slice(0, HEAD_KEYS).map(segment),
    `…(${keys.length - HEAD_KEYS - TAIL_KEYS} more)…`,
    ...keys.slice(-TAIL_KEYS).map(segment),
  ];
  return `events[${index}]${shown.join('')}`;
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
      if (result === null && isInvalidDate(value)) throw new Unfaithful('is an invalid Date');
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
        throw new Unfaithful(`nests containers more than ${MAX_DEPTH} levels deep (or holds a cycle)`);
      }
      if (isArray) writeElements(out, value, depth + 1);
      else writeMembers(out, value, depth + 1, undefined);
      return true;
    }
    default:
      break;
  }
  throw unfaithful(value);
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
  let i = 0;
  try {
    for (; i < length; i++) {
      if (i > 0) writeByte(out, 0x2c); // ,
      writeValue(out, array[i], i, depth, true);
    }
  } catch (error) {
    throw within(error, i);
  }
  writeByte(out, 0x5d); // ]
}

/** `only`: when given, the members to write; the others are checked and left out. */
function writeMembers(out, object, depth, only) {
  writeByte(out, 0x7b); // {
  let empty = true;
  let member;
  try {
    for (member of Object.keys(object)) {
      const start = out.length;
      if (!empty) writeByte(out, 0x2c); // ,
      writeString(out, member);
      writeByte(out, 0x3a); // :
      const written = writeValue(out, object[member], member, depth, false);
      if (written && (only === undefined || only.has(member))) empty = false;
      else out.length = start; // left out: undefined (as JSON does), or not in `only`
    }
  } catch (error) {
    // Before the first member (Object.keys of a hostile proxy) the object itself is the place.
    if (member === undefined) throw error;
    throw within(error, member);
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

/**
 * Writes the batch's JSON as UTF-8 into `out` (from its start) and returns how many events it
 * wrote, or throws an INVALID_ARGUMENT error naming the event's index.
 */
export function encodeEvents(events, out) {
  let index = -1; // the event being written, once events is known to be an array
  try {
    if (!Array.isArray(events)) {
      throw new Unfaithful(`must be an array of events, got ${describe(events)}`);
    }
    const length = lengthOf(events); // a proxy's length may throw: that is "events", no index
    index = 0;
    writeByte(out, 0x5b); // [
    for (; index < length; index++) {
      const event = events[index];
      if (!isEvent(event)) throw new Unfaithful(`must be a plain object, got ${describe(event)}`);
      if (index > 0) writeByte(out, 0x2c); // ,
      writeMembers(out, event, 1, EVENT_MEMBERS);
    }
    writeByte(out, 0x5d); // ]
    return length;
  } catch (error) {
    // Throwing getters, hostile proxies, nesting too deep for the stack: "cannot be read".
    const problem = asUnfaithful(error);
    const where = index >= 0 ? pathText(index, problem.path) : 'events';
    throw invalid(`${where} ${problem.problem}`, problem.cause);
  }
}
