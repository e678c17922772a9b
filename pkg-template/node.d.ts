export * from './index';
import type { StorageAdapter, StoredRecord, AppendResult } from './index';

/**
 * A crash-safe StorageAdapter in a directory (Node). An acknowledged append is on disk; a torn
 * write at the tail is discarded on open. The directory is locked to one FileStorage at a time.
 */
export class FileStorage implements StorageAdapter {
  static open(directory: string): Promise<FileStorage>;
  /** What open() found and discarded: bytes of a torn write at the tail of the log. */
  readonly recovery: { discardedBytes: number };
  load(aggregateId: string, afterVersion: number): StoredRecord[] | Promise<StoredRecord[]>;
  version(aggregateId: string): number | Promise<number>;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  close(): Promise<void>;
}
