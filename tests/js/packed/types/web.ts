// Type-level tests of the browser entries (wasm-event-store/web and /web-testing).
import { EventStore, IndexedDbStorage } from 'wasm-event-store/web';
import { createConformanceCases, type ConformanceCase } from 'wasm-event-store/web-testing';

export async function inAPage(): Promise<number | null> {
  // The real DOM factory satisfies the structural option types.
  const storage = await IndexedDbStorage.open('app', { indexedDB: globalThis.indexedDB, IDBKeyRange: globalThis.IDBKeyRange });
  return new EventStore({ storage }).appendEvents('a', -1, [{ type: 'A', data: { n: 1 } }]);
}

// As the README calls it: no argument (the web entry's classes are used).
export const cases: ConformanceCase[] = createConformanceCases();
