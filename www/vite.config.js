import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig } from 'vite';

// Writes the list of every built file (the hashed scripts, styles and the .wasm included) and a
// build id into dist/sw.js, so the service worker precaches the whole app on install and a new
// build gives a new sw.js (and so a new cache) instead of serving stale files forever.
function precacheManifest() {
  let outDir;
  return {
    name: 'wes-demo-precache-manifest',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir.startsWith('/') ? config.build.outDir : join(config.root, config.build.outDir);
    },
    closeBundle() {
      const files = [];
      const walk = (dir) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else files.push(relative(outDir, path).split('\\').join('/'));
        }
      };
      walk(outDir);
      const cached = files.filter((f) => f !== 'sw.js').sort();
      const hash = createHash('sha256');
      for (const file of cached) hash.update(file).update(readFileSync(join(outDir, file)));
      const manifest = { version: hash.digest('hex').slice(0, 12), files: ['./', ...cached] };
      const swPath = join(outDir, 'sw.js');
      const source = readFileSync(swPath, 'utf8');
      const placeholder = 'self.__PRECACHE_MANIFEST__';
      if (!source.includes(placeholder)) throw new Error(`${placeholder} not found in ${swPath}`);
      writeFileSync(swPath, source.replace(placeholder, JSON.stringify(manifest)));
      this.info?.(`precache manifest: ${cached.length} files, version ${manifest.version}`);
    },
  };
}

export default defineConfig({
  // Relative URLs: dist/ works from any path, e.g. a project page on a static host.
  base: './',
  build: {
    // web.mjs of wasm-event-store initialises the wasm with top-level await.
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
  },
  // Pre-bundling would move web.mjs away from its wasm/ folder and break
  // new URL('./wasm/web/wasm_event_store_bg.wasm', import.meta.url) in the dev server.
  optimizeDeps: { exclude: ['wasm-event-store'] },
  plugins: [precacheManifest()],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
