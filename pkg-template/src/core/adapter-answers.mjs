// Readers of a storage adapter's answers, for the core (src/wasm/js_storage.rs): each reads an
// untrusted answer in JS, where a throwing getter or a hostile proxy is caught and reading a
// record costs no crossing into wasm, and hands plain values over. They never throw.
import { isStringTooLong, messageOf } from './errors.mjs';

/**
 * Reads a storage adapter's load() answer for the core: [every payload joined by NUL, the
 * versions, and why it stopped early if it did]. In JS each record is read without a crossing
 * into wasm, and the payloads then cross as one string. Never throws: the answer may be a
 * hostile proxy. The core still checks every version and payload; a NUL (which no JSON text
 * holds) would make payloads ambiguous, so one stops the reading here. The whole answer is read
 * before the core checks the first record: an adapter that answers a huge array pays for it.
 */
export function readRecords(answer) {
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
  let text;
  try {
    text = payloads.join('\u0000');
  } catch (error) {
    // More payload text than one JS string holds: the answer is fine, it is only too big to
    // hand over at once. The fourth element tells the core to say so (OUT_OF_MEMORY).
    return ['', new Float64Array(0), undefined, isStringTooLong(error) ? messageOf(error) : undefined];
  }
  return [text, new Float64Array(versions), problem];
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

/** `object[key]`, or undefined where reading it throws (a getter, a revoked proxy). */
function readMember(object, key) {
  try {
    return object[key];
  } catch {
    return undefined;
  }
}

