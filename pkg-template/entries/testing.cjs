'use strict';
// wasm-event-store/testing: the storage adapter conformance kit under node:test.
//
//   const { runStorageConformance } = require('wasm-event-store/testing');
//   runStorageConformance({ name: 'my adapter', open: () => new MyAdapter() });
//
// See src/testing/conformance.mjs in the repository for the options (and the README). Each case runs on a fresh backing store from open().
const { describe, test } = require('node:test');
const api = require('./index.cjs');
const { createConformanceCases } = require('./lib/node.cjs');

async function withContext(options, run) {
  const closed = new Set();
  const close = async (adapter) => {
    if (closed.has(adapter)) return;
    closed.add(adapter);
    if (options.close) await options.close(adapter);
  };
  const adapter = await options.open();
  const other = options.second ? await options.second(adapter) : adapter;
  try {
    return await run({ adapter, other, reopen: options.reopen, close });
  } finally {
    if (other !== adapter) await close(other);
    await close(adapter);
  }
}

function runStorageConformance(options) {
  if (!options || typeof options.open !== 'function') {
    throw new TypeError('runStorageConformance: options.open must be a function returning an adapter');
  }
  describe(`storage conformance: ${options.name ?? 'adapter'}`, () => {
    for (const conformanceCase of createConformanceCases(api)) {
      const skip = conformanceCase.needs && !options[conformanceCase.needs]
        ? `needs options.${conformanceCase.needs}`
        : false;
      test(conformanceCase.name, { skip }, async (t) => {
        const result = await withContext(options, conformanceCase.run);
        if (result?.skipped) t.skip(result.skipped);
      });
    }
  });
}

module.exports = { runStorageConformance, createConformanceCases };
