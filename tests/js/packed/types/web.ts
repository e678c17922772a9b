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

// The init entry: the same classes, and init() from a URL, bytes or nothing.
import { init, EventStore as InitStore } from 'wasm-event-store/init';
export async function explicit(bytes: Uint8Array): Promise<InitStore> {
  await init('/assets/wasm_event_store_bg.wasm');
  await init(new URL('https://example.com/x.wasm'));
  await init(bytes);
  await init();
  return new InitStore();
}

// The .wasm's URL for init(), as a bundler that emits it gives it.
import wasmUrl from 'wasm-event-store/wasm';
export const loadFromTheBundle = (): Promise<void> => init(wasmUrl);
