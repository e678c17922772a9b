// Service worker of the demo: makes the app work with the network off after its first load.
// On install it caches every file of the build (the list is written in by vite.config.js), the
// .wasm of wasm-event-store included. Pages are served network first (so a new deploy shows up
// when online) with the cached app shell as the fallback; everything else is served cache first,
// and anything not precached is cached the first time it is fetched. The data itself is not
// here: it lives in IndexedDB, which works offline anyway.
const MANIFEST = self.__PRECACHE_MANIFEST__;
const PREFIX = 'wes-demo-';
const CACHE = `${PREFIX}${MANIFEST.version}`;
const SHELL = new URL('./', self.registration.scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: 'reload' bypasses the HTTP cache, so what is stored is what the server has now.
    await cache.addAll(MANIFEST.files.map((file) => new Request(new URL(file, self.registration.scope), { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // Only the app shell is kept: a page opened directly (an icon, say) must not replace it.
    if (response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html')) {
      await cache.put(SHELL, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(SHELL);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  // The sync server's answers are the live state of other devices: never from a cache.
  if (new URL(request.url).pathname.startsWith(new URL('./sync/', self.location.href).pathname)) return;
  event.respondWith(request.mode === 'navigate' ? networkFirst(request) : cacheFirst(request));
});
