'use strict';
// FileStorage: a crash-safe StorageAdapter in a directory, for Node.
//
//   const { EventStore } = require('wasm-event-store');
//   const { FileStorage } = require('wasm-event-store/node');
//   const storage = await FileStorage.open('./data/events');   // creates the directory if missing
//   const store = new EventStore({ storage });
//   ...
//   await storage.close();
//
// Durability. Everything lives in one append-only log file, `events.log`, in the directory. An
// append is acknowledged (its Promise resolves) only after its bytes were written and flushed to
// the disk (fdatasync; on macOS that reaches the drive but not through its cache, as Node offers
// no F_FULLFSYNC). Appends that arrive while a flush is in progress are written together by
// the next one, with one write and one flush (group commit), so concurrent writers share the cost
// of the flush. Each write is a single frame:
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
// dropped silently. A write or flush that fails (disk full, I/O error) rejects the appends it
// carried and the log is cut back to its last good length; if even that fails, the storage is
// broken and every further call throws (reopen it to recover).
//
// One user at a time. The directory is locked to one FileStorage: open() creates a `LOCK` file
// (flag 'wx') holding the process id and start time, and rejects, naming that pid, while the lock
// is held by a live process, or by another FileStorage of the same process (any thread). close()
// removes the lock, and so does the process exiting normally ('exit'). A lock left by a process
// that died (kill -9, a crash, a signal without a handler) names a pid that no longer runs and is
// taken over by the next open() (`storage.recovery.staleLockPid` says whose it was); so is one
// with this process's pid but another start time (a restarted container's node is often pid 1
// again; on Linux told apart exactly by its start in clock ticks, elsewhere by a start time more
// than 2 s away). Should the dead holder's pid have been reused by an unrelated live process, open()
// keeps refusing: delete the LOCK file by hand once you are sure no process uses the directory.
// The lock relies on process ids, so it protects a directory on a local disk shared by the
// processes of one machine, not a network share used by several machines.

const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const zlib = require('node:zlib');

const LOG_NAME = 'events.log';
const LOCK_NAME = 'LOCK';
const SIGNATURE = Buffer.from('WESLOG1\n', 'latin1');
const HEADER = 8; // u32 length + u32 crc
const OPEN_BRACKET = 0x5b; // '[' starts every body
const CLOSE_BRACKET = 0x5d; // ']' ends it
const MAX_BODY = 0xffffffff;
const GROUP_BYTES = 8 * 1024 * 1024; // soft cap of one group commit
const READ_CHUNK = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), the one of zlib/PNG/gzip. node:zlib has it natively from Node 20.15 / 22.2.

const crc32 = typeof zlib.crc32 === 'function'
  ? (buffer) => zlib.crc32(buffer) >>> 0
  : (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return (buffer) => {
      let c = 0xffffffff;
      for (let i = 0; i < buffer.length; i++) c = table[(c ^ buffer[i]) & 0xff] ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
  })();

// ---------------------------------------------------------------------------------------------
// File helpers.

async function writeFully(handle, buffer, position) {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, position + offset);
    if (!(bytesWritten > 0)) throw new Error('the file system accepted no bytes (short write)');
    offset += bytesWritten;
  }
}

async function readFully(handle, position, length) {
  const buffer = Buffer.allocUnsafe(length);
  let offset = 0;
  while (offset < length) {
    const { bytesRead } = await handle.read(buffer, offset, length - offset, position + offset);
    if (bytesRead === 0) throw new Error(`the file ended at byte ${position + offset} while it was being read`);
    offset += bytesRead;
  }
  return buffer;
}

/** Sequential reads through a window of READ_CHUNK bytes (each refill is a new buffer). */
class Reader {
  #handle;
  #size;
  #start = 0;
  #window = Buffer.alloc(0);

  constructor(handle, size) {
    this.#handle = handle;
    this.#size = size;
  }

  /** Bytes [position, position + length), which must lie within the file. */
  async bytes(position, length) {
    const offset = position - this.#start;
    if (offset >= 0 && offset + length <= this.#window.length) return this.#window.subarray(offset, offset + length);
    const wanted = Math.min(Math.max(length, READ_CHUNK), this.#size - position);
    this.#window = await readFully(this.#handle, position, wanted);
    this.#start = position;
    return this.#window.subarray(0, length);
  }
}

const IGNORED_DIRECTORY_SYNC_ERRORS = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF', 'EACCES']);

/** Makes a new directory entry durable (rename/create), where the platform allows it. */
async function syncDirectory(directory) {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  let handle;
  try {
    handle = await fsp.open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!IGNORED_DIRECTORY_SYNC_ERRORS.has(error && error.code)) throw error;
  } finally {
    await handle?.close();
  }
}

function failure(message, cause) {
  return new Error(`FileStorage: ${message}`, cause === undefined ? undefined : { cause });
}

function describeError(error) {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// The lock.

// Directories locked by this process (shared by every copy of this module): key -> a synchronous
// release function, or null while open() is still taking the lock.
const REGISTRY_KEY = Symbol.for('wasm-event-store.FileStorage.locks');

function registry() {
  let held = globalThis[REGISTRY_KEY];
  if (!held) {
    held = new Map();
    globalThis[REGISTRY_KEY] = held;
    process.on('exit', () => {
      for (const release of held.values()) {
        if (typeof release === 'function') release();
      }
    });
  }
  return held;
}

/** One key per directory however it is named (symlinks, relative paths, bind mounts). */
async function directoryKey(directory) {
  const stat = await fsp.stat(directory, { bigint: true });
  if (!stat.isDirectory()) throw failure(`${directory} is not a directory`);
  if (stat.ino !== 0n) return `${stat.dev}:${stat.ino}`;
  return `path:${await fsp.realpath(directory)}`;
}

// The lock file: the pid on the first line, then when the process started (ms since the epoch),
// then on Linux its start in clock ticks since boot. The start tells this very process (another
// thread or realm, which has its own registry) from an earlier process that had the same pid, as
// a restarted container's node often does. The ticks are exact and the same in every thread of
// a process; the time in ms is derived from the uptime, so it only counts as the same process
// within SAME_START_MS, which an earlier process restarted quickly can fall within: it decides
// only where there are no ticks (not Linux, or a lock written without them).
const processStart = () => Math.round(Date.now() - process.uptime() * 1000);
const SAME_START_MS = 2000;

/** This process's start in clock ticks since boot (field 22 of /proc/self/stat), or null. */
function processStartTicks() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Field 2, the command name, is in parentheses and may hold spaces: count after its ')'.
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return /^\d{1,20}$/.test(ticks ?? '') ? ticks : null;
  } catch {
    return null;
  }
}
const START_TICKS = processStartTicks();

function lockContent() {
  return `${process.pid}\nstarted ${processStart()}\n${START_TICKS === null ? '' : `ticks ${START_TICKS}\n`}`;
}

/**
 * { pid, started, ticks } from a lock file's text (started and ticks: null if absent), or null
 * if it names no pid.
 */
function parseLock(text) {
  const match = /^\s*(\d{1,10})[ \t]*(?:\r?\n(?:started (-?\d{1,16}))?[\s\S]*)?$/.exec(text);
  if (!match) return null;
  const pid = Number(match[1]);
  if (!(pid > 0)) return null;
  const ticks = /\nticks (\d{1,20})\r?\n/.exec(text);
  return { pid, started: match[2] === undefined ? null : Number(match[2]), ticks: ticks === null ? null : ticks[1] };
}

/** Whether a lock naming this pid was written by this very process (another thread of it). */
function isThisProcess(holder) {
  if (holder.ticks !== null && START_TICKS !== null) return holder.ticks === START_TICKS;
  return holder.started !== null && Math.abs(holder.started - processStart()) < SAME_START_MS;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM'; // it exists, it just is not ours to signal
  }
}

function inUse(directory, pid, how = '') {
  const error = failure(`the directory ${directory} is in use by pid ${pid}${how}; ` +
    'a directory can be opened by one FileStorage at a time');
  error.pid = pid;
  return error;
}

/** Creates the lock file with `content`; false if it already exists. */
function tryCreateLock(lockPath, content) {
  let fd;
  try {
    fd = fs.openSync(lockPath, 'wx');
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw failure(`cannot create the lock file ${lockPath}: ${error.message}`, error);
  }
  try {
    fs.writeSync(fd, content);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(lockPath, { force: true });
    throw failure(`cannot write the lock file ${lockPath}: ${error.message}`, error);
  }
  fs.closeSync(fd);
  return true;
}

/** The lock file's content, or null if there is no lock file. */
function readLock(lockPath) {
  try {
    return fs.readFileSync(lockPath, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw failure(`cannot read the lock file ${lockPath}: ${error.message}`, error);
  }
}

function lockAgeMs(lockPath) {
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs;
  } catch {
    return 0;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An empty lock file younger than this may be one another process is writing right now.
const EMPTY_LOCK_GRACE_MS = 5000;
// A LOCK.break older than this was left by a process that died while breaking a stale lock.
const BREAK_LOCK_STALE_MS = 2000;

/**
 * Takes the directory's lock for this process: { path, content, staleLockPid }. Rejects when a
 * live process holds it, this one included (the registry has already refused this realm's own
 * FileStorages; a lock with this pid and start time is another thread's).
 */
async function acquireLock(directory) {
  const lockPath = path.join(directory, LOCK_NAME);
  const content = lockContent();
  let staleLockPid = null;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (tryCreateLock(lockPath, content)) return { path: lockPath, content, staleLockPid };
    const seen = readLock(lockPath);
    if (seen === null) continue; // removed meanwhile: try again
    const holder = parseLock(seen);
    const pid = holder === null ? null : holder.pid;
    if (pid === null) {
      // Empty or garbled: another process may be between creating and writing it.
      if (lockAgeMs(lockPath) < EMPTY_LOCK_GRACE_MS) {
        if (attempt < 20) {
          await sleep(25);
          continue;
        }
        throw failure(`the directory ${directory} is being locked by another process (its LOCK file ` +
          `holds no pid yet); try again, or delete ${lockPath} if no process uses the directory`);
      }
    } else if (pid === process.pid) {
      if (isThisProcess(holder)) {
        throw inUse(directory, pid, ' (another FileStorage of this process, in another thread)');
      }
      // Otherwise an earlier process that had this pid: stale.
    } else if (isAlive(pid)) {
      throw inUse(directory, pid);
    }
    // Stale. Whoever removes a lock file must first hold LOCK.break (created exclusively), and
    // removes it only if it still holds what was judged stale: a fresh lock another process
    // created meanwhile is never removed. A LOCK.break left by a process that died while
    // holding it (it holds it for microseconds) is cleared once it is old.
    const breakPath = `${lockPath}.break`;
    if (!tryCreateLock(breakPath, content)) {
      if (lockAgeMs(breakPath) > BREAK_LOCK_STALE_MS) fs.rmSync(breakPath, { force: true });
      await sleep(10);
      continue;
    }
    try {
      if (readLock(lockPath) === seen) {
        fs.rmSync(lockPath, { force: true });
        if (pid !== null) staleLockPid = pid;
      }
    } finally {
      fs.rmSync(breakPath, { force: true });
    }
  }
  throw failure(`cannot take the lock ${lockPath}: it keeps changing`);
}

/** Removes the lock file if it is still ours. Never throws (runs on 'exit' too). */
function releaseLock(lock) {
  try {
    if (fs.readFileSync(lock.path, 'utf8') === lock.content) fs.unlinkSync(lock.path);
  } catch {
    // Gone already, or unreadable: nothing to release.
  }
}

// ---------------------------------------------------------------------------------------------
// The log.

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
async function openLog(directory) {
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

// ---------------------------------------------------------------------------------------------
// Argument checks (the core never sends bad arguments; direct callers might).

function checkAggregateId(aggregateId, method) {
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw new TypeError(`FileStorage.${method}: aggregateId must be a non-empty string`);
  }
}

function checkVersion(value, name, method) {
  if (!Number.isSafeInteger(value) || value < -1) {
    throw new TypeError(`FileStorage.${method}: ${name} must be an integer from -1, got ${String(value)}`);
  }
}

function payloadsOf(records, expectedVersion) {
  if (!Array.isArray(records)) throw new TypeError('FileStorage.append: records must be an array');
  const payloads = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object' || record.version !== expectedVersion + 1 + i ||
        typeof record.payload !== 'string') {
      throw new TypeError(`FileStorage.append: records[${i}] must be { version: ${expectedVersion + 1 + i}, payload: string }`);
    }
    payloads[i] = record.payload;
  }
  return payloads;
}

// ---------------------------------------------------------------------------------------------

const CONSTRUCT = Symbol('FileStorage.open');

class FileStorage {
  #directory;
  #logPath;
  #handle;
  #lock;
  #key;
  #recovery;
  // aggregateId -> payloads of the stream (version = position); committed (flushed) state only.
  #index;
  // Bytes of the log that are durable; the next frame goes there.
  #length;
  // Appends waiting for the next group commit: { id, expected, payloads, entry, resolve, reject }.
  #queue = [];
  #draining = false;
  #drained = Promise.resolve();
  #closing = false;
  #closed = null;
  #broken = null;

  /** Use FileStorage.open(directory). */
  constructor(token, state) {
    if (token !== CONSTRUCT) throw new TypeError('use `await FileStorage.open(directory)` to get a FileStorage');
    this.#directory = state.directory;
    this.#logPath = state.logPath;
    this.#handle = state.handle;
    this.#lock = state.lock;
    this.#key = state.key;
    this.#index = state.index;
    this.#length = state.length;
    this.#recovery = Object.freeze({
      discardedBytes: state.discardedBytes,
      staleLockPid: state.lock.staleLockPid,
    });
  }

  /**
   * Opens the storage in `directory` (created if missing): takes the directory's lock, reads the
   * log and cuts off a torn tail. Rejects if the directory is in use or the log is corrupt.
   */
  static async open(directory) {
    if (typeof directory !== 'string' || directory === '') {
      throw new TypeError('FileStorage.open: directory must be a non-empty string (a path)');
    }
    const resolved = path.resolve(directory);
    await fsp.mkdir(resolved, { recursive: true });
    const key = await directoryKey(resolved);
    const held = registry();
    if (held.has(key)) throw inUse(resolved, process.pid, ' (another FileStorage of this process)');
    held.set(key, null); // taken synchronously after the check: a concurrent open() sees it
    let lock;
    try {
      lock = await acquireLock(resolved);
      const locked = lock;
      held.set(key, () => releaseLock(locked));
      const log = await openLog(resolved);
      return new FileStorage(CONSTRUCT, { directory: resolved, key, lock, ...log });
    } catch (error) {
      if (lock) releaseLock(lock);
      held.delete(key);
      throw error;
    }
  }

  /** The directory, as an absolute path. */
  get directory() {
    return this.#directory;
  }

  /**
   * What open() found: `discardedBytes`, the size of the torn write cut off the end of the log
   * (0 after a clean shutdown), and `staleLockPid`, the pid of a dead process whose lock was
   * taken over (null if there was none).
   */
  get recovery() {
    return this.#recovery;
  }

  #check() {
    if (this.#broken) throw this.#broken;
    if (this.#closing) throw failure(`the storage in ${this.#directory} is closed`);
  }

  #versionOf(aggregateId) {
    const stream = this.#index.get(aggregateId);
    return stream === undefined ? -1 : stream.length - 1;
  }

  /** The records with version > afterVersion, ascending (synchronous). */
  load(aggregateId, afterVersion) {
    this.#check();
    checkAggregateId(aggregateId, 'load');
    checkVersion(afterVersion, 'afterVersion', 'load');
    const stream = this.#index.get(aggregateId);
    if (stream === undefined) return [];
    const from = afterVersion + 1;
    const records = new Array(Math.max(0, stream.length - from));
    for (let i = 0; i < records.length; i++) records[i] = { version: from + i, payload: stream[from + i] };
    return records;
  }

  /** The stream's last version, -1 if it does not exist (synchronous). */
  version(aggregateId) {
    this.#check();
    checkAggregateId(aggregateId, 'version');
    return this.#versionOf(aggregateId);
  }

  /**
   * Stores `records` if the stream is at `expectedVersion`; resolves once they are on disk.
   * Resolves to { ok: true }, or { ok: false, actualVersion } with nothing stored.
   */
  append(aggregateId, expectedVersion, records) {
    let payloads;
    try {
      this.#check();
      checkAggregateId(aggregateId, 'append');
      checkVersion(expectedVersion, 'expectedVersion', 'append');
      payloads = payloadsOf(records, expectedVersion);
    } catch (error) {
      return Promise.reject(error);
    }
    // Against what is committed, a conflict is a conflict now (ordered before any append still
    // in flight), and so is the success of an empty batch.
    const current = this.#versionOf(aggregateId);
    if (current !== expectedVersion) return Promise.resolve({ ok: false, actualVersion: current });
    if (payloads.length === 0) return Promise.resolve({ ok: true });
    let entry;
    try {
      entry = JSON.stringify({ id: aggregateId, from: expectedVersion + 1, payloads });
    } catch (error) {
      return Promise.reject(failure(`cannot encode the append: ${describeError(error)}`, error));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: aggregateId, expected: expectedVersion, payloads, entry, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        this.#drained = this.#drain();
      }
    });
  }

  /** Writes queued appends, a group at a time, until none is left. Never rejects. */
  async #drain() {
    try {
      // Let the appends issued in this turn of the event loop join the first group.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#queue.length > 0) {
        if (this.#broken) {
          for (const item of this.#queue.splice(0)) item.reject(this.#broken);
          break;
        }
        await this.#commitGroup();
      }
    } finally {
      this.#draining = false; // no await between the last check of the queue and here
    }
  }

  /** Takes a group of queued appends, writes the ones that apply with one write and one flush. */
  async #commitGroup() {
    let count = 0;
    let bytes = 2;
    while (count < this.#queue.length) {
      const size = this.#queue[count].entry.length * 3 + 1; // an upper bound of its UTF-8 bytes
      if (count > 0 && bytes + size > GROUP_BYTES) break;
      bytes += size;
      count++;
    }
    const group = this.#queue.splice(0, count);
    const accepted = [];
    const conflicts = [];
    try {
      const projected = new Map();
      for (const item of group) {
        const current = projected.has(item.id) ? projected.get(item.id) : this.#versionOf(item.id);
        if (item.expected === current) {
          projected.set(item.id, current + item.payloads.length);
          accepted.push(item);
        } else {
          conflicts.push({ item, actualVersion: current });
        }
      }
      if (accepted.length > 0) {
        const body = Buffer.from(`[${accepted.map((item) => item.entry).join(',')}]`, 'utf8');
        if (body.length > MAX_BODY) throw failure(`an append group of ${body.length} bytes is too large for one frame`);
        const frame = Buffer.allocUnsafe(HEADER + body.length);
        frame.writeUInt32LE(body.length, 0);
        frame.writeUInt32LE(crc32(body), 4);
        body.copy(frame, HEADER);
        try {
          await writeFully(this.#handle, frame, this.#length);
          await this.#handle.datasync();
        } catch (error) {
          await this.#rollBack(error);
          throw failure(`writing to ${this.#logPath} failed: ${describeError(error)}`, error);
        }
        this.#length += frame.length;
        for (const item of accepted) {
          let stream = this.#index.get(item.id);
          if (stream === undefined) {
            stream = [];
            this.#index.set(item.id, stream);
          }
          for (const payload of item.payloads) stream.push(payload);
        }
      }
    } catch (error) {
      for (const item of accepted) item.reject(error);
      // The conflicts were judged against appends that are not stored: judge them again.
      if (this.#broken) for (const { item } of conflicts) item.reject(this.#broken);
      else this.#queue.unshift(...conflicts.map(({ item }) => item));
      return;
    }
    for (const item of accepted) item.resolve({ ok: true });
    for (const { item, actualVersion } of conflicts) item.resolve({ ok: false, actualVersion });
  }

  /** After a failed write or flush: cut the log back to its durable length, or mark it broken. */
  async #rollBack(cause) {
    try {
      await this.#handle.truncate(this.#length);
      await this.#handle.datasync();
    } catch (error) {
      this.#broken = failure(`the storage in ${this.#directory} is broken: a write failed ` +
        `(${describeError(cause)}) and the log could not be cut back to its last good length ` +
        `(${describeError(error)}); close it and open it again`, error);
    }
  }

  /**
   * Waits for the appends in flight, then closes the log and releases the directory's lock.
   * Calls after close() throw; close() again resolves when the first one did.
   */
  close() {
    if (this.#closed) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      try {
        while (this.#draining) await this.#drained;
        await this.#handle.close();
      } finally {
        releaseLock(this.#lock);
        registry().delete(this.#key);
      }
    })();
    return this.#closed;
  }
}

module.exports = { FileStorage };
