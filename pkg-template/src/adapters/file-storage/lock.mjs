// The directory lock of FileStorage: one user of a directory at a time.
//
// open() creates a `LOCK` file (flag 'wx') holding the process id and start time, and rejects,
// naming that pid, while the lock is held by a live process, or by another FileStorage of the
// same process (any thread). close() removes the lock, and so does the process exiting normally
// ('exit'). A lock left by a process that died (kill -9, a crash, a signal without a handler)
// names a pid that no longer runs and is taken over by the next open()
// (`storage.recovery.staleLockPid` says whose it was); so is one with this process's pid but
// another start time (a restarted container's node is often pid 1 again; on Linux told apart
// exactly by its start in clock ticks, elsewhere by a start time more than 2 s away). Should the
// dead holder's pid have been reused by an unrelated live process, open() keeps refusing: delete
// the LOCK file by hand once you are sure no process uses the directory. The lock relies on
// process ids, so it protects a directory on a local disk shared by the processes of one
// machine, not a network share used by several machines.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

import { failure, GONE, identityAt, identityOf } from './files.mjs';

const LOCK_NAME = 'LOCK';

// Directories locked by this process (shared by every copy of this module): key -> a synchronous
// release function, or null while open() is still taking the lock.
const REGISTRY_KEY = Symbol.for('wasm-event-store.FileStorage.locks');

export function registry() {
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
export async function directoryKey(directory) {
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

export function inUse(directory, pid, how = '') {
  const error = failure(`the directory ${directory} is in use by pid ${pid}${how}; ` +
    'a directory can be opened by one FileStorage at a time', undefined, 'LOCKED');
  error.pid = pid;
  return error;
}

/**
 * Whether the lock file still holds what this FileStorage wrote into it. Checked around every
 * write: a LOCK deleted (or replaced) while held would let another process open the directory
 * and write into the same log, so the holder stops writing and acknowledging instead. Only an
 * OS-level lock (which Node offers no way to take without a native addon) would also close the
 * window of the one group commit in flight when that happens.
 */
export async function stillHolds(lock) {
  try {
    // One stat where the file system tells files apart by birth time; else read what it holds.
    if (lock.identity !== null) return identityAt(lock.path, { unchanged: true }) === lock.identity;
    return (await fsp.readFile(lock.path, 'utf8')) === lock.content;
  } catch (error) {
    if (GONE.has(error?.code)) return false;
    // Could not tell (EIO, EMFILE...): this group fails, the storage is not given up on.
    throw failure(`cannot read the lock file ${lock.path}: ${error.message}`, error);
  }
}

/** The error of a FileStorage whose lock file is gone or names another holder. */
export function lockLost(lock) {
  return failure(`the lock file ${lock.path} was deleted or replaced while this FileStorage held it, ` +
    'so another process may be writing into the same log: appends are refused from now on (an ' +
    'append in flight may or may not have been stored). Close this storage; open the directory ' +
    'again once no other process uses it', undefined, 'LOCKED');
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
export async function acquireLock(directory) {
  const lockPath = path.join(directory, LOCK_NAME);
  const content = lockContent();
  let staleLockPid = null;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (tryCreateLock(lockPath, content)) {
      return { path: lockPath, content, staleLockPid, identity: identityOf(fs.statSync(lockPath, { bigint: true }), { unchanged: true }) };
    }
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
export function releaseLock(lock) {
  try {
    if (fs.readFileSync(lock.path, 'utf8') === lock.content) fs.unlinkSync(lock.path);
  } catch {
    // Gone already, or unreadable: nothing to release.
  }
}
