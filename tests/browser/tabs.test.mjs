// Two tabs of one browser profile write the same aggregate through IndexedDbStorage at the
// same time: IndexedDB must let exactly one conditional append win each race, across tabs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPages } from './harness.mjs';

const env = useBrowser();
const ROUNDS = 50;
const DB = 'tabs-race';
const STREAM = 'shared-cart';
const CHANNEL = 'race-start';

test(`two tabs racing on one aggregate: exactly one append wins each of ${ROUNDS} rounds`, { timeout: 120_000 }, async (t) => {
  await withPages(env, async ({ open }) => {
    const tabs = [await open('/'), await open('/')];
    // A third page only fires the starting signal, so that neither racer has a head start.
    const starter = await open('/');

    // Each tab: its own IndexedDB connection and store, and a BroadcastChannel to hear "go".
    for (const tab of tabs) {
      await tab.evaluate(async ({ dbName, channel }) => {
        const { EventStore, EventStoreConflictError, IndexedDbStorage } = await window.wes;
        window.race = {
          store: new EventStore({ storage: await IndexedDbStorage.open(dbName) }),
          channel: new BroadcastChannel(channel),
          EventStoreConflictError,
        };
      }, { dbName: DB, channel: CHANNEL });
    }
    await starter.evaluate((channel) => { window.go = new BroadcastChannel(channel); }, CHANNEL);

    let expected = -1;
    const expectedData = [];
    const wins = [0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      // Batches of one and two events, alternating between the tabs, so that the version
      // after the round shows which tab won.
      const sizes = [1 + (round % 2), 2 - (round % 2)];

      // 1. Arm both tabs: each appends as soon as "go" for this round arrives. The outcome is
      //    kept as plain data in window.race.outcome (instanceof can only be checked there).
      await Promise.all(tabs.map((tab, by) => tab.evaluate(({ round, expected, size, by, stream }) => {
        const { store, channel, EventStoreConflictError } = window.race;
        window.race.outcome = new Promise((resolve) => {
          channel.onmessage = async ({ data }) => {
            if (data !== round) return;
            channel.onmessage = null;
            const events = Array.from({ length: size }, (_, i) => ({ type: 'Won', data: { round, by, i } }));
            try {
              resolve({ won: true, version: await store.appendEvents(stream, expected, events) });
            } catch (error) {
              resolve({
                won: false,
                isConflictError: error instanceof EventStoreConflictError,
                name: error?.name,
                message: error?.message,
                aggregateId: error?.aggregateId,
                expectedVersion: error?.expectedVersion,
                actualVersion: error?.actualVersion,
              });
            }
          };
        });
      }, { round, expected, size: sizes[by], by, stream: STREAM })));

      // 2. Fire the start signal; both tabs get it and append at once.
      await starter.evaluate((r) => window.go.postMessage(r), round);

      // 3. Collect both outcomes.
      const outcomes = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.race.outcome)));
      const winners = outcomes.flatMap((o, by) => (o.won ? [by] : []));
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} tabs won: ${JSON.stringify(outcomes)}`);
      const winner = winners[0];
      const loser = outcomes[1 - winner];
      const version = expected + sizes[winner];
      assert.equal(outcomes[winner].version, version, `round ${round}: the winner's new version`);
      assert.deepEqual(
        {
          isConflictError: loser.isConflictError,
          aggregateId: loser.aggregateId,
          expectedVersion: loser.expectedVersion,
          actualVersion: loser.actualVersion,
        },
        { isConflictError: true, aggregateId: STREAM, expectedVersion: expected, actualVersion: version },
        `round ${round}: the loser's error (${loser.name}: ${loser.message})`,
      );
      for (let i = 0; i < sizes[winner]; i++) expectedData.push({ round, by: winner, i });
      wins[winner]++;
      expected = version;
    }
    t.diagnostic(`rounds won: tab 0: ${wins[0]}, tab 1: ${wins[1]}`);
    // Each round had one winner and one conflict (asserted above): ROUNDS conflicts in all.
    assert.equal(wins[0] + wins[1], ROUNDS, 'every round was a race with a conflict');

    // Both tabs see the same contiguous stream: the winners' events, in round order.
    for (const [by, tab] of tabs.entries()) {
      const events = await tab.evaluate((stream) => window.race.store.loadEvents(stream), STREAM);
      assert.deepEqual(events.map((e) => e.version), events.map((_, i) => i), `tab ${by}: versions are contiguous`);
      assert.deepEqual(events.map((e) => e.data), expectedData, `tab ${by}: exactly the winners' events`);
      assert.equal(await tab.evaluate((stream) => window.race.store.getCurrentVersion(stream), STREAM), expected);
    }
  });
});
