// Shared set-up of the browser tests: the static server, Debian's Chromium driven by
// playwright-core (which downloads no browser of its own), and pages that report what would
// otherwise go unnoticed.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start. The others
// keep Chromium from calling home (updates, sync, field trials) on a machine without network.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const launchOptions = { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS };

/** A new Chromium; each browser.newContext() in it is a new, empty, in-memory profile. */
export function launchChromium() {
  return chromium.launch(launchOptions);
}

/** A Chromium whose profile lives on disk in userDataDir, to check what survives a restart. */
export function launchPersistent(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, launchOptions);
}

/**
 * Registers before/after hooks that start the server and one browser for the test file.
 * Returns an object whose `server` ({ url }) and `browser` are set once the hooks have run.
 */
export function useBrowser() {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/**
 * Pushes to `problems` everything of `page` worth failing a test for: uncaught errors, console
 * errors and warnings (wasm-bindgen warns there when .wasm is not served as application/wasm),
 * failed requests and HTTP errors. Returns the page.
 */
export function watchPage(page, problems) {
  page.on('pageerror', (error) => problems.push(`uncaught in ${page.url()}: ${error.stack ?? error}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console.${message.type()} in ${page.url()}: ${message.text()}`);
    }
  });
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  return page;
}

/**
 * Opens `url` in a new page of `context` and waits for the package's browser entry (the page
 * sets window.wes = import('/pkg/web.mjs'), which settles after the wasm is instantiated).
 * Problems are collected in `problems` (see watchPage).
 */
export async function openPage(context, url, problems) {
  const page = watchPage(await context.newPage(), problems);
  await page.goto(url);
  await waitForPackage(page);
  return page;
}

/** Waits until the page has loaded the package (again, after a reload). */
export async function waitForPackage(page) {
  await page.evaluate(async () => {
    await window.wes;
  });
}

/**
 * Runs fn({ context, open }) in a fresh browser context (a new empty profile: no IndexedDB
 * databases from other tests) and closes it after. open(path) opens a page of this context on
 * the test server. Fails the test if any page reported a problem (see openPage).
 */
export async function withPages(env, fn) {
  const context = await env.browser.newContext();
  const problems = [];
  const open = (path = '/') => openPage(context, env.server.url + path, problems);
  const serverErrorsBefore = env.server.errors.length;
  try {
    await fn({ context, open });
  } catch (error) {
    problems.push(...serverErrorsSince(env.server, serverErrorsBefore));
    // The page's own errors usually explain a failed assertion: show them with it.
    if (problems.length > 0 && error instanceof Error) {
      const report = `\nwhat the pages reported:\n  ${problems.join('\n  ')}`;
      error.message += report;
      if (typeof error.stack === 'string') error.stack += report; // the stack is what gets printed
    }
    throw error;
  } finally {
    await context.close();
  }
  problems.push(...serverErrorsSince(env.server, serverErrorsBefore));
  assert.deepEqual(problems, [], 'the pages reported errors or warnings');
}

/** The server's error responses after the first `from`, as problems. */
export function serverErrorsSince(server, from) {
  return server.errors.slice(from).map((error) => `the server answered ${error}`);
}
