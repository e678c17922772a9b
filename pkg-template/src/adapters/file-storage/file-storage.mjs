// FileStorage: a crash-safe StorageAdapter in a directory, for Node.
//
//   const { EventStore, FileStorage } = require('wasm-event-store/node');
//   const storage = await FileStorage.open('./data/events');   // creates the directory if missing
//   const store = new EventStore({ storage });
//   ...
//   await storage.close();
//
// Durability. Everything lives in one append-only log file, `events.log`, in the directory (its
// format and its recovery at open are in log.mjs). An append is acknowledged (its Promise
// resolves) only after its bytes were written and flushed to the disk (fdatasync; on macOS that
// reaches the drive but not through its cache, as Node offers no F_FULLFSYNC). Appends that
// arrive while a flush is in progress are written together by the next one, with one write and
// one flush (group commit), so concurrent writers share the cost of the flush. A write or flush
// that fails (disk full, I/O error) rejects the appends it carried and the log is cut back to
// its last good length; if even that fails, the storage is broken and every further call throws
// (reopen it to recover).
//
// One user at a time: the directory is locked to one FileStorage (lock.mjs).
import path from 'node:path';
import fsp from 'node:fs/promises';

import { EventStoreError } from '../../core/errors.mjs';
import { checkAggregateId, checkLimit, checkVersion, payloadsOf } from '../arguments.mjs';
import { describeError, failure, writeFully } from './files.mjs';
import { acquireLock, directoryKey, inUse, lockLost, registry, releaseLock, stillHolds } from './lock.mjs';
import { frameOf, GROUP_BYTES, logMoved, openLog, stillAt } from './log.mjs';

const CONSTRUCT = Symbol('FileStorage.open');

export class FileStorage {
  #directory;
  #logPath;
  #handle;
  // What tells the open log from another file at its path (see identityOf in files.mjs).
  #logIdentity;
  #lock;
  #key;
  #recovery;
  // The streams and the global log (index.mjs); committed (flushed) state only.
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
    this.#logIdentity = state.identity;
    this.#lock = state.lock;
    this.#key = state.key;
    this.#index = state.index;
    this.#length = state.length;
    this.#recovery = Object.freeze({ ...state.tail, staleLockPid: state.lock.staleLockPid });
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
    try {
      return await FileStorage.#open(resolved);
    } catch (error) {
      if (error instanceof EventStoreError) throw error;
      // The file system's own error (ENOSPC, EACCES, EEXIST, ENOTDIR...), named and kept as cause.
      throw failure(`cannot open ${resolved}: ${describeError(error)}`, error);
    }
  }

  static async #open(resolved) {
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
   * (0 after a clean shutdown), `discardedAt` (the byte it started at), `discardedEvents` (how
   * many events it held, when its frame was whole enough to tell; else null), `tailFile` (the
   * file beside the log the cut bytes were moved to; null if none), and `staleLockPid`, the pid
   * of a dead process whose lock was taken over (null if there was none).
   */
  get recovery() {
    return this.#recovery;
  }

  #check() {
    if (this.#broken) throw this.#broken;
    if (this.#closing) throw failure(`the storage in ${this.#directory} is closed`);
  }

  #versionOf(aggregateId) {
    return this.#index.version(aggregateId);
  }

  /**
   * The records with version > afterVersion, ascending, at most `limit` (default: all), each
   * with its position (synchronous).
   */
  load(aggregateId, afterVersion, limit = Infinity) {
    this.#check();
    checkAggregateId('FileStorage.load', aggregateId);
    checkVersion('FileStorage.load', 'afterVersion', afterVersion);
    checkLimit('FileStorage.load', limit, true);
    return this.#index.load(aggregateId, afterVersion, limit);
  }

  /**
   * The records of every stream with position > afterPosition, ascending, at most `limit`:
   * { aggregateId, version, position, payload } (synchronous; positions are the events' order
   * in the log).
   */
  loadAll(afterPosition, limit) {
    this.#check();
    checkVersion('FileStorage.loadAll', 'afterPosition', afterPosition);
    checkLimit('FileStorage.loadAll', limit, true);
    return this.#index.loadAll(afterPosition, limit);
  }

  /** The highest position, -1 when the log holds no event (synchronous). */
  lastPosition() {
    this.#check();
    return this.#index.lastPosition();
  }

  /** The stream's last version, -1 if it does not exist (synchronous). */
  version(aggregateId) {
    this.#check();
    checkAggregateId('FileStorage.version', aggregateId);
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
      checkAggregateId('FileStorage.append', aggregateId);
      checkVersion('FileStorage.append', 'expectedVersion', expectedVersion);
      payloads = payloadsOf('FileStorage.append', records, expectedVersion);
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
        const frame = frameOf(Buffer.from(`[${accepted.map((item) => item.entry).join(',')}]`, 'utf8'));
        await this.#checkInterference(false); // nothing written when another may write here
        try {
          await writeFully(this.#handle, frame, this.#length);
          await this.#handle.datasync();
        } catch (error) {
          await this.#rollBack(error);
          throw failure(`writing to ${this.#logPath} failed: ${describeError(error)}`, error);
        }
        await this.#checkInterference(true); // nothing acknowledged that may be lost
        this.#length += frame.length;
        for (const item of accepted) this.#index.add(item.id, item.payloads);
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

  /**
   * Before a group is written and before it is acknowledged (`written`): the LOCK file must
   * still be this storage's and the log still at its path. If not, the storage is broken (every
   * later call rejects with that error) and this throws it.
   */
  async #checkInterference(written) {
    let locked;
    let placed;
    try {
      [locked, placed] = await Promise.all([stillHolds(this.#lock), stillAt(this.#logPath, this.#logIdentity, this.#handle)]);
    } catch (error) {
      // Could not tell. Before the write, this group fails and the storage goes on; after it,
      // the frame is in the log but not in the index, so nothing more may be written.
      if (written) this.#broken ??= failure(`the storage in ${this.#directory} is broken: ${describeError(error)}; ` +
        'the last group was written but could not be checked; close it and open it again', error);
      throw this.#broken ?? error;
    }
    if (locked && placed) return;
    // With its directory gone, the lock is gone too: the log's fate is what matters then.
    this.#broken ??= placed ? lockLost(this.#lock) : logMoved(this.#logPath);
    throw this.#broken;
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
