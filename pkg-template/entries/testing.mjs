// wasm-event-store/testing (ESM): the CommonJS kit, so it shares the classes of the main entry.
import kit from './testing.cjs';

export const { runStorageConformance, createConformanceCases } = kit;
export default kit;
