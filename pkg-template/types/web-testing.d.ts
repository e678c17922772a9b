import type { ConformanceCase } from './testing';
export type { ConformanceCase } from './testing';

/**
 * The storage conformance cases for a browser page (no test framework): run each case's run()
 * with a context of fresh adapters and report. Uses the classes of the web entry.
 */
export function createConformanceCases(): ConformanceCase[];
