// Reliability: the bindings hammered with bad input, and no panics.
//
// Every argument of every method gets the whole matrix of wrong types and hostile values
// (proxies whose traps throw, revoked proxies, cycles, BigInt deep in data, throwing getters and
// toJSON, huge strings, unicode, 100k-level nesting), then ~5,000 mixed good and bad calls at
// once. Whatever happens, every method must return a Promise (never throw synchronously), every
// rejection must be an EventStoreError with a known code and never 'INTERNAL' (a trap, a panic or
// an unforeseen error), bad input must be INVALID_ARGUMENT, and the store must keep working and
// hold exactly what it held plus the good appends (each exactly once).
//
// Each test collects every problem it finds and fails once with the whole list, so that a
// failure shows all offending inputs at a glance.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventStore, EventStoreError, EventStoreConflictError } from 'wasm-event-store';

const KNOWN_CODES = new Set(['INVALID_ARGUMENT', 'CONFLICT', 'STORAGE', 'CORRUPT', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'LOCKED', 'FREED', 'NOT_INITIALIZED', 'NETWORK', 'INTERNAL']);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INVALID = 'INVALID_ARGUMENT';

// ---------------------------------------------------------------------------------------------
// Outcomes of a call and what is wrong with them
// ---------------------------------------------------------------------------------------------

/** Text for anything, hostile values included (a revoked proxy cannot even be String()ed). */
function show(value, max = 160) {
  let text;
  try {
    if (typeof value === 'string') text = JSON.stringify(value.length > max ? value.slice(0, max) + '…' : value);
    else if (typeof value === 'number') text = Object.is(value, -0) ? '-0' : String(value);
    else if (typeof value === 'bigint') text = `${value}n`;
    else if (typeof value === 'symbol' || typeof value === 'function' || value === undefined) text = String(value);
    else text = JSON.stringify(value) ?? String(value);
  } catch {
    try {
      text = Object.prototype.toString.call(value);
    } catch {
      text = '<unprintable>';
    }
  }
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** `value instanceof Class`, false where even asking throws (a Proxy whose getPrototypeOf throws). */
function isA(value, Class) {
  try {
    return value instanceof Class;
  } catch {
    return false;
  }
}

function showError(error) {
  if (isA(error, EventStoreError)) return `${error.name} ${error.code}: ${show(error.message)}`;
  let what;
  try {
    what = isA(error, Error) ? `${error.name}: ${error.message}` : show(error);
  } catch {
    what = '<unprintable>';
  }
  return `a raw ${typeof error} (${show(what)})`;
}

/** Calls `call` and records how it went: a synchronous throw, a non-Promise, or the settlement. */
async function run(call) {
  let result;
  try {
    result = call();
  } catch (error) {
    return { sync: true, error };
  }
  if (!isA(result, Promise)) return { notPromise: true, value: result };
  try {
    return { value: await result };
  } catch (error) {
    return { rejected: true, error };
  }
}

/** What is wrong with a rejection reason regardless of what was expected, or undefined. */
function reasonProblem(error) {
  if (!isA(error, EventStoreError)) return `rejected with ${showError(error)}, not an EventStoreError`;
  if (!isA(error, Error)) return 'the EventStoreError is not an Error';
  if (!KNOWN_CODES.has(error.code)) return `rejected with the unknown code ${show(error.code)}`;
  if (error.code === 'INTERNAL') return `rejected with INTERNAL (a trap, a panic or an unforeseen error): ${show(error.message, 300)}`;
  if (typeof error.message !== 'string' || error.message === '') return 'the error has no message';
  if ((error.code === 'CONFLICT') !== isA(error, EventStoreConflictError)) {
    return `code ${error.code} but ${isA(error, EventStoreConflictError) ? '' : 'not '}an EventStoreConflictError`;
  }
  return undefined;
}

/**
 * What is wrong with `outcome` given `expect`, or undefined:
 *   { code, mentions? }                          a rejection with that code (and message part)
 *   { code: 'CONFLICT', expectedVersion, actualVersion }
 *   { resolves: (value) => problem | undefined }  a resolution the function checks
 *   { any: true }                                either, checked elsewhere (but never a bad reason)
 */
function problemOf(outcome, expect) {
  if (outcome.sync) return `threw synchronously: ${showError(outcome.error)}`;
  if (outcome.notPromise) return `returned ${show(outcome.value)} instead of a Promise`;
  if (outcome.rejected) {
    const problem = reasonProblem(outcome.error);
    if (problem) return problem;
    const { error } = outcome;
    if (expect.any) return undefined;
    if (expect.resolves) return `rejected with ${showError(error)}, expected it to resolve`;
    if (error.code !== expect.code) return `rejected with ${showError(error)}, expected ${expect.code}`;
    if (expect.mentions && !error.message.includes(expect.mentions)) {
      return `the message ${show(error.message)} does not name ${show(expect.mentions)}`;
    }
    if (expect.code === 'CONFLICT') {
      const got = { expectedVersion: error.expectedVersion, actualVersion: error.actualVersion };
      const want = { expectedVersion: expect.expectedVersion, actualVersion: expect.actualVersion };
      if (got.expectedVersion !== want.expectedVersion || got.actualVersion !== want.actualVersion) {
        return `conflict fields ${show(got)}, expected ${show(want)}`;
      }
    }
    return undefined;
  }
  if (expect.any) return undefined;
  if (expect.code) return `resolved to ${show(outcome.value)}, expected a rejection with ${expect.code}`;
  return expect.resolves(outcome.value);
}

/** Runs the cases (all at once, or one after the other) and returns the list of problems. */
async function problemsOf(cases, { concurrent = false } = {}) {
  const problems = [];
  const check = async ({ label, call, expect }) => {
    const problem = problemOf(await run(call), expect);
    if (problem !== undefined) problems.push(`${label}: ${problem}`);
  };
  if (concurrent) await Promise.all(cases.map(check));
  else for (const c of cases) await check(c);
  return problems;
}

/** Fails with the whole list of problems (the first 60, and how many more). */
function assertNoProblems(problems, what) {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 60).join('\n  ');
  const more = problems.length > 60 ? `\n  … and ${problems.length - 60} more` : '';
  assert.fail(`${problems.length} problem(s) ${what}:\n  ${shown}${more}`);
}

// Iterative structural comparison of JSON values: assert.deepEqual recurses and would overflow
// the stack on the 100k-level values below. Undefined if equal, else where they differ.
function jsonDifference(actual, expected) {
  const stack = [[actual, expected, 0, '$']];
  while (stack.length > 0) {
    const [a, b, depth, key] = stack.pop();
    if (a === b) continue;
    const where = `depth ${depth} (key ${show(key, 40)})`;
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
      return `${show(a, 60)} instead of ${show(b, 60)} at ${where}`;
    }
    if (Array.isArray(a) !== Array.isArray(b)) return `array/object mismatch at ${where}`;
    const keysA = Object.keys(a);
    const keysB = Object.keys(b);
    if (keysA.length !== keysB.length) return `${keysA.length} members instead of ${keysB.length} at ${where}`;
    for (const k of keysB) {
      if (!Object.hasOwn(a, k)) return `member ${show(k, 40)} missing at ${where}`;
      stack.push([a[k], b[k], depth + 1, k]);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The matrix of values
// ---------------------------------------------------------------------------------------------

const NOT_JSON = Symbol('not carried faithfully by JSON');
class Point {
  constructor() {
    this.x = 1;
    this.y = 2;
  }
}
class WithToJSON {
  toJSON() {
    return { ok: true };
  }
}
class ToJSONReturning {
  constructor(make) {
    this.make = make;
  }
  toJSON() {
    return this.make(this);
  }
}

const trapError = (trap) => new Error(`the ${String(trap)} trap exploded`);
const throwingTrap = (trap) => () => {
  throw trapError(trap);
};
/** A proxy of `target` whose every trap throws. */
const everyTrapThrows = (target) =>
  new Proxy(target, new Proxy({}, { get: (_, trap) => throwingTrap(trap) }));
const revoked = (target) => {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
};
const withGetter = (get) => Object.defineProperty({ ok: 1 }, 'boom', { enumerable: true, get });
const thrower = (make) => () => {
  throw make();
};
function nest(depth, leaf, kind) {
  let value = leaf;
  for (let i = 0; i < depth; i++) {
    value = kind === 'arrays' || (kind === 'mixed' && i % 2 === 1) ? [value] : { k: value };
  }
  return value;
}
function cyclicThrough(depth) {
  const root = { level: 0 };
  let node = root;
  for (let i = 1; i < depth; i++) node = node.next = { level: i };
  node.next = root;
  return root;
}

/**
 * Every entry makes a fresh value (so a revoked proxy or a one-shot getter is new for each call).
 * `json` is what JSON carries of it (undefined: left out, as a missing member) or NOT_JSON when
 * the store must refuse it as data. None of them is a non-empty string or a valid stream id.
 */
const V = (name, make, ...json) => ({ name, make, json: json.length > 0 ? json[0] : NOT_JSON });
const VALUES = [
  V('undefined', () => undefined, undefined),
  V('null', () => null, null),
  // numbers
  V('0', () => 0, 0),
  V('-0', () => -0, 0),
  V('-1', () => -1, -1),
  V('-2', () => -2, -2),
  V('1.5', () => 1.5, 1.5),
  V('NaN', () => NaN),
  V('Infinity', () => Infinity),
  V('-Infinity', () => -Infinity),
  V('2**53', () => 2 ** 53, 2 ** 53),
  V('-(2**53)', () => -(2 ** 53), -(2 ** 53)),
  V('2**53-1', () => Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  V('Number.MAX_VALUE', () => Number.MAX_VALUE, Number.MAX_VALUE),
  V('Number.MIN_VALUE', () => Number.MIN_VALUE, Number.MIN_VALUE),
  // BigInt and symbols
  V('0n', () => 0n),
  V('1n', () => 1n),
  V('-1n', () => -1n),
  V('2n**64n', () => 2n ** 64n),
  V('Symbol()', () => Symbol('s')),
  V('Symbol.iterator', () => Symbol.iterator),
  V('Symbol.for()', () => Symbol.for('wes')),
  // functions
  V('arrow function', () => () => 1),
  V('function', () => function named() {}),
  V('async function', () => async () => {}),
  V('generator function', () => function* gen() {}),
  V('class', () => class Klass {}),
  V('bound function', () => function f() {}.bind(null)),
  // other primitives
  V('true', () => true, true),
  V('false', () => false, false),
  V('empty string', () => '', ''),
  // arrays
  V('[]', () => [], []),
  V('[1, "a", null]', () => [1, 'a', null], [1, 'a', null]),
  V('[undefined]', () => [undefined]),
  V('sparse array', () => [, 1]), // eslint-disable-line no-sparse-arrays
  V('[1n]', () => [1n]),
  V('array with a function', () => [() => 1]),
  V('array with an extra named member', () => Object.assign([1], { extra: 2 }), [1]),
  // objects
  V('{}', () => ({}), {}),
  V('Object.create(null)', () => Object.create(null), {}),
  V('{ a: undefined }', () => ({ a: undefined }), {}),
  V('{ nested: { list: [1, { b: "c" }] } }', () => ({ nested: { list: [1, { b: 'c' }] } }), { nested: { list: [1, { b: 'c' }] } }),
  V('object with a throwing Symbol.toPrimitive', () => ({ [Symbol.toPrimitive]: throwingTrap('toPrimitive') }), {}),
  V('object with throwing valueOf and toString', () => ({ valueOf: throwingTrap('valueOf'), toString: throwingTrap('toString') })),
  V('thenable', () => ({ then() {} })),
  V('new Date(0)', () => new Date(0), '1970-01-01T00:00:00.000Z'),
  V('new Date(NaN)', () => new Date(NaN)),
  V('new Date(8.64e15)', () => new Date(8.64e15), '+275760-09-13T00:00:00.000Z'),
  V('new Map()', () => new Map()),
  V('new Map([["type", "X"]])', () => new Map([['type', 'X']])),
  V('new Set([1])', () => new Set([1])),
  V('new WeakMap()', () => new WeakMap()),
  V('new WeakRef({})', () => new WeakRef({})),
  V('class instance', () => new Point()),
  V('class instance with toJSON', () => new WithToJSON(), { ok: true }),
  V('new String("a")', () => new String('a')), // eslint-disable-line no-new-wrappers
  V('new String("")', () => new String('')), // eslint-disable-line no-new-wrappers
  V('new Number(1)', () => new Number(1)), // eslint-disable-line no-new-wrappers
  V('new Boolean(false)', () => new Boolean(false)), // eslint-disable-line no-new-wrappers
  V('Object(1n)', () => Object(1n)),
  V('Object(Symbol())', () => Object(Symbol('boxed'))),
  V('RegExp', () => /re/g),
  V('Error', () => new Error('an error as a value')),
  V('Promise', () => Promise.resolve(1)),
  V('Uint8Array', () => new Uint8Array(4)),
  V('ArrayBuffer', () => new ArrayBuffer(4)),
  V('DataView', () => new DataView(new ArrayBuffer(4))),
  // hostile proxies
  V('Proxy whose get trap throws', () => new Proxy({ type: 'X' }, { get: throwingTrap('get') })),
  V('Proxy whose ownKeys trap throws', () => new Proxy({ type: 'X' }, { ownKeys: throwingTrap('ownKeys') })),
  V('Proxy whose getPrototypeOf trap throws', () => new Proxy({ type: 'X' }, { getPrototypeOf: throwingTrap('getPrototypeOf') })),
  // No operation of the store asks `in`: this one is a plain object as far as JSON goes.
  V('Proxy whose has trap throws', () => new Proxy({ k: 'X' }, { has: throwingTrap('has') }), { k: 'X' }),
  V('Proxy whose getOwnPropertyDescriptor trap throws', () => new Proxy({ type: 'X' }, { getOwnPropertyDescriptor: throwingTrap('getOwnPropertyDescriptor') })),
  V('Proxy of an object, every trap throws', () => everyTrapThrows({ type: 'X' })),
  V('Proxy of an array whose length getter throws', () => new Proxy([{ type: 'X' }], {
    get: (target, key, receiver) => (key === 'length' ? throwingTrap('length')() : Reflect.get(target, key, receiver)),
  })),
  V('Proxy of an array whose element getter throws', () => new Proxy([{ type: 'X' }, 1], {
    get: (target, key, receiver) => (key === '0' || key === '1' ? throwingTrap(`get ${key}`)() : Reflect.get(target, key, receiver)),
  })),
  V('Proxy of an array, every trap throws', () => everyTrapThrows([{ type: 'X' }])),
  V('Proxy of a function, every trap throws', () => everyTrapThrows(function target() {})),
  V('revoked Proxy of an object', () => revoked({ type: 'X' })),
  V('revoked Proxy of an array', () => revoked([{ type: 'X' }])),
  V('revoked Proxy of a function', () => revoked(() => {})),
  // throwing getters and toJSON, and what they throw
  V('object with a throwing getter', () => withGetter(throwingTrap('getter'))),
  V('object with a getter throwing 42', () => withGetter(thrower(() => 42))),
  V('object with a getter throwing a Symbol', () => withGetter(thrower(() => Symbol('thrown')))),
  V('object with a getter throwing undefined', () => withGetter(thrower(() => undefined))),
  V('object with a getter throwing Object.create(null)', () => withGetter(thrower(() => Object.create(null)))),
  V('object with a getter throwing an object whose toString throws', () => withGetter(thrower(() => ({ toString: throwingTrap('toString') })))),
  V('object with a getter throwing a revoked Proxy', () => withGetter(thrower(() => revoked({})))),
  V('object with a getter throwing a Proxy whose every trap throws', () => withGetter(thrower(() => everyTrapThrows({})))),
  V('toJSON that throws', () => new ToJSONReturning(throwingTrap('toJSON'))),
  V('toJSON returning a BigInt', () => new ToJSONReturning(() => 1n)),
  V('toJSON returning a function', () => new ToJSONReturning(() => () => 1)),
  V('toJSON returning undefined', () => new ToJSONReturning(() => undefined), undefined), // left out, as JSON does
  V('toJSON returning itself', () => new ToJSONReturning((self) => self)),
  V('toJSON returning a revoked Proxy', () => new ToJSONReturning(() => revoked({}))),
  V('toJSON returning a Map', () => new ToJSONReturning(() => new Map())),
  V('Date whose toJSON throws', () => Object.assign(new Date(0), { toJSON: throwingTrap('toJSON') })),
  // cycles and BigInt deep in data
  V('cyclic object', () => {
    const o = { a: 1 };
    o.self = o;
    return o;
  }),
  V('cyclic array', () => {
    const a = [1];
    a.push(a);
    return a;
  }),
  V('cycle through 100 levels', () => cyclicThrough(100)),
  V('cycle through 10,000 levels', () => cyclicThrough(10_000)),
  V('BigInt 10 levels deep', () => nest(10, 1n, 'mixed')),
  V('BigInt 100 levels deep', () => nest(100, 1n, 'objects')),
  V('BigInt 1,000 levels deep in arrays', () => nest(1_000, 1n, 'arrays')),
  V('BigInt after 100,000 good members', () => ({ ...Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])), last: 1n })),
  V('NaN 200 levels deep', () => nest(200, NaN, 'mixed')),
  V('a function 200 levels deep', () => nest(200, () => 1, 'mixed')),
  V('a Map 200 levels deep', () => nest(200, new Map(), 'objects')),
  V('a revoked Proxy 200 levels deep', () => nest(200, revoked({}), 'objects')),
];

const isJsonObject = (json) => json !== null && typeof json === 'object' && !Array.isArray(json);

// ---------------------------------------------------------------------------------------------
// The shared store and what it must hold
// ---------------------------------------------------------------------------------------------

// One store for the whole file: it must survive everything below.
const store = new EventStore();
const SEEDED = 'seeded'; // version 1
const FRESH = 'fresh'; // never written
/** Every stream the file wrote, with the events it must hold (as loaded right after writing). */
const expected = new Map();

const good = (n) => ({ type: 'Good', data: { n } });

/** What is wrong with the store's content compared to `expected`: a list of problems. */
async function contentProblems() {
  const problems = [];
  for (const [id, events] of expected) {
    const label = `stream ${show(id, 60)}`;
    const version = await run(() => store.getCurrentVersion(id));
    const want = events.length === 0 ? null : events.length - 1;
    if (version.rejected || version.sync || version.value !== want) {
      problems.push(`${label}: getCurrentVersion gave ${version.rejected || version.sync ? showError(version.error) : show(version.value)}, expected ${want}`);
    }
    const loaded = await run(() => store.loadEvents(id));
    if (loaded.rejected || loaded.sync) {
      problems.push(`${label}: loadEvents failed: ${showError(loaded.error)}`);
      continue;
    }
    const difference = jsonDifference(loaded.value, events);
    if (difference) problems.push(`${label}: holds other events than before: ${difference}`);
  }
  return problems;
}

async function assertContentIntact(when) {
  assertNoProblems(await contentProblems(), `in the store's content ${when}`);
}

/** Appends and records the stream's new content as what it must hold from now on. */
async function appendTracked(id, expectedVersion, events) {
  const version = await store.appendEvents(id, expectedVersion, events);
  expected.set(id, await store.loadEvents(id));
  return version;
}

before(async () => {
  assert.equal(
    await appendTracked(SEEDED, -1, [
      { type: 'Seeded', data: { n: 1, list: [1, 'two', null, true] }, metadata: { by: 'setup' } },
      { type: 'Seeded', data: 'second', eventId: 'given-id', occurredOn: '2024-05-01T12:00:00+02:00' },
    ]),
    1,
  );
  expected.set(FRESH, []);
  assert.equal((await store.loadEvents(SEEDED)).length, 2);
});

// ---------------------------------------------------------------------------------------------
// The cases of the matrix: every argument of every method
// ---------------------------------------------------------------------------------------------

const inRangeVersion = (v) => typeof v === 'number' && Number.isInteger(v) && v >= -1 && v <= Number.MAX_SAFE_INTEGER;

function resolvesTo(want) {
  return { resolves: (value) => jsonDifference(value, want) && `resolved to ${show(value)}, expected ${show(want)}` };
}

/** Cases that must not change the store: rejections and reads. */
function argumentCases() {
  const cases = [];
  const add = (label, call, expect) => cases.push({ label, call, expect });
  for (const v of VALUES) {
    const sample = v.make();
    const isNumber = typeof sample === 'number';
    const n = v.name;
    // aggregateId: nothing in VALUES is a non-empty string
    const id = { code: INVALID, mentions: 'aggregateId' };
    add(`appendEvents(${n}, -1, [good])`, () => store.appendEvents(v.make(), -1, [good(1)]), id);
    add(`appendEvents(${n}, 1, [])`, () => store.appendEvents(v.make(), 1, []), id);
    add(`loadEvents(${n})`, () => store.loadEvents(v.make()), id);
    add(`loadEvents(${n}, 0)`, () => store.loadEvents(v.make(), 0), id);
    add(`getCurrentVersion(${n})`, () => store.getCurrentVersion(v.make()), id);

    // expectedVersion: SEEDED is at 1 and FRESH at -1; 1 is not in VALUES
    const seededVersion = isNumber && inRangeVersion(sample)
      ? { code: 'CONFLICT', expectedVersion: sample, actualVersion: 1 }
      : { code: INVALID, mentions: 'expectedVersion' };
    add(`appendEvents(seeded, ${n}, [good])`, () => store.appendEvents(SEEDED, v.make(), [good(1)]), seededVersion);
    let freshVersion = { code: INVALID, mentions: 'expectedVersion' };
    if (isNumber && sample === -1) freshVersion = resolvesTo(null);
    else if (isNumber && inRangeVersion(sample)) freshVersion = { code: 'CONFLICT', expectedVersion: sample, actualVersion: -1 };
    add(`appendEvents(fresh, ${n}, [])`, () => store.appendEvents(FRESH, v.make(), []), freshVersion);

    // fromVersion: undefined and null mean all; integers are clamped
    for (const [stream, events] of [[SEEDED, () => expected.get(SEEDED)], [FRESH, () => []]]) {
      let from = { code: INVALID, mentions: 'fromVersion' };
      if (sample === undefined || sample === null) from = { resolves: (value) => resolvesTo(events()).resolves(value) };
      else if (isNumber && Number.isInteger(sample)) {
        from = { resolves: (value) => resolvesTo(events().slice(Math.min(Math.max(sample, -1) + 1, 3))).resolves(value) };
      }
      add(`loadEvents(${stream}, ${n})`, () => store.loadEvents(stream, v.make()), from);
    }

    // events: only a real empty array is a valid batch here
    const emptyBatch = n === '[]';
    add(`appendEvents(seeded, 1, ${n})`, () => store.appendEvents(SEEDED, 1, v.make()),
      emptyBatch ? resolvesTo(1) : { code: INVALID, mentions: 'events' });
    add(`appendEvents(fresh, -1, ${n})`, () => store.appendEvents(FRESH, -1, v.make()),
      emptyBatch ? resolvesTo(null) : { code: INVALID, mentions: 'events' });

    // an event: nothing in VALUES is an event (no plain object with a type)
    add(`appendEvents(seeded, 1, [good, ${n}])`, () => store.appendEvents(SEEDED, 1, [good(1), v.make()]),
      { code: INVALID, mentions: 'events[1]' });

    // members of an event, where the value is refused (the accepted ones are in acceptedCases)
    for (const member of MEMBERS) {
      if (member.accepts(v.json)) continue;
      add(`appendEvents(seeded, 1, [good, { ${member.name}: ${n} }])`,
        () => store.appendEvents(SEEDED, 1, [good(1), member.event(v.make())]),
        { code: INVALID, mentions: 'events[1]' });
    }
  }
  // Strings that are not valid stream ids: empty, or with lone surrogates.
  for (const [name, bad] of [['empty string', ''], ['lone high surrogate', '\uD800'], ['lone low surrogate', '\uDFFF'],
    ['surrogates in the wrong order', '\uDC00\uD800'], ['lone surrogate inside', 'order-\uD83D-1'], ['huge id ending in a lone surrogate', 'x'.repeat(1 << 20) + '\uD800']]) {
    const id = { code: INVALID, mentions: 'aggregateId' };
    add(`appendEvents(${name}, -1, [good])`, () => store.appendEvents(bad, -1, [good(1)]), id);
    add(`loadEvents(${name})`, () => store.loadEvents(bad), id);
    add(`getCurrentVersion(${name})`, () => store.getCurrentVersion(bad), id);
  }
  // Strings where numbers are expected.
  for (const s of ['0', '1', '-1', '', ' 1 ', '1e0', '0x1']) {
    add(`appendEvents(seeded, ${show(s)}, [good])`, () => store.appendEvents(SEEDED, s, [good(1)]), { code: INVALID, mentions: 'expectedVersion' });
    add(`loadEvents(seeded, ${show(s)})`, () => store.loadEvents(SEEDED, s), { code: INVALID, mentions: 'fromVersion' });
  }
  return cases;
}

/** The members of an event, and which values each accepts (by what JSON carries of them). */
const MEMBERS = [
  {
    name: 'data',
    event: (value) => ({ type: 'Probe', data: value }),
    accepts: (json) => json !== NOT_JSON,
    stored: (json) => (json === undefined ? null : json),
  },
  {
    name: 'metadata',
    event: (value) => ({ type: 'Probe', metadata: value }),
    accepts: (json) => json === undefined || isJsonObject(json),
    stored: (json) => (json === undefined ? {} : json),
  },
  {
    name: 'type',
    event: (value) => ({ type: value }),
    accepts: (json) => typeof json === 'string' && json !== '',
    stored: (json) => json,
  },
  {
    name: 'eventId',
    event: (value) => ({ type: 'Probe', eventId: value }),
    accepts: (json) => json === undefined || (typeof json === 'string' && json !== ''),
    stored: (json) => (json === undefined ? UUID_V4 : json),
  },
  {
    name: 'occurredOn',
    event: (value) => ({ type: 'Probe', occurredOn: value }),
    // Only Dates in VALUES give strings that are date-times.
    accepts: (json) => json === undefined || (typeof json === 'string' && /^[+-]?\d{4,6}-\d\d-\d\dT/.test(json)),
    stored: (json) => (json === undefined ? ISO_UTC_MS : new Date(json).toISOString()),
  },
];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe('the bad-input matrix', () => {
  test('every argument of every method: bad values reject with INVALID_ARGUMENT (a Promise, an EventStoreError)', async (t) => {
    const cases = argumentCases();
    t.diagnostic(`${cases.length} calls`);
    assertNoProblems(await problemsOf(cases), 'with bad arguments');
    await assertContentIntact('after the bad arguments');
  });

  test('values an event member accepts are stored as JSON carries them, each in its own stream', async (t) => {
    const problems = [];
    let count = 0;
    for (const member of MEMBERS) {
      for (const v of VALUES) {
        if (!member.accepts(v.json)) continue;
        count++;
        const id = `accepted/${member.name}/${v.name}`;
        const label = `appendEvents(${show(id)}, -1, [{ ${member.name}: ${v.name} }])`;
        const outcome = await run(() => store.appendEvents(id, -1, [member.event(v.make())]));
        const problem = problemOf(outcome, resolvesTo(0));
        if (problem) {
          problems.push(`${label}: ${problem}`);
          continue;
        }
        const [event, ...more] = await store.loadEvents(id);
        expected.set(id, [event, ...more]);
        const want = member.stored(v.json);
        const got = event?.[member.name];
        if (more.length > 0) problems.push(`${label}: ${more.length + 1} events stored`);
        else if (want instanceof RegExp ? !want.test(got) : jsonDifference(got, want)) {
          problems.push(`${label}: stored ${show(got)}, expected ${want instanceof RegExp ? want : show(want)}`);
        }
      }
    }
    t.diagnostic(`${count} accepted values`);
    assertNoProblems(problems, 'with accepted values');
    await assertContentIntact('after the accepted values');
  });

  test('the constructor: bad options throw an EventStoreError (INVALID_ARGUMENT), never a raw value', () => {
    const problems = [];
    const construct = (label, make, mustThrow) => {
      let made;
      try {
        made = new EventStore(make());
      } catch (error) {
        if (!isA(error, EventStoreError)) problems.push(`${label}: threw ${showError(error)}, not an EventStoreError`);
        else if (error.code !== INVALID) problems.push(`${label}: threw ${showError(error)}, expected ${INVALID}`);
        return;
      }
      made.free();
      if (mustThrow) problems.push(`${label}: constructed a store, expected ${INVALID}`);
    };
    for (const v of VALUES) {
      const sample = v.make();
      // Non-objects are refused; objects are options (in-memory unless they carry a storage).
      construct(`new EventStore(${v.name})`, v.make, sample === null || (sample !== undefined && typeof sample !== 'object'));
      // No value in VALUES is a StorageAdapter: only undefined means "in memory".
      construct(`new EventStore({ storage: ${v.name} })`, () => ({ storage: v.make() }), sample !== undefined);
      construct(`new EventStore(options whose storage getter throws ${v.name})`,
        () => Object.defineProperty({}, 'storage', { enumerable: true, get: thrower(v.make) }), true);
    }
    assertNoProblems(problems, 'constructing stores');
  });

  test('methods called on a wrong receiver (detached, or another object) reject with an EventStoreError, not INTERNAL', async () => {
    const { appendEvents, loadEvents, getCurrentVersion } = store;
    const receivers = [['undefined', undefined], ['a plain object', {}], ['EventStore.prototype', EventStore.prototype], ['a Proxy of the store', new Proxy(store, {})]];
    // Any rejection will do (INVALID_ARGUMENT would be natural), but not INTERNAL and not a raw
    // TypeError, and nothing may be written.
    const cases = [];
    for (const [name, self] of receivers) {
      cases.push({ label: `appendEvents on ${name}`, call: () => appendEvents.call(self, 'wrong-receiver', -1, [good(1)]) });
      cases.push({ label: `loadEvents on ${name}`, call: () => loadEvents.call(self, SEEDED) });
      cases.push({ label: `getCurrentVersion on ${name}`, call: () => getCurrentVersion.call(self, SEEDED) });
    }
    expected.set('wrong-receiver', []);
    const problems = [];
    for (const { label, call } of cases) {
      const outcome = await run(call);
      if (outcome.sync) problems.push(`${label}: threw synchronously: ${showError(outcome.error)}`);
      else if (outcome.notPromise) problems.push(`${label}: did not return a Promise`);
      else if (!outcome.rejected) problems.push(`${label}: resolved to ${show(outcome.value)}`);
      else {
        const problem = reasonProblem(outcome.error);
        if (problem) problems.push(`${label}: ${problem}`);
      }
    }
    assertNoProblems(problems, 'with wrong receivers');
    await assertContentIntact('after calls on wrong receivers');
  });

  test('a value that changes between reads (getter, Proxy, toJSON) is rejected or stored as read, never changed silently', async () => {
    // The wrapper checks the data and then serialises it: both read every member. A member that
    // reads as 1 and then as something JSON cannot carry must not end up stored as what JSON
    // makes of the second read (null for NaN, nothing for a function or undefined).
    const flip = (first, then) => {
      let reads = 0;
      return () => (reads++ === 0 ? first : then);
    };
    const cases = [
      ['a getter: 1, then NaN', () => Object.defineProperty({}, 'x', { enumerable: true, get: flip(1, NaN) })],
      ['a getter: 1, then a function', () => Object.defineProperty({}, 'x', { enumerable: true, get: flip(1, () => 1) })],
      ['a getter: 1, then undefined', () => Object.defineProperty({}, 'x', { enumerable: true, get: flip(1, undefined) })],
      ['a Proxy: 1, then Infinity', () => {
        const read = flip(1, Infinity);
        return new Proxy({ x: 0 }, { get: (target, key) => (key === 'x' ? read() : target[key]) });
      }],
      ['toJSON: { x: 1 }, then { x: NaN }', () => {
        const read = flip(1, NaN);
        return new ToJSONReturning(() => ({ x: read() }));
      }],
      ['an array Proxy: [1], then [undefined]', () => {
        const read = flip(1, undefined);
        return new Proxy([0], { get: (target, key, receiver) => (key === '0' ? read() : Reflect.get(target, key, receiver)) });
      }],
    ];
    const problems = [];
    for (const [name, make] of cases) {
      const id = `changing/${name}`;
      const outcome = await run(() => store.appendEvents(id, -1, [{ type: 'Changing', data: make() }]));
      if (outcome.sync || outcome.notPromise || outcome.rejected) {
        const problem = problemOf(outcome, { code: INVALID });
        if (problem) problems.push(`${name}: ${problem}`);
        expected.set(id, []);
        continue;
      }
      const [event] = await store.loadEvents(id);
      expected.set(id, await store.loadEvents(id));
      const firstRead = Array.isArray(event.data) ? [1] : { x: 1 };
      const difference = jsonDifference(event.data, firstRead);
      if (difference) problems.push(`${name}: stored ${show(event.data)}, which is neither a rejection nor what was read (${show(firstRead)})`);
    }
    assertNoProblems(problems, 'with values that change between reads');
  });
});

describe('hostile content that is valid', () => {
  test('unicode: emoji, RTL, NUL, BOM, combining marks in ids; lone surrogates in data are kept', async () => {
    const ids = ['🧨', '👩‍👩‍👧‍👦', 'שלום עולם', '\u202Eevil\u202C', 'a\u0000b', 'a', '\u0000', 'é', 'e\u0301', '\uFEFF', '\uFFFF', 'a\u2028b', '𝕏'.repeat(1000), '"quoted"\\', '__proto__', 'constructor'];
    const weird = {
      emoji: '🧨👩‍👩‍👧‍👦',
      rtl: 'مرحبا \u200F עברית',
      nul: 'a\u0000b\u0000',
      control: '\u0001\u001F\u007F\u0085',
      lone: ['\uD800', '\uDFFF', 'a\uD800b', '\uDC00\uD800', '\uDBFF\uDFFF', '\uD83D'],
      '\uD800key': '\uDFFF value',
      'k\u0000': 'nul key',
      '': 'empty key',
      ['__proto__']: { polluted: true },
      constructor: 'not the constructor',
    };
    for (const [i, id] of ids.entries()) {
      assert.equal(await appendTracked(id, -1, [
        { type: `type-${i}-🧨\u0000\uD800`, data: { ...weird, i }, metadata: { '\uDFFF': '\uD800', id }, eventId: `id-\uDC00-${i}` },
      ]), 0, `append to ${show(id)}`);
    }
    for (const [i, id] of ids.entries()) {
      const events = await store.loadEvents(id);
      assert.equal(events.length, 1, `${show(id)} holds one event (distinct ids are distinct streams)`);
      const [event] = events;
      assert.equal(event.aggregateId, id);
      assert.equal(event.type, `type-${i}-🧨\u0000\uD800`);
      assert.equal(event.eventId, `id-\uDC00-${i}`);
      assert.deepEqual(event.metadata, { '\uDFFF': '\uD800', id });
      assert.equal(jsonDifference(event.data, { ...weird, i }), undefined, `${show(id)}: data kept exactly`);
      assert.ok(Object.hasOwn(event.data, '__proto__'), '__proto__ is a member, not the prototype');
      assert.equal(Object.getPrototypeOf(event.data), Object.prototype);
    }
    await assertContentIntact('after the unicode streams');
  });

  test('huge strings: ids and data of several MB round-trip; a BigInt or lone surrogate at their end is refused', async (t) => {
    const started = performance.now();
    const hugeId = `huge-${'🧨é'.repeat(1 << 20)}-end`; // 3 Mi UTF-16 units, 6 MiB of UTF-8
    const hugeData = 'd'.repeat(8 << 20);
    const hugeType = 'T'.repeat(1 << 20);
    assert.equal(await appendTracked(hugeId, -1, [{ type: 'Huge', data: hugeData }, { type: hugeType, eventId: 'e'.repeat(1 << 20), metadata: { m: hugeData.slice(0, 1 << 20) } }]), 1);
    const [first, second] = await store.loadEvents(hugeId);
    assert.equal(first.aggregateId, hugeId);
    assert.equal(first.data, hugeData);
    assert.equal(second.type, hugeType);
    assert.equal(await store.getCurrentVersion(hugeId), 1);
    assert.equal(await store.getCurrentVersion(hugeId.slice(0, -1)), null, 'a prefix of the id is another stream');
    assert.deepEqual(await store.loadEvents(`${hugeId}x`), []);

    const problems = await problemsOf([
      { label: 'huge data ending in a BigInt', call: () => store.appendEvents(hugeId, 1, [good(1), { type: 'X', data: [hugeData, 1n] }]), expect: { code: INVALID, mentions: 'events[1]' } },
      { label: 'huge id ending in a lone surrogate', call: () => store.appendEvents(`${hugeId}\uD800`, -1, [good(1)]), expect: { code: INVALID, mentions: 'aggregateId' } },
      { label: 'huge data, stale version', call: () => store.appendEvents(hugeId, 0, [{ type: 'X', data: hugeData }]), expect: { code: 'CONFLICT', expectedVersion: 0, actualVersion: 1 } },
      { label: 'a batch of 20,000 events to a new stream', call: () => store.appendEvents('many-events', -1, Array.from({ length: 20_000 }, (_, i) => good(i))), expect: resolvesTo(19_999) },
    ]);
    expected.set('many-events', await store.loadEvents('many-events'));
    assert.equal(expected.get('many-events').length, 20_000);
    assertNoProblems(problems, 'with huge strings');
    await assertContentIntact('after the huge strings');
    t.diagnostic(`huge strings: ${Math.round(performance.now() - started)} ms`);
  });

  test('deep nesting up to 100,000 levels: stored faithfully up to 1,000 levels, rejected with INVALID_ARGUMENT beyond, never a crash', async (t) => {
    const problems = [];
    const outcomes = [];
    for (const depth of [65, 129, 999, 1_000, 1_001, 2_000, 10_000, 100_000]) {
      for (const kind of ['objects', 'arrays', 'mixed']) {
        for (const member of ['data', 'metadata', 'unknown member']) {
          const value = nest(depth, 'leaf', kind);
          const event = member === 'data' ? { type: 'Deep', data: value }
            : member === 'metadata' ? { type: 'Deep', metadata: { deep: value } }
              : { type: 'Deep', extra: value };
          const id = `deep/${depth}/${kind}/${member}`;
          const label = `${depth} levels of ${kind} in ${member}`;
          // The README's bound: at most 1,000 levels of containers (metadata's own object is one).
          const levels = member === 'metadata' ? depth + 1 : depth;
          const promised = levels <= 1000 ? 'stored' : 'rejected';
          const outcome = await run(() => store.appendEvents(id, -1, [event]));
          if (outcome.sync || outcome.notPromise || outcome.rejected) {
            const problem = problemOf(outcome, { code: INVALID, mentions: 'events[0]' });
            if (problem) problems.push(`${label}: ${problem}`);
            if (promised !== 'rejected') problems.push(`${label}: rejected, but ${levels} levels are within the bound`);
            outcomes.push(`${label}: rejected`);
            expected.set(id, []);
            continue;
          }
          if (promised !== 'stored') problems.push(`${label}: stored, but ${levels} levels are past the bound`);
          if (outcome.value !== 0) problems.push(`${label}: resolved to ${show(outcome.value)}, expected 0`);
          const loaded = await run(() => store.loadEvents(id));
          if (loaded.rejected || loaded.sync) {
            problems.push(`${label}: stored, but loadEvents failed: ${showError(loaded.error)}`);
            continue;
          }
          const [stored] = loaded.value;
          expected.set(id, loaded.value);
          const difference = member === 'data' ? jsonDifference(stored.data, value)
            : member === 'metadata' ? jsonDifference(stored.metadata, { deep: value })
              : (Object.hasOwn(stored, 'extra') ? 'the unknown member was stored' : undefined);
          if (difference) problems.push(`${label}: stored unfaithfully: ${difference}`);
          outcomes.push(`${label}: stored`);
        }
      }
    }
    t.diagnostic(outcomes.join('; '));
    assertNoProblems(problems, 'with deep nesting');
    await assertContentIntact('after deep nesting');
  });
});

describe('thousands of calls at once', () => {
  test('~5,000 mixed good and bad calls in one Promise.all: each settles as it must, the store holds the good ones once', async (t) => {
    const before = await contentProblems();
    assertNoProblems(before, 'before the storm');
    const snapshot = new Map([...expected].map(([id]) => [id, undefined]));
    for (const id of snapshot.keys()) snapshot.set(id, { version: await store.getCurrentVersion(id), events: await store.loadEvents(id) });

    // A deterministic shuffle (xorshift), so that a failure reproduces.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };

    const cases = [];
    const GOOD = 1_000;
    const RACERS = 200;
    const tokens = [];
    for (let i = 0; i < GOOD; i++) {
      const token = `good-${i}`;
      tokens.push(token);
      cases.push({ label: `good append ${i}`, call: () => store.appendEvents(`storm/${i}`, -1, [{ type: 'Storm', data: { token } }]), expect: resolvesTo(0) });
    }
    // Racers: all expect a new stream; exactly one may win, the others must get a conflict.
    const raceOutcomes = [];
    for (let i = 0; i < RACERS; i++) {
      cases.push({
        label: `racer ${i}`,
        call: () => {
          const promise = store.appendEvents('storm/race', -1, [{ type: 'Race', data: { racer: i } }]);
          raceOutcomes.push(promise.then(() => ({ racer: i, won: true }), (error) => ({ racer: i, won: false, error })));
          return promise;
        },
        expect: { any: true }, // a win or a conflict: checked below
      });
    }
    const seededEvents = snapshot.get(SEEDED).events;
    for (let i = 0; i < 1_000; i++) {
      const which = i % 4;
      if (which === 0) cases.push({ label: `read ${i}`, call: () => store.loadEvents(SEEDED), expect: resolvesTo(seededEvents) });
      else if (which === 1) cases.push({ label: `read ${i}`, call: () => store.getCurrentVersion(SEEDED), expect: resolvesTo(1) });
      else if (which === 2) cases.push({ label: `read ${i}`, call: () => store.loadEvents(SEEDED, 0), expect: resolvesTo(seededEvents.slice(1)) });
      else cases.push({ label: `stale append ${i}`, call: () => store.appendEvents(SEEDED, 0, [good(i)]), expect: { code: 'CONFLICT', expectedVersion: 0, actualVersion: 1 } });
    }
    const bad = argumentCases();
    for (let i = 0; i < 2_800; i++) {
      const c = bad[Math.floor(random() * bad.length)];
      cases.push({ ...c, label: `bad ${i}: ${c.label}` });
    }
    for (let i = cases.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [cases[i], cases[j]] = [cases[j], cases[i]];
    }

    const started = performance.now();
    const stormProblems = await problemsOf(cases, { concurrent: true });
    t.diagnostic(`${cases.length} calls at once in ${Math.round(performance.now() - started)} ms`);

    // The race: exactly one winner, every loser a conflict saying the stream is at 0.
    const race = await Promise.all(raceOutcomes);
    const winners = race.filter((r) => r.won);
    if (winners.length !== 1) stormProblems.push(`${winners.length} racers won the race on storm/race, expected exactly 1`);
    for (const r of race.filter((x) => !x.won)) {
      const problem = problemOf({ rejected: true, error: r.error }, { code: 'CONFLICT', expectedVersion: -1, actualVersion: 0 });
      if (problem) stormProblems.push(`racer ${r.racer}: ${problem}`);
    }
    assertNoProblems(stormProblems, 'in the storm');

    // Every good append is there exactly once, and nothing else is.
    const counts = new Map(tokens.map((token) => [token, 0]));
    for (let i = 0; i < GOOD; i++) {
      const events = await store.loadEvents(`storm/${i}`);
      for (const e of events) counts.set(e.data.token, (counts.get(e.data.token) ?? 0) + 1);
      assert.equal(events.length, 1, `storm/${i} holds exactly its one event`);
      assert.equal(events[0].data.token, `good-${i}`);
      expected.set(`storm/${i}`, events);
    }
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'every good append is stored exactly once');
    const raceStream = await store.loadEvents('storm/race');
    assert.equal(raceStream.length, 1, 'the race stream holds the winner only');
    assert.equal(raceStream[0].data.racer, winners[0]?.racer);
    expected.set('storm/race', raceStream);

    // Everything that was there before is exactly as it was.
    for (const [id, { version, events }] of snapshot) {
      assert.equal(await store.getCurrentVersion(id), version, `version of ${show(id, 60)}`);
      assert.equal(jsonDifference(await store.loadEvents(id), events), undefined, `events of ${show(id, 60)}`);
    }
    await assertContentIntact('after the storm');
  });
});

describe('freed stores and stores over hostile adapters', () => {
  test('a freed store rejects every call with FREED (or INVALID_ARGUMENT for bad input); free() twice is fine', async () => {
    const freed = new EventStore();
    await freed.appendEvents('x', -1, [good(1)]);
    freed.free();
    assert.doesNotThrow(() => freed.free());
    const cases = [
      { label: 'appendEvents', call: () => freed.appendEvents('x', 0, [good(2)]), expect: { code: 'FREED' } },
      { label: 'appendEvents, empty batch', call: () => freed.appendEvents('x', 0, []), expect: { code: 'FREED' } },
      { label: 'loadEvents', call: () => freed.loadEvents('x'), expect: { code: 'FREED' } },
      { label: 'getCurrentVersion', call: () => freed.getCurrentVersion('x'), expect: { code: 'FREED' } },
    ];
    for (const v of VALUES) {
      cases.push({ label: `appendEvents(${v.name}) on a freed store`, call: () => freed.appendEvents(v.make(), -1, [good(1)]), expect: { code: INVALID } });
      cases.push({ label: `appendEvents('x', -1, [{ data: ${v.name} }]) on a freed store`, call: () => freed.appendEvents('x', -1, [{ type: 'X', data: v.make() }]), expect: { code: v.json === NOT_JSON ? INVALID : 'FREED' } });
    }
    assertNoProblems(await problemsOf(cases, { concurrent: true }), 'on a freed store');
  });

  test('free() while an adapter call is in flight: the call still settles, no trap', async () => {
    let open;
    const gate = new Promise((resolve) => {
      open = resolve;
    });
    const streams = new Map();
    const adapter = {
      async load(id, after) {
        await gate;
        return (streams.get(id) ?? []).filter((r) => r.version > after);
      },
      async version(id) {
        await gate;
        return (streams.get(id)?.length ?? 0) - 1;
      },
      async append(id, expectedVersion, records) {
        await gate;
        const stream = streams.get(id) ?? [];
        if (stream.length - 1 !== expectedVersion) return { ok: false, actualVersion: stream.length - 1 };
        streams.set(id, [...stream, ...records]);
        return { ok: true };
      },
    };
    const inFlight = new EventStore({ storage: adapter });
    const calls = [
      inFlight.appendEvents('a', -1, [good(1)]),
      inFlight.appendEvents('a', -1, [good(2)]),
      inFlight.getCurrentVersion('a'),
      inFlight.loadEvents('a'),
    ];
    inFlight.free();
    open();
    const settled = await Promise.allSettled(calls);
    const problems = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') {
        const problem = reasonProblem(s.reason);
        if (problem) problems.push(`call ${i}: ${problem}`);
      }
    }
    assertNoProblems(problems, 'with free() during calls');
    // Whatever settled how, the adapter holds one contiguous stream.
    assert.deepEqual((streams.get('a') ?? []).map((r) => r.version), (streams.get('a') ?? []).map((_, i) => i));
    await assert.rejects(inFlight.getCurrentVersion('a'), (error) => error instanceof EventStoreError && error.code === 'FREED');
  });

  // An adapter's answers are input to the bindings too. Each case runs in a child process: a
  // hostile answer must not throw out of the wasm, leave a Promise pending forever (the child's
  // event loop would then drain and it would report the call as never settled), leave the stream
  // locked (the same call again would never settle) or kill the store.
  const HOSTILE_ADAPTER_CASES = {
    'version() answers an object whose property reads throw': ['getCurrentVersion', 'STORAGE'],
    'version() answers [such an object]': ['getCurrentVersion', 'STORAGE'],
    'version() answers a Promise of such an object': ['getCurrentVersion', 'STORAGE'],
    'version() answers a revoked Proxy': ['getCurrentVersion', 'STORAGE'],
    'version() answers a BigInt': ['getCurrentVersion', 'STORAGE'],
    'version() answers a Symbol': ['getCurrentVersion', 'STORAGE'],
    'version() answers a thenable whose then throws': ['getCurrentVersion', 'STORAGE'],
    'version() throws a revoked Proxy': ['getCurrentVersion', 'STORAGE'],
    'version() throws an object whose property reads throw': ['getCurrentVersion', 'STORAGE'],
    'version() rejects with undefined': ['getCurrentVersion', 'STORAGE'],
    'version() answers a native Promise whose own then throws': ['getCurrentVersion', 'STORAGE'],
    'version() answers a native Promise whose constructor getter throws': ['getCurrentVersion', 'STORAGE'],
    'append() answers an object whose property reads throw': ['appendEvents', 'STORAGE'],
    'append() answers { ok: an object whose property reads throw }': ['appendEvents', 'STORAGE'],
    'append() answers { ok: false, actualVersion: a revoked Proxy }': ['appendEvents', 'STORAGE'],
    'append() throws an object whose property reads throw': ['appendEvents', 'STORAGE'],
    'load() answers an object whose property reads throw': ['loadEvents', 'CORRUPT'],
    'load() answers [an object whose property reads throw]': ['loadEvents', 'CORRUPT'],
    'load() answers a Proxy of an array whose length getter throws': ['loadEvents', 'STORAGE|CORRUPT'],
    'load() answers a record whose payload is an object whose property reads throw': ['loadEvents', 'CORRUPT'],
    'load() throws a revoked Proxy': ['loadEvents', 'STORAGE'],
  };

  // Runs in the child (serialised with Function.prototype.toString).
  async function hostileAdapterChild(pkgUrl, caseName) {
    const report = { settled: false, uncaught: [] };
    const text = (value) => {
      try {
        return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
      } catch {
        return '<unprintable>';
      }
    };
    process.on('uncaughtException', (error) => report.uncaught.push(text(error)));
    process.on('unhandledRejection', (error) => report.uncaught.push(`unhandled rejection: ${text(error)}`));
    process.on('exit', () => process.stdout.write(`\nREPORT ${JSON.stringify(report)}\n`));
    const { EventStore, EventStoreError } = await import(pkgUrl);

    const sneaky = () => new Proxy({}, {
      get(_, key) {
        if (key === 'then') return undefined; // not a thenable: the value itself is the answer
        throw new Error(`property read ${String(key)} exploded`);
      },
    });
    const revokedProxy = () => {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return r.proxy;
    };
    const hostile = {
      'version() answers an object whose property reads throw': { version: () => sneaky() },
      'version() answers [such an object]': { version: () => [sneaky()] },
      'version() answers a Promise of such an object': { version: async () => sneaky() },
      'version() answers a revoked Proxy': { version: () => revokedProxy() },
      'version() answers a BigInt': { version: () => 1n },
      'version() answers a Symbol': { version: () => Symbol('v') },
      'version() answers a thenable whose then throws': { version: () => ({ get then() { throw new Error('then exploded'); } }) },
      'version() throws a revoked Proxy': { version: () => { throw revokedProxy(); } },
      'version() throws an object whose property reads throw': { version: () => { throw sneaky(); } },
      'version() rejects with undefined': { version: () => Promise.reject(undefined) }, // eslint-disable-line prefer-promise-reject-errors
      'version() answers a native Promise whose own then throws': {
        version: () => {
          const p = Promise.resolve(0);
          p.then = () => { throw new Error('own then exploded'); };
          return p;
        },
      },
      'version() answers a native Promise whose constructor getter throws': {
        version: () => {
          const p = Promise.resolve(0);
          Object.defineProperty(p, 'constructor', { get() { throw new Error('constructor exploded'); } });
          return p;
        },
      },
      'append() answers an object whose property reads throw': { append: () => sneaky() },
      'append() answers { ok: an object whose property reads throw }': { append: () => ({ ok: sneaky() }) },
      'append() answers { ok: false, actualVersion: a revoked Proxy }': { append: () => ({ ok: false, actualVersion: revokedProxy() }) },
      'append() throws an object whose property reads throw': { append: () => { throw sneaky(); } },
      'load() answers an object whose property reads throw': { load: () => sneaky() },
      'load() answers [an object whose property reads throw]': { load: () => [sneaky()] },
      'load() answers a Proxy of an array whose length getter throws': {
        load: () => new Proxy([], { get: (t, k, r) => { if (k === 'length') throw new Error('length exploded'); return Reflect.get(t, k, r); } }),
      },
      'load() answers a record whose payload is an object whose property reads throw': { load: () => [{ version: 0, payload: sneaky() }] },
      'load() throws a revoked Proxy': { load: () => { throw revokedProxy(); } },
    }[caseName];
    if (!hostile) throw new Error(`unknown case ${caseName}`);

    // An honest in-memory adapter, hostile only for the stream 'evil'.
    const streams = new Map();
    const honest = {
      load: (id, after) => (streams.get(id) ?? []).filter((r) => r.version > after),
      version: (id) => (streams.get(id)?.length ?? 0) - 1,
      append: (id, expectedVersion, records) => {
        const stream = streams.get(id) ?? [];
        if (stream.length - 1 !== expectedVersion) return { ok: false, actualVersion: stream.length - 1 };
        streams.set(id, [...stream, ...records]);
        return { ok: true };
      },
    };
    const adapter = {};
    for (const method of ['load', 'version', 'append']) {
      adapter[method] = (id, ...rest) => (id === 'evil' && hostile[method] ? hostile[method](id, ...rest) : honest[method](id, ...rest));
    }
    const store = new EventStore({ storage: adapter });
    report.before = await store.appendEvents('good', -1, [{ type: 'Before' }]);
    const call = {
      getCurrentVersion: () => store.getCurrentVersion('evil'),
      appendEvents: () => store.appendEvents('evil', -1, [{ type: 'X' }]),
      loadEvents: () => store.loadEvents('evil'),
    };
    try {
      report.value = await call[process.env.WES_METHOD]();
      report.outcome = 'resolved';
    } catch (error) {
      report.outcome = 'rejected';
      report.isStoreError = error instanceof EventStoreError;
      report.code = error?.code;
      report.error = text(error);
    }
    // The same call again: it must settle the same way (a failure must not leave the stream
    // locked, which would make this one wait forever).
    try {
      await call[process.env.WES_METHOD]();
      report.again = 'resolved';
    } catch (error) {
      report.again = error?.code;
    }
    // The store still works for the other streams.
    report.after = await store.appendEvents('good', 0, [{ type: 'After' }]);
    report.afterLoad = (await store.loadEvents('good')).map((e) => e.type);
    report.settled = true;
  }

  for (const [name, [method, codes]] of Object.entries(HOSTILE_ADAPTER_CASES)) {
    test(`hostile adapter: ${name} → ${codes}, the store keeps working`, () => {
      const source = `(${hostileAdapterChild})(process.env.WES_PKG_URL, process.env.WES_CASE)`;
      const env = { ...process.env, WES_PKG_URL: import.meta.resolve('wasm-event-store'), WES_CASE: name, WES_METHOD: method };
      delete env.NODE_TEST_CONTEXT; // the child is not a test file
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', source], { env, encoding: 'utf8', timeout: 60_000 });
      const line = child.stdout.split('\n').find((l) => l.startsWith('REPORT '));
      assert.ok(line, `the child reported nothing (status ${child.status}, signal ${child.signal}):\n${child.stderr}`);
      const report = JSON.parse(line.slice('REPORT '.length));
      const summary = JSON.stringify(report);
      assert.deepEqual(report.uncaught, [], `an exception escaped the store (uncaught in the process): ${summary}`);
      assert.equal(report.settled, true, `the call never settled (or the store stopped working after it): ${summary}`);
      assert.equal(report.outcome, 'rejected', summary);
      assert.equal(report.isStoreError, true, summary);
      assert.ok(codes.split('|').includes(report.code), `code ${report.code}, expected ${codes}: ${summary}`);
      assert.ok(codes.split('|').includes(report.again), `the same call again: ${report.again}, expected ${codes}: ${summary}`);
      assert.equal(report.after, 1, summary);
      assert.deepEqual(report.afterLoad, ['Before', 'After'], summary);
      assert.equal(child.status, 0, `child exit status ${child.status}: ${child.stderr}`);
    });
  }
});

// Declared last, so it runs after everything above.
test('the shared store still works and holds exactly what was written to it', async () => {
  await assertContentIntact('at the end');
  assert.equal(await store.appendEvents(SEEDED, 1, [{ type: 'After' }]), 2);
  assert.equal(await store.appendEvents(FRESH, -1, [{ type: 'After' }]), 0);
  const [after] = await store.loadEvents(SEEDED, 1);
  assert.equal(after.type, 'After');
  assert.equal(after.version, 2);
  assert.equal(await store.getCurrentVersion(FRESH), 0);
});
