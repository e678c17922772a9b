// Mutual exclusion for a replica's syncs: one push of an outbox at a time, per device.
//
// In a browser, the Web Locks API (navigator.locks) spans every tab and worker of the origin, so
// two tabs over one IndexedDB replica never push its outbox at once. Elsewhere (Node) a chain of
// Promises per lock name in this realm does the same for replicas of one process; replicas in
// different processes cannot share a FileStorage directory anyway (it is LOCKED). Either way a
// second push of the same batches would write nothing twice: each event carries its eventId and
// the server's idempotent retry recognises the batch. The lock saves the round trips.
const chains = new Map();

export async function withLock(name, task) {
  const locks = globalThis.navigator?.locks;
  if (typeof locks?.request === 'function') return locks.request(name, task);
  const before = chains.get(name) ?? Promise.resolve();
  let release;
  const mine = new Promise((resolve) => {
    release = resolve;
  });
  const chain = before.then(() => mine);
  chains.set(name, chain);
  try {
    await before;
    return await task();
  } finally {
    release();
    if (chains.get(name) === chain) chains.delete(name);
  }
}
