// The log of FileStorage: one append-only file, `events.log`. Each write is a single frame:
//
//   [u32 LE body length][u32 LE CRC-32 of the body][body: UTF-8 JSON]
//   body = [{ "id": aggregateId, "from": firstVersion, "payloads": [payload, ...] }, ...]
//
// so a batch of events, and every group of appends, is all-or-nothing. The log starts with an
// 8-byte signature ("WESLOG1\n").
//
// Recovery. open() reads and checks every frame and keeps the streams in memory (load() and
// version() answer from memory, synchronously). A crash (kill -9, power loss) can only tear the
// last write: if the log ends with an incomplete or damaged frame and no valid frame follows it,
// those bytes were never acknowledged; they are cut off the file and their size is reported in
// `storage.recovery.discardedBytes`. A damaged frame with a valid frame after it is not a torn
// write but corruption: open() then rejects and changes nothing, so no acknowledged event is ever
// dropped silently.
import fsp from 'node:fs/promises';
import path from 'node:path';

import { crc32 } from './crc32.mjs';
import { failure, readFully, Reader, READ_CHUNK, syncDirectory, writeFully } from './files.mjs';

const LOG_NAME = 'events.log';
const SIGNATURE = Buffer.from('WESLOG1\n', 'latin1');
const HEADER = 8; // u32 length + u32 crc
const OPEN_BRACKET = 0x5b; // '[' starts every body
const CLOSE_BRACKET = 0x5d; // ']' ends it
const MAX_BODY = 0xffffffff;

/** The frame of one write: header (body length, CRC-32 of the body) and body. */
export function frameOf(body) {
  if (body.length > MAX_BODY) throw failure(`an append group of ${body.length} bytes is too large for one frame`);
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUInt32LE(crc32(body), 4);
  body.copy(frame, HEADER);
  return frame;
}

async function createLog(directory, logPath) {
  const temporary = `${logPath}.tmp`;
  const handle = await fsp.open(temporary, 'w');
  try {
    await writeFully(handle, SIGNATURE, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temporary, logPath);
  await syncDirectory(directory);
}

function corrupt(logPath, position, reason) {
  const error = failure(`the log ${logPath} is corrupt at byte ${position}: ${reason}. ` +
    'Nothing was changed; restore the directory from a backup, or cut the log at that byte ' +
    'yourself if losing what follows is acceptable');
  error.code = 'CORRUPT';
  error.offset = position;
  return error;
}

/** The frame at `position`: { length, text } when it is whole and its checksum matches, else { problem }. */
async function readFrame(reader, position, size) {
  if (position + HEADER > size) return { problem: `an incomplete frame header (${size - position} bytes)` };
  const header = await reader.bytes(position, HEADER);
  const length = header.readUInt32LE(0);
  const checksum = header.readUInt32LE(4);
  if (length === 0) return { problem: 'a frame with an empty body' };
  if (position + HEADER + length > size) {
    return { problem: `a frame of ${length} bytes running ${position + HEADER + length - size} bytes past the end of the file` };
  }
  const body = await reader.bytes(position + HEADER, length);
  if (crc32(body) !== checksum) return { problem: 'a frame whose checksum does not match its body' };
  return { length, text: body.toString('utf8') };
}

/** The position of the first valid frame starting in [from, size), or -1. */
async function findValidFrame(handle, from, size) {
  const reader = new Reader(handle, size);
  let position = from;
  while (position + HEADER + 2 <= size) {
    const window = await reader.bytes(position, Math.min(READ_CHUNK, size - position));
    const last = window.length - (HEADER + 1); // the header and the body's first byte are in the window
    for (let i = 0; i <= last; i++) {
      if (window[i + HEADER] !== OPEN_BRACKET) continue;
      const length = window.readUInt32LE(i);
      const start = position + i;
      if (length < 2 || start + HEADER + length > size) continue;
      const body = await readFully(handle, start + HEADER, length);
      if (body[length - 1] === CLOSE_BRACKET && crc32(body) === window.readUInt32LE(i + 4)) return start;
    }
    position += last + 1;
  }
  return -1;
}

/** Adds a frame's appends to the index, checking that each continues its stream. */
function applyFrame(index, text, logPath, position) {
  let entries;
  try {
    entries = JSON.parse(text);
  } catch (error) {
    throw corrupt(logPath, position, `a frame with a valid checksum holds invalid JSON (${error.message})`);
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    throw corrupt(logPath, position, 'a frame with a valid checksum does not hold a list of appends');
  }
  for (const entry of entries) {
    const valid = entry !== null && typeof entry === 'object' &&
      typeof entry.id === 'string' && entry.id !== '' &&
      Number.isSafeInteger(entry.from) &&
      Array.isArray(entry.payloads) && entry.payloads.length > 0 &&
      entry.payloads.every((payload) => typeof payload === 'string');
    if (!valid) throw corrupt(logPath, position, 'a frame with a valid checksum holds a malformed append');
    let stream = index.get(entry.id);
    const length = stream === undefined ? 0 : stream.length;
    if (entry.from !== length) {
      throw corrupt(logPath, position, `an append to stream ${JSON.stringify(entry.id)} at version ${entry.from}, ` +
        `but the stream's next version is ${length}`);
    }
    if (stream === undefined) {
      stream = [];
      index.set(entry.id, stream);
    }
    for (const payload of entry.payloads) stream.push(payload);
  }
}

/**
 * Opens (creating if needed) the log, checks every frame and cuts off a torn tail:
 * { handle, logPath, index, length, discardedBytes }.
 */
export async function openLog(directory) {
  const logPath = path.join(directory, LOG_NAME);
  await fsp.rm(`${logPath}.tmp`, { force: true }); // a creation interrupted before its rename
  let handle;
  try {
    handle = await fsp.open(logPath, 'r+');
  } catch (error) {
    if (error.code !== 'ENOENT') throw failure(`cannot open the log ${logPath}: ${error.message}`, error);
    await createLog(directory, logPath);
    handle = await fsp.open(logPath, 'r+');
  }
  try {
    const { size } = await handle.stat();
    if (size < SIGNATURE.length) {
      // Only an empty file or a prefix of the signature can be (re)initialised: nothing to lose.
      const head = size === 0 ? Buffer.alloc(0) : await readFully(handle, 0, size);
      if (!head.equals(SIGNATURE.subarray(0, size))) {
        throw failure(`${logPath} is not a FileStorage log (it does not start with the signature)`);
      }
      await writeFully(handle, SIGNATURE, 0);
      await handle.sync();
      return { handle, logPath, index: new Map(), length: SIGNATURE.length, discardedBytes: 0 };
    }
    const head = await readFully(handle, 0, SIGNATURE.length);
    if (!head.equals(SIGNATURE)) {
      throw failure(`${logPath} is not a FileStorage log (it does not start with the signature)`);
    }
    const index = new Map();
    const reader = new Reader(handle, size);
    let position = SIGNATURE.length;
    while (position < size) {
      const frame = await readFrame(reader, position, size);
      if (frame.problem !== undefined) {
        const next = await findValidFrame(handle, position + 1, size);
        if (next !== -1) {
          throw corrupt(logPath, position, `${frame.problem}, followed by a valid frame at byte ${next}`);
        }
        break; // a torn tail: nothing valid follows
      }
      applyFrame(index, frame.text, logPath, position);
      position += HEADER + frame.length;
    }
    const discardedBytes = size - position;
    if (discardedBytes > 0) {
      await handle.truncate(position);
      await handle.sync();
    }
    return { handle, logPath, index, length: position, discardedBytes };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}
