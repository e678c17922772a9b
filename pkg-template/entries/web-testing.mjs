// The storage conformance cases for browser pages (no node:test): run each case's run() and
// report. Shares the classes of the web entry.
import { EventStore, EventStoreConflictError } from './web.mjs';
import { createConformanceCases as create } from './lib/browser.mjs';

export const createConformanceCases = () => create({ EventStore, EventStoreConflictError });
