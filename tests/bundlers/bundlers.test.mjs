// The package as bundlers build it: the packed tarball installed into a copy of app/, built with
// Vite 8, webpack 5, esbuild and Rollup the way the README's "Bundlers" section says, each build served
// from a static server and run in Chromium (Vite 7 with its configuration is the demo's build);
// and a Node program bundled whole by esbuild and webpack, run from a folder where no file of
// the package is, as a server bundle runs; and a Next.js 16 page prerendered by `next build`.
//
//   WES_TARBALL=pkg.tgz node --test tests/bundlers/   (scripts/test-bundlers.sh does it all)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import webpack from 'webpack';
import { build as viteBuild } from 'vite';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import url from '@rollup/plugin-url';
import { launchChromium, watchPage } from '../browser/harness.mjs';
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
    const page = watchPage(await context.newPage(), problems);
    await page.goto(`${server.url}/out/${name}/`);
    await page.waitForFunction(() => document.body.dataset.result !== undefined, undefined, { timeout: 20_000 });
    const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
    assert.deepEqual(problems, [], `${name}: the page reported problems`);
    return result;
  } finally {
    await context.close();
  }
}

/** A production webpack build of `config`, failing the test on any error it reports. */
async function runWebpack(config) {
  const stats = await new Promise((resolve, reject) => {
    webpack({ mode: 'production', ...config }, (error, result) => (error ? reject(error) : resolve(result)));
  });
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
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
  await runWebpack({
    context: app,
    entry: './zero-config.js',
    output: { path: dir, filename: 'main.js', publicPath: 'auto', clean: true },
  });
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

test('Rollup: the init entry and the .wasm as an emitted asset (nodeResolve browser, plugin-url)', { timeout: 120_000 }, async () => {
  const dir = join(out, 'rollup');
  const bundle = await rollup({
    input: join(app, 'explicit-init.js'),
    plugins: [
      nodeResolve({ browser: true }),
      // limit 0: always emit the file and give its URL, never inline it.
      url({ include: ['**/*.wasm'], limit: 0, fileName: '[name]-[hash][extname]' }),
    ],
    onwarn: (warning, warn) => { if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning); },
  });
  await bundle.write({ file: join(dir, 'main.js'), format: 'es' });
  await bundle.close();
  assert.ok(readdirSync(dir).some((file) => file.endsWith('.wasm')), 'Rollup emitted the .wasm');
  page(dir, 'main.js');
  assert.deepEqual(await runInChromium('rollup'), EXPECTED);
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
  await runWebpack({
    target: 'node20',
    context: app,
    entry: './node-app.mjs',
    output: { path: dir, filename: 'app.cjs', clean: true },
  });
  assert.deepEqual(runInNode(join(dir, 'app.cjs')), EXPECTED);
});

test('Next.js 16: a page prerendered at build time (the Node entry inside its server bundle)', { timeout: 300_000 }, () => {
  // Its own project folder: Next resolves next, react and react-dom from the project, so they
  // are installed there, at the versions tests/bundlers/package.json pins (from npm's cache).
  const pinned = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).devDependencies;
  const project = join(work, 'next-app');
  cpSync(join(here, 'next-app'), project, { recursive: true });
  writeFileSync(join(project, 'package.json'), '{ "name": "next-app", "private": true, "version": "0.0.0" }\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball,
    ...['next', 'react', 'react-dom'].map((name) => `${name}@${pinned[name]}`)], { cwd: project, stdio: 'inherit' });
  const build = spawnSync(process.execPath, [join(project, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
    cwd: project, encoding: 'utf8', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  assert.equal(build.status, 0, `next build failed:\n${build.stdout}\n${build.stderr}`);
  const html = readFileSync(join(project, '.next', 'server', 'app', 'index.html'), 'utf8');
  assert.match(html, /<p id="result">0:apple<\/p>/);
});
