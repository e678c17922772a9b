// The argument checks of the package's own adapters (FileStorage, PostgresStorage). The core
// never sends bad arguments; code that calls an adapter directly might, and gets a TypeError
// naming the adapter's method (`where`, e.g. 'FileStorage.load') and the argument.

export function checkAggregateId(where, aggregateId) {
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw new TypeError(`${where}: aggregateId must be a non-empty string`);
  }
}

/** A version or position argument: a safe integer from -1. */
export function checkVersion(where, name, value) {
  if (!Number.isSafeInteger(value) || value < -1) {
    throw new TypeError(`${where}: ${name} must be an integer from -1, got ${String(value)}`);
  }
}

/** A load's limit: a positive safe integer; with `infinite`, also Infinity (no limit). */
export function checkLimit(where, limit, infinite = false) {
  if (!(infinite && limit === Infinity) && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new TypeError(`${where}: limit must be a positive integer, got ${String(limit)}`);
  }
}

/** An append's records, versions from expectedVersion + 1 on: their payloads. */
export function payloadsOf(where, records, expectedVersion) {
  if (!Array.isArray(records)) throw new TypeError(`${where}: records must be an array`);
  const payloads = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object' || record.version !== expectedVersion + 1 + i ||
        typeof record.payload !== 'string') {
      throw new TypeError(`${where}: records[${i}] must be { version: ${expectedVersion + 1 + i}, payload: string }`);
    }
    payloads[i] = record.payload;
  }
  return payloads;
}
