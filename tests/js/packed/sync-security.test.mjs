// The sync handler as an attacker meets it, over real HTTP: reads and writes of aggregates the
// caller may not touch, bodies over the limit, malformed JSON, other protocol versions, unknown
// routes and methods, and a fuzz run of random requests. Never a 5xx, never a stack, and a
// refused request changes no stored byte (the FileStorage directory is compared byte for byte).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, FileStorage } from 'wasm-event-store/node';
import { serve } from './fixtures/sync-helpers.mjs';

/** Alice may read and write aggregates starting with alice/, read public/, nothing else. */
function authorize({ request, aggregateId, access }) {
  const user = request.headers.get('authorization');
  if (user === 'alice') return aggregateId.startsWith('alice/') || (access === 'read' && aggregateId.startsWith('public/'));
  return false;
}

async function withFileServer(run, limits) {
  const dir = await mkdtemp(join(tmpdir(), 'wes-sync-sec-'));
  const storage = await FileStorage.open(dir);
  const store = new EventStore({ storage });
  const server = await serve({ store, authorize, limits });
  try {
    await run({ store, server, dir });
  } finally {
    await server.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function snapshot(dir) {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) {
    if (name.endsWith('.lock')) continue;
    hash.update(name).update(await readFile(join(dir, name)).catch(() => Buffer.alloc(0)));
  }
  return hash.digest('hex');
}

const event = (i) => ({ type: 'T', data: i, eventId: `id-${i}-${Math.random()}`, occurredOn: '2026-01-01T00:00:00.000Z' });
const push = (batches, protocol = 1) => JSON.stringify({ protocol, batches });

async function call(server, path, { method = 'GET', body, user = 'alice', headers = {} } = {}) {
  const response = await fetch(`${server.url}${path}`, { method, body, headers: { authorization: user, 'content-type': 'application/json', ...headers } });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

test('writes are authorized per aggregate before anything is written; a refused one refuses the request', () => withFileServer(async ({ server, store, dir }) => {
  const ok = await call(server, '/push', { method: 'POST', body: push([{ aggregateId: 'alice/list', expectedVersion: -1, events: [event(0)] }]) });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.results, [{ status: 'ok', version: 0 }]);
  const before = await snapshot(dir);
  const mixed = await call(server, '/push', {
    method: 'POST',
    body: push([
      { aggregateId: 'alice/list', expectedVersion: 0, events: [event(1)] },
      { aggregateId: 'bob/list', expectedVersion: -1, events: [event(2)] },
      { aggregateId: 'public/news', expectedVersion: -1, events: [event(3)] },
    ]),
  });
  assert.equal(mixed.status, 403);
  assert.equal(mixed.json.protocol, 1);
  assert.equal(mixed.json.error.code, 'forbidden');
  assert.deepEqual(mixed.json.error.aggregates, ['bob/list', 'public/news']);
  assert.equal(await snapshot(dir), before, 'nothing written');
  assert.equal((await call(server, '/push', { method: 'POST', user: 'mallory', body: push([{ aggregateId: 'alice/list', expectedVersion: 0, events: [event(4)] }]) })).status, 403);
  assert.equal((await store.loadAllEvents()).length, 1);
}));

test('pulls return only what the caller may read, and move past the rest', () => withFileServer(async ({ server, store }) => {
  await store.appendEvents('bob/secret', -1, [{ type: 'Secret' }]);
  await store.appendEvents('public/news', -1, [{ type: 'News' }]);
  await store.appendEvents('bob/secret', 0, [{ type: 'Secret' }]);
  const page = await call(server, '/pull?protocol=1&after=-1');
  assert.equal(page.status, 200);
  assert.deepEqual(page.json.events.map((e) => e.aggregateId), ['public/news']);
  assert.equal(page.json.lastPosition, 2, 'the cursor passes the unreadable events');
  assert.ok(!page.text.includes('Secret'));
  const stranger = await call(server, '/pull?protocol=1&after=-1', { user: 'mallory' });
  assert.deepEqual(stranger.json.events, []);
}));

test('bad requests get a 4xx with a JSON error, never a 5xx or a partial write', () => withFileServer(async ({ server, dir }) => {
  const before = await snapshot(dir);
  const valid = { aggregateId: 'alice/a', expectedVersion: -1, events: [event(0)] };
  const cases = [
    ['body over the limit', '/push', { method: 'POST', body: push([{ ...valid, events: [{ ...event(0), data: 'x'.repeat(5000) }] }]) }, 413, 'too-large'],
    ['too many batches', '/push', { method: 'POST', body: push(Array.from({ length: 4 }, (_, i) => ({ ...valid, aggregateId: `alice/${i}` }))) }, 413, 'too-large'],
    ['too many events', '/push', { method: 'POST', body: push([{ ...valid, events: [event(1), event(2), event(3), event(4)] }]) }, 413, 'too-large'],
    ['malformed JSON', '/push', { method: 'POST', body: '{"protocol":1,"batches":[' }, 400, 'malformed'],
    ['not UTF-8', '/push', { method: 'POST', body: new Uint8Array([0x7b, 0xff, 0x7d]) }, 400, 'malformed'],
    ['another protocol', '/push', { method: 'POST', body: push([valid], 2) }, 400, 'protocol'],
    ['no protocol on a pull', '/pull?after=-1', {}, 400, 'protocol'],
    ['an event without its id', '/push', { method: 'POST', body: push([valid, { ...valid, aggregateId: 'alice/b', events: [{ type: 'T' }] }]) }, 400, 'invalid'],
    ['an event the core refuses', '/push', { method: 'POST', body: push([{ ...valid, events: [{ ...event(0), type: '' }] }]) }, 400, 'invalid'],
    ['a bad expected version', '/push', { method: 'POST', body: push([{ ...valid, expectedVersion: -2 }]) }, 400, 'invalid'],
    ["a replica's bookkeeping stream", '/push', { method: 'POST', body: push([{ ...valid, aggregateId: '$wes-sync/outbox' }]) }, 400, 'invalid'],
    ['a number JS cannot hold', '/push', { method: 'POST', body: push([valid]).replace('"data":0', '"data":1e400') }, 400, 'invalid'],
    ['a bad position', '/pull?protocol=1&after=x', {}, 400, 'malformed'],
    ['a limit that is no number', '/pull?protocol=1&limit=lots', {}, 400, 'malformed'],
    ['an unknown route', '/admin', {}, 404, 'not-found'],
    ['a wrong method', '/push', { method: 'GET' }, 405, 'method'],
    ['a wrong method on pull', '/pull?protocol=1', { method: 'DELETE' }, 405, 'method'],
  ];
  for (const [what, path, options, status, code] of cases) {
    const answer = await call(server, path, options);
    assert.equal(answer.status, status, `${what}: ${answer.text}`);
    assert.equal(answer.json?.protocol, 1, what);
    assert.equal(answer.json?.error?.code, code, `${what}: ${answer.text}`);
    assert.ok(!/\n\s+at /.test(answer.text), `${what}: no stack`);
  }
  const capped = await call(server, '/pull?protocol=1&limit=100000');
  assert.equal(capped.status, 200, 'a limit past the maximum is capped, not refused');
  const invalid = await call(server, '/push', { method: 'POST', body: push([valid, { ...valid, aggregateId: 'alice/b', events: [{ type: 'T' }] }]) });
  assert.deepEqual(invalid.json.error.batches, [1], 'the refusal names the bad batch');
  assert.equal(await snapshot(dir), before, 'no refused request wrote anything');
}, { maxBodyBytes: 4096, maxBatches: 3, maxEvents: 3, maxPullEvents: 100 }));

test('fuzz: random requests never get a 5xx, and only accepted pushes change the storage', () => withFileServer(async ({ server, dir, store }) => {
  let seed = 20261201;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = (items) => items[Math.floor(random() * items.length)];
  const values = [null, true, 0, -1, 1.5, 2 ** 60, '', 'x', 'alice/a', [], {}, [{}], { type: 'T' }, '\u0000', 'é'.repeat(3)];
  const randomEvent = () => {
    const e = event(Math.floor(random() * 1000));
    if (random() < 0.3) e[pick(['type', 'eventId', 'occurredOn', 'data', 'metadata'])] = pick(values);
    if (random() < 0.1) delete e[pick(['type', 'eventId', 'occurredOn'])];
    return e;
  };
  const randomBatch = () => {
    const batch = { aggregateId: pick(['alice/a', 'alice/b', 'bob/c', 'public/d']), expectedVersion: pick([-1, 0, 1, 2]), events: Array.from({ length: 1 + Math.floor(random() * 3) }, randomEvent) };
    if (random() < 0.2) batch[pick(['aggregateId', 'expectedVersion', 'events'])] = pick(values);
    return batch;
  };
  const randomBody = () => {
    const shape = random();
    if (shape < 0.6) return push(Array.from({ length: Math.floor(random() * 4) }, randomBatch), random() < 0.9 ? 1 : pick(values));
    if (shape < 0.8) {
      const text = push([randomBatch()]);
      const at = Math.floor(random() * text.length);
      return text.slice(0, at) + pick(['', '"', '{', ']', '\\', '\u0000', 'null']) + text.slice(at + 1);
    }
    return JSON.stringify(pick(values));
  };
  let accepted = 0;
  for (let i = 0; i < 600; i++) {
    const before = await snapshot(dir);
    const kind = random();
    let answer;
    if (kind < 0.7) {
      answer = await call(server, '/push', { method: pick(['POST', 'POST', 'POST', 'PUT']), body: randomBody(), user: pick(['alice', 'alice', 'bob', '']) });
    } else {
      const query = pick(['protocol=1', 'protocol=2', '', 'protocol=1&after=' + pick(['-1', '0', 'NaN', '1e3', '99999999999999999']), 'protocol=1&limit=' + pick(['0', '1', '-5', 'abc']), 'protocol=1&wait=' + pick(['0', '-1', 'x'])]);
      answer = await call(server, `${pick(['/pull', '/push', '/', '/pull/extra', '/%2e%2e'])}?${query}`, { method: pick(['GET', 'GET', 'POST', 'HEAD']) });
    }
    assert.ok(answer.status < 500, `request ${i}: ${answer.status} ${answer.text}`);
    const changed = (await snapshot(dir)) !== before;
    const wrote = answer.status === 200 && answer.json?.results?.some((r) => r.status === 'ok');
    if (wrote) accepted++;
    assert.equal(changed, Boolean(wrote), `request ${i} (${answer.status}) ${changed ? 'changed' : 'did not change'} the storage: ${answer.text.slice(0, 200)}`);
  }
  assert.ok(accepted > 0, 'some random pushes were valid and went through');
  for (const e of await store.loadAllEvents()) assert.ok(e.aggregateId.startsWith('alice/'), 'only what alice may write was written');
}));
