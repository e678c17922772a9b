// wasm-event-store/init in a page: a store made before init() is refused, a failed load (a 404)
// rejects init() with an error the page catches, and init() then works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, serverErrorsSince } from './harness.mjs';

const env = useBrowser();

test('init(): refused before, catchable when the wasm is missing, then working', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext();
  const errorsBefore = env.server.errors.length;
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.stack ?? error}`));
    // A page of the server's origin that loads nothing itself (index.html imports web.mjs).
    await page.goto(`${env.server.url}/pkg/README.md`);
    const r = await page.evaluate(async () => {
      const { init, EventStore, EventStoreError } = await import('/pkg/init.mjs');
      const out = {};
      try {
        new EventStore();
        out.early = 'made';
      } catch (error) {
        out.early = { isStoreError: error instanceof EventStoreError, code: error.code };
      }
      try {
        await init('/pkg/wasm/web/missing.wasm');
        out.missing = 'loaded';
      } catch (error) {
        out.missing = { isStoreError: error instanceof EventStoreError, code: error.code, names: error.message.includes('missing.wasm') };
      }
      await init();
      const store = new EventStore();
      out.appended = await store.appendEvents('a', -1, [{ type: 'A' }]);
      out.loaded = (await store.loadEvents('a')).map((e) => e.type);
      // The zero-config entry shares the init entry's classes.
      const web = await import('/pkg/web.mjs');
      out.sameClasses = web.EventStore === EventStore && web.EventStoreError === EventStoreError;
      return out;
    });
    assert.deepEqual(r, {
      early: { isStoreError: true, code: 'NOT_INITIALIZED' },
      missing: { isStoreError: true, code: 'NOT_INITIALIZED', names: true },
      appended: 0,
      loaded: ['A'],
      sameClasses: true,
    });
    assert.deepEqual(problems, [], 'nothing went uncaught');
    assert.deepEqual(serverErrorsSince(env.server, errorsBefore), ['the server answered 404 /pkg/wasm/web/missing.wasm'], 'only the missing wasm failed');
  } finally {
    await context.close();
  }
});
