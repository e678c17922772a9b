// The README's quick-start page, copied out of README.md and served as a user would serve it
// (a static server, the package in node_modules/, no bundler), in Chromium: it loads, appends on
// a click, and shows the same events after a reload (IndexedDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, watchPage } from './harness.mjs';
import { PKG_DIR, startServer } from './server.mjs';

test("the README's quick-start page works from a static server", { timeout: 60_000 }, async () => {
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const page = /```html\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(page?.includes('importmap'), 'the README has its HTML page');
  const site = await mkdtemp(join(tmpdir(), 'wes-readme-page-'));
  await writeFile(join(site, 'index.html'), page);
  await mkdir(join(site, 'node_modules'));
  await symlink(PKG_DIR, join(site, 'node_modules', 'wasm-event-store'));
  const server = await startServer({ roots: { '/readme/': site } });
  const browser = await launchChromium();
  const problems = [];
  try {
    const context = await browser.newContext();
    const tab = watchPage(await context.newPage(), problems);
    const version = () => tab.evaluate(() => document.body.dataset.version);
    await tab.goto(`${server.url}/readme/`);
    await tab.waitForFunction(() => document.body.dataset.version === '-1');
    for (const expected of ['0', '1']) {
      await tab.click('#add');
      await tab.waitForFunction((v) => document.body.dataset.version === v, expected);
    }
    assert.deepEqual(await tab.locator('#items li').allTextContents(), ['0: ItemAdded item-1', '1: ItemAdded item-2']);
    await tab.reload();
    await tab.waitForFunction(() => document.body.dataset.version !== undefined);
    assert.equal(await version(), '1', 'the events are still there after a reload');
    await context.close();
    assert.deepEqual(problems, [], 'the page reported errors');
    assert.deepEqual(server.errors, [], 'the server answered errors');
  } finally {
    await browser.close();
    await server.close();
    await rm(site, { recursive: true, force: true });
  }
});
