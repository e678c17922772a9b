// A growable buffer of UTF-8 bytes, which the JSON writer writes a batch into and the in-memory
// append copies into the wasm memory from, and the one idle buffer kept between appends.

/** Bytes written so far into a growable buffer: `array` holds them up to `length`. */
export class Bytes {
  constructor(capacity) {
    this.array = new Uint8Array(capacity);
    this.length = 0;
  }
}

/** Makes room for `extra` more bytes. */
export function reserve(out, extra) {
  const needed = out.length + extra;
  if (needed > out.array.length) {
    const array = new Uint8Array(Math.max(needed, 2 * out.array.length));
    array.set(out.array.subarray(0, out.length));
    out.array = array;
  }
}

/** Appends a string known to be ASCII (a number, a literal, punctuation). */
export function writeAscii(out, text) {
  const length = text.length;
  reserve(out, length);
  const array = out.array;
  let at = out.length;
  for (let i = 0; i < length; i++) array[at++] = text.charCodeAt(i);
  out.length = at;
}

export function writeByte(out, byte) {
  reserve(out, 1);
  out.array[out.length++] = byte;
}

export const encoder = new TextEncoder();

/** Appends `text`'s UTF-8 (a well-formed string). */
export function writeUtf8(out, text) {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  reserve(out, 3 * text.length);
  out.length += encoder.encodeInto(text, out.array.subarray(out.length)).written;
}

// The buffer batches are written into, between writes. A write takes it and gives it back when
// done; a write that starts while another runs (a getter of the batch called appendEvents)
// finds none and makes its own, so no two writes ever share one.
export const KEPT_BYTES = 1 << 20; // a buffer grown beyond this by a huge batch is not kept
let idleBytes = new Bytes(4096);

export function takeBytes() {
  const out = idleBytes ?? new Bytes(1024);
  idleBytes = undefined;
  out.length = 0;
  return out;
}

export function giveBack(out) {
  if (out.array.length <= KEPT_BYTES) idleBytes = out;
}

