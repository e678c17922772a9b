// End-to-end test of the demo as a person would use it, in Debian's headless Chromium driven by
// playwright-core. It serves the built app (www/dist, built against the packed package by
// scripts/test-demo.sh) itself on 127.0.0.1, and gives every test a new empty browser profile.
// Screenshots go to test-results/ at the repository root.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveDemo } from '../demo-server.mjs';

const www = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const dist = join(www, 'dist');
const results = resolve(www, '..', 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TIMEOUT = 20_000;

if (!existsSync(join(dist, 'index.html')) || !existsSync(join(dist, 'sw.js'))) {
  throw new Error(`${dist} is not built: run scripts/test-demo.sh (it builds www against the packed package)`);
}
mkdirSync(results, { recursive: true });

/** A server for dist/ and a browser with a fresh profile, both closed when the test ends. */
async function setup(t) {
  const data = await mkdtemp(join(tmpdir(), 'wes-demo-data-'));
  const server = await serveDemo({ dir: dist, port: 0, dataDir: data });
  const profile = await mkdtemp(join(tmpdir(), 'wes-demo-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(TIMEOUT);
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
    page.on('console', (message) => {
      // The offline test's probe of the network is meant to fail, and so are the sync
      // requests while a test has the server down or the browser offline; nothing else may.
      const { url } = message.location();
      const offline = url.includes('/offline-probe') || (url.includes('/sync/') && message.text().includes('net::ERR'));
      if (message.type() === 'error' && !offline) errors.push(`${message.text()} (${url})`);
    });
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  t.after(async () => {
    await context.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
    await rm(data, { recursive: true, force: true });
  });
  return { server, context, errors };
}

async function open(context, url, page) {
  page ??= context.pages().find((p) => p.url() === 'about:blank') ?? await context.newPage();
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

async function ready(page) {
  await page.locator('#app[aria-busy="false"]').waitFor();
}

const item = (page, name) => page.locator('#items li').filter({ has: page.getByText(name, { exact: true }) });

async function addItem(page, name) {
  await ready(page);
  await page.getByLabel('New item').fill(name);
  await page.getByRole('button', { name: 'Add item' }).click();
  await ready(page);
}

async function createList(page, name) {
  await ready(page);
  await page.getByLabel('Name of a new list').fill(name);
  await page.getByRole('button', { name: 'Create list' }).click();
  await page.getByRole('heading', { name, level: 2 }).waitFor();
  await ready(page);
}

/** The names the sidebar lists, in order. */
async function sidebar(page) {
  return page.locator('#list-picker .list-option-name').allTextContents();
}

async function itemNames(page) {
  return page.locator('#items .item-name').allTextContents();
}

async function logRows(page) {
  return page.locator('#log-body tr[data-version]').evaluateAll((rows) => rows.map((row) => ({
    version: Number(row.dataset.version),
    label: row.cells[0].textContent,
    type: row.cells[1].textContent,
    details: row.cells[2].textContent,
    when: row.cells[3].querySelector('time').getAttribute('datetime'),
    by: row.cells[4].textContent,
  })));
}

/** The log is newest first, and its versions are exactly n-1 .. 0: no gap, no duplicate. */
function assertContiguous(rows, n, what) {
  assert.deepEqual(rows.map((r) => r.version), Array.from({ length: n }, (_, i) => n - 1 - i), what);
  for (const row of rows) {
    assert.equal(row.label, `v${row.version}`);
    assert.ok(!Number.isNaN(Date.parse(row.when)), `v${row.version} has a timestamp (${row.when})`);
  }
}

test('items survive a reload: each list is rebuilt from its event log', { timeout: 90_000 }, async (t) => {
  const { server, context, errors } = await setup(t);
  const page = await open(context, server.url);

  await page.getByText('No lists yet: create the first one.').waitFor();
  await createList(page, 'Groceries');
  await page.locator('#log-body tr[data-version="0"]').waitFor();

  await addItem(page, 'tea');
  await item(page, 'tea').waitFor();
  await addItem(page, 'oat milk');
  await addItem(page, 'bread');
  await item(page, 'bread').waitFor();
  await page.getByLabel('tea', { exact: true }).click();
  await page.locator('#log-body tr[data-version="4"]').waitFor();
  await ready(page);
  await page.getByRole('button', { name: 'Remove bread' }).click();
  await page.locator('#log-body tr[data-version="5"]').waitFor();

  // A second list is a second aggregate: its own stream, starting at v0.
  await createList(page, 'Hardware store');
  await addItem(page, 'wood screws');
  await page.getByRole('button', { name: 'Rename…' }).click();
  await page.getByLabel('New name of the list').fill('DIY weekend');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByRole('heading', { name: 'DIY weekend', level: 2 }).waitFor();
  await page.locator('#list-picker .list-option-name', { hasText: 'DIY weekend' }).waitFor();

  await page.reload();
  await page.locator('body[data-ready="true"]').waitFor();
  // The selected list is remembered; the renamed one keeps its new name after the rebuild.
  await page.getByRole('heading', { name: 'DIY weekend', level: 2 }).waitFor();
  assert.deepEqual(await sidebar(page), ['Groceries', 'DIY weekend'], 'the sidebar, rebuilt from the global log');
  assert.deepEqual(await itemNames(page), ['wood screws']);
  const diy = await logRows(page);
  assertContiguous(diy, 3, JSON.stringify(diy));
  assert.deepEqual(diy.map((r) => r.type), ['ListRenamed', 'ItemAdded', 'ListCreated']);

  await page.getByRole('button', { name: /Groceries/ }).click();
  await page.getByRole('heading', { name: 'Groceries', level: 2 }).waitFor();
  // Unchecked items first: oat milk, then tea (checked); bread was removed.
  assert.deepEqual(await itemNames(page), ['oat milk', 'tea']);
  assert.equal(await page.getByLabel('tea', { exact: true }).isChecked(), true);
  assert.equal(await page.getByLabel('oat milk', { exact: true }).isChecked(), false);
  await page.getByText('rebuilt from 6 events').waitFor();
  const groceries = await logRows(page);
  assertContiguous(groceries, 6);
  assert.deepEqual(groceries.map((r) => `${r.type} ${r.details}`), [
    'ItemRemoved “bread”', 'ItemChecked “tea”', 'ItemAdded “bread”', 'ItemAdded “oat milk”', 'ItemAdded “tea”', 'ListCreated “Groceries”',
  ]);
  assert.ok(groceries.every((r) => r.by === 'this tab'));
  await page.screenshot({ path: join(results, 'demo-rebuilt.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('lists created, changed and deleted in one tab appear live in another, without a reload', { timeout: 90_000 }, async (t) => {
  const { server, context, errors } = await setup(t);
  const tabA = await open(context, server.url);
  const tabB = await open(context, server.url, await context.newPage());
  await tabB.getByText('No lists yet: create the first one.').waitFor();

  await tabA.bringToFront();
  await createList(tabA, 'Weekend party');
  await addItem(tabA, 'crisps');
  // Tab B's sidebar is a subscription: the new list arrives, with its item count.
  await tabB.locator('#list-picker .list-option', { hasText: 'Weekend party' }).filter({ hasText: '1 to buy' }).waitFor();
  assert.deepEqual(await sidebar(tabB), ['Weekend party']);

  await createList(tabA, 'Hardware store');
  await tabB.locator('#list-picker .list-option-name', { hasText: 'Hardware store' }).waitFor();
  assert.deepEqual(await sidebar(tabB), ['Weekend party', 'Hardware store'], 'in the order they were created');

  // Tab B opens one, tab A deletes it: it leaves B's sidebar and B shows the other list.
  await tabB.bringToFront();
  await tabB.getByRole('button', { name: /Hardware store/ }).click();
  await tabB.getByRole('heading', { name: 'Hardware store', level: 2 }).waitFor();
  await tabA.bringToFront();
  await ready(tabA);
  await tabA.getByRole('button', { name: 'Delete list' }).click();
  await tabB.getByText('The list “Hardware store” was deleted.').waitFor();
  await tabB.getByRole('heading', { name: 'Weekend party', level: 2 }).waitFor();
  assert.deepEqual(await sidebar(tabB), ['Weekend party']);
  assert.deepEqual(await sidebar(tabA), ['Weekend party']);
  await tabB.screenshot({ path: join(results, 'demo-live.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('two tabs on one list: the stale tab gets a conflict, reloads and retries', { timeout: 90_000 }, async (t) => {
  const { server, context, errors } = await setup(t);
  const tabA = await open(context, server.url);
  await createList(tabA, 'Groceries');
  await addItem(tabA, 'tea');
  await tabA.locator('#log-body tr[data-version="1"]').waitFor();

  const tabB = await open(context, server.url, await context.newPage());
  await item(tabB, 'tea').waitFor();
  await tabB.getByText('this tab is at v1').waitFor();

  // Tab A changes the list; tab B is told, but does not reload.
  await tabA.bringToFront();
  await addItem(tabA, 'bread');
  await tabA.getByText('this tab is at v2').waitFor();
  await tabB.getByText('Another tab changed this list.').waitFor();
  assert.equal(await item(tabB, 'bread').count(), 0, 'tab B still shows what it loaded');

  // Tab B appends with the version it loaded (v1): the store refuses.
  await tabB.bringToFront();
  await addItem(tabB, 'butter');
  const banner = tabB.getByRole('alert').filter({ hasText: 'Conflict' });
  await banner.waitFor();
  const text = await banner.textContent();
  assert.match(text, /Conflict: your change was not saved\./);
  assert.match(text, /Add “butter” was appended with expected version 1, but “Groceries” was already at version 2/);
  // B has reloaded the stream: it now shows A's item, but not its own refused one.
  await item(tabB, 'bread').waitFor();
  assert.deepEqual(await itemNames(tabB), ['tea', 'bread']);
  assert.equal(await tabB.locator('#log-body tr.fresh').count(), 1, 'the missed event is highlighted');
  await tabB.screenshot({ path: join(results, 'demo-conflict.png'), fullPage: true });

  // Retry decides the same intent again on the fresh state and appends with v2.
  await tabB.getByRole('button', { name: 'Retry: Add “butter”' }).click();
  await tabB.getByText('Retried: Add “butter” is saved as v3.').waitFor();
  assert.equal(await tabB.getByRole('alert').filter({ hasText: 'Conflict' }).count(), 0);
  assert.deepEqual(await itemNames(tabB), ['tea', 'bread', 'butter']);
  const rowsB = await logRows(tabB);
  assertContiguous(rowsB, 4);
  assert.deepEqual(rowsB.map((r) => `${r.type} ${r.details} by ${r.by}`), [
    'ItemAdded “butter” by this tab',
    `ItemAdded “bread” by ${rowsB[1].by}`,
    `ItemAdded “tea” by ${rowsB[2].by}`,
    `ListCreated “Groceries” by ${rowsB[3].by}`,
  ]);
  assert.match(rowsB[1].by, /^tab [A-Z0-9]{4}$/, 'A’s events are labelled with A’s tab id');

  // Tab A hears about it and reloads: both tabs agree.
  await tabA.bringToFront();
  await tabA.getByText('Another tab changed this list.').waitFor();
  await tabA.getByRole('button', { name: 'Reload', exact: true }).first().click();
  await tabA.getByText('Reloaded: 1 new event from other tabs, now at v3.').waitFor();
  assert.deepEqual(await itemNames(tabA), ['tea', 'bread', 'butter']);
  assertContiguous(await logRows(tabA), 4);
  await tabB.screenshot({ path: join(results, 'demo-resolved.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('works with the network off after the first load (service worker + IndexedDB)', { timeout: 90_000 }, async (t) => {
  const { server, context, errors } = await setup(t);
  const page = await open(context, server.url);
  await page.getByText('Ready to work offline').waitFor();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await createList(page, 'Groceries');
  await addItem(page, 'tea');
  await item(page, 'tea').waitFor();

  // Really offline: the server is gone (connections dropped) and the browser is offline.
  await server.close();
  await context.setOffline(true);
  const probe = await page.evaluate((url) => fetch(url, { cache: 'no-store' }).then(() => 'reached', () => 'unreachable'),
    `${server.url}offline-probe`);
  assert.equal(probe, 'unreachable', 'the network is really off');

  await page.reload();
  await page.locator('body[data-ready="true"]').waitFor();
  await page.locator('#network-pill', { hasText: 'Offline' }).waitFor();
  await item(page, 'tea').waitFor();

  // Changes still work offline: the events go to IndexedDB.
  await addItem(page, 'milk');
  await item(page, 'milk').waitFor();
  assertContiguous(await logRows(page), 3);

  // And a new tab opened offline loads the whole app (wasm included) from the cache.
  const fresh = await open(context, server.url, await context.newPage());
  await item(fresh, 'milk').waitFor();
  assert.deepEqual(await itemNames(fresh), ['tea', 'milk']);
  await fresh.screenshot({ path: join(results, 'demo-offline.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('two devices offline edit one list; back online they converge, and the conflicting edit is re-decided', { timeout: 120_000 }, async (t) => {
  const { server, context: deviceA, errors } = await setup(t);
  // A second browser profile: a second device, with its own IndexedDB, on the same sync server.
  const profileB = await mkdtemp(join(tmpdir(), 'wes-demo-profile-b-'));
  const deviceB = await chromium.launchPersistentContext(profileB, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 860 }, args: ['--no-sandbox', '--disable-gpu'],
  });
  deviceB.setDefaultTimeout(TIMEOUT);
  t.after(async () => {
    await deviceB.close();
    await rm(profileB, { recursive: true, force: true });
  });
  const pending = (page, n) => page.locator(`#sync-pill[data-pending="${n}"]`).waitFor();

  const a = await open(deviceA, server.url);
  await createList(a, 'Trip');
  await addItem(a, 'tent');
  await addItem(a, 'map');
  await pending(a, 0);
  const b = await open(deviceB, server.url);
  await b.locator('#list-picker .list-option-name', { hasText: 'Trip' }).waitFor();
  await b.getByRole('button', { name: /Trip/ }).click();
  await item(b, 'tent').waitFor();

  // Both offline. A removes the tent and adds a stove; B checks the tent and adds sunscreen.
  await deviceA.setOffline(true);
  await deviceB.setOffline(true);
  await a.bringToFront();
  await ready(a);
  await a.getByRole('button', { name: 'Remove tent' }).click();
  await ready(a);
  await addItem(a, 'stove');
  await pending(a, 2);
  await b.bringToFront();
  await ready(b);
  await b.getByLabel('tent', { exact: true }).click();
  await ready(b);
  await addItem(b, 'sunscreen');
  await pending(b, 2);
  assert.equal(await b.locator('#log-body tr[data-pending="true"]').count(), 2, 'B marks its offline changes pending');

  // A comes back first: its changes reach the server. Then B: its pending changes were decided
  // on a list that has moved on, so the app decides them again: the tent is gone, so checking
  // it is dropped (and said); sunscreen is still added.
  await deviceA.setOffline(false);
  await pending(a, 0);
  await deviceB.setOffline(false);
  await pending(b, 0);
  await b.getByText('Check “tent” was dropped').waitFor();
  await item(b, 'sunscreen').waitFor();
  await item(a, 'sunscreen').waitFor();
  assert.deepEqual((await itemNames(a)).sort(), ['map', 'stove', 'sunscreen']);
  assert.deepEqual((await itemNames(b)).sort(), ['map', 'stove', 'sunscreen']);
  const rowsA = await logRows(a);
  const rowsB = await logRows(b);
  assert.deepEqual(rowsA.map((r) => `${r.version} ${r.type} ${r.details}`), rowsB.map((r) => `${r.version} ${r.type} ${r.details}`), 'one history on both devices');
  assertContiguous(rowsB, 6);
  await b.screenshot({ path: join(results, 'demo-devices.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
