// loadEvents(aggregateId, fromVersion, { limit }): at most `limit` events, in memory and over an
// adapter; paging with the last version seen; records past the limit are not read; bad limits
// are INVALID_ARGUMENT naming options.limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStore, EventStoreError } from 'wasm-event-store';

/** A plain adapter over an array of records. */
const arrayAdapter = () => ({
  records: [],
  load(id, after) { return this.records.slice(after + 1); },
  version() { return this.records.length - 1; },
  append(id, expected, records) {
    if (expected !== this.records.length - 1) return { ok: false, actualVersion: this.records.length - 1 };
    this.records.push(...records);
    return { ok: true };
  },
});

for (const [where, make] of [['in memory', () => new EventStore()], ['over an adapter', () => new EventStore({ storage: arrayAdapter() })]]) {
  test(`${where}: at most limit events, and paging through a stream`, async () => {
    const store = make();
    await store.appendEvents('s', -1, Array.from({ length: 10 }, (_, n) => ({ type: 'E', data: n })));
    assert.deepEqual((await store.loadEvents('s', -1, { limit: 3 })).map((e) => e.version), [0, 1, 2]);
    assert.deepEqual((await store.loadEvents('s', 7, { limit: 3 })).map((e) => e.version), [8, 9]);
    assert.deepEqual((await store.loadEvents('s', 9, { limit: 3 })), []);
    assert.equal((await store.loadEvents('s', undefined, {})).length, 10, 'no limit: all');
    assert.equal((await store.loadEvents('s', null, { limit: Number.MAX_SAFE_INTEGER })).length, 10);
    const pages = [];
    for (let from = -1; ;) {
      const page = await store.loadEvents('s', from, { limit: 4 });
      if (page.length === 0) break;
      pages.push(page.map((e) => e.data));
      from = page.at(-1).version;
    }
    assert.deepEqual(pages, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  test(`${where}: a bad limit is INVALID_ARGUMENT naming options.limit`, async () => {
    const store = make();
    for (const limit of [0, -1, -2, 1.5, NaN, Infinity, '2', null, 2n]) {
      await assert.rejects(store.loadEvents('s', -1, { limit }), (error) => error instanceof EventStoreError &&
        error.code === 'INVALID_ARGUMENT' && error.message.startsWith('options.limit must be a positive integer'), String(limit));
    }
    await assert.rejects(store.loadEvents('s', -1, 5), (error) => error.code === 'INVALID_ARGUMENT' && /options must be an object/.test(error.message));
  });
}

test('over an adapter, records past the limit are not read: a damaged one there does not fail the load', async () => {
  const storage = arrayAdapter();
  const store = new EventStore({ storage });
  await store.appendEvents('s', -1, [{ type: 'A' }, { type: 'B' }, { type: 'C' }]);
  storage.records[2] = { version: 2, payload: 'not a payload' };
  assert.deepEqual((await store.loadEvents('s', -1, { limit: 2 })).map((e) => e.type), ['A', 'B']);
  await assert.rejects(store.loadEvents('s', -1), (error) => error.code === 'CORRUPT' && error.version === 2);
});
