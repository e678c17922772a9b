// Sync, in one process over real HTTP on loopback: replicas appending offline and converging
// through createSyncHandler, conflicts rebased or rejected, the NETWORK error, answers lost
// after the server committed, bookkeeping invisible to the app, a replica reopened from its
// storage, two replicas over one storage pushing at once, the live feed, and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, EventStoreError, EventStoreConflictError, FileStorage, HttpRemote, Replica } from 'wasm-event-store/node';
import { createSyncHandler } from 'wasm-event-store/server';
import { dropProxy, redecide, serve, until } from './fixtures/sync-helpers.mjs';

async function withServer(run, options = {}) {
  const store = options.store ?? new EventStore();
  const server = await serve({ store, ...options });
  try {
    await run({ store, server, remote: () => new HttpRemote(server.url) });
  } finally {
    await server.close();
  }
}

const strip = (events) => events.map(({ aggregateId, version, type, data, eventId, position, pending }) => ({ aggregateId, version, type, data, eventId, position, pending }));

test('appends work offline at once, are pending until a pull confirms them, and converge on every replica', () => withServer(async ({ store, remote }) => {
  const a = await Replica.open({ remote: remote() });
  const b = await Replica.open({ remote: remote() });
  assert.equal(await a.appendEvents('list-1', -1, [{ type: 'Created', data: { title: 'Groceries' } }, { type: 'Added', data: 'milk' }]), 1);
  const [first, second] = await a.loadEvents('list-1');
  assert.equal(first.pending, true);
  assert.equal(first.position, undefined);
  assert.equal(second.version, 1);
  assert.equal(a.status.pending, 2);
  assert.equal(await a.getCurrentVersion('list-1'), 1);
  await assert.rejects(a.appendEvents('list-1', 0, [{ type: 'Added' }]), (error) => error instanceof EventStoreConflictError && error.actualVersion === 1);
  assert.deepEqual(await store.loadAllEvents(), [], 'nothing reaches the server before a sync');

  await a.sync();
  assert.equal(a.status.pending, 0);
  assert.equal(a.status.lastPulledPosition, 1);
  assert.equal(a.status.online, true);
  const confirmed = await a.loadEvents('list-1');
  assert.equal(confirmed[0].pending, undefined, 'confirmed events carry no pending member');
  assert.deepEqual(confirmed.map((e) => e.position), [0, 1]);
  assert.deepEqual(confirmed.map((e) => e.eventId), [first.eventId, second.eventId], 'the ids stamped offline are the server\'s');
  await b.sync();
  assert.deepEqual(strip(await b.loadEvents('list-1')), strip(await store.loadEvents('list-1')));
  assert.deepEqual(strip(await b.loadAllEvents()), strip(await store.loadAllEvents()));
}));

test('a conflict calls rebase once with all pending events and the missed ones; what it returns replaces them', () => withServer(async ({ store, remote }) => {
  const calls = [];
  const a = await Replica.open({ remote: remote() });
  const b = await Replica.open({
    remote: remote(),
    rebase: async (args) => {
      calls.push(args);
      return [{ type: 'Renamed', data: `${args.pending.map((e) => e.data).join('+')} after ${args.missed.map((e) => e.data).join('+')}` }];
    },
  });
  await a.appendEvents('list', -1, [{ type: 'Created', data: 'a0' }]);
  await a.sync();
  await b.sync();
  // Both offline, both edit the same list.
  await a.appendEvents('list', 0, [{ type: 'Renamed', data: 'a1' }]);
  await b.appendEvents('list', 0, [{ type: 'Renamed', data: 'b1' }]);
  await b.appendEvents('list', 1, [{ type: 'Renamed', data: 'b2' }]);
  await a.sync();
  await b.sync();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].aggregateId, 'list');
  // Pending events as the view shows them now: after the missed ones.
  assert.deepEqual(calls[0].pending.map((e) => [e.version, e.data, e.pending]), [[2, 'b1', true], [3, 'b2', true]]);
  assert.deepEqual(calls[0].missed.map((e) => [e.version, e.data, e.position]), [[1, 'a1', 1]]);
  await a.sync();
  const server = (await store.loadEvents('list')).map((e) => e.data);
  assert.deepEqual(server, ['a0', 'a1', 'b1+b2 after a1']);
  assert.deepEqual((await a.loadEvents('list')).map((e) => e.data), server);
  assert.deepEqual((await b.loadEvents('list')).map((e) => e.data), server);
  assert.equal(b.status.pending, 0);
}));

test('without rebase a conflicting batch is dropped and reported; a rebase that throws keeps it and says why', () => withServer(async ({ store, remote }) => {
  const a = await Replica.open({ remote: remote() });
  const b = await Replica.open({ remote: remote() });
  const rejected = [];
  b.on('rejected', (event) => rejected.push(event));
  await a.appendEvents('x', -1, [{ type: 'A' }]);
  await b.appendEvents('x', -1, [{ type: 'B' }]);
  await a.sync();
  await b.sync();
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].reason, 'conflict');
  assert.equal(rejected[0].aggregateId, 'x');
  assert.deepEqual(rejected[0].events.map((e) => e.type), ['B']);
  assert.ok(rejected[0].error instanceof EventStoreConflictError);
  assert.deepEqual((await b.loadEvents('x')).map((e) => e.type), ['A']);
  assert.equal((await store.loadEvents('x')).length, 1, 'never silently re-applied');

  const c = await Replica.open({ remote: remote(), rebase: () => { throw new Error('cannot decide now'); } });
  await c.sync();
  await c.appendEvents('x', 0, [{ type: 'C' }]);
  await a.appendEvents('x', 0, [{ type: 'A2' }]);
  await a.sync();
  await c.sync();
  assert.match(c.status.lastError?.message ?? '', /cannot decide now/);
  assert.equal(c.status.pending, 1, 'the pending event stays');
  const d = await Replica.open({ remote: remote(), rebase: () => 'not an array' });
  await d.appendEvents('x', -1, [{ type: 'D' }]);
  await d.sync();
  assert.match(d.status.lastError?.message ?? '', /rebase must return an array/);
  assert.equal(d.status.pending, 1);
}));

test('a server out of reach: sync() rejects with NETWORK, status says offline, everything stays pending', async () => {
  const store = new EventStore();
  const server = await serve({ store });
  const port = server.port;
  await server.close();
  const replica = await Replica.open({ remote: new HttpRemote(`http://127.0.0.1:${port}/sync`) });
  await replica.appendEvents('offline', -1, [{ type: 'Written' }]);
  await assert.rejects(replica.sync(), (error) => error instanceof EventStoreError && error.code === 'NETWORK');
  assert.equal(replica.status.online, false);
  assert.equal(replica.status.lastError.code, 'NETWORK');
  assert.equal(replica.status.pending, 1);
  const again = await serve({ store, port });
  try {
    await replica.sync();
    assert.equal(replica.status.online, true);
    assert.equal(replica.status.lastError, null);
    assert.equal(replica.status.pending, 0);
    assert.equal((await store.loadEvents('offline')).length, 1);
  } finally {
    await again.close();
  }
});

test('answers lost after the server committed: the retries write nothing twice', () => withServer(async ({ store, server }) => {
  const proxy = await dropProxy(server.port);
  try {
    const replica = await Replica.open({ remote: new HttpRemote(proxy.url) });
    for (let i = 0; i < 5; i++) await replica.appendEvents(`s${i % 2}`, (await replica.getCurrentVersion(`s${i % 2}`)) ?? -1, [{ type: 'E', data: i }]);
    proxy.dropAnswers(2);
    await assert.rejects(replica.sync(), (error) => error.code === 'NETWORK');
    assert.equal(proxy.dropped, 1);
    await assert.rejects(replica.sync(), (error) => error.code === 'NETWORK');
    assert.equal(proxy.dropped, 2);
    await replica.sync();
    const events = await store.loadAllEvents();
    assert.equal(events.length, 5, 'each event once');
    assert.equal(new Set(events.map((e) => e.eventId)).size, 5);
    assert.equal(replica.status.pending, 0);
  } finally {
    await proxy.close();
  }
}));

test('the bookkeeping is invisible; loadAllEvents and subscriptions use the server positions', () => withServer(async ({ store, remote }) => {
  // Another writer takes positions first, so server and device positions differ.
  await store.appendEvents('elsewhere', -1, [{ type: 'E' }, { type: 'E' }]);
  const replica = await Replica.open({ remote: remote() });
  await replica.appendEvents('a', -1, [{ type: 'A', metadata: { by: 'me' } }]);
  await replica.sync();
  await replica.appendEvents('b', -1, [{ type: 'B' }]);
  await replica.sync();
  const all = await replica.loadAllEvents();
  assert.deepEqual(all.map((e) => [e.aggregateId, e.position]), [['elsewhere', 0], ['elsewhere', 1], ['a', 2], ['b', 3]]);
  assert.deepEqual(all[2].metadata, { by: 'me' });
  assert.deepEqual((await replica.loadAllEvents(2)).map((e) => e.position), [3]);
  assert.deepEqual((await replica.loadAllEvents(0, { limit: 2 })).map((e) => e.position), [1, 2]);
  assert.equal(await replica.getLastPosition(), 3);
  await assert.rejects(replica.appendEvents('$wes-sync/outbox', -1, [{ type: 'X' }]), (error) => error.code === 'INVALID_ARGUMENT');
  // The store's own checks too: a lone surrogate would change on its way into the core.
  await assert.rejects(replica.appendEvents('a\ud800', -1, [{ type: 'X' }]), /lone surrogate/);
  assert.throws(() => replica.subscribe(() => {}, { fromPositon: 1 }), /fromPositon is not an option/);
  const seen = [];
  const subscription = replica.subscribe((event) => { seen.push(event.position); }, { fromPosition: 1 });
  await subscription.caughtUp;
  assert.deepEqual(seen, [2, 3]);
  await store.appendEvents('c', -1, [{ type: 'C' }]);
  await replica.sync();
  await until(() => seen.length === 3, 'the live event');
  assert.deepEqual(seen, [2, 3, 4]);
  subscription.close();
}));

test('a replica reopened from its storage keeps its pending and confirmed events', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wes-replica-'));
  try {
    await withServer(async ({ store, remote }) => {
      let storage = await FileStorage.open(dir);
      let replica = await Replica.open({ storage, remote: remote() });
      await replica.appendEvents('kept', -1, [{ type: 'Confirmed' }]);
      await replica.sync();
      await replica.appendEvents('kept', 0, [{ type: 'Pending' }]);
      await replica.close();
      await storage.close();
      storage = await FileStorage.open(dir);
      replica = await Replica.open({ storage, remote: remote() });
      assert.equal(replica.status.pending, 1);
      assert.deepEqual((await replica.loadEvents('kept')).map((e) => [e.type, e.pending]), [['Confirmed', undefined], ['Pending', true]]);
      assert.equal(replica.status.lastPulledPosition, 0);
      await replica.sync();
      assert.deepEqual((await store.loadEvents('kept')).map((e) => e.type), ['Confirmed', 'Pending']);
      await replica.close();
      await storage.close();
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('opening a replica reads its newest checkpoint and only the outbox entries still live, not its whole history', () => withServer(async ({ remote }) => {
  const adapter = mapAdapter(new Map());
  const replica = await Replica.open({ storage: adapter, remote: remote() });
  for (let i = 0; i < 40; i++) {
    await replica.appendEvents('doc', i - 1, [{ type: 'Edited', data: i }]);
    if (i % 10 === 9) await replica.sync();
  }
  await replica.appendEvents('doc', 39, [{ type: 'Pending' }]);
  await replica.sync();
  await replica.appendEvents('doc', 40, [{ type: 'Pending' }]); // after the last checkpoint
  await replica.close();
  // Count what opening reads of the replica's own streams.
  const read = { outbox: 0, checkpoint: 0 };
  const counting = {
    ...adapter,
    async load(aggregateId, after, limit) {
      const records = await adapter.load(aggregateId, after, limit);
      if (aggregateId === '$wes-sync/outbox') read.outbox += records.length;
      if (aggregateId === '$wes-sync/checkpoint') read.checkpoint += records.length;
      return records;
    },
  };
  const reopened = await Replica.open({ storage: counting, remote: remote() });
  assert.equal(reopened.status.pending, 1);
  assert.deepEqual((await reopened.loadEvents('doc', 39)).map((e) => [e.version, e.pending]), [[40, undefined], [41, true]]);
  // From the first entry live at the last checkpoint: the last append before it, the settle
  // after it, and the append after the checkpoint.
  assert.ok(read.outbox <= 3, `opening read ${read.outbox} outbox entries (of ${(await adapter.version('$wes-sync/outbox')) + 1})`);
  assert.equal(read.checkpoint, 1, 'and one checkpoint');
}));

test('two replicas over one storage syncing at once push each batch once (the lock), and the outbox stays whole', () => withServer(async ({ store, server, remote }) => {
  const storage = new Map();
  const adapter = mapAdapter(storage);
  const one = await Replica.open({ storage: adapter, remote: remote() });
  const two = await Replica.open({ storage: adapter, remote: remote() });
  // Appends from both race on the one outbox: each decided on what the other wrote.
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const replica = i % 2 ? one : two;
    for (;;) {
      try {
        await replica.appendEvents('shared', (await replica.getCurrentVersion('shared')) ?? -1, [{ type: 'E', data: i }]);
        return;
      } catch (error) {
        if (!(error instanceof EventStoreConflictError)) throw error;
      }
    }
  }));
  assert.equal(await two.getCurrentVersion('shared'), 19, 'every append landed once in the one outbox');
  assert.equal(two.status.pending, 20);
  await Promise.all([one.sync(), two.sync(), one.sync()]);
  assert.equal((await store.loadEvents('shared')).length, 20);
  assert.equal(server.requests.filter((r) => r.startsWith('POST')).length, 1, 'one push for all 20 events');
  assert.equal(one.status.pending, 0);
}));

test('start() keeps replicas in sync: an append on one shows on the other while both are online', () => withServer(async ({ remote }) => {
  const a = await Replica.open({ remote: remote() });
  const b = await Replica.open({ remote: remote() });
  a.start();
  b.start();
  try {
    const arrived = new Promise((resolve) => b.on('change', ({ aggregateId }) => { if (aggregateId === 'live') resolve(); }));
    await a.appendEvents('live', -1, [{ type: 'Now' }]);
    await arrived;
    assert.deepEqual((await b.loadEvents('live')).map((e) => [e.type, e.pending]), [['Now', undefined]]);
    await until(() => a.status.pending === 0, "a's event confirmed");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}));

test('refused batches are dropped and reported (forbidden, invalid, too-large); the rest of the outbox goes through', () => withServer(async ({ store, remote }) => {
  const replica = await Replica.open({ remote: remote() });
  const rejected = [];
  replica.on('rejected', (event) => rejected.push(event));
  await replica.appendEvents('mine', -1, [{ type: 'Ok' }]);
  await replica.appendEvents('theirs', -1, [{ type: 'Nope' }]);
  await replica.appendEvents('big', -1, [{ type: 'Huge', data: 'x'.repeat(3000) }]);
  await replica.appendEvents('mine', 0, [{ type: 'Ok2' }]);
  await replica.sync();
  assert.deepEqual(rejected.map((r) => [r.aggregateId, r.reason]).sort(), [['big', 'too-large'], ['theirs', 'forbidden']]);
  assert.deepEqual((await store.loadAllEvents()).map((e) => e.type), ['Ok', 'Ok2']);
  assert.equal(replica.status.pending, 0);
  assert.deepEqual(await replica.loadEvents('theirs'), []);
}, { authorize: ({ aggregateId }) => aggregateId !== 'theirs', limits: { maxBodyBytes: 2000 } }));

test('createSyncHandler refuses a store without a global log and a missing authorize', () => {
  const noLog = new EventStore({ storage: { append: async () => ({ ok: true }), load: async () => [], version: async () => -1 } });
  assert.throws(() => createSyncHandler({ store: noLog, authorize: () => true }), (error) => error.code === 'UNSUPPORTED');
  assert.throws(() => createSyncHandler({ store: new EventStore() }), /authorize/);
  assert.throws(() => createSyncHandler({ store: {}, authorize: () => true }), /EventStore/);
});

/** A StorageAdapter over a Map, with the global log (what the kit's Map adapters do). */
function mapAdapter(map) {
  const log = [];
  return {
    async append(aggregateId, expectedVersion, records) {
      const stream = map.get(aggregateId) ?? [];
      if (stream.length - 1 !== expectedVersion) return { ok: false, actualVersion: stream.length - 1 };
      for (const record of records) {
        const position = log.length;
        log.push({ aggregateId, ...record, position });
        stream.push({ ...record, position });
      }
      map.set(aggregateId, stream);
      return { ok: true };
    },
    async load(aggregateId, fromVersion, limit) {
      return (map.get(aggregateId) ?? []).filter((r) => r.version > fromVersion).slice(0, limit ?? Infinity);
    },
    async version(aggregateId) {
      return (map.get(aggregateId) ?? []).length - 1;
    },
    async loadAll(afterPosition, limit) {
      return log.filter((r) => r.position > afterPosition).slice(0, limit);
    },
    async lastPosition() {
      return log.length - 1;
    },
  };
}

test('a rebase is asked once, even while the app goes on writing other aggregates', () => withServer(async ({ store, remote }) => {
  const a = await Replica.open({ remote: remote() });
  let calls = 0;
  let b;
  b = await Replica.open({
    remote: remote(),
    rebase: async ({ pending }) => {
      calls++;
      // The app writes elsewhere while it decides (another outbox entry lands meanwhile).
      await b.appendEvents(`note-${calls}`, -1, [{ type: 'Note' }]);
      return pending.map(({ type, data }) => ({ type, data }));
    },
  });
  await a.appendEvents('doc', -1, [{ type: 'A' }]);
  await b.appendEvents('doc', -1, [{ type: 'B' }]);
  await a.sync();
  await b.sync();
  assert.equal(calls, 1);
  assert.deepEqual((await store.loadEvents('doc')).map((e) => e.type), ['A', 'B']);
  assert.equal((await store.loadEvents('note-1')).length, 1);
}));

test('stop() then start() without waiting leaves one loop, and both stop() calls resolve', () => withServer(async ({ remote }) => {
  // Long polls (pulls with `wait`) in flight: one per running loop.
  const http = remote();
  let polls = 0;
  let most = 0;
  const counting = {
    push: (body) => http.push(body),
    async pull(after, options) {
      if (options?.wait === undefined) return http.pull(after, options);
      most = Math.max(most, ++polls);
      try {
        return await http.pull(after, options);
      } finally {
        polls--;
      }
    },
  };
  const replica = await Replica.open({ remote: counting });
  replica.start();
  const first = replica.stop();
  replica.start();
  await first;
  await replica.appendEvents('after-restart', -1, [{ type: 'E' }]);
  await until(() => replica.status.pending === 0 && polls === 1, 'the restarted loop pushed the append and waits');
  await replica.stop();
  assert.equal(polls, 0, 'no loop is left waiting');
  assert.equal(most, 1, 'never two loops at once');
}));

test('a server that names no batch of the request, or answers long polls at once, neither loops a push nor spins start()', async () => {
  // Refusals naming batches the request does not have: the push stops with NETWORK.
  let pushes = 0;
  const odd = {
    async push() {
      pushes++;
      return { status: 400, body: { protocol: 1, error: { code: 'invalid', message: 'no', batches: [5, -1] } } };
    },
    async pull(after) {
      return { events: [], lastPosition: after, more: false };
    },
  };
  const replica = await Replica.open({ remote: odd });
  await replica.appendEvents('x', -1, [{ type: 'E' }]);
  await assert.rejects(replica.sync(), (error) => error.code === 'NETWORK');
  assert.equal(pushes, 1);
  assert.equal(replica.status.pending, 1, 'nothing dropped');
  // Long polls answered at once with nothing new: start() pauses instead of spinning.
  let polls = 0;
  const impatient = await Replica.open({ remote: { push: odd.push, pull: async (after, options) => { if (options?.wait !== undefined) polls++; return { events: [], lastPosition: after, more: false }; } } });
  impatient.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await impatient.stop();
  assert.ok(polls <= 2, `${polls} long polls in 300 ms`);
});
