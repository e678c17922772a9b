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
// dropped silently. The cut bytes are not destroyed: they are moved to a file beside the log
// (`recovery.tailFile`). A crash can tear only the one write in flight, so a damaged tail that
// is provably more than that (more bytes than the frame its header declares, more than the
// largest write when that header is lost, or holding another frame) is corruption too. What
// cannot be told apart: a log cut exactly at a frame boundary (the frames after the cut are
// gone without a trace, as after a crash before they were written).
import fsp from 'node:fs/promises';
import path from 'node:path';

import { crc32 } from './crc32.mjs';
import { failure, GONE, identityAt, identityOf, readFully, Reader, READ_CHUNK, syncDirectory, writeFully } from './files.mjs';
import { LogIndex } from './index.mjs';

const LOG_NAME = 'events.log';
const SIGNATURE = Buffer.from('WESLOG1\n', 'latin1');
const HEADER = 8; // u32 length + u32 crc
const OPEN_BRACKET = 0x5b; // '[' starts every body
const CLOSE_BRACKET = 0x5d; // ']' ends it
const MAX_BODY = 0xffffffff;

/**
 * The writer groups appends into one frame while the group stays within this many bytes; an
 * append larger than this is written alone. A crash can tear only the write in flight, so a
 * damaged tail whose own frame header is lost must not be larger than this either.
 */
export const GROUP_BYTES = 8 * 1024 * 1024;

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
    'yourself (keeping a copy of what follows) if losing what follows is acceptable', undefined, 'CORRUPT');
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

/**
 * The position of the first frame starting in [from, size), or -1: a valid one (its checksum
 * matches), or with `anyChecksum` anything shaped like a frame (a length that fits the file, a
 * body from `[` to `]`), which no torn write leaves behind its own header.
 */
async function findFrame(handle, from, size, anyChecksum = false) {
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
      if (body[length - 1] === CLOSE_BRACKET && (anyChecksum || crc32(body) === window.readUInt32LE(i + 4))) return start;
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
    const length = index.version(entry.id) + 1;
    if (entry.from !== length) {
      throw corrupt(logPath, position, `an append to stream ${JSON.stringify(entry.id)} at version ${entry.from}, ` +
        `but the stream's next version is ${length}`);
    }
    index.add(entry.id, entry.payloads);
  }
}

/**
 * Why the damaged tail [position, size) cannot be the torn write of a crash, or null if it can.
 * A crash tears only the one write in flight, one frame: the tail must fit in the frame its
 * header declares (or, with that header cut or zero, in the largest write the writer makes), and
 * hold no other frame.
 */
async function notTorn(handle, reader, position, size) {
  const damaged = size - position;
  const declared = damaged >= HEADER ? (await reader.bytes(position, HEADER)).readUInt32LE(0) : 0;
  if (declared >= 2) {
    if (damaged > HEADER + declared) {
      return `${damaged} damaged bytes, more than the ${HEADER + declared} of the frame whose header starts them`;
    }
  } else if (damaged > HEADER + GROUP_BYTES) {
    return `${damaged} damaged bytes behind a frame header that is cut or zero, more than the one write ` +
      `in flight at a crash can leave (${HEADER + GROUP_BYTES} bytes at most)`;
  }
  const another = await findFrame(handle, position + 1, size, true);
  if (another !== -1) return `the damaged bytes hold another frame, at byte ${another}`;
  return null;
}

/** How many events a cut-off frame held, when its body is whole and decodes; else null. */
function eventsIn(tail) {
  if (tail.length < HEADER) return null;
  const length = tail.readUInt32LE(0);
  if (length < 2 || HEADER + length !== tail.length) return null;
  try {
    const entries = JSON.parse(tail.subarray(HEADER).toString('utf8'));
    if (!Array.isArray(entries)) return null;
    let events = 0;
    for (const entry of entries) {
      if (!Array.isArray(entry?.payloads)) return null;
      events += entry.payloads.length;
    }
    return events;
  } catch {
    return null;
  }
}

/**
 * Moves the torn tail [position, size) out of the log: copied into a new file beside it (made
 * durable first), then cut off the log. Evidence is never destroyed: if the tail was not a torn
 * write after all, the side file still holds it. Returns what `recovery` reports of it.
 */
async function moveTail(handle, directory, logPath, position, size) {
  const tailPath = `${logPath}.tail-${position}-${Date.now()}`;
  const tail = await readFully(handle, position, size - position);
  let side;
  try {
    side = await fsp.open(tailPath, 'wx');
    await writeFully(side, tail, 0);
    await side.sync();
  } catch (error) {
    throw failure(`cannot keep the torn tail of ${logPath} (${tail.length} bytes at byte ${position}) in ${tailPath}: ` +
      `${error.message}; nothing was changed`, error);
  } finally {
    await side?.close();
  }
  await syncDirectory(directory);
  await handle.truncate(position);
  await handle.sync();
  return { tailFile: tailPath, discardedAt: position, discardedEvents: eventsIn(tail) };
}

/**
 * Whether `logPath` still names the open log, whose identity (see identityOf) is `identity`:
 * not deleted, renamed or replaced, its directory still there. One stat of the path.
 */
export async function stillAt(logPath, identity, handle) {
  try {
    const now = identityAt(logPath);
    if (now === undefined) return false;
    if (identity !== null) return now === identity;
    // No birth times here: compare device and inode with the open file's, and its links.
    const [open, named] = await Promise.all([handle.stat({ bigint: true }), fsp.stat(logPath, { bigint: true })]);
    return open.nlink > 0n && open.dev === named.dev && open.ino === named.ino;
  } catch (error) {
    if (GONE.has(error?.code)) return false;
    // Could not tell (EIO, EMFILE...): this group fails, the storage is not given up on.
    throw failure(`cannot check that ${logPath} is still the open log: ${error.message}`, error);
  }
}

/** The error of a FileStorage whose log is no longer at its path. */
export function logMoved(logPath) {
  return failure(`the log ${logPath} was deleted, moved or replaced (or its directory was) while ` +
    'this FileStorage had it open: appends to the file it has open would be lost, so every append ' +
    'is refused from now on (one in flight may or may not be in the old file). Close this storage ' +
    'and open the directory again');
}

const NO_TAIL = Object.freeze({ discardedBytes: 0, discardedAt: null, discardedEvents: null, tailFile: null });

/**
 * Opens (creating if needed) the log, checks every frame and moves a torn tail aside:
 * { handle, logPath, identity, index, length, tail: { discardedBytes, discardedAt, discardedEvents, tailFile } }.
 */
export async function openLog(directory) {
  const logPath = path.join(directory, LOG_NAME);
  await fsp.rm(`${logPath}.tmp`, { force: true }); // a creation interrupted before its rename
  let handle;
  try {
    handle = await fsp.open(logPath, 'r+');
  } catch (error) {
    if (error.code !== 'ENOENT') throw failure(`cannot open the log ${logPath}: ${error.message}`, error);
    // A symbolic link whose target is missing: the log is elsewhere, and an empty new one here
    // would silently stand in for it.
    const link = await fsp.lstat(logPath).catch(() => null);
    if (link?.isSymbolicLink()) {
      throw failure(`the log ${logPath} is a symbolic link to ${await fsp.readlink(logPath)}, which does not ` +
        'exist; FileStorage does not replace it with an empty log. Restore its target, or remove the link', error);
    }
    await createLog(directory, logPath);
    handle = await fsp.open(logPath, 'r+');
  }
  try {
    const opened = await handle.stat({ bigint: true });
    const identity = identityOf(opened);
    const size = Number(opened.size);
    if (size < SIGNATURE.length) {
      // Only an empty file or a prefix of the signature can be (re)initialised: nothing to lose.
      const head = size === 0 ? Buffer.alloc(0) : await readFully(handle, 0, size);
      if (!head.equals(SIGNATURE.subarray(0, size))) {
        throw failure(`${logPath} is not a FileStorage log (it does not start with the signature)`);
      }
      await writeFully(handle, SIGNATURE, 0);
      await handle.sync();
      return { handle, logPath, identity, index: new LogIndex(), length: SIGNATURE.length, tail: NO_TAIL };
    }
    const head = await readFully(handle, 0, SIGNATURE.length);
    if (!head.equals(SIGNATURE)) {
      throw failure(`${logPath} is not a FileStorage log (it does not start with the signature)`);
    }
    const index = new LogIndex();
    const reader = new Reader(handle, size);
    let position = SIGNATURE.length;
    while (position < size) {
      const frame = await readFrame(reader, position, size);
      if (frame.problem !== undefined) {
        const next = await findFrame(handle, position + 1, size);
        if (next !== -1) {
          throw corrupt(logPath, position, `${frame.problem}, followed by a valid frame at byte ${next}`);
        }
        const why = await notTorn(handle, reader, position, size);
        if (why !== null) throw corrupt(logPath, position, `${frame.problem}, and not a torn write: ${why}`);
        break; // a torn tail: nothing valid follows
      }
      applyFrame(index, frame.text, logPath, position);
      position += HEADER + frame.length;
    }
    const tail = position < size
      ? { discardedBytes: size - position, ...(await moveTail(handle, directory, logPath, position, size)) }
      : NO_TAIL;
    return { handle, logPath, identity, index, length: position, tail };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}
