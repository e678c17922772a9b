// The wrapper writes each batch's JSON as UTF-8 itself while checking it (instead of
// JSON.stringify then TextEncoder). What it writes must be byte for byte what those two make of
// the same values: the core stores `data` and `metadata` verbatim, so an adapter's payload shows
// the exact bytes. Random values from a seeded generator, heavy on what a hand-written
// serialiser gets wrong: escapes, control characters, non-ASCII, lone surrogates, number
// formats, integer-like keys (which objects list first), left-out members, toJSON, deep nesting.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { EventStore } from 'wasm-event-store';

/** Keeps every payload the core hands over. */
class RecordingStorage {
  streams = new Map();
  load(id, after) {
    return (this.streams.get(id) ?? []).filter((r) => r.version > after);
  }
  version(id) {
    return (this.streams.get(id)?.length ?? 0) - 1;
  }
  append(id, expected, records) {
    if (this.version(id) !== expected) return { ok: false, actualVersion: this.version(id) };
    this.streams.set(id, [...(this.streams.get(id) ?? []), ...records]);
    return { ok: true };
  }
}

/** xorshift32: the same values on every run. */
function generator(seed) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const pick = (list) => list[Math.floor(next() * list.length)];
  const units = [
    'a', 'Z', '0', ' ', '~', '"', '\\', '/', '\u007f', '\u0000', '\u0001', '\b', '\f', '\n', '\r', '\t', '\u001f',
    'é', 'ß', '\u0085', '\u00a0', '€', '中', '\u2028', '\u2029', '\ufeff', '\uffff', '🧨', '𝕏',
    '\ud800', '\udbff', '\udc00', '\udfff', // lone surrogates
  ];
  const string = () => {
    // Mostly plain ASCII (the fast path), sometimes with anything in it.
    if (next() < 0.5) return `sku-${Math.floor(next() * 1e6)}`;
    let text = '';
    const length = Math.floor(next() * 12);
    for (let i = 0; i < length; i++) text += pick(units);
    // Sometimes long (the writer copies strings over 128 units natively), around that bound.
    if (next() < 0.1) {
      const long = 120 + Math.floor(next() * 20);
      if (next() < 0.5) text = 'x'.repeat(long) + text;
      else while (text.length < long) text += pick(units);
    }
    return text;
  };
  const numbers = [
    0, -0, 1, -1, 7, 12.5, 0.1, -0.000001, 1e-7, 1.5e-7, 123456789012, 1e21, 1.7976931348623157e308,
    5e-324, -1e-324, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, 1 / 3, -2.5e-10, 100, 1e20,
  ];
  const number = () => (next() < 0.5 ? pick(numbers) : (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20));
  const keys = ['a', 'type', 'data', '', '0', '1', '10', '01', '-1', '4294967294', '4294967295', '__proto__', 'toString', 'k"', 'k\\', 'é', '\ud800', '🧨'];
  const value = (depth) => {
    const roll = next();
    if (depth > 5 || roll < 0.4) {
      const kind = Math.floor(next() * 5);
      if (kind === 0) return string();
      if (kind === 1) return number();
      if (kind === 2) return next() < 0.5;
      if (kind === 3) return null;
      return new Date(Math.floor(next() * 4e12) - 1e12); // toJSON: an ISO string
    }
    if (roll < 0.6) return Array.from({ length: Math.floor(next() * 5) }, () => value(depth + 1));
    if (roll < 0.65) {
      // Made now: toJSON must answer the same every time. Not a Date or another toJSON object:
      // JSON.stringify calls one toJSON per value, the store also the result's (a Date is
      // stored as its ISO string, not as JSON's {}).
      let replacement;
      do replacement = value(depth + 1);
      while (replacement instanceof Date || typeof replacement?.toJSON === 'function');
      // It is given its key (an array index as a string), as JSON.stringify gives it.
      return { toJSON: (key) => (typeof key === 'string' ? [key, replacement] : 'not a string') };
    }
    const object = {};
    const size = Math.floor(next() * 6);
    for (let i = 0; i < size; i++) {
      const key = next() < 0.5 ? pick(keys) : string();
      // undefined members are left out, as JSON leaves them out
      const member = next() < 0.1 ? undefined : value(depth + 1);
      Object.defineProperty(object, key, { value: member, enumerable: true, writable: true, configurable: true });
    }
    return object;
  };
  return { value, string, next };
}

/** JSON.stringify's text of `value` as the member `key` of an object. */
function memberJson(key, value) {
  const prefix = `{${JSON.stringify(key)}:`;
  const json = JSON.stringify({ [key]: value });
  assert.ok(json.startsWith(prefix) && json.endsWith('}'), `${key} is not left out`);
  return json.slice(prefix.length, -1);
}

/** `{ a: { a: ... { a: leaf } } }`, `depth` objects deep. */
function nested(depth, leaf) {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value, b: [i, 'é\n'] };
  return value;
}

describe('the batch JSON the wrapper writes', () => {
  test('is byte for byte JSON.stringify (as UTF-8) for 3,000 random events', async () => {
    const storage = new RecordingStorage();
    const store = new EventStore({ storage });
    const memory = new EventStore();
    const random = generator(20261127);
    for (let i = 0; i < 3000; i++) {
      const data = random.value(0);
      const metadata = random.next() < 0.5 ? undefined : { note: random.value(3), n: i };
      const event = { type: random.next() < 0.8 ? 'ItemAdded' : random.string() || 'T', data };
      if (metadata !== undefined) event.metadata = metadata;
      const id = `s-${i % 50}`;
      const version = await store.getCurrentVersion(id);
      await store.appendEvents(id, version ?? -1, [event]);
      await memory.appendEvents(id, version ?? -1, [event]);
      const records = storage.streams.get(id);
      const { payload } = records[records.length - 1];
      // What JSON makes of the data as the event's member (toJSON is given the key "data").
      const dataJson = memberJson('data', data);
      assert.ok(payload.includes(`,"data":${dataJson},"metadata":`),
        `event ${i}: the payload does not hold the data as JSON.stringify writes it:\n${payload}\nexpected data ${dataJson}`);
      if (metadata !== undefined) {
        assert.ok(payload.includes(`,"metadata":${memberJson('metadata', metadata)},`), `event ${i}: metadata differs:\n${payload}`);
      }
      // And the in-memory store gives back what JSON would.
      const [loaded] = await memory.loadEvents(id, (version ?? -1));
      assert.deepEqual(loaded.data, JSON.parse(dataJson), `event ${i}: the in-memory store loaded other data`);
    }
  });

  test('a batch of many events and every non-ASCII aggregate id round-trips exactly', async () => {
    const storage = new RecordingStorage();
    const store = new EventStore({ storage });
    const memory = new EventStore();
    const random = generator(7);
    const events = Array.from({ length: 500 }, () => ({ type: 'T', data: { v: random.value(1), s: random.string() } }));
    for (const id of ['plain', 'é', '🧨-stream', 'a\u2028b', 'x'.repeat(5000) + '中']) {
      assert.equal(await store.appendEvents(id, -1, events), 499);
      assert.equal(await memory.appendEvents(id, -1, events), 499);
      const expected = events.map((e) => JSON.parse(JSON.stringify(e.data)));
      assert.deepEqual((await memory.loadEvents(id)).map((e) => e.data), expected);
      assert.deepEqual((await memory.loadEvents(id)).map((e) => e.aggregateId), events.map(() => id));
      storage.streams.get(id).forEach((record, i) => {
        assert.ok(record.payload.includes(`"data":${JSON.stringify(events[i].data)},`), `${id} event ${i}`);
      });
    }
  });

  test('data nesting up to 1,000 levels is stored as JSON.stringify writes it; deeper, and cycles, are rejected naming the event', async () => {
    const storage = new RecordingStorage();
    const store = new EventStore({ storage });
    // `levels` containers, one inside the other, alternating objects and arrays.
    const chain = (levels) => {
      let value = '\ud800"';
      for (let i = 0; i < levels; i++) value = i % 2 ? { a: value, n: -0 } : [value, 'é\n'];
      return value;
    };
    for (const levels of [1, 60, 64, 65, 200, 999, 1000]) {
      const data = chain(levels);
      assert.equal(await store.appendEvents(`deep-${levels}`, -1, [{ type: 'Deep', data }]), 0, `${levels} levels`);
      const [{ payload }] = storage.streams.get(`deep-${levels}`);
      assert.ok(payload.includes(`"data":${JSON.stringify(data)},`), `${levels} levels`);
    }
    // metadata is an object, so its members start one level down.
    assert.equal(await store.appendEvents('deep-metadata', -1, [{ type: 'Deep', metadata: { m: chain(999) } }]), 0);
    const cyclic = { a: [1] };
    cyclic.a.push(cyclic);
    for (const [name, data] of [['1,001 levels', chain(1001)], ['100,000 levels', chain(100_000)], ['a cycle', cyclic]]) {
      await assert.rejects(store.appendEvents(`too-deep-${name}`, -1, [{ type: 'T' }, { type: 'Deep', data }]),
        (error) => error.code === 'INVALID_ARGUMENT' && error.message.startsWith('events[1].data') &&
          error.message.endsWith(' nests containers more than 1000 levels deep (or holds a cycle)'),
        name);
      assert.equal(await store.getCurrentVersion(`too-deep-${name}`), null);
    }
    await assert.rejects(store.appendEvents('deep-metadata-2', -1, [{ type: 'Deep', metadata: { m: chain(1000) } }]), { code: 'INVALID_ARGUMENT' });
  });

  test('what a toJSON returns is not converted again, as in JSON.stringify: a Date or a toJSON object it returns is rejected at any depth', async () => {
    const store = new EventStore();
    const returning = (result) => ({ toJSON: () => result });
    const cases = {
      'a Date': () => returning(new Date(0)), // JSON would write {}
      'an object with toJSON': () => returning({ toJSON: () => 1 }), // JSON would write {}
      'itself': () => ({ toJSON() { return this; } }), // JSON would write {}
    };
    for (const [name, make] of Object.entries(cases)) {
      for (const depth of [0, 70]) {
        const data = nested(depth, { x: make() });
        await assert.rejects(store.appendEvents(`to-json-${name}-${depth}`, -1, [{ type: 'T', data }]),
          { code: 'INVALID_ARGUMENT' }, `${name} at depth ${depth}`);
      }
    }
    // What a toJSON returns is still walked: Dates inside it are converted by their own toJSON.
    const data = { x: returning({ when: new Date(0), list: [new Date(1)] }) };
    await store.appendEvents('to-json-nested', -1, [{ type: 'T', data }]);
    const [event] = await store.loadEvents('to-json-nested');
    assert.deepEqual(event.data, JSON.parse(JSON.stringify(data)));
    assert.deepEqual(event.data, { x: { when: '1970-01-01T00:00:00.000Z', list: ['1970-01-01T00:00:00.001Z'] } });
  });

  test('members that are not part of an event are checked and left out, at any depth, whatever their name', async () => {
    for (const storage of [undefined, new RecordingStorage()]) {
      const store = new EventStore(storage && { storage });
      for (const depth of [0, 70]) {
        const data = nested(depth, 1);
        // A lone surrogate in a name (which the core's JSON reader refuses in event members).
        const extra = { type: 'T', data, '\ud800': 2, other: { x: [1] }, __proto__: null };
        const id = `extra-${depth}-${storage ? 'adapter' : 'memory'}`;
        assert.equal(await store.appendEvents(id, -1, [extra]), 0, `depth ${depth}`);
        const [event] = await store.loadEvents(id);
        // In memory events carry their position; the recording adapter has no global log.
        const keys = ['aggregateId', 'data', 'eventId', 'metadata', 'occurredOn', ...(storage ? [] : ['position']), 'type', 'version'];
        assert.deepEqual(Object.keys(event).sort(), keys);
        assert.deepEqual(event.data, JSON.parse(JSON.stringify(data)));
        if (storage) assert.ok(!storage.streams.get(id)[0].payload.includes('other'), 'an extra member reached the adapter');
        // ...but still checked: JSON cannot carry them faithfully.
        for (const bad of [NaN, () => 1, new Map(), { deep: [undefined] }]) {
          await assert.rejects(store.appendEvents(`${id}-bad`, -1, [{ type: 'T', data, extra: bad }]),
            { code: 'INVALID_ARGUMENT' }, `depth ${depth}: extra ${String(bad)}`);
        }
      }
    }
  });

  test('an array proxy\'s length is read once and as JSON reads it (ToLength)', async () => {
    const store = new EventStore();
    let reads = 0;
    const lengthObject = { valueOf: () => { reads++; return 2; } };
    const cases = [
      [2.5, [1, 2]],
      [lengthObject, [1, 2]],
      ['2', [1, 2]],
      [-1, []],
      [NaN, []],
    ];
    for (const [i, [length, stored]] of cases.entries()) {
      const list = new Proxy([1, 2, 3], { get: (target, key, receiver) => (key === 'length' ? length : Reflect.get(target, key, receiver)) });
      assert.equal(JSON.stringify(list), JSON.stringify(stored), 'the case is what JSON does');
      reads = 0;
      await store.appendEvents(`length-${i}`, -1, [{ type: 'T', data: { list } }]);
      const [event] = await store.loadEvents(`length-${i}`);
      assert.deepEqual(event.data.list, stored, `length ${String(length)}`);
      if (length === lengthObject) assert.equal(reads, 1, 'valueOf of the length was called more than once');
    }
  });

  test('an invalid Date is rejected whatever realm made it; a valid one from another realm is stored as its ISO string', async () => {
    const store = new EventStore();
    const foreignInvalid = runInNewContext('new Date(NaN)');
    assert.ok(!(foreignInvalid instanceof Date), 'the Date is of another realm');
    for (const [name, invalidDate] of [['this realm', new Date(NaN)], ['a vm context', foreignInvalid]]) {
      await assert.rejects(store.appendEvents('dates', -1, [{ type: 'T', data: { when: invalidDate } }]),
        (error) => error.code === 'INVALID_ARGUMENT' && error.message.includes('invalid Date'), name);
    }
    await store.appendEvents('dates', -1, [{ type: 'T', data: { when: runInNewContext('new Date(0)') } }]);
    const [event] = await store.loadEvents('dates');
    assert.deepEqual(event.data, { when: '1970-01-01T00:00:00.000Z' });
    // A toJSON answering null is stored as null: only a Date without a time is refused.
    await store.appendEvents('null-json', -1, [{ type: 'T', data: { x: { toJSON: () => null } } }]);
    assert.deepEqual((await store.loadEvents('null-json'))[0].data, { x: null });
  });

  test('every getter and toJSON runs once, at any depth', async () => {
    const store = new EventStore();
    for (const levels of [1, 100, 900]) {
      let getterRuns = 0;
      let toJSONRuns = 0;
      let data = {
        get counted() { getterRuns++; return 1; },
        stamp: { toJSON() { toJSONRuns++; return 'stamped'; } },
      };
      for (let i = 1; i < levels; i++) data = { a: data };
      await store.appendEvents(`once-${levels}`, -1, [{ type: 'T', data }]);
      assert.deepEqual([getterRuns, toJSONRuns], [1, 1], `${levels} levels`);
    }
  });

  test('a getter of the batch that appends to the same store gets its own buffer: both batches are stored whole', async () => {
    for (const storage of [undefined, new RecordingStorage()]) {
      const store = new EventStore(storage && { storage });
      let inner;
      const data = {
        before: 'x'.repeat(100),
        get nested() {
          // Runs while the outer batch is being written, and writes a batch of its own (big
          // enough to make the wasm memory grow).
          inner = store.appendEvents('inner', -1, [{ type: 'Inner', data: { big: 'y'.repeat(1 << 20) } }]);
          return 'read once';
        },
        after: 'z'.repeat(100),
      };
      assert.equal(await store.appendEvents('outer', -1, [{ type: 'Outer', data }]), 0);
      assert.equal(await inner, 0);
      const [outer] = await store.loadEvents('outer');
      assert.deepEqual(outer.data, { before: 'x'.repeat(100), nested: 'read once', after: 'z'.repeat(100) });
      const [nestedEvent] = await store.loadEvents('inner');
      assert.equal(nestedEvent.data.big.length, 1 << 20);
    }
  });
});
