export * from './index';
import type { StorageAdapter, StoredRecord, AppendResult } from './index';

/**
 * A crash-safe StorageAdapter in a directory (Node). An acknowledged append is on disk; a torn
 * write at the tail is discarded on open. The directory is locked to one FileStorage at a time.
 */
export class FileStorage implements StorageAdapter {
  static open(directory: string): Promise<FileStorage>;
  /**
   * What open() found: bytes of a torn write cut off the tail of the log, and the pid of a dead
   * process whose lock was taken over (null if none).
   */
  readonly recovery: { discardedBytes: number; staleLockPid: number | null };
  /** The directory this storage holds (and locks). */
  readonly directory: string;
  /** Answers from the in-memory index, synchronously. */
  load(aggregateId: string, afterVersion: number): StoredRecord[];
  version(aggregateId: string): number;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  close(): Promise<void>;
}
