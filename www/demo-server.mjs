// The demo's server: the built app (dist/) and a sync server at ./sync, on 127.0.0.1. The sync
// server keeps the events of every device in FileStorage under www/.data (or the directory
// given), or in PostgreSQL when DATABASE_URL is set (then `pg` must be installed next to it).
// It lets every caller read and write every list (`authorize: () => true`): a demo on loopback,
// not a pattern for a real server, which would check the caller's credentials per aggregate.
//
//   node demo-server.mjs [--port 5173] [--dir dist] [--data .data]
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStore, FileStorage } from 'wasm-event-store/node';
import { createSyncHandler, toNodeListener } from 'wasm-event-store/server';
import { serveStatic } from './serve.mjs';

/** Opens the sync server's storage: PostgreSQL with `databaseUrl`, else FileStorage in `dataDir`. */
async function openStorage({ dataDir, databaseUrl }) {
  if (databaseUrl) {
    const { PostgresStorage } = await import('wasm-event-store/postgres');
    return PostgresStorage.open({ connectionString: databaseUrl, schema: 'wes_demo' });
  }
  await mkdir(dataDir, { recursive: true });
  return FileStorage.open(dataDir);
}

/** Serves `dir` and the sync handler; resolves to { url, close() } (close() closes the storage too). */
export async function serveDemo({ dir, port = 0, dataDir, databaseUrl, fallbackToFreePort = true }) {
  const storage = await openStorage({ dataDir, databaseUrl });
  const store = new EventStore({ storage });
  const sync = createSyncHandler({ store, authorize: () => true });
  let closing;
  const served = await serveStatic({ dir, port, sync: toNodeListener(sync), fallbackToFreePort });
  return {
    ...served,
    storage,
    close: () => {
      closing ??= served.close().then(() => storage.close());
      return closing;
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  const dataDir = resolve(here, option('data', '.data'));
  const { url } = await serveDemo({
    dir: resolve(here, option('dir', 'dist')),
    port: Number(option('port', process.env.PORT ?? 5173)),
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
  });
  console.log(`[demo] serving ${url} (sync server at ${url}sync, events in ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : dataDir})`);
}
