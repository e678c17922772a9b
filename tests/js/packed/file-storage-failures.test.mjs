// FileStorage when the world misbehaves: the log deleted, replaced or moved under a running
// storage, the LOCK deleted under a writing process, damaged tails that are not torn writes,
// a real torn tail made by SIGKILL in the middle of a write, every acknowledgement after the
// fdatasync that covers it, and open() failures named as EventStoreErrors.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileStorage } from 'wasm-event-store/node';
import { EventStore, EventStoreError } from 'wasm-event-store';

const here = path.dirname(fileURLToPath(import.meta.url));
const CRASH_WRITER = path.join(here, 'fixtures', 'crash-writer.mjs');
const WRITER_AGGREGATES = ['alpha', 'beta', 'gamma', 'delta']; // the ones crash-writer.mjs uses

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wes-file-failures-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => path.join(root, `dir-${dirCount++}`);
const logOf = (dir) => path.join(dir, 'events.log');
const lockOf = (dir) => path.join(dir, 'LOCK');
const event = (n) => ({ type: 'X', data: { n } });

/** `store.appendEvents(...)`'s outcome: the version, or the error's code and its cause's. */
async function outcome(promise) {
  try {
    return { version: await promise };
  } catch (error) {
    return { code: error.code, cause: error.cause?.code, message: String(error.cause?.message ?? error.message) };
  }
}

/** The lines a child prints, and its exit. */
function watch(child) {
  const lines = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) waiter();
  });
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const until = (count) => new Promise((resolve, reject) => {
    const waiter = () => {
      if (lines.length >= count) {
        waiters.delete(waiter);
        resolve();
      }
    };
    waiters.add(waiter);
    exit.then(() => reject(new Error(`the child exited after ${lines.length} of ${count} lines: ${stderr}`)));
    waiter();
  });
  return { lines, until, exit, stderr: () => stderr };
}

describe('FileStorage: the log deleted, replaced or moved while open', () => {
  const interferences = {
    'the log deleted': (dir) => fs.rmSync(logOf(dir)),
    'another file renamed over the log': (dir) => {
      fs.writeFileSync(`${logOf(dir)}.other`, 'WESLOG1\n');
      fs.renameSync(`${logOf(dir)}.other`, logOf(dir));
    },
    'the directory moved away': (dir) => fs.renameSync(dir, `${dir}.moved`),
    'the directory replaced by a file': (dir) => {
      fs.renameSync(dir, `${dir}.moved`);
      fs.writeFileSync(dir, 'not a directory');
    },
  };
  for (const [what, interfere] of Object.entries(interferences)) {
    test(`${what}: every append from then on is refused as STORAGE, none acknowledged and lost`, async () => {
      const dir = freshDir();
      const storage = await FileStorage.open(dir);
      const store = new EventStore({ storage });
      let version = -1;
      for (let n = 0; n < 5; n++) version = await store.appendEvents('a', version, [event(n)]);
      interfere(dir);
      const after = [];
      for (let n = 5; n < 10; n++) after.push(await outcome(store.appendEvents('a', version, [event(n)])));
      for (const result of after) {
        assert.equal(result.code, 'STORAGE', JSON.stringify(result));
        assert.equal(result.cause, 'STORAGE');
        assert.match(result.message, /was deleted, moved or replaced/);
        assert.ok(result.message.includes(logOf(dir)), result.message);
      }
      // The raw adapter refuses the same way, with the same error.
      assert.throws(() => storage.version('a'), (error) => error instanceof EventStoreError && /deleted, moved or replaced/.test(error.message));
      await storage.close();
      if (fs.existsSync(`${dir}.moved`)) {
        // The moved directory holds the log with the five acknowledged appends, and only those.
        // (Its LOCK is this process's, which close() could not find to remove: remove it.)
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(`${dir}.moved`, dir);
        fs.rmSync(lockOf(dir));
        const reopened = await FileStorage.open(dir);
        try {
          assert.equal(reopened.version('a'), 4);
        } finally {
          await reopened.close();
        }
      }
    });
  }

  test('appends in flight when the log is deleted are never acknowledged into the deleted file', async () => {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    const streams = Array.from({ length: 8 }, (_, i) => `s${i}`);
    let deleted = false;
    const acknowledgedAfter = [];
    const writers = streams.map(async (id) => {
      let afterDeletion = 0;
      for (let version = -1; afterDeletion < 100; version++) {
        const started = deleted;
        afterDeletion += started ? 1 : 0;
        const result = await outcome(store.appendEvents(id, version, [event(version + 1)]));
        if (result.code !== undefined) return result;
        if (started) acknowledgedAfter.push(id);
      }
      return { version: 'still acknowledging 100 appends after the deletion' };
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    fs.rmSync(logOf(dir));
    deleted = true;
    const ends = await Promise.all(writers);
    assert.deepEqual(acknowledgedAfter, [], 'appends started after the deletion were acknowledged');
    for (const end of ends) assert.equal(end.code, 'STORAGE');
    await storage.close();
  });

  test('a dangling symbolic link at the log path is refused, not replaced by an empty log', async () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    const target = path.join(root, 'elsewhere', 'events.log');
    fs.symlinkSync(target, logOf(dir));
    await assert.rejects(FileStorage.open(dir), (error) => error instanceof EventStoreError && error.code === 'STORAGE' &&
      error.message.includes('symbolic link') && error.message.includes(target));
    assert.ok(fs.lstatSync(logOf(dir)).isSymbolicLink(), 'the link is untouched');
    assert.equal(fs.readlinkSync(logOf(dir)), target);
    assert.equal(fs.existsSync(lockOf(dir)), false, 'a failed open releases the lock');
  });
});

describe('FileStorage: the LOCK deleted while held', () => {
  test('a writer whose LOCK was deleted stops: no version is ever acknowledged twice', { timeout: 60_000 }, async () => {
    const dir = freshDir();
    const child = spawn(process.execPath, [CRASH_WRITER, dir], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = watch(child);
    await out.until(40);
    fs.rmSync(lockOf(dir));
    // A second user opens the directory (nothing stops it now), which writes a LOCK of its own.
    const taker = await FileStorage.open(dir);
    // The first writer must stop by itself (a bounded wait: it never would if it did not notice).
    const stopped = await Promise.race([out.exit, new Promise((resolve) => setTimeout(resolve, 10_000, null))]);
    if (stopped === null) child.kill('SIGKILL');
    assert.notEqual(stopped, null, 'the first writer was still writing 10 s after its LOCK was taken');
    assert.equal(stopped.code, 1, 'the first writer stops with an error');
    assert.match(out.stderr(), /LOCKED/);
    assert.match(out.stderr(), /deleted or replaced while this FileStorage held it/);
    // (The group the first writer had in flight may have landed after the taker read the log;
    // the README says that window remains. Reopening reads everything that landed.)
    await taker.close();
    const storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    const ours = [];
    for (let round = 0; round < 20; round++) {
      for (const id of WRITER_AGGREGATES) {
        const version = storage.version(id);
        const result = await outcome(store.appendEvents(id, version, [{ type: 'X', data: { id: `second-${round}-${id}` } }]));
        if (result.version !== undefined) ours.push({ id, version: result.version, data: `second-${round}-${id}` });
      }
    }
    await storage.close();

    // Every acknowledged version, of either writer, is in the log, with its data, once.
    const claimed = new Map(); // "id@version" -> data id
    const claim = (id, version, data) => {
      const key = `${id}@${version}`;
      assert.ok(!claimed.has(key), `version ${key} acknowledged twice (${claimed.get(key)} and ${data})`);
      claimed.set(key, data);
    };
    for (const line of out.lines) {
      const { id, version, data } = JSON.parse(line);
      data.forEach((dataId, i) => claim(id, version - data.length + 1 + i, dataId));
    }
    for (const { id, version, data } of ours) claim(id, version, data);
    assert.ok(ours.length > 0, 'the second writer appended');
    const reopened = await FileStorage.open(dir);
    try {
      const reader = new EventStore({ storage: reopened });
      for (const id of WRITER_AGGREGATES) {
        for (const stored of await reader.loadEvents(id)) {
          const expected = claimed.get(`${id}@${stored.version}`);
          if (expected !== undefined) assert.equal(stored.data.id, expected, `${id}@${stored.version}`);
          claimed.delete(`${id}@${stored.version}`);
        }
      }
      assert.deepEqual([...claimed.keys()], [], 'acknowledged versions missing from the log');
    } finally {
      await reopened.close();
    }
  });

  test('the raw adapter reports LOCKED for every call once its LOCK names another holder', async () => {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    await store.appendEvents('a', -1, [event(0)]);
    fs.writeFileSync(lockOf(dir), '1\nstarted 0\n'); // replaced by someone else's
    const refused = await outcome(store.appendEvents('a', 0, [event(1)]));
    assert.deepEqual([refused.code, refused.cause], ['STORAGE', 'LOCKED']);
    await assert.rejects(Promise.resolve().then(() => storage.load('a', -1)), (error) => error.code === 'LOCKED');
    await storage.close();
    assert.equal(fs.readFileSync(lockOf(dir), 'utf8'), '1\nstarted 0\n', 'close() leaves a lock that is not its own');
  });
});

describe('FileStorage: damaged tails that are not torn writes', () => {
  /** A log of `count` appends of one event with `bytes` of data to stream 'a': [dir, frame starts]. */
  async function logOfAppends(count, bytes) {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    const store = new EventStore({ storage });
    const starts = [];
    for (let n = 0; n < count; n++) {
      starts.push(fs.statSync(logOf(dir)).size);
      await store.appendEvents('a', n - 1, [{ type: 'X', data: { n, fill: 'f'.repeat(bytes) } }]);
    }
    await storage.close();
    return [dir, starts];
  }

  test('zeros from frame 10 to the end, more than one write can leave: CORRUPT, nothing changed', async () => {
    const [dir, starts] = await logOfAppends(30, 600_000); // 20 frames of 600 KB zeroed: 12 MB
    const bytes = fs.readFileSync(logOf(dir));
    bytes.fill(0, starts[10]);
    fs.writeFileSync(logOf(dir), bytes);
    await assert.rejects(FileStorage.open(dir), (error) => error instanceof EventStoreError && error.code === 'CORRUPT' &&
      error.offset === starts[10] && /not a torn write/.test(error.message));
    assert.ok(fs.readFileSync(logOf(dir)).equals(bytes), 'the log is untouched');
    assert.deepEqual(fs.readdirSync(dir).filter((name) => name.includes('.tail-')), []);
  });

  test('damaged frames after the first damaged one: CORRUPT (a torn write leaves one frame)', async () => {
    const [dir, starts] = await logOfAppends(30, 20);
    const bytes = fs.readFileSync(logOf(dir));
    for (const start of starts.slice(10)) bytes[start + 20] ^= 0x01; // a flipped bit in every body
    fs.writeFileSync(logOf(dir), bytes);
    await assert.rejects(FileStorage.open(dir), (error) => error.code === 'CORRUPT' && error.offset === starts[10] &&
      /not a torn write/.test(error.message));
    assert.ok(fs.readFileSync(logOf(dir)).equals(bytes));
    // Even when the first damaged header declares a frame as long as the whole tail, the frames
    // inside it show it is not one torn write.
    bytes.writeUInt32LE(bytes.length - starts[10] - 8, starts[10]);
    fs.writeFileSync(logOf(dir), bytes);
    await assert.rejects(FileStorage.open(dir), (error) => error.code === 'CORRUPT' &&
      new RegExp(`hold another frame, at byte ${starts[11]}`).test(error.message));
    assert.ok(fs.readFileSync(logOf(dir)).equals(bytes));
  });

  test('more bytes after a damaged frame than the frame declares: CORRUPT', async () => {
    const [dir, starts] = await logOfAppends(3, 20);
    const bytes = Buffer.concat([fs.readFileSync(logOf(dir)), Buffer.from('trailing bytes no write put here')]);
    bytes[starts[2] + 20] ^= 0x01;
    fs.writeFileSync(logOf(dir), bytes);
    await assert.rejects(FileStorage.open(dir), (error) => error.code === 'CORRUPT' && /more than the \d+ of the frame/.test(error.message));
  });

  test('what cannot be told from a torn write is cut off but kept beside the log, with what it held', async () => {
    const [dir, starts] = await logOfAppends(12, 20);
    const bytes = fs.readFileSync(logOf(dir));
    bytes[bytes.indexOf('ffff', starts[11])] ^= 0x01; // the last frame damaged (in its data): it might have been in flight
    fs.writeFileSync(logOf(dir), bytes);
    const storage = await FileStorage.open(dir);
    try {
      const { recovery } = storage;
      assert.equal(recovery.discardedAt, starts[11]);
      assert.equal(recovery.discardedBytes, bytes.length - starts[11]);
      assert.equal(recovery.discardedEvents, 1, 'its body still decodes: one event');
      assert.equal(path.dirname(recovery.tailFile), dir);
      assert.ok(fs.readFileSync(recovery.tailFile).equals(bytes.subarray(starts[11])), 'the cut bytes are kept');
      assert.equal(storage.version('a'), 10);
    } finally {
      await storage.close();
    }
  });
});

describe('FileStorage: a real torn write, and acknowledgements after fdatasync', () => {
  test('SIGKILL in the middle of a large write leaves a torn tail, moved aside at open', { timeout: 120_000 }, async () => {
    // The child appends a small event, then a 64 MB one; Linux stops a large write() between
    // pages when SIGKILL arrives, so killing it while the log grows leaves a frame cut short.
    const WRITER = `
      const { FileStorage, EventStore } = require('wasm-event-store/node');
      (async () => {
        const storage = await FileStorage.open(process.argv[1]);
        const store = new EventStore({ storage });
        const version = await store.getCurrentVersion('small');
        await store.appendEvents('small', version ?? -1, [{ type: 'Small' }]);
        console.log('small');
        const big = 'b'.repeat(64 * 1024 * 1024);
        console.log('big');
        await store.appendEvents('big', -1, [{ type: 'Big', data: big }]);
        console.log('done');
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const dir = freshDir();
    let torn = 0;
    let smallAcknowledged = 0;
    for (let attempt = 0; attempt < 8 && torn === 0; attempt++) {
      const child = spawn(process.execPath, ['-e', WRITER, dir], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = watch(child);
      await out.until(2); // 'small' acknowledged, the big append under way
      smallAcknowledged++;
      const before = fs.statSync(logOf(dir)).size;
      // Kill as soon as the log starts growing: the write of the big frame is in progress.
      const deadline = Date.now() + 20_000;
      while (fs.statSync(logOf(dir)).size === before && Date.now() < deadline) { /* spin */ }
      child.kill('SIGKILL');
      await out.exit;
      const storage = await FileStorage.open(dir);
      try {
        assert.equal(storage.version('small'), smallAcknowledged - 1, 'every acknowledged append is kept');
        if (storage.recovery.discardedBytes > 0) {
          torn++;
          assert.equal(storage.version('big'), -1, 'the torn append is gone from the log');
          assert.equal(storage.recovery.discardedAt, before);
          assert.equal(fs.statSync(storage.recovery.tailFile).size, storage.recovery.discardedBytes, 'and kept aside');
          assert.equal(storage.recovery.discardedEvents, null);
        } else if (storage.version('big') === 0) {
          // The write got through before the kill: then it is whole. Start over without it.
          await storage.close();
          fs.rmSync(dir, { recursive: true });
          smallAcknowledged = 0;
          continue;
        }
      } finally {
        await storage.close();
      }
    }
    assert.ok(torn > 0, 'no attempt produced a torn tail');
  });

  test('every acknowledgement comes after an fdatasync that began after the bytes were written', async () => {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    // Record the file operations of every FileHandle (the log's included) and the acknowledgements.
    const handle = await fsp.open(path.join(root, `probe-${dirCount}`), 'w');
    const FileHandle = Object.getPrototypeOf(handle);
    await handle.close();
    const trace = [];
    const original = { write: FileHandle.write, datasync: FileHandle.datasync };
    FileHandle.write = async function write(...args) {
      trace.push({ op: 'write-start' });
      try {
        return await original.write.apply(this, args);
      } finally {
        trace.push({ op: 'write-end' });
      }
    };
    FileHandle.datasync = async function datasync() {
      trace.push({ op: 'sync-start' });
      try {
        return await original.datasync.apply(this);
      } finally {
        trace.push({ op: 'sync-end' });
      }
    };
    try {
      const store = new EventStore({ storage });
      await Promise.all(Array.from({ length: 20 }, async (_, w) => {
        for (let n = 0; n < 10; n++) {
          await store.appendEvents(`w${w}`, n - 1, [event(n)]);
          trace.push({ op: 'ack', id: `w${w}@${n}` });
        }
      }));
    } finally {
      FileHandle.write = original.write;
      FileHandle.datasync = original.datasync;
      await storage.close();
    }
    const acks = trace.filter((entry) => entry.op === 'ack').length;
    assert.equal(acks, 200);
    // At each ack, every write that ended must be covered by a completed sync that began after it
    // (and no write may be in progress: the storage commits one group at a time).
    let started = 0;
    let ended = 0;
    let covers = null; // the writes the running sync covers
    let synced = 0;
    const unsynced = [];
    for (const entry of trace) {
      if (entry.op === 'write-start') started++;
      if (entry.op === 'write-end') ended++;
      if (entry.op === 'sync-start') covers = started === ended ? ended : null;
      if (entry.op === 'sync-end' && covers !== null) synced = Math.max(synced, covers);
      if (entry.op === 'ack' && (synced < ended || started !== ended)) unsynced.push(entry.id);
    }
    assert.deepEqual(unsynced, [], 'acknowledged before the fdatasync covering their bytes');
    assert.ok(trace.filter((entry) => entry.op === 'sync-end').length < acks, 'group commit: fewer syncs than acks');
  });
});

describe('FileStorage: open() failures are EventStoreErrors that name the path and the cause', () => {
  test('a file where the directory should be, and a directory where the log should be', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(FileStorage.open(file), (error) => error instanceof EventStoreError && error.code === 'STORAGE' &&
      error.message.startsWith('FileStorage: ') && error.message.includes(file) && error.cause instanceof Error);

    const dir = freshDir();
    fs.mkdirSync(logOf(dir), { recursive: true });
    await assert.rejects(FileStorage.open(dir), (error) => error instanceof EventStoreError && error.code === 'STORAGE' &&
      error.message.includes(logOf(dir)) && error.cause?.code === 'EISDIR');
    assert.equal(fs.existsSync(lockOf(dir)), false, 'a failed open releases the lock');
  });

  test('a directory in use names the holder, as LOCKED', async () => {
    const dir = freshDir();
    const storage = await FileStorage.open(dir);
    try {
      await assert.rejects(FileStorage.open(dir), (error) => error instanceof EventStoreError && error.code === 'LOCKED' &&
        error.pid === process.pid && error.message.includes(dir));
    } finally {
      await storage.close();
    }
  });
});
