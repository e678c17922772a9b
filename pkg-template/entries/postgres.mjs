// wasm-event-store/postgres (ESM): the CommonJS entry's export, one class for both.
import api from './postgres.cjs';

export const { PostgresStorage } = api;
export default api;
