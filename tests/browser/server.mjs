// A tiny static file server for the browser tests: node:http on 127.0.0.1 and a free port.
//
//   /pkg/...   the built package (pkg/ at the repository root, or $WES_PKG_DIR), as a user
//              would serve it
//   /...       the test pages and page-side modules in tests/browser/static/
//
// Why not a library: the point is to check that the package works from a plain static server,
// so the only thing that matters is the right MIME types (browsers refuse module scripts
// without a JavaScript type, and WebAssembly.instantiateStreaming wants application/wasm).
//
// Run by hand to poke at the pages in a browser: node tests/browser/server.mjs [port]
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// WES_PKG_DIR: serve another copy of the package instead (an unpacked tarball, say).
export const PKG_DIR = process.env.WES_PKG_DIR
  ? resolve(process.env.WES_PKG_DIR) + sep
  : fileURLToPath(new URL('../../pkg/', import.meta.url));
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

// Maps a URL path to a file under one of the roots, or null if it escapes them. `extra` maps
// more URL prefixes ('/readme/') to directories.
function fileFor(pathname, extra) {
  let root = STATIC_DIR;
  let rest = pathname;
  const prefix = Object.keys(extra).find((p) => pathname.startsWith(p));
  if (prefix !== undefined) {
    root = extra[prefix];
    rest = pathname.slice(prefix.length - 1);
  } else if (pathname === '/pkg' || pathname.startsWith('/pkg/')) {
    root = PKG_DIR;
    rest = pathname.slice('/pkg'.length);
  }
  if (rest === '' || rest.endsWith('/')) rest += 'index.html';
  const file = resolve(join(root, rest));
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

// Every error response, as "STATUS path": the tests fail on any, since a request the pages
// do not see (a worker's import, say) shows up nowhere else.
const errors = [];

function send(res, status, text) {
  errors.push(`${status} ${res.req.url}`);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function handle(req, res, extra) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'bad request');
  }
  // Browsers ask for it on their own; a 404 would show up as a console error in the tests.
  if (pathname === '/favicon.ico') {
    res.writeHead(204, { 'cache-control': 'no-store' });
    return res.end();
  }
  const file = fileFor(pathname, extra);
  if (file === null) return send(res, 403, 'forbidden');
  let info;
  try {
    info = await stat(file);
  } catch {
    return send(res, 404, `not found: ${pathname}`);
  }
  if (!info.isFile()) return send(res, 404, `not a file: ${pathname}`);
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    // Every test run must see the freshly built package, never a cached one.
    'cache-control': 'no-store',
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).on('error', (error) => res.destroy(error)).pipe(res);
}

/**
 * Starts the server on 127.0.0.1 (port 0: a free one). Resolves to { url, errors, close() },
 * errors being the error responses so far ("404 /pkg/missing.mjs"). `roots`: more URL prefixes
 * and the directories they serve ({ '/readme/': dir }).
 */
export async function startServer({ port = 0, roots = {} } = {}) {
  const extra = Object.fromEntries(Object.entries(roots).map(([prefix, dir]) => [prefix, resolve(dir) + sep]));
  try {
    await stat(join(PKG_DIR, 'web.mjs'));
  } catch {
    throw new Error(`no built package at ${PKG_DIR}: run ./scripts/build-pkg.sh (or make build) first`);
  }
  const server = createServer((req, res) => {
    handle(req, res, extra).catch((error) => {
      if (!res.headersSent) send(res, 500, String(error));
      else res.destroy(error);
    });
  });
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', done);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    errors,
    close: () => new Promise((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await startServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`serving ${STATIC_DIR} and ${PKG_DIR} (as /pkg/) at ${url}/`);
}
