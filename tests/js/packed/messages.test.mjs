// Error messages say where the problem is and what to do: the full path of a value JSON cannot
// carry, a forgotten await, null for a new stream's expected version, an adapter's broken answer
// in plain sentences, FileStorage's own errors with their codes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventStore, EventStoreError } from 'wasm-event-store';
import { FileStorage } from 'wasm-event-store/node';

/** The rejection of `promise` (which must reject with an EventStoreError). */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EventStoreError, `not an EventStoreError: ${error}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('values JSON cannot carry: the message names the full path', () => {
  const cyclic = { next: null };
  cyclic.next = cyclic;
  const throwing = { get x() { throw new Error('boom'); } };
  const cases = [
    [{ type: 'X', data: { order: { lines: [{ price: 12n }] } } }, 'events[1].data.order.lines[0].price is a bigint (12n), which JSON cannot carry faithfully'],
    [{ type: 'X', metadata: { trace: { 'span id': NaN } } }, 'events[1].metadata.trace["span id"] is NaN, which JSON cannot carry faithfully'],
    [{ type: 'X', data: [0, [1, () => 1]] }, 'events[1].data[1][1] is a function'],
    [{ type: 'X', data: { when: new Date(NaN) } }, 'events[1].data.when is an invalid Date'],
    [{ type: 'X', data: { list: [1, undefined] } }, 'events[1].data.list[1] is undefined'],
    [{ type: 'X', other: { s: Symbol('s') } }, 'events[1].other.s is a symbol'],
    [{ type: 'X', data: { inner: [throwing] } }, 'events[1].data.inner[0].x cannot be read: boom'],
    [{ type: 'X', data: new Map() }, 'events[1].data is an object (Map)'],
  ];
  for (const [event, expected] of cases) {
    test(expected.split(' ')[0], async () => {
      const store = new EventStore();
      const error = await rejection(store.appendEvents('s', -1, [{ type: 'Good' }, event]));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.ok(error.message.startsWith(expected), `${error.message}\n  should start with\n${expected}`);
      assert.equal(await store.getCurrentVersion('s'), null, 'nothing was written');
    });
  }

  test('a cycle: the path is shortened, and says how deep it went', async () => {
    const error = await rejection(new EventStore().appendEvents('s', -1, [{ type: 'X', data: cyclic }]));
    assert.match(error.message, /^events\[0\]\.data(\.next){7}…\(\d+ more\)…(\.next){4} nests containers more than 1000 levels deep \(or holds a cycle\)$/);
  });

  test('data and metadata are told apart', async () => {
    const store = new EventStore();
    const inData = await rejection(store.appendEvents('s', -1, [{ type: 'X', data: { a: 1n } }]));
    const inMetadata = await rejection(store.appendEvents('s', -1, [{ type: 'X', metadata: { a: 1n } }]));
    assert.match(inData.message, /^events\[0\]\.data\.a /);
    assert.match(inMetadata.message, /^events\[0\]\.metadata\.a /);
  });
});

describe('mistakes a newcomer makes: the message says what to do', () => {
  test('a storage that is a Promise (FileStorage.open() without await)', () => {
    assert.throws(() => new EventStore({ storage: Promise.resolve({}) }), (error) =>
      error instanceof EventStoreError && error.code === 'INVALID_ARGUMENT' &&
      /options\.storage is a Promise/.test(error.message) && /must be awaited/.test(error.message));
  });

  test('null as the expected version of a new stream: rejected, with -1 named', async () => {
    const store = new EventStore();
    for (const expected of [null, undefined]) {
      const error = await rejection(store.appendEvents('new', expected, [{ type: 'X' }]));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, /use -1 for a stream that does not exist yet/);
    }
    const other = await rejection(store.appendEvents('new', '0', [{ type: 'X' }]));
    assert.doesNotMatch(other.message, /use -1/, 'the hint is for null and undefined only');
  });
});

describe("an adapter's broken answer is told in plain sentences", () => {
  /** An adapter over a Map whose answers `answer` may replace. */
  const adapter = (answer) => ({
    records: [],
    load() { return this.records; },
    version() { return answer.version ?? this.records.length - 1; },
    append(id, expected, records) {
      if (answer.append !== undefined) return answer.append(expected);
      this.records.push(...records);
      return { ok: true };
    },
  });
  const appendCases = [
    [() => ({}), "the storage adapter's append() answered an object without a boolean ok; it must answer { ok: true } when it stored the records"],
    [() => 'ok', "the storage adapter's append() answered a string without a boolean ok"],
    [() => null, "the storage adapter's append() answered null without a boolean ok"],
    [() => ({ ok: false }), "the storage adapter's append() answered { ok: false } without an integer actualVersion from -1"],
    [(expected) => ({ ok: false, actualVersion: expected }), "the storage adapter's append() answered { ok: false } with actualVersion -1, which is the expected version"],
  ];
  for (const [append, expected] of appendCases) {
    test(expected.slice(40, 90), async () => {
      const error = await rejection(new EventStore({ storage: adapter({ append }) }).appendEvents('s', -1, [{ type: 'X' }]));
      assert.equal(error.code, 'STORAGE');
      assert.ok(error.message.includes(expected), error.message);
      assert.doesNotMatch(error.message, /\ba object\b/);
    });
  }
  for (const [version, expected] of [['3', 'answered a string;'], [1.5, 'answered the number 1.5;'], [undefined, 'answered undefined;']]) {
    test(`version() ${expected}`, async () => {
      const storage = adapter({});
      storage.version = () => version;
      const error = await rejection(new EventStore({ storage }).getCurrentVersion('s'));
      assert.equal(error.code, 'STORAGE');
      assert.ok(error.message.includes(`the storage adapter's version() ${expected} it must answer the stream's last version`), error.message);
    });
  }
});

describe("FileStorage's errors are EventStoreErrors with documented codes", () => {
  test("a directory in use: 'LOCKED', with the holder's pid", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wes-messages-'));
    const storage = await FileStorage.open(dir);
    try {
      const error = await rejection(FileStorage.open(dir));
      assert.equal(error.code, 'LOCKED');
      assert.equal(error.pid, process.pid);
      assert.match(error.message, /^FileStorage: the directory .* is in use by pid \d+/);
    } finally {
      await storage.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
