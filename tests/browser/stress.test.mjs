// Multi-tab stress: three pages of one browser profile race hundreds of appends on three
// aggregates through IndexedDbStorage, each retrying on conflict (reload the version, append
// again). Every attempt carries a unique token. At the end every stream is contiguous, every
// acknowledged append is there exactly once, in one piece, at the version it was acknowledged
// with, and no attempt that was refused is there at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPages } from './harness.mjs';

const env = useBrowser();
const PAGES = 3;
const APPENDS_PER_PAGE = 150;
const AGGREGATES = ['stress-a', 'stress-b', 'stress-c'];
const DB = 'stress';
const CHANNEL = 'stress-start';
const MAX_ATTEMPTS = 1_000; // per append: far more than any fair race needs; ends a livelock

test(`${PAGES} tabs racing ${PAGES * APPENDS_PER_PAGE} appends on ${AGGREGATES.length} aggregates through IndexedDB, retrying on conflict`, { timeout: 600_000 }, async (t) => {
  await withPages(env, async ({ open }) => {
    const pages = [];
    for (let p = 0; p < PAGES; p++) pages.push(await open('/'));
    // One more page only fires the starting signal, so that no racer has a head start.
    const starter = await open('/');

    // 1. Arm every page: its own IndexedDB connection and store; it starts on "go".
    await Promise.all(pages.map((page, p) => page.evaluate(async ({ p, db, aggregates, appends, channel, maxAttempts }) => {
      const { EventStore, EventStoreError, EventStoreConflictError, IndexedDbStorage } = await window.wes;
      const store = new EventStore({ storage: await IndexedDbStorage.open(db) });
      const go = new BroadcastChannel(channel);
      const plain = (error) => ({
        isStoreError: error instanceof EventStoreError,
        isConflictError: error instanceof EventStoreConflictError,
        name: error?.name,
        code: error?.code,
        message: String(error?.message ?? error),
      });
      window.stress = {
        store,
        done: new Promise((resolve) => {
          go.onmessage = async () => {
            go.onmessage = null;
            const log = { acked: [], refused: [], failures: [], attempts: 0, conflicts: 0, started: performance.now() };
            for (let i = 0; i < appends; i++) {
              // Even appends: every page on the same aggregate (the hardest race); odd ones: each
              // page on its own. Batches of 1 to 3 events.
              const aggregate = aggregates[(Math.floor(i / 4) + (i % 2 === 1 ? p : 0)) % aggregates.length];
              const size = 1 + ((i * 7 + p) % 3);
              let settled = false;
              for (let attempt = 0; attempt < maxAttempts && !settled; attempt++) {
                const token = `p${p}-i${i}-a${attempt}`;
                log.attempts++;
                let expected;
                try {
                  expected = (await store.getCurrentVersion(aggregate)) ?? -1;
                } catch (error) {
                  log.failures.push({ token, aggregate, during: 'getCurrentVersion', ...plain(error) });
                  settled = true;
                  break;
                }
                const events = Array.from({ length: size }, (_, k) => ({ type: 'Token', data: { token, k, size } }));
                try {
                  const version = await store.appendEvents(aggregate, expected, events);
                  log.acked.push({ token, aggregate, expected, version, size });
                  settled = true;
                } catch (error) {
                  if (error instanceof EventStoreConflictError) {
                    log.conflicts++;
                    log.refused.push({ token, aggregate, expected, aggregateId: error.aggregateId, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion });
                  } else {
                    // Not acknowledged either: must not be in the streams.
                    log.refused.push({ token, aggregate, expected });
                    log.failures.push({ token, aggregate, during: 'appendEvents', ...plain(error) });
                    settled = true;
                  }
                }
              }
              if (!settled) log.failures.push({ aggregate, i, during: `${maxAttempts} attempts, all conflicts` });
            }
            log.ms = Math.round(performance.now() - log.started);
            resolve(log);
          };
        }),
      };
    }, { p, db: DB, aggregates: AGGREGATES, appends: APPENDS_PER_PAGE, channel: CHANNEL, maxAttempts: MAX_ATTEMPTS })));

    // 2. Go: every page starts appending at once.
    await starter.evaluate((channel) => {
      window.go = new BroadcastChannel(channel);
      window.go.postMessage('go');
    }, CHANNEL);

    // 3. Collect the logs.
    const logs = await Promise.all(pages.map((page) => page.evaluate(() => window.stress.done)));
    for (const [p, log] of logs.entries()) {
      t.diagnostic(`page ${p}: ${log.acked.length} appends acknowledged in ${log.ms} ms, ${log.attempts} attempts, ${log.conflicts} conflicts`);
    }
    assert.deepEqual(logs.flatMap((log) => log.failures), [], 'no append failed other than by a conflict');
    // The pages must really have raced: a run without a single conflict would show nothing.
    const conflicts = logs.reduce((sum, log) => sum + log.conflicts, 0);
    assert.ok(conflicts > 0, 'no page ever lost a race: the test no longer races');
    const acked = logs.flatMap((log) => log.acked);
    const refused = logs.flatMap((log) => log.refused);
    assert.equal(acked.length, PAGES * APPENDS_PER_PAGE, 'every append was acknowledged in the end');
    // Every conflict is reported for the right stream and version, and the stream had moved on.
    for (const r of refused) {
      assert.equal(r.aggregateId, r.aggregate, `conflict of ${r.token}: aggregateId`);
      assert.equal(r.expectedVersion, r.expected, `conflict of ${r.token}: expectedVersion`);
      assert.ok(r.actualVersion > r.expected, `conflict of ${r.token}: actualVersion ${r.actualVersion} is past ${r.expected}`);
    }

    // 4. What every page sees, and a page opened afterwards with a new connection: identical.
    const late = await open('/');
    await late.evaluate(async (db) => {
      const { EventStore, IndexedDbStorage } = await window.wes;
      window.stress = { store: new EventStore({ storage: await IndexedDbStorage.open(db) }) };
    }, DB);
    const views = await Promise.all([...pages, late].map((page) => page.evaluate(async (aggregates) => {
      const { store } = window.stress;
      const streams = {};
      for (const aggregate of aggregates) {
        const events = await store.loadEvents(aggregate);
        streams[aggregate] = {
          version: await store.getCurrentVersion(aggregate),
          events: events.map((e) => ({ aggregateId: e.aggregateId, version: e.version, type: e.type, token: e.data.token, k: e.data.k, size: e.data.size })),
        };
      }
      return streams;
    }, AGGREGATES)));
    const [streams] = views;
    for (const [i, view] of views.entries()) assert.deepEqual(view, streams, `page ${i} sees the same streams as page 0`);

    // 5. The streams against the logs.
    const ackedByToken = new Map(acked.map((a) => [a.token, a]));
    assert.equal(ackedByToken.size, acked.length, 'tokens are unique');
    const refusedTokens = new Set(refused.map((r) => r.token));
    const seen = new Map(); // token -> number of batches found with it
    let total = 0;
    for (const aggregate of AGGREGATES) {
      const { version, events } = streams[aggregate];
      total += events.length;
      assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i), `${aggregate}: versions are contiguous from 0`);
      assert.equal(version, events.length === 0 ? null : events.length - 1, `${aggregate}: getCurrentVersion is the last version`);
      for (let i = 0; i < events.length;) {
        const { token, size } = events[i];
        assert.ok(!refusedTokens.has(token), `${aggregate}@${i}: ${token} was refused, yet it is stored`);
        const ack = ackedByToken.get(token);
        assert.ok(ack, `${aggregate}@${i}: ${token} was never acknowledged, yet it is stored`);
        assert.equal(ack.aggregate, aggregate, `${token} is stored in ${aggregate}, but was appended to ${ack.aggregate}`);
        // The batch is in one piece, in order, ending at the version the append resolved to.
        const batch = events.slice(i, i + size);
        assert.deepEqual(batch.map((e) => [e.token, e.k, e.aggregateId, e.type]), Array.from({ length: size }, (_, k) => [token, k, aggregate, 'Token']), `${aggregate}@${i}: the batch of ${token}`);
        assert.equal(ack.version, i + size - 1, `${token} was acknowledged with version ${ack.version} but ends at ${i + size - 1}`);
        assert.equal(ack.expected, i - 1, `${token} was appended expecting ${ack.expected} but starts at ${i}`);
        seen.set(token, (seen.get(token) ?? 0) + 1);
        i += size;
      }
    }
    assert.deepEqual([...seen].filter(([, n]) => n !== 1), [], 'no batch is stored twice');
    assert.deepEqual(acked.filter((a) => !seen.has(a.token)).map((a) => a.token), [], 'every acknowledged append is stored');
    assert.equal(total, acked.reduce((sum, a) => sum + a.size, 0), 'the streams hold exactly the acknowledged events');
  });
});
