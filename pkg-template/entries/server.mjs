// wasm-event-store/server (ESM): the CommonJS entry's exports, one module instance for both.
import api from './server.cjs';

export const { createSyncHandler, toNodeListener } = api;
export default api;
