// A tiny static file server for the built app (dist/), on 127.0.0.1 only, which can also pass
// the requests under /sync/ to a sync server (demo-server.mjs does). No dependencies:
// node:http and node:fs.
//
//   node serve.mjs [--port 5173] [--dir dist]   port 0 or a busy port: a free one is used
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Starts serving `dir`; resolves to { server, url, close() } once listening. `sync`: a node:http
 * listener for the requests under /sync/ (toNodeListener of a sync handler).
 */
export async function serveStatic({ dir, port = 0, host = '127.0.0.1', fallbackToFreePort = true, sync } = {}) {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    if (sync && req.url.startsWith('/sync/')) return sync(req, res);
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      let path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end();
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
        return;
      }
      const headers = {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        // Hashed build assets never change; everything else is revalidated.
        'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      };
      if (path === '/sw.js') headers['service-worker-allowed'] = '/';
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      if (!res.headersSent) res.writeHead(400);
      res.end();
    }
  });

  await new Promise((resolveListen, reject) => {
    const onError = (error) => {
      if (error.code === 'EADDRINUSE' && fallbackToFreePort && port !== 0) {
        server.listen(0, host);
      } else {
        reject(error);
      }
    };
    server.on('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolveListen();
    });
    server.listen(port, host);
  });
  const url = `http://${host}:${server.address().port}/`;
  return {
    server,
    url,
    /** Stops listening and drops open (keep-alive) connections, so the browser is really cut off. */
    close: () => new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  const dir = resolve(here, option('--dir', 'dist'));
  const port = Number(option('--port', process.env.PORT ?? 5173));
  const { url, close } = await serveStatic({ dir, port });
  const line = '─'.repeat(url.length + 4);
  console.log(`\n  ┌${line}┐\n  │  ${url}  │\n  └${line}┘`);
  console.log(`  Shopping-list demo of wasm-event-store, serving ${dir}`);
  console.log('  Open it in two tabs to see a conflict; Ctrl+C stops the server.\n');
  const stop = () => close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
