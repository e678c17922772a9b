import type { EventStore, EventStoreConflictError, StorageAdapter } from './index';

export interface StorageConformanceOptions<A extends StorageAdapter = StorageAdapter> {
  /** Names the describe() block. */
  name?: string;
  /** A new adapter over a new, empty backing store. */
  open(): A | Promise<A>;
  /** A new adapter over the backing store of `adapter` (after it was closed): persistence. */
  reopen?(adapter: A): A | Promise<A>;
  /** Another live adapter over the same backing store (another tab or connection). */
  second?(adapter: A): A | Promise<A>;
  /** Releases an adapter. */
  close?(adapter: A): void | Promise<void>;
}

/** Registers the conformance cases as node:test tests. */
export function runStorageConformance<A extends StorageAdapter>(options: StorageConformanceOptions<A>): void;

export interface ConformanceCase {
  name: string;
  needs?: 'reopen';
  run(context: { adapter: StorageAdapter; other: StorageAdapter; reopen?: (a: StorageAdapter) => StorageAdapter | Promise<StorageAdapter>; close(a: StorageAdapter): Promise<void> }): Promise<void>;
}

/** The cases without a test framework, for running elsewhere (a browser page). */
export function createConformanceCases(api: { EventStore: typeof EventStore; EventStoreConflictError: typeof EventStoreConflictError }): ConformanceCase[];
