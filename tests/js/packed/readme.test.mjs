// The README's quick start is the package's front door: its Node programs and its TypeScript
// example are copied out of the README.md that npm users get (the one inside the installed
// package) and run or type-checked here, so the README cannot drift from the code. (Its HTML
// page is opened in Chromium by tests/browser/readme.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const readme = fs.readFileSync(path.join(path.dirname(require.resolve('wasm-event-store/package.json')), 'README.md'), 'utf8');

/** The fenced blocks of `language` in the README, in order. */
function blocks(language) {
  return [...readme.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]);
}

/** The block whose first line is `// name`. */
function program(name) {
  const found = blocks('js').find((block) => block.startsWith(`// ${name}\n`));
  assert.ok(found, `the README has no js block starting with // ${name}`);
  return found;
}

// A folder inside this one, so that the programs resolve the installed package.
const work = fs.mkdtempSync(path.join(process.cwd(), 'readme-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

function run(name) {
  fs.writeFileSync(path.join(work, name), program(name));
  const child = spawnSync(process.execPath, [name], { cwd: work, encoding: 'utf8' });
  assert.equal(child.status, 0, `${name} failed: ${child.stderr}`);
  return child.stdout;
}

test('the sync example runs: two replicas through a server, a conflict rebased', () => {
  assert.equal(run('sync.mjs'), 'milk pending:true\n0:milk | 1:bread | 2:eggs (after bread)\n0 true\n');
});

test('the Node ESM quick start runs: FileStorage, a conflict, a load', () => {
  assert.equal(run('quickstart.mjs'), 'conflict: the stream is at version 0\n0 ItemAdded apple\n');
  assert.ok(fs.existsSync(path.join(work, 'data', 'events', 'events.log')), 'the events are in the directory');
  // Run again: the stream is there, the append goes on from it.
  assert.equal(run('quickstart.mjs'), 'conflict: the stream is at version 1\n0 ItemAdded apple\n1 ItemAdded apple\n');
});

test('the Node CommonJS quick start runs', () => {
  assert.equal(run('quickstart.cjs'), '0\n');
});

test('the TypeScript example type-checks (strict)', { skip: process.env.WES_TSC ? false : 'WES_TSC names no tsc' }, () => {
  const [example] = blocks('ts');
  assert.ok(example?.includes('new EventStore<CartEvent>()'), 'the README has its TypeScript example');
  fs.writeFileSync(path.join(work, 'example.mts'), `${example}\nexport {};\n`);
  fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'], skipLibCheck: false },
    include: ['example.mts'],
  }));
  const child = spawnSync(process.env.WES_TSC, ['-p', work], { encoding: 'utf8' });
  assert.equal(child.status, 0, `tsc: ${child.stdout}${child.stderr}`);
});
