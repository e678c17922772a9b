// File helpers of FileStorage: whole reads and writes, a windowed sequential reader, directory
// syncs, and the error every FileStorage failure is made with.
import fs from 'node:fs';
import fsp from 'node:fs/promises';

import { EventStoreError } from '../../core/errors.mjs';

export const READ_CHUNK = 1024 * 1024;

/** The errors that mean a path no longer leads to its file. */
export const GONE = new Set(['ENOENT', 'ENOTDIR']);

/**
 * What tells a file from any other one at the same path, from a bigint stat: its device, inode
 * and birth time (a file made again, even under a reused inode number, is born later). null
 * where the file system reports no birth time: callers then compare contents instead.
 */
export function identityOf(stat, { unchanged = false } = {}) {
  if (!(stat.birthtimeNs > 0n)) return null;
  const file = `${stat.dev}:${stat.ino}:${stat.birthtimeNs}`;
  // `unchanged`: for a file never written again (the LOCK), a rewrite in place counts as another.
  return unchanged ? `${file}:${stat.mtimeNs}:${stat.size}` : file;
}

/**
 * The identity of the file at `filePath` now (see identityOf), or undefined if the path leads
 * to no file; other errors (EIO, EMFILE...) are thrown: they say nothing either way.
 * Synchronous: a stat of a local file takes microseconds, and an await through libuv's thread
 * pool took more than the stat itself (measured: the two checks around every group commit cost
 * 28% of sequential FileStorage appends with fsp.stat).
 */
export function identityAt(filePath, options) {
  try {
    return identityOf(fs.statSync(filePath, { bigint: true }), options) ?? '';
  } catch (error) {
    if (GONE.has(error?.code)) return undefined;
    throw error;
  }
}

export async function writeFully(handle, buffer, position) {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, position + offset);
    if (!(bytesWritten > 0)) throw new Error('the file system accepted no bytes (short write)');
    offset += bytesWritten;
  }
}

export async function readFully(handle, position, length) {
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
export class Reader {
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
export async function syncDirectory(directory) {
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

/**
 * A FileStorage failure: an EventStoreError (code 'STORAGE' unless said otherwise) whose message
 * starts with "FileStorage:" and names the path; `cause` is the file system's error, if any.
 * Through an EventStore it is the `cause` of the store's 'STORAGE' error.
 */
export function failure(message, cause, code = 'STORAGE') {
  return new EventStoreError(code, `FileStorage: ${message}`, cause === undefined ? undefined : { cause });
}

export function describeError(error) {
  return error instanceof Error ? error.message : String(error);
}
