// The zero-config import, as in the README: the bundler picks the browser entry (top-level await).
import { EventStore, EventStoreConflictError, IndexedDbStorage } from 'wasm-event-store';
import { scenario } from './scenario.js';

scenario({ EventStore, EventStoreConflictError, IndexedDbStorage });
