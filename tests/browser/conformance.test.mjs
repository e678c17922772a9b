// IndexedDbStorage passes the package's storage conformance kit in a real page, over Chromium's
// own IndexedDB (the Node tests only have fake-indexeddb). Every case is its own subtest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPages } from './harness.mjs';

const env = useBrowser();

test('IndexedDbStorage passes the storage conformance cases in Chromium', { timeout: 120_000 }, async (t) => {
  await withPages(env, async ({ open }) => {
    const page = await open('/');
    // The page-side runner (static/conformance.mjs) imports the package's web-testing entry.
    await page.evaluate(async () => {
      window.conformance = await import('/conformance.mjs');
    });
    const cases = await page.evaluate(() => window.conformance.caseList());
    // Guards against a silently empty kit passing as "all green".
    assert.ok(cases.length >= 9, `expected the full kit, got ${cases.length} cases`);

    const failed = [];
    for (const { name, needs } of cases) {
      await t.test(name + (needs ? ` (needs ${needs})` : ''), { timeout: 30_000 }, async () => {
        const result = await page.evaluate((n) => window.conformance.runCase(n), name);
        if (!result.ok) failed.push(name);
        assert.ok(result.ok, result.error);
      });
    }
    assert.deepEqual(failed, [], 'conformance cases that failed');
  });
});
