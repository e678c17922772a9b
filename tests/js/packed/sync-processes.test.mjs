// Sync across real processes over loopback HTTP: a server process over FileStorage and three
// device processes, each with its own FileStorage, appending offline (to their own streams and
// to two shared ones), then syncing while the server is killed with SIGKILL mid-push and
// started again on the same directory and port. At the end every device holds the server's
// confirmed log, and every event appended offline is on the server exactly once (conflicts on
// the shared streams were rebased: re-decided, never lost, never doubled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventStore, FileStorage } from 'wasm-event-store/node';

const here = new URL('./fixtures/', import.meta.url);

/** A child process with a line reader: waitFor(text) resolves with the first line that starts with it. */
function start(script, args) {
  const child = spawn(process.execPath, [new URL(script, here).pathname, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (line.startsWith(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    lines,
    waitFor: (text) => {
      const seen = lines.find((line) => line.startsWith(text));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        exited.then(({ code, signal }) => reject(new Error(`${script} exited (${code ?? signal}) before printing ${text}`)));
      });
    },
  };
}

/** Three devices append offline, sync through `urls` (one each, in turn), and report their logs. */
async function devicesConverge(root, urls, appends, onPushing = async () => {}) {
  const devices = ['d1', 'd2', 'd3'].map((name, i) => start('sync-device.mjs', [join(root, name), urls[i % urls.length], name, String(appends)]));
  try {
    await Promise.all(devices.map((d) => d.waitFor('appended')));
    await onPushing();
    await Promise.all(devices.map((d) => d.waitFor('synced')));
    // Every device syncs once more, after all have pushed, and reports its log.
    for (const device of devices) device.child.stdin.write('final\n');
    return await Promise.all(devices.map(async (d) => JSON.parse(await d.waitFor('['))));
  } finally {
    for (const device of devices) device.child.kill('SIGKILL');
  }
}

const view = (events) => events.map(({ aggregateId, version, type, data, eventId, position }) => ({ aggregateId, version, type, data, eventId, position }));

function assertConverged(logs, serverLog, appends) {
  for (const [index, log] of logs.entries()) assert.deepEqual(view(log), view(serverLog), `device ${index + 1} holds the server's log`);
  assert.equal(new Set(serverLog.map((e) => e.eventId)).size, serverLog.length, 'no event twice');
  const data = serverLog.map((e) => e.data).sort();
  const expected = ['d1', 'd2', 'd3'].flatMap((name) => Array.from({ length: appends }, (_, i) => `${name}-${i}`)).sort();
  assert.deepEqual(data, expected, 'every offline append is on the server once (rebased ones re-decided, none lost)');
}

test('devices offline, then syncing through a server killed and restarted mid-push, converge on one log', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'wes-sync-processes-'));
  const serverDir = join(root, 'server');
  let server = start('sync-server.mjs', [serverDir, '0']);
  try {
    const port = (await server.waitFor('listening ')).split(' ')[1];
    const appends = 90;
    const logs = await devicesConverge(root, [`http://127.0.0.1:${port}/sync`], appends, async () => {
      // The devices push now; the server dies with the first pushes in flight.
      await server.waitFor('push');
      server.child.kill('SIGKILL');
      assert.equal((await server.exited).signal, 'SIGKILL');
      server = start('sync-server.mjs', [serverDir, port]);
      await server.waitFor('listening ');
    });
    server.child.kill('SIGTERM');
    await server.exited;
    const storage = await FileStorage.open(serverDir);
    const serverLog = await new EventStore({ storage }).loadAllEvents();
    await storage.close();
    assertConverged(logs, serverLog, appends);
  } finally {
    server.child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});

test('two server processes over one PostgreSQL database serve one log: devices syncing through either converge', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'wes-sync-pg-'));
  const schema = `wes_sync_${process.pid}`;
  const servers = [start('sync-server.mjs', [`postgres:${schema}`, '0']), start('sync-server.mjs', [`postgres:${schema}`, '0'])];
  try {
    const ports = await Promise.all(servers.map(async (s) => (await s.waitFor('listening ')).split(' ')[1]));
    const appends = 60;
    const logs = await devicesConverge(root, ports.map((port) => `http://127.0.0.1:${port}/sync`), appends);
    const { default: pg } = await import('pg');
    const { PostgresStorage } = await import('wasm-event-store/postgres');
    const pool = new pg.Pool({ connectionString: process.env.WES_TEST_DATABASE_URL, max: 2 });
    const storage = await PostgresStorage.open({ pool, schema });
    const serverLog = await new EventStore({ storage }).loadAllEvents();
    await storage.close();
    await pool.end();
    assertConverged(logs, serverLog, appends);
  } finally {
    for (const server of servers) server.child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
