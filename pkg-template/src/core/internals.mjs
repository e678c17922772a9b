// What the package's own layers above a store (the sync replica and the sync handler) need of
// it and the public API does not show: { feed, noLog } per EventStore, set by its constructor.
export const internals = new WeakMap();

/** The store's { feed, noLog }, or undefined for anything but an EventStore. */
export function internalsOf(store) {
  return internals.get(store);
}
