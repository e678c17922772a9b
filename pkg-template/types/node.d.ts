export * from './index';
import type { StorageAdapter, StoredRecord, AppendResult, LogRecord } from './index';

/** What FileStorage.open() found and did. */
export interface FileStorageRecovery {
  /** Bytes of a torn write cut off the tail of the log (0 after a clean shutdown). */
  readonly discardedBytes: number;
  /** The byte of the log the torn write started at; null if none was cut. */
  readonly discardedAt: number | null;
  /** How many events the torn write held, when its frame was whole enough to tell; else null. */
  readonly discardedEvents: number | null;
  /** The file beside the log that the cut bytes were moved to (never deleted); null if none. */
  readonly tailFile: string | null;
  /** The pid of a dead process whose lock was taken over; null if none. */
  readonly staleLockPid: number | null;
}

/**
 * A crash-safe StorageAdapter in a directory (Node), with the global log (no watch(): only one
 * FileStorage writes a directory, and stores over this one hear each other). An acknowledged append is on disk; a torn
 * write at the tail is moved aside on open; damage a torn write cannot explain makes open()
 * reject with code 'CORRUPT'. The directory is locked to one FileStorage at a time ('LOCKED').
 * Every failure is an EventStoreError naming the path, with the file system's error as cause.
 */
export class FileStorage implements StorageAdapter {
  static open(directory: string): Promise<FileStorage>;
  readonly recovery: FileStorageRecovery;
  /** The directory this storage holds (and locks). */
  readonly directory: string;
  /** Answers from the in-memory index, synchronously. */
  load(aggregateId: string, afterVersion: number, limit?: number): StoredRecord[];
  version(aggregateId: string): number;
  /** The global log: positions are the events' order in the log file (contiguous from 0). */
  loadAll(afterPosition: number, limit: number): LogRecord[];
  lastPosition(): number;
  append(aggregateId: string, expectedVersion: number, records: StoredRecord[]): Promise<AppendResult>;
  close(): Promise<void>;
}
