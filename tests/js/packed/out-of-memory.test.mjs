// Running out of wasm memory is an error value, not a trap that kills the store: a child process
// (fixtures/fill-memory.mjs, so the suite's own memory is not at stake) fills the whole 4 GiB
// with 8 MiB events until an append is refused, then checks what the README promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('an append the memory cannot hold is OUT_OF_MEMORY, and the store keeps exactly what it held', { timeout: 300_000 }, () => {
  const fixture = fileURLToPath(new URL('./fixtures/fill-memory.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [fixture], { encoding: 'utf8', maxBuffer: 1 << 20 });
  assert.equal(child.status, 0, `the child failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout);
  const gib = (result.storedBytes / 2 ** 30).toFixed(2);
  process.stdout.write(`# filled ${result.acknowledged} events of ${result.eventBytes} bytes (${gib} GiB) in ${result.fillMs} ms\n`);

  assert.deepEqual(result.refusal.isEventStoreError, true, 'the refusal is an EventStoreError');
  assert.equal(result.refusal.code, 'OUT_OF_MEMORY', result.refusal.message);
  // The whole address space is usable, not half of it: at least 3.5 GiB held in one stream.
  assert.ok(result.storedBytes > 3.5 * 2 ** 30, `only ${gib} GiB held when memory ran out`);
  // It answers, with exactly what was acknowledged.
  assert.equal(result.versionAfter, result.acknowledged - 1);
  // Smaller appends still work, to the stream and to a new one, and read back.
  assert.equal(result.smallAppend, result.acknowledged);
  assert.equal(result.newStream, 0);
  assert.deepEqual(result.smallLoaded, ['tiny']);
  // A refused append changes nothing.
  assert.equal(result.refusedAgain, 'OUT_OF_MEMORY');
  assert.equal(result.versionAfterAgain, result.acknowledged);
  // A load too large for what is left (three 8 MiB events, with at most one append's room left)
  // is refused the same way.
  assert.equal(result.bigLoad, 'OUT_OF_MEMORY');
  // Once memory is freed, the last big events read back exactly as appended.
  assert.deepEqual(result.tail.map((e) => e.version), [result.acknowledged - 3, result.acknowledged - 2, result.acknowledged - 1, result.acknowledged]);
  assert.ok(result.tail.every((e) => e.ok), 'the events read back as appended');
  // Loading all 4 GiB at once cannot fit: refused, not a crash.
  assert.equal(result.loadAll, 'OUT_OF_MEMORY');
  // free() works, and the memory is reused by a new store.
  assert.equal(result.freed, true);
  assert.equal(result.afterFree, 0);
});

test('a load too large for one JS string is OUT_OF_MEMORY, in memory and over an adapter', { timeout: 300_000 }, () => {
  const fixture = fileURLToPath(new URL('./fixtures/too-long-load.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [fixture], { encoding: 'utf8', maxBuffer: 1 << 20 });
  assert.equal(child.status, 0, `the child failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout);
  for (const where of ['memory', 'adapter']) {
    assert.equal(result[where].code, 'OUT_OF_MEMORY', `${where}: ${result[where].message}`);
    assert.match(result[where].message, /load (them )?in parts/, where);
    assert.equal(result[where].tail, 2, `${where}: the store still answers, in parts`);
  }
});
