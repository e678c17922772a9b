// The package as bundlers build it: the packed tarball installed into a copy of app/, built with
// Vite 8, webpack 5 and esbuild the way the README's "Bundlers" section says, each build served
// from a static server and run in Chromium (Vite 7 with its configuration is the demo's build);
// and a Node program bundled whole by esbuild and webpack, run from a folder where no file of
// the package is, as a server bundle (Next.js) runs.
//
//   WES_TARBALL=pkg.tgz node --test tests/bundlers/   (scripts/test-bundlers.sh does it all)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import webpack from 'webpack';
import { build as viteBuild } from 'vite';
import { launchChromium } from '../browser/harness.mjs';
import { startServer } from '../browser/server.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const tarball = process.env.WES_TARBALL;
const work = mkdtempSync(join(tmpdir(), 'wes-bundlers-'));
const app = join(work, 'app');
const out = join(work, 'out');
let server;
let browser;

before(async () => {
  assert.ok(tarball, 'WES_TARBALL must name the packed package');
  cpSync(join(here, 'app'), app, { recursive: true });
  writeFileSync(join(work, 'package.json'), '{ "name": "bundled-app", "private": true, "version": "0.0.0" }\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: work, stdio: 'inherit' });
  server = await startServer({ roots: { '/out/': out } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens /out/<name>/ and returns what the app reported, failing on any page problem. */
async function runInChromium(name) {
  const context = await browser.newContext();
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.stack ?? error}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    await page.goto(`${server.url}/out/${name}/`);
    await page.waitForFunction(() => document.body.dataset.result !== undefined, undefined, { timeout: 20_000 });
    const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
    assert.deepEqual(problems, [], `${name}: the page reported problems`);
    return result;
  } finally {
    await context.close();
  }
}

const EXPECTED = { appended: 0, conflict: 0, loaded: ['apple'] };

function page(dir, script, type = 'module') {
  writeFileSync(join(dir, 'index.html'), `<!doctype html><html><head><meta charset="utf-8"></head><body><script type="${type}" src="./${script}"></script></body></html>\n`);
}

test('Vite 8: the zero-config import, no configuration', { timeout: 120_000 }, async () => {
  await viteBuild({ root: app, base: './', logLevel: 'warn', configFile: false, build: { outDir: join(out, 'vite'), emptyOutDir: true } });
  assert.ok(readdirSync(join(out, 'vite', 'assets')).some((file) => file.endsWith('.wasm')), 'Vite emitted the .wasm');
  assert.deepEqual(await runInChromium('vite'), EXPECTED);
});

test('webpack 5: the zero-config import, no configuration beyond entry and output', { timeout: 120_000 }, async () => {
  const dir = join(out, 'webpack');
  const stats = await new Promise((resolve, reject) => {
    webpack({
      mode: 'production',
      context: app,
      entry: './zero-config.js',
      output: { path: dir, filename: 'main.js', publicPath: 'auto', clean: true },
    }, (error, result) => (error ? reject(error) : resolve(result)));
  });
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  assert.ok(readdirSync(dir).some((file) => file.endsWith('.wasm')), 'webpack emitted the .wasm');
  page(dir, 'main.js', 'text/javascript');
  assert.deepEqual(await runInChromium('webpack'), EXPECTED);
});

test("esbuild: the init entry and the .wasm's URL from wasm-event-store/wasm (loader file)", { timeout: 120_000 }, async () => {
  const dir = join(out, 'esbuild');
  await esbuild.build({
    entryPoints: [join(app, 'explicit-init.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(dir, 'main.js'),
    loader: { '.wasm': 'file' },
    logLevel: 'warning',
  });
  assert.ok(readdirSync(dir).some((file) => file.endsWith('.wasm')), 'esbuild emitted the .wasm');
  page(dir, 'main.js');
  assert.deepEqual(await runInChromium('esbuild'), EXPECTED);
});

/** Runs a bundled Node program from its own folder (no node_modules there) and parses its line. */
function runInNode(file) {
  const child = spawnSync(process.execPath, [file], { cwd: join(file, '..'), encoding: 'utf8' });
  assert.equal(child.status, 0, `${file}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

test('a Node program bundled by esbuild carries the wasm with it', { timeout: 120_000 }, async () => {
  const file = join(out, 'node-esbuild', 'app.mjs');
  await esbuild.build({
    entryPoints: [join(app, 'node-app.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    // A CommonJS package inside an ES module bundle needs require() for Node's own modules.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  assert.deepEqual(readdirSync(join(out, 'node-esbuild')), ['app.mjs'], 'one file, nothing next to it');
  assert.deepEqual(runInNode(file), EXPECTED);
});

test('a Node program bundled by webpack (target node) carries the wasm with it', { timeout: 120_000 }, async () => {
  const dir = join(out, 'node-webpack');
  const stats = await new Promise((resolve, reject) => {
    webpack({
      mode: 'production',
      target: 'node20',
      context: app,
      entry: './node-app.mjs',
      output: { path: dir, filename: 'app.cjs', clean: true },
    }, (error, result) => (error ? reject(error) : resolve(result)));
  });
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  assert.deepEqual(runInNode(join(dir, 'app.cjs')), EXPECTED);
});
