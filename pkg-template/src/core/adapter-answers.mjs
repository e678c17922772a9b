// Readers of a storage adapter's answers, for the core (src/wasm/js_storage.rs): each reads an
// untrusted answer in JS, where a throwing getter or a hostile proxy is caught and reading a
// record costs no crossing into wasm, and hands plain values over. They never throw.
import { isStringTooLong, messageOf } from './errors.mjs';

// What readRecords reads of each record besides its version and payload (Wanted in
// src/wasm/adapter_reads.rs): 1 its position, 2 its position and its stream's id.
const POSITIONS = 1;
const PLACES = 2;

/**
 * Reads a storage adapter's load() or loadAll() answer (`method` names it in messages) for the
 * core: [every payload joined by NUL, the versions, why it stopped early if it did, undefined,
 * the positions (NaN where a record has none), the distinct stream ids, each record's index into
 * them]; the last three only as `mode` asks. In JS each record is read without a crossing into
 * wasm, and the payloads then cross as one string. Never throws: the answer may be a hostile
 * proxy. The core still checks every version, position and payload; a NUL (which no JSON text
 * holds) would make payloads ambiguous, so one stops the reading here. The whole answer is read
 * before the core checks the first record: an adapter that answers a huge array pays for it.
 */
export function readRecords(answer, method = 'load', mode = 0) {
  const payloads = [];
  const versions = [];
  const positions = mode >= POSITIONS ? [] : undefined;
  const ids = mode === PLACES ? [] : undefined;
  const idOf = mode === PLACES ? [] : undefined;
  const idIndex = mode === PLACES ? new Map() : undefined;
  let problem;
  try {
    const length = Array.isArray(answer) ? answer.length : undefined;
    if (!Number.isSafeInteger(length) || length < 0) {
      problem = `${method}() did not return an array of records`;
    } else {
      for (let i = 0; i < length; i++) {
        const record = answer[i];
        const isObject = record !== null && typeof record === 'object';
        const version = isObject ? record.version : undefined;
        const payload = isObject ? record.payload : undefined;
        if (typeof version !== 'number' || typeof payload !== 'string') {
          problem = `${method}() returned a record without an integer version and a string payload`;
          break;
        }
        if (payload.includes('\u0000')) {
          problem = `${method}() returned a payload with a NUL character, which no JSON text holds`;
          break;
        }
        if (positions !== undefined) {
          const position = record.position;
          positions.push(typeof position === 'number' ? position : NaN);
        }
        if (ids !== undefined) {
          const id = record.aggregateId;
          if (typeof id !== 'string' || id === '' || !id.isWellFormed()) {
            problem = `${method}() returned a record without an aggregateId (a non-empty, well-formed string)`;
            positions.pop();
            break;
          }
          let index = idIndex.get(id);
          if (index === undefined) {
            index = ids.length;
            ids.push(id);
            idIndex.set(id, index);
          }
          idOf.push(index);
        }
        versions.push(version);
        payloads.push(payload);
      }
    }
  } catch (error) {
    problem = `reading record ${payloads.length} of ${method}()'s answer threw: ${messageOf(error)}`;
    positions?.splice(payloads.length);
  }
  let text;
  try {
    text = payloads.join('\u0000');
  } catch (error) {
    // More payload text than one JS string holds: the answer is fine, it is only too big to
    // hand over at once. The fourth element tells the core to say so (OUT_OF_MEMORY).
    return ['', new Float64Array(0), undefined, isStringTooLong(error) ? messageOf(error) : undefined];
  }
  const read = [text, new Float64Array(versions), problem, undefined];
  if (positions !== undefined) read.push(new Float64Array(positions));
  if (ids !== undefined) read.push(ids, new Uint32Array(idOf));
  return read;
}

/**
 * Reads a storage adapter's append() answer for the core: a fresh plain { ok, actualVersion,
 * type }, with `ok` and `actualVersion` left out unless they are a boolean and a number, and
 * `type` what the answer is (for messages). Never throws: the answer may be a hostile proxy.
 */
export function readAppendAnswer(answer) {
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

/**
 * Whether `value` is a Promise (or any thenable), read without letting a getter throw out: an
 * adapter's answer, or what an app's handler returned.
 */
export function isThenable(value) {
  try {
    return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
  } catch {
    return false; // what cannot be read is reported by whoever reads it next
  }
}

/** `object[key]`, or undefined where reading it throws (a getter, a revoked proxy). */
function readMember(object, key) {
  try {
    return object[key];
  } catch {
    return undefined;
  }
}

