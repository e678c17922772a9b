// Reliability: long runs in memory.
//
// 1. A million events over 10,000 streams in one store, appended in batches, every append
//    acknowledged with the right version; then every stream's version and a sample of streams
//    event by event.
// 2. 10,000 stores created, used and dropped, through each release path (explicit free(), and
//    dropping the reference so that the FinalizationRegistry releases it after garbage
//    collection): memory must stay bounded by what live data needs. WebAssembly memory never
//    shrinks, so the check is that it stops growing: after 10,000 dropped stores it is where it
//    was after 2,000 (give or take a small slack), where leaking would add the ~2 KB every store
//    uses. A control run that keeps 2,000 stores alive shows the measurement sees them at all.
//    The measured parts run in child processes started with --expose-gc, whatever flags the
//    test runner itself has; memory is process.memoryUsage() heapUsed + external (the wasm
//    memory is in external), after gc().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventStore } from 'wasm-event-store';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const MiB = 2 ** 20;

test('a million events over 10,000 streams in one store: every append acknowledged, every stream intact', { timeout: 300_000 }, async (t) => {
  const STREAMS = 10_000;
  const PER_STREAM = 100;
  const BATCH = 10; // 100,000 appends; each stream grows in 10 steps, interleaved with the others
  const id = (s) => `stream-${s}`;
  const store = new EventStore();
  try {
    const started = performance.now();
    const wrong = [];
    for (let round = 0; round < PER_STREAM / BATCH; round++) {
      const first = round * BATCH;
      for (let s = 0; s < STREAMS; s++) {
        const events = [];
        for (let k = 0; k < BATCH; k++) events.push({ type: (first + k) % 2 ? 'Odd' : 'Even', data: { s, n: first + k } });
        const version = await store.appendEvents(id(s), first - 1, events);
        if (version !== first + BATCH - 1) wrong.push(`append ${round} to ${id(s)} resolved to ${version}, expected ${first + BATCH - 1}`);
        // Now and then, a read of another stream in the middle of the run.
        if (s % 997 === 0) {
          const other = (s * 7919 + round) % STREAMS;
          const v = await store.getCurrentVersion(id(other));
          const want = other < s || (other === s) ? first + BATCH - 1 : first - 1;
          if (v !== (want < 0 ? null : want)) wrong.push(`mid-run version of ${id(other)}: ${v}, expected ${want}`);
        }
        if (wrong.length > 20) break;
      }
    }
    const appended = performance.now();
    assert.deepEqual(wrong.slice(0, 20), [], 'every append acknowledged with its version');

    // Every stream's version: 10,000 × 100 = 1,000,000 events.
    let total = 0;
    for (let s = 0; s < STREAMS; s++) {
      const v = await store.getCurrentVersion(id(s));
      if (v !== PER_STREAM - 1) wrong.push(`${id(s)} is at ${v}, expected ${PER_STREAM - 1}`);
      total += v + 1;
    }
    assert.deepEqual(wrong.slice(0, 20), [], 'every stream at version 99');
    assert.equal(total, 1_000_000);
    assert.equal(await store.getCurrentVersion('stream-10000'), null);
    assert.deepEqual(await store.loadEvents('stream-10000'), []);

    // A sample of streams, event by event: the first, the last, and 250 spread over the rest.
    const sample = new Set([0, STREAMS - 1]);
    for (let i = 0; sample.size < 252; i++) sample.add((i * 7_919 + 13) % STREAMS);
    const eventIds = new Set();
    for (const s of sample) {
      const events = await store.loadEvents(id(s));
      assert.equal(events.length, PER_STREAM, `${id(s)} holds ${PER_STREAM} events`);
      for (const [n, e] of events.entries()) {
        if (e.aggregateId !== id(s) || e.version !== n || e.type !== (n % 2 ? 'Odd' : 'Even') || e.data.s !== s || e.data.n !== n) {
          assert.fail(`${id(s)} event ${n} is ${JSON.stringify(e)}`);
        }
        assert.match(e.eventId, UUID_V4);
        eventIds.add(e.eventId);
      }
      const tail = await store.loadEvents(id(s), 49);
      assert.deepEqual(tail.map((e) => e.data.n), events.slice(50).map((e) => e.data.n), `${id(s)} from version 49`);
      assert.deepEqual(tail, events.slice(50));
      assert.deepEqual((await store.loadEvents(id(s), 98)).map((e) => e.version), [99]);
      assert.deepEqual(await store.loadEvents(id(s), 99), []);
    }
    assert.equal(eventIds.size, sample.size * PER_STREAM, 'eventIds are unique');

    // The store still takes appends, and conflicts are still detected, after the run.
    assert.equal(await store.appendEvents(id(0), PER_STREAM - 1, [{ type: 'After' }]), PER_STREAM);
    await assert.rejects(store.appendEvents(id(1), PER_STREAM - 2, [{ type: 'Stale' }]), { code: 'CONFLICT', actualVersion: PER_STREAM - 1 });

    const done = performance.now();
    t.diagnostic(`appends: ${Math.round(appended - started)} ms; checks: ${Math.round(done - appended)} ms; ` +
      `process external memory (wasm): ${Math.round(process.memoryUsage().external / MiB)} MiB`);
  } finally {
    store.free();
  }
});

// ---------------------------------------------------------------------------------------------
// Created-and-dropped stores, measured in a child process
// ---------------------------------------------------------------------------------------------

// Runs in the child (serialised with Function.prototype.toString). mode: 'free' (free() every
// store), 'drop' (drop the reference; wait for the FinalizationRegistry), 'keep' (the control:
// keep every store alive). Prints one line: REPORT {json}.
async function churnChild(pkgUrl, mode, checkpoints) {
  const report = { mode, checkpoints: {}, errors: [] };
  process.on('exit', () => process.stdout.write(`\nREPORT ${JSON.stringify(report)}\n`));
  const { EventStore } = await import(pkgUrl);
  if (typeof globalThis.gc !== 'function') throw new Error('the child needs --expose-gc');

  // One macrotask turn: finalization callbacks run as tasks of their own after a GC.
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  async function collect() {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await turn();
    }
  }
  async function measure() {
    await collect();
    const { heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { heapUsed, external, arrayBuffers, total: heapUsed + external };
  }

  // Our own registry sees the wrappers die; the package's (wasm-bindgen's) registry frees the
  // wasm side of the same stores in the same collection.
  let finalized = 0;
  const registry = new FinalizationRegistry(() => {
    finalized++;
  });
  const kept = [];
  const payload = 'p'.repeat(200);

  // In a function of its own, so that no frame of the loop below keeps the last store alive.
  async function oneStore(i) {
    const store = new EventStore();
    const a = await store.appendEvents('a', -1, [{ type: 'A', data: { i, payload } }, { type: 'B', data: { i } }, { type: 'C' }]);
    const b = await store.appendEvents('b', -1, [{ type: 'A', data: { i, payload } }, { type: 'B' }]);
    const loaded = await store.loadEvents('a');
    const version = await store.getCurrentVersion('b');
    if (a !== 2 || b !== 1 || loaded.length !== 3 || loaded[0].data.i !== i || version !== 1) {
      report.errors.push(`store ${i} answered ${JSON.stringify({ a, b, loaded: loaded.length, version })}`);
    }
    if (mode === 'free') store.free();
    else if (mode === 'keep') kept.push(store);
    else registry.register(store, i);
  }

  report.baseline = await measure();
  const started = performance.now();
  let created = 0;
  let maxTurns = 0;
  for (const checkpoint of checkpoints) {
    while (created < checkpoint) {
      const round = Math.min(250, checkpoint - created);
      for (let j = 0; j < round; j++) await oneStore(created++);
      if (mode === 'drop') {
        // Until every dropped store was finalized: a condition, bounded, not a timed sleep.
        let turns = 0;
        while (finalized < created && turns < 500) {
          globalThis.gc();
          await turn();
          turns++;
        }
        maxTurns = Math.max(maxTurns, turns);
        if (finalized < created) {
          report.errors.push(`only ${finalized} of ${created} dropped stores were finalized after ${turns} gc() turns`);
          return;
        }
      }
    }
    report.checkpoints[checkpoint] = await measure();
  }
  report.ms = Math.round(performance.now() - started);
  report.maxTurns = maxTurns;
  report.kept = kept.length;
}

function runChurn(mode, checkpoints) {
  const source = `(${churnChild})(process.env.WES_PKG_URL, process.env.WES_MODE, JSON.parse(process.env.WES_CHECKPOINTS))`;
  const env = {
    ...process.env,
    WES_PKG_URL: import.meta.resolve('wasm-event-store'),
    WES_MODE: mode,
    WES_CHECKPOINTS: JSON.stringify(checkpoints),
  };
  delete env.NODE_TEST_CONTEXT; // the child is not a test file
  // Only the flags we choose: --expose-gc; nothing inherited from the test runner's execArgv.
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], {
    env,
    encoding: 'utf8',
    timeout: 240_000, // a safety net against a hung child, not a synchronisation
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('REPORT '));
  assert.ok(line, `the child reported nothing (status ${child.status}, signal ${child.signal}):\n${child.stderr}`);
  assert.equal(child.status, 0, `the child failed:\n${child.stderr}`);
  const report = JSON.parse(line.slice('REPORT '.length));
  assert.deepEqual(report.errors, [], `the child found problems: ${line}`);
  return report;
}

const mib = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`;
function describeReport(report) {
  return Object.entries(report.checkpoints)
    .map(([n, m]) => `${n} stores: heapUsed ${mib(m.heapUsed)} + external ${mib(m.external)}`)
    .join('; ') + ` (baseline: ${mib(report.baseline.total)})`;
}

// Memory may settle during the first rounds (allocator, wasm pages, JIT); from 2,000 to 10,000
// stores it must not grow by more than this. Leaking even 150 bytes a store would exceed it.
const SLACK = 1 * MiB;

for (const [mode, how] of [['free', 'explicit free()'], ['drop', 'dropping the reference (FinalizationRegistry after gc)']]) {
  test(`10,000 created-and-dropped stores, released by ${how}: memory stays bounded`, { timeout: 300_000 }, (t) => {
    const report = runChurn(mode, [500, 2_000, 10_000]);
    t.diagnostic(`${report.ms} ms${mode === 'drop' ? `, at most ${report.maxTurns} gc() turns per 250 stores` : ''}; ${describeReport(report)}`);
    const at2k = report.checkpoints[2_000];
    const at10k = report.checkpoints[10_000];
    assert.ok(
      at10k.total - at2k.total <= SLACK,
      `memory grew by ${mib(at10k.total - at2k.total)} from 2,000 to 10,000 dropped stores (allowed: ${mib(SLACK)}): ${describeReport(report)}`,
    );
    assert.ok(
      at10k.external - at2k.external <= SLACK,
      `external (wasm) memory grew by ${mib(at10k.external - at2k.external)} from 2,000 to 10,000 dropped stores: ${describeReport(report)}`,
    );
  });
}

test('control: stores kept alive do show up in the measurement (so the checks above can fail)', { timeout: 300_000 }, (t) => {
  const report = runChurn('keep', [500, 4_000]);
  t.diagnostic(describeReport(report));
  const grown = report.checkpoints[4_000].total - report.checkpoints[500].total;
  // 3,500 more live stores of ~2 KB each (~7 MiB): a leak of what a store uses would exceed the
  // slack above many times over.
  assert.ok(grown > 4 * SLACK, `3,500 more live stores added only ${mib(grown)}: the measurement does not see the stores`);
});
