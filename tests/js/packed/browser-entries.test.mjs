// The browser entries from Node: wasm-event-store/web fails with an error that names the Node
// entry (not "fetch failed"), and wasm-event-store/init loads the wasm only when told, from
// whatever it is given, with failures an app can catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

test('importing wasm-event-store/web in Node names the entry to use instead', async () => {
  await assert.rejects(import('wasm-event-store/web'), (error) => {
    assert.equal(error.name, 'EventStoreError');
    assert.equal(error.code, 'NOT_INITIALIZED');
    assert.match(error.message, /in Node, import 'wasm-event-store' or 'wasm-event-store\/node'/);
    assert.ok(error.cause, 'the failed load is the cause');
    return true;
  });
});

test('wasm-event-store/init: nothing works before init(), a failed init() rejects and can be retried', async () => {
  const { init, EventStore, EventStoreError } = await import('wasm-event-store/init');
  assert.throws(() => new EventStore(), (error) => error instanceof EventStoreError && error.code === 'NOT_INITIALIZED' &&
    /await init\(\)/.test(error.message));
  await assert.rejects(init(new URL('file:///nonexistent/wasm_event_store_bg.wasm')), (error) =>
    error instanceof EventStoreError && error.code === 'NOT_INITIALIZED' && error.message.includes('/nonexistent/'));
  // The wasm itself is an export of the package (for bundlers): here, its bytes.
  const bytes = fs.readFileSync(require.resolve('wasm-event-store/wasm'));
  await init(bytes);
  await init(); // once loaded, again is nothing
  const store = new EventStore();
  assert.equal(await store.appendEvents('a', -1, [{ type: 'A', data: { n: 1 } }]), 0);
  assert.deepEqual((await store.loadEvents('a')).map((e) => e.data), [{ n: 1 }]);
});

test('wasm-event-store/init: a second init() with another input during a failing one tries its own', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { init, EventStore } from 'wasm-event-store/init';
    import { readFileSync } from 'node:fs';
    import { createRequire } from 'node:module';
    const bytes = readFileSync(createRequire(import.meta.url).resolve('wasm-event-store/wasm'));
    const bad = init(new URL('file:///nonexistent.wasm')).then(() => 'loaded', (error) => error.code);
    const good = init(bytes).then(() => 'loaded', (error) => error.code);
    const results = await Promise.all([bad, good]);
    console.log(JSON.stringify([...results, await new EventStore().appendEvents('a', -1, [{ type: 'A' }])]));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), ['NOT_INITIALIZED', 'loaded', 0]);
});
