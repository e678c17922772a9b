// FileStorage (wasm-event-store/node) against the packed package: persistence and the adapter
// contract, the directory lock, torn writes and corruption, kill -9 at random moments, failed
// writes, and group commit under concurrent appends from two stores.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileStorage } from 'wasm-event-store/node';
import { EventStore, EventStoreConflictError, EventStoreError } from 'wasm-event-store';
import { runStorageConformance } from 'wasm-event-store/testing';

const here = path.dirname(fileURLToPath(import.meta.url));
const CRASH_WRITER = path.join(here, 'fixtures', 'crash-writer.mjs');
const WRITER_AGGREGATES = ['alpha', 'beta', 'gamma', 'delta']; // the ones crash-writer.mjs uses

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wes-file-storage-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => path.join(root, `dir-${dirCount++}`);
const logOf = (dir) => path.join(dir, 'events.log');
const lockOf = (dir) => path.join(dir, 'LOCK');
const sizeOf = (file) => fs.statSync(file).size;
const lockPid = (dir) => fs.readFileSync(lockOf(dir), 'utf8').split('\n')[0]; // the pid is its first line
const records = (from, payloads) => payloads.map((payload, i) => ({ version: from + i, payload }));
/** A load's records without their positions (checked on their own). */
const unplaced = (answer) => answer.map(({ version, payload }) => ({ version, payload }));

/** Watches a child process: its stdout lines, waiting for a number of them, and its exit. */
function watch(child) {
  const lines = [];
  let stderr = '';
  let ended = false;
  const waiters = new Set();
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const reader = createInterface({ input: child.stdout });
  const notify = () => { for (const waiter of [...waiters]) waiter(); };
  reader.on('line', (line) => { lines.push(line); notify(); });
  const closed = new Promise((resolve) => reader.once('close', () => { ended = true; notify(); resolve(); }));
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  function until(count) {
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (lines.length >= count) {
          waiters.delete(waiter);
          resolve(lines.slice());
        } else if (ended) {
          waiters.delete(waiter);
          reject(new Error(`the child ended after ${lines.length} of ${count} lines; stderr: ${stderr}`));
        }
      };
      waiters.add(waiter);
      waiter();
    });
  }
  return { lines, until, closed, exit, stderr: () => stderr };
}

/** `node -e code ...args` run from this folder, so it resolves the installed wasm-event-store. */
function spawnNode(code, args) {
  return spawn(process.execPath, ['-e', code, ...args], { cwd: here, stdio: ['pipe', 'pipe', 'pipe'] });
}

// Holds the directory open until its stdin ends, then closes the storage and exits.
const HOLDER = `
const { FileStorage } = require('wasm-event-store/node');
FileStorage.open(process.argv[1]).then((storage) => {
  console.log('open');
  process.stdin.on('end', () => storage.close().then(() => console.log('closed')));
  process.stdin.resume();
}, (error) => { console.error(error); process.exit(1); });
`;

/** The frames of a log: [u32 LE length][u32 LE crc32][body], after the 8-byte signature. */
function countFrames(file) {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.subarray(0, 8).toString('latin1'), 'WESLOG1\n', 'the log starts with its signature');
  let frames = 0;
  let position = 8;
  while (position < bytes.length) {
    position += 8 + bytes.readUInt32LE(position);
    frames++;
  }
  assert.equal(position, bytes.length, 'the log ends with a whole frame');
  return frames;
}

describe('FileStorage: persistence and the adapter contract', () => {
  test('events, versions and payloads survive close and reopen', async () => {
    const dir = freshDir();
    let storage = await FileStorage.open(dir);
    assert.deepEqual(storage.recovery.discardedBytes, 0);
    let store = new EventStore({ storage });
    assert.equal(await store.appendEvents('order-1', -1, [
      { type: 'Placed', data: { total: 10, lines: [1, 2] } },
      { type: 'Paid', data: { note: 'ünïcödé 😀 "quoted" \\ \n' } },
    ]), 1);
    assert.equal(await store.appendEvents('order-2', -1, [{ type: 'Placed', data: { total: 20 } }]), 0);
    assert.equal(await store.appendEvents('order-1', 1, [{ type: 'Shipped', metadata: { by: 'van' } }]), 2);
    const before = {
      one: await store.loadEvents('order-1'),
      two: await store.loadEvents('order-2'),
      rawOne: storage.load('order-1', -1),
      rawTwo: storage.load('order-2', -1),
    };
    assert.equal(before.one.length, 3);
    await storage.close();

    storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.discardedBytes, 0);
      store = new EventStore({ storage });
      assert.deepEqual(await store.loadEvents('order-1'), before.one);
      assert.deepEqual(await store.loadEvents('order-2'), before.two);
      // Payloads identical, and positions too: they are the events' order in the log.
      assert.deepEqual(storage.load('order-1', -1), before.rawOne, 'payloads are identical');
      assert.deepEqual(storage.load('order-2', -1), before.rawTwo);
      assert.deepEqual(before.rawOne.map((r) => r.position), [0, 1, 3]);
      assert.equal(await store.getCurrentVersion('order-1'), 2);
      assert.equal(await store.getCurrentVersion('order-2'), 0);
      assert.equal(await store.getCurrentVersion('order-3'), null);
      assert.equal(await store.appendEvents('order-2', 0, [{ type: 'Cancelled' }]), 1);
    } finally {
      await storage.close();
    }

    storage = await FileStorage.open(dir);
    try {
      store = new EventStore({ storage });
      assert.deepEqual((await store.loadEvents('order-2')).map((e) => [e.version, e.type]), [[0, 'Placed'], [1, 'Cancelled']]);
      assert.deepEqual(await store.loadEvents('order-1'), before.one);
    } finally {
      await storage.close();
    }
  });

  test('raw calls: an unknown stream, afterVersion filtering, synchronous answers', async () => {
    const storage = await FileStorage.open(freshDir());
    try {
      assert.equal(storage.version('nobody'), -1, 'version() answers a plain number');
      assert.deepEqual(unplaced(storage.load('nobody', -1)), [], 'load() answers a plain array');
      const payloads = ['p0', '{"json":true}', 'p2 ünï 😀', '\u0000 nul', 'p4'];
      assert.deepEqual(await storage.append('s', -1, records(0, payloads.slice(0, 3))), { ok: true });
      assert.deepEqual(await storage.append('s', 2, records(3, payloads.slice(3))), { ok: true });
      assert.equal(storage.version('s'), 4);
      for (const afterVersion of [-1, 0, 1, 3, 4, 5, 100]) {
        const from = Math.max(afterVersion + 1, 0);
        assert.deepEqual(unplaced(storage.load('s', afterVersion)), records(from, payloads.slice(from)), `after ${afterVersion}`);
      }
      assert.deepEqual(unplaced(storage.load('S', -1)), [], 'ids are case-sensitive');
    } finally {
      await storage.close();
    }
  });

  test('a conditional append with a wrong expected version writes nothing, not even to the file', async () => {
    const dir = freshDir();
    let storage = await FileStorage.open(dir);
    try {
      assert.deepEqual(await storage.append('s', -1, records(0, ['p0', 'p1'])), { ok: true });
      const size = sizeOf(logOf(dir));
      for (const expected of [-1, 0, 2, 5]) {
        assert.deepEqual(await storage.append('s', expected, records(expected + 1, ['x', 'y'])),
          { ok: false, actualVersion: 1 }, `expected ${expected}`);
      }
      assert.deepEqual(await storage.append('fresh', 0, records(1, ['x'])), { ok: false, actualVersion: -1 });
      assert.deepEqual(unplaced(storage.load('s', -1)), records(0, ['p0', 'p1']));
      assert.equal(storage.version('fresh'), -1);
      assert.equal(sizeOf(logOf(dir)), size, 'the log did not grow');

      const store = new EventStore({ storage });
      await assert.rejects(store.appendEvents('s', 0, [{ type: 'Late' }]), (error) => {
        assert.ok(error instanceof EventStoreConflictError && error instanceof EventStoreError);
        assert.deepEqual([error.aggregateId, error.expectedVersion, error.actualVersion], ['s', 0, 1]);
        return true;
      });
      assert.equal(sizeOf(logOf(dir)), size, 'the log did not grow');
    } finally {
      await storage.close();
    }
    storage = await FileStorage.open(dir);
    try {
      assert.deepEqual(unplaced(storage.load('s', -1)), records(0, ['p0', 'p1']));
      assert.equal(storage.version('fresh'), -1);
    } finally {
      await storage.close();
    }
  });

  test('close() waits for the appends in flight; calls after close() fail', async () => {
    const dir = freshDir();
    let storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    const inFlight = Array.from({ length: 20 }, (_, i) => storage.append(`s${i}`, -1, records(0, [`payload ${i}`])));
    const closing = storage.close();
    assert.deepEqual(await Promise.all(inFlight), Array.from({ length: 20 }, () => ({ ok: true })));
    await closing;
    await storage.close(); // again: fine
    assert.throws(() => storage.version('s0'), /closed/);
    assert.throws(() => storage.load('s0', -1), /closed/);
    await assert.rejects(storage.append('s0', 0, records(1, ['more'])), /closed/);
    await assert.rejects(store.getCurrentVersion('s0'), (error) => {
      assert.ok(error instanceof EventStoreError);
      assert.equal(error.code, 'STORAGE');
      assert.ok(error.cause instanceof Error && /closed/.test(error.cause.message), String(error.cause));
      return true;
    });
    storage = await FileStorage.open(dir);
    try {
      for (let i = 0; i < 20; i++) assert.deepEqual(unplaced(storage.load(`s${i}`, -1)), records(0, [`payload ${i}`]));
    } finally {
      await storage.close();
    }
  });

  const directories = new WeakMap();
  runStorageConformance({
    name: 'FileStorage',
    async open() {
      const dir = freshDir();
      const storage = await FileStorage.open(dir);
      directories.set(storage, dir);
      return storage;
    },
    async reopen(storage) {
      const dir = directories.get(storage);
      const again = await FileStorage.open(dir);
      directories.set(again, dir);
      return again;
    },
    close: (storage) => storage.close(),
  });
});

describe('FileStorage: the directory lock', () => {
  test('a second open in this process is refused until the first is closed', async () => {
    const dir = freshDir();
    const first = await FileStorage.open(dir);
    assert.equal(lockPid(dir), String(process.pid));
    await assert.rejects(FileStorage.open(dir), (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, new RegExp(`in use by pid ${process.pid}\\b`));
      return true;
    });
    // Under another name of the same directory too.
    await assert.rejects(FileStorage.open(path.join(dir, '..', '.', path.basename(dir))), /in use by pid/);
    if (process.platform !== 'win32') {
      const link = `${dir}-link`;
      fs.symlinkSync(dir, link);
      await assert.rejects(FileStorage.open(link), /in use by pid/);
    }
    // The refused opens did not disturb the first one.
    assert.deepEqual(await first.append('s', -1, records(0, ['p'])), { ok: true });
    await first.close();
    assert.equal(fs.existsSync(lockOf(dir)), false, 'close() removes the LOCK file');

    // Two opens racing: exactly one gets the directory.
    const results = await Promise.allSettled([FileStorage.open(dir), FileStorage.open(dir)]);
    const opened = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    assert.equal(opened.length, 1, 'exactly one of two racing opens succeeds');
    assert.match(results.find((r) => r.status === 'rejected').reason.message, /in use by pid/);
    try {
      assert.deepEqual(unplaced(opened[0].load('s', -1)), records(0, ['p']));
    } finally {
      await opened[0].close();
    }
  });

  test('a worker thread of this process is refused too', { timeout: 20_000 }, async () => {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    try {
      // A worker has its own module instances, so only the LOCK file can tell it the directory is taken.
      const worker = new Worker(`
        const { parentPort, workerData } = require('node:worker_threads');
        const { FileStorage } = require(workerData.modulePath);
        FileStorage.open(workerData.dir).then(
          (opened) => opened.close().then(() => parentPort.postMessage('opened')),
          (error) => parentPort.postMessage(error.message));
      `, { eval: true, workerData: { dir, modulePath: createRequire(import.meta.url).resolve('wasm-event-store/node') } });
      const [message] = await once(worker, 'message');
      await worker.terminate();
      assert.match(message, new RegExp(`in use by pid ${process.pid}\\b`));
      assert.deepEqual(await storage.append('s', -1, records(0, ['still mine'])), { ok: true });
    } finally {
      await storage.close();
    }
  });

  test('a LOCK naming this pid but another process start (a restarted container) is taken over', async () => {
    // The last case is a restart within a second: only the start in clock ticks (Linux) tells.
    const cases = [`${process.pid}\nstarted 1000\n`, `${process.pid}\n`];
    if (process.platform === 'linux') cases.push(`${process.pid}\nstarted ${Math.round(Date.now() - process.uptime() * 1000)}\nticks 1\n`);
    for (const content of cases) {
      const dir = freshDir();
      fs.mkdirSync(dir);
      fs.writeFileSync(lockOf(dir), content);
      const storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.recovery.staleLockPid, process.pid, JSON.stringify(content));
      } finally {
        await storage.close();
      }
    }
  });

  test('a directory held by another live process is refused, naming its pid', { timeout: 20_000 }, async () => {
    const dir = freshDir();
    const child = spawnNode(HOLDER, [dir]);
    const out = watch(child);
    try {
      assert.deepEqual(await out.until(1), ['open']);
      assert.equal(lockPid(dir), String(child.pid));
      await assert.rejects(FileStorage.open(dir), (error) => {
        assert.match(error.message, new RegExp(`in use by pid ${child.pid}\\b`));
        return true;
      });
      child.stdin.end();
      assert.deepEqual(await out.exit, { code: 0, signal: null }, out.stderr());
      assert.deepEqual(out.lines, ['open', 'closed']);
      assert.equal(fs.existsSync(lockOf(dir)), false, 'the holder removed its lock on close()');
      const storage = await FileStorage.open(dir);
      assert.equal(storage.recovery.staleLockPid, null);
      await storage.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('the lock of a process killed with SIGKILL is taken over', { timeout: 20_000 }, async () => {
    const dir = freshDir();
    const child = spawnNode(HOLDER, [dir]);
    const out = watch(child);
    try {
      await out.until(1);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal((await out.exit).signal, 'SIGKILL');
    assert.equal(lockPid(dir), String(child.pid), 'the dead holder left its lock');
    const storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.staleLockPid, child.pid);
      assert.equal(lockPid(dir), String(process.pid));
      await assert.rejects(FileStorage.open(dir), new RegExp(`in use by pid ${process.pid}\\b`));
    } finally {
      await storage.close();
    }
  });

  test('a LOCK file naming a dead pid is taken over', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const deadPid = child.pid;
    await new Promise((resolve) => child.once('exit', resolve));
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(lockOf(dir), `${deadPid}\n`);
    const storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.staleLockPid, deadPid);
      assert.deepEqual(await storage.append('s', -1, records(0, ['p'])), { ok: true });
    } finally {
      await storage.close();
    }
    assert.equal(fs.existsSync(lockOf(dir)), false);
  });

  test('the lock is released when the process exits without close()', { timeout: 20_000 }, async () => {
    for (const ending of ['', 'process.exit(3);']) {
      const dir = freshDir();
      const code = `require('wasm-event-store/node').FileStorage.open(process.argv[1])
        .then(() => { console.log('open'); ${ending} }, (error) => { console.error(error); process.exit(1); });`;
      const child = spawnNode(code, [dir]);
      const out = watch(child);
      child.stdin.end();
      const { code: exitCode } = await out.exit;
      await out.closed;
      assert.deepEqual(out.lines, ['open'], out.stderr());
      assert.equal(exitCode, ending ? 3 : 0);
      assert.equal(fs.existsSync(lockOf(dir)), false, `no LOCK left after ${ending || 'a natural exit'}`);
    }
  });
});

describe('FileStorage: torn writes and corruption', () => {
  /** A directory whose log holds appends of 1 to 3 events to 'a', 'b', 'c'...: [sizes after each]. */
  async function logWithAppends(dir, streams) {
    const storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    const sizes = [];
    try {
      for (const [i, id] of streams.entries()) {
        const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({ type: 'X', data: { id, k } }));
        await store.appendEvents(id, -1, events);
        sizes.push(sizeOf(logOf(dir)));
      }
    } finally {
      await storage.close();
    }
    return sizes;
  }

  test('garbage, zeros or a cut frame header after the last frame are discarded; appends go on', async () => {
    const tails = {
      garbage: Buffer.from('this is not a frame, only garbage\n'.repeat(5)),
      'a zero-filled block (power loss)': Buffer.alloc(4096),
      'three bytes of a header': Buffer.from([0x10, 0, 0]),
      'a header promising more than there is': Buffer.from([0xff, 0x00, 0x00, 0x00, 1, 2, 3, 4, 0x5b, 0x7b]),
    };
    for (const [what, tail] of Object.entries(tails)) {
      const dir = freshDir();
      let storage = await FileStorage.open(dir);
      let store = new EventStore({ storage });
      await store.appendEvents('a', -1, [{ type: 'X', data: { n: 0 } }, { type: 'X', data: { n: 1 } }]);
      await store.appendEvents('a', 1, [{ type: 'X', data: { n: 2 } }]);
      const events = await store.loadEvents('a');
      await storage.close();
      const size = sizeOf(logOf(dir));
      fs.appendFileSync(logOf(dir), tail);

      storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.recovery.discardedBytes, tail.length, what);
        assert.equal(sizeOf(logOf(dir)), size, `${what}: cut off the file`);
        store = new EventStore({ storage });
        assert.deepEqual(await store.loadEvents('a'), events, what);
        assert.equal(await store.appendEvents('a', 2, [{ type: 'X', data: { n: 3 } }]), 3);
        assert.equal(await store.appendEvents('b', -1, [{ type: 'Y' }]), 0);
      } finally {
        await storage.close();
      }

      storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.recovery.discardedBytes, 0, `${what}: nothing more to discard`);
        store = new EventStore({ storage });
        assert.deepEqual((await store.loadEvents('a')).map((e) => e.data.n), [0, 1, 2, 3], what);
        assert.deepEqual((await store.loadEvents('b')).map((e) => e.type), ['Y'], what);
      } finally {
        await storage.close();
      }
    }
  });

  test('the last append torn at any byte is discarded, the earlier ones kept', async () => {
    const dir = freshDir();
    const [s1, s2] = await logWithAppends(dir, ['a', 'b']);
    const full = fs.readFileSync(logOf(dir));
    for (let cut = s1; cut < s2; cut++) {
      fs.writeFileSync(logOf(dir), full.subarray(0, cut));
      const storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.recovery.discardedBytes, cut - s1, `cut at byte ${cut}`);
        if (cut > s1) {
          assert.ok(fs.readFileSync(storage.recovery.tailFile).equals(full.subarray(s1, cut)), `cut at byte ${cut}: kept aside`);
          assert.equal(storage.recovery.discardedEvents, null, `cut at byte ${cut}: a cut frame does not decode`);
          fs.rmSync(storage.recovery.tailFile);
        } else {
          assert.equal(storage.recovery.tailFile, null);
        }
        assert.equal(storage.version('a'), 0, `cut at byte ${cut}`);
        assert.equal(storage.version('b'), -1, `cut at byte ${cut}`);
      } finally {
        await storage.close();
      }
      assert.equal(sizeOf(logOf(dir)), s1);
    }
  });

  test('a damaged last frame (a bit flipped anywhere in it): discarded and kept aside, or CORRUPT where no torn write could do it', async () => {
    const dir = freshDir();
    const [s1, s2] = await logWithAppends(dir, ['a', 'b']);
    const full = fs.readFileSync(logOf(dir));
    const declared = full.readUInt32LE(s1);
    let corrupt = 0;
    for (let at = s1; at < s2; at++) {
      const damaged = Buffer.from(full);
      damaged[at] ^= 0x40;
      fs.writeFileSync(logOf(dir), damaged);
      // A flip in the length field that makes the frame shorter than the bytes that follow it
      // cannot come from a torn write (which leaves at most the frame it declares).
      const shorter = at < s1 + 4 && damaged.readUInt32LE(s1) < declared;
      if (shorter) {
        corrupt++;
        await assert.rejects(FileStorage.open(dir), (error) => error instanceof EventStoreError && error.code === 'CORRUPT' &&
          /not a torn write/.test(error.message), `flip at byte ${at}`);
        assert.ok(fs.readFileSync(logOf(dir)).equals(damaged), `flip at byte ${at}: the log is untouched`);
        continue;
      }
      const storage = await FileStorage.open(dir);
      try {
        const { recovery } = storage;
        assert.equal(recovery.discardedBytes, s2 - s1, `flip at byte ${at}`);
        assert.equal(recovery.discardedAt, s1);
        assert.ok(fs.readFileSync(recovery.tailFile).equals(damaged.subarray(s1)), `flip at byte ${at}: the cut bytes are kept`);
        // The frame is whole: when its body still parses, the count of its events is known.
        assert.ok(recovery.discardedEvents === 2 || recovery.discardedEvents === null, `flip at byte ${at}: ${recovery.discardedEvents}`);
        if (at >= s1 + 4 && at < s1 + 8) assert.equal(recovery.discardedEvents, 2, `flip at byte ${at} (in the checksum)`);
        assert.equal(storage.version('a'), 0);
        assert.equal(storage.version('b'), -1);
        fs.rmSync(recovery.tailFile);
      } finally {
        await storage.close();
      }
    }
    assert.ok(corrupt > 0 && corrupt < 4, `${corrupt} flips in the length field made the frame shorter`);
  });

  test('a damaged frame followed by a valid one is corruption: open rejects and changes nothing', async () => {
    const dir = freshDir();
    const [s1, s2, s3] = await logWithAppends(dir, ['a', 'b', 'c']);
    const full = fs.readFileSync(logOf(dir));
    for (let at = s1; at < s2; at++) {
      const damaged = Buffer.from(full);
      damaged[at] ^= 0x40;
      fs.writeFileSync(logOf(dir), damaged);
      await assert.rejects(FileStorage.open(dir), (error) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, new RegExp(`corrupt at byte ${s1}\\b`), `flip at byte ${at}`);
        return true;
      });
      assert.ok(fs.readFileSync(logOf(dir)).equals(damaged), `flip at byte ${at}: the log is untouched`);
      assert.equal(fs.existsSync(lockOf(dir)), false, 'a failed open releases the lock');
    }
    // A whole extra frame of garbage between two valid frames is corruption too.
    fs.writeFileSync(logOf(dir), Buffer.concat([full.subarray(0, s1), Buffer.from('junk in the middle'), full.subarray(s1)]));
    await assert.rejects(FileStorage.open(dir), new RegExp(`corrupt at byte ${s1}\\b`));

    fs.writeFileSync(logOf(dir), full);
    const storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.discardedBytes, 0);
      assert.deepEqual(['a', 'b', 'c'].map((id) => storage.version(id)), [0, 1, 2]);
      assert.equal(sizeOf(logOf(dir)), s3);
    } finally {
      await storage.close();
    }
  });

  test('a file that is not a FileStorage log is refused, untouched', async () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(logOf(dir), 'name,amount\nsomething else,1\n');
    await assert.rejects(FileStorage.open(dir), /not a FileStorage log/);
    assert.equal(fs.readFileSync(logOf(dir), 'utf8'), 'name,amount\nsomething else,1\n');
  });
});

describe('FileStorage: crash safety', () => {
  test('kill -9 at random moments loses no acknowledged append (5 rounds)', { timeout: 60_000 }, async () => {
    const dir = freshDir();
    const acknowledged = new Map(); // event data id -> { aggregateId, version }
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, [CRASH_WRITER, dir], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = watch(child);
      const wanted = 10 + Math.floor(Math.random() * 60);
      try {
        await out.until(wanted);
        // Kill at once, or a moment later while more appends are in flight.
        if (Math.random() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
      } finally {
        child.kill('SIGKILL');
      }
      assert.equal((await out.exit).signal, 'SIGKILL', out.stderr());
      await out.closed;
      assert.ok(out.lines.length >= wanted);
      for (const line of out.lines) {
        const { id, version, data } = JSON.parse(line);
        data.forEach((eventId, i) => acknowledged.set(eventId, { aggregateId: id, version: version - data.length + 1 + i }));
      }

      const storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.recovery.staleLockPid, child.pid, 'the killed writer left its lock');
        const store = new EventStore({ storage });
        const stored = new Map();
        for (const id of WRITER_AGGREGATES) {
          const events = await store.loadEvents(id);
          events.forEach((event, i) => {
            assert.equal(event.version, i, `${id}: versions are contiguous from 0`);
            assert.equal(event.aggregateId, id);
            assert.equal(event.type, 'X');
            assert.ok(!stored.has(event.data.id), `event ${event.data.id} is stored once`);
            stored.set(event.data.id, { aggregateId: id, version: event.version });
          });
          assert.equal(storage.version(id), events.length - 1);
        }
        for (const [eventId, where] of acknowledged) {
          assert.deepEqual(stored.get(eventId), where, `round ${round}: acknowledged event ${eventId}`);
        }
      } finally {
        await storage.close();
      }
    }
  });

  test('a failed write rejects its append and cuts the log back (file size limit)', {
    skip: process.platform === 'win32' ? 'needs ulimit -f' : false,
    timeout: 20_000,
  }, async () => {
    const dir = freshDir();
    const code = `
      const fs = require('node:fs');
      const { FileStorage } = require('wasm-event-store/node');
      const { EventStore, EventStoreError } = require('wasm-event-store');
      (async () => {
        const dir = process.argv[1];
        const storage = await FileStorage.open(dir);
        const store = new EventStore({ storage });
        let version = -1;
        let failure;
        const acked = [];
        for (let i = 0; i < 1000 && failure === undefined; i++) {
          try {
            version = await store.appendEvents('big', version, [{ type: 'X', data: { i, fill: 'x'.repeat(1000) } }]);
            acked.push(i);
          } catch (error) {
            failure = error;
          }
        }
        const report = {
          acked, version: storage.version('big'), size: fs.statSync(dir + '/events.log').size,
          isStoreError: failure instanceof EventStoreError, code: failure && failure.code,
          causeMessage: failure && failure.cause && failure.cause.message,
          rootCode: failure && failure.cause && failure.cause.cause && failure.cause.cause.code,
        };
        try { await store.appendEvents('big', version - 1, [{ type: 'Late' }]); } catch (error) { report.stale = error.name; }
        await storage.close();
        console.log(JSON.stringify(report));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const limitKiB = 48;
    const child = spawn('/bin/sh', ['-c', `ulimit -f ${limitKiB} && exec "$0" -e "$1" "$2"`, process.execPath, code, dir],
      { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = watch(child);
    const [line] = await out.until(1);
    assert.equal((await out.exit).code, 0, out.stderr());
    const report = JSON.parse(line);
    assert.ok(report.isStoreError, JSON.stringify(report));
    assert.equal(report.code, 'STORAGE');
    assert.match(report.causeMessage, /events\.log/);
    assert.equal(report.rootCode, 'EFBIG');
    assert.ok(report.acked.length > 10, 'appends went through until the limit');
    assert.equal(report.version, report.acked.length - 1, 'the failed append is not in the stream');
    assert.ok(report.size <= limitKiB * 1024);
    assert.equal(report.stale, 'EventStoreConflictError', 'the storage still works after the failure');

    const storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.discardedBytes, 0, 'the partial frame was cut off when the write failed');
      assert.equal(sizeOf(logOf(dir)), report.size);
      const store = new EventStore({ storage });
      assert.deepEqual((await store.loadEvents('big')).map((e) => e.data.i), report.acked);
      assert.equal(await store.appendEvents('big', report.version, [{ type: 'After' }]), report.version + 1);
    } finally {
      await storage.close();
    }
  });
});

describe('FileStorage: group commit', () => {
  test('200 concurrent appends through two stores sharing one FileStorage, with retries', { timeout: 30_000 }, async () => {
    const dir = freshDir();
    let storage = await FileStorage.open(dir);
    const stores = [new EventStore({ storage }), new EventStore({ storage })];
    const ids = ['g0', 'g1', 'g2', 'g3'];
    let conflicts = 0;
    async function appendWithRetry(store, id, events) {
      for (;;) {
        const expected = (await store.getCurrentVersion(id)) ?? -1;
        try {
          return await store.appendEvents(id, expected, events);
        } catch (error) {
          if (!(error instanceof EventStoreConflictError)) throw error;
          conflicts++;
        }
      }
    }
    const results = await Promise.all(Array.from({ length: 200 }, async (_, task) => {
      const id = ids[(task >> 1) % ids.length]; // each aggregate gets tasks from both stores
      const size = 1 + (task % 3);
      const events = Array.from({ length: size }, (_, k) => ({ type: 'X', data: { task, k } }));
      const version = await appendWithRetry(stores[task % 2], id, events);
      return { task, id, size, version };
    }));
    assert.ok(conflicts > 0, 'the two stores raced on the same aggregates');

    async function check(store) {
      for (const id of ids) {
        const events = await store.loadEvents(id);
        events.forEach((event, i) => assert.equal(event.version, i, `${id}: versions are contiguous`));
        const mine = results.filter((r) => r.id === id);
        assert.equal(events.length, mine.reduce((sum, r) => sum + r.size, 0), `${id}: every append once, nothing more`);
        for (const { task, size, version } of mine) {
          const batch = events.slice(version - size + 1, version + 1);
          assert.deepEqual(batch.map((e) => e.data), Array.from({ length: size }, (_, k) => ({ task, k })),
            `${id}: task ${task} ends at version ${version}`);
        }
      }
    }
    await check(stores[0]);
    await check(stores[1]);
    await storage.close();

    const frames = countFrames(logOf(dir));
    assert.ok(frames > 0 && frames < 200, `appends were written in groups (${frames} writes for 200 appends)`);

    storage = await FileStorage.open(dir);
    try {
      assert.equal(storage.recovery.discardedBytes, 0);
      await check(new EventStore({ storage }));
    } finally {
      await storage.close();
    }
  });
});
