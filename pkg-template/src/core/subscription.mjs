// Catch-up subscriptions: the history after a position (or after a version of one stream), then
// every event committed afterwards, in order, each exactly once.
//
// Exactly once without a gap, even when appends race the catch-up, because delivery never comes
// from a notification itself: a notification only says "read again", and every read asks the
// storage for what follows the last event delivered (loadAllEvents(lastPosition) or
// loadEvents(id, lastVersion)). Positions never skip an event that commits later (the global
// log's contract), so reading after the last one seen sees every event once.
//
// Notifications come from a ChangeFeed: one per backing adapter object in this realm (so every
// store over it hears every other's appends) or per in-memory store, fed by this realm's appends
// and, while anyone listens, by the adapter's watch() (other tabs, workers, processes).
import { isThenable } from './adapter-answers.mjs';
import { EventStoreError, messageOf } from './errors.mjs';

/** Events asked for per read: a read that returns fewer has reached the end of the log. */
export const PAGE = 500;

/** Everyone in this realm who wants to hear that the backing storage may hold new events. */
export class ChangeFeed {
  #adapter;
  #listeners = new Set();
  #unwatch;
  // Settles once the adapter's watch() is armed: a subscription is caught up only after that.
  #armed;
  // Which watch() is current: stopping (or a new start) makes an arming still in flight stale.
  #generation = 0;

  /** `adapter`: the storage adapter object, or undefined for an in-memory store. */
  constructor(adapter) {
    this.#adapter = adapter;
  }

  /** Whether anyone listens (appends skip notifying otherwise). */
  get listening() {
    return this.#listeners.size > 0;
  }

  /** Tells every listener to read again. */
  notify() {
    for (const listener of this.#listeners) listener();
  }

  /**
   * Adds `listener`: { stop, armed }. `armed` resolves once changes by other writers will reach
   * it (the adapter's watch() armed) and rejects with a STORAGE error if watch() fails (the
   * listener is then removed); `stop()` removes the listener (at once, armed or not).
   */
  listen(listener) {
    this.#listeners.add(listener);
    const stop = () => {
      if (!this.#listeners.delete(listener)) return; // stopped already
      if (this.#listeners.size === 0) this.#stopWatching();
    };
    this.#armed ??= this.#watch(++this.#generation);
    const armed = this.#armed.catch((error) => {
      stop();
      throw error;
    });
    return { stop, armed };
  }

  async #watch(generation) {
    const current = () => generation === this.#generation;
    let watch;
    try {
      watch = this.#adapter?.watch;
    } catch (error) {
      throw new EventStoreError('STORAGE', `the storage adapter's watch cannot be read: ${messageOf(error)}`, { cause: error });
    }
    if (watch === undefined || watch === null) return; // only this realm's appends are heard
    let unwatch;
    try {
      unwatch = watch.call(this.#adapter, () => this.notify());
      if (isThenable(unwatch)) unwatch = await unwatch;
    } catch (error) {
      if (current()) this.#armed = undefined; // the next listener tries again
      throw new EventStoreError('STORAGE', `the storage adapter's watch() failed: ${messageOf(error)}`, { cause: error });
    }
    if (typeof unwatch !== 'function') {
      if (current()) this.#armed = undefined;
      throw new EventStoreError('STORAGE', "the storage adapter's watch(onChange) must return a function that stops watching");
    }
    if (current()) this.#unwatch = unwatch;
    else unwatch(); // everyone left while it was being armed
  }

  #stopWatching() {
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    this.#armed = undefined;
    this.#generation++;
    try {
      unwatch?.();
    } catch {
      // An adapter that fails to stop watching only costs spurious reads.
    }
  }
}

/**
 * One subscription. `read(after)` resolves to the events after the cursor `after`, at most
 * PAGE; `cursorOf(event)` is the cursor after an event; `feed` the ChangeFeed to listen to;
 * `onEnd` runs once when it ends (the store forgets it).
 */
export class Subscription {
  #read;
  #cursorOf;
  #handler;
  #after;
  #ended = false;
  #dirty = false;
  #wake;
  #resolveDone;
  #rejectDone;
  #resolveCaughtUp;
  #rejectCaughtUp;
  #onEnd;
  // Removes this subscription's listener from the feed (set once it listens).
  #stop;

  constructor({ read, cursorOf, handler, after, feed, onEnd }) {
    this.#read = read;
    this.#cursorOf = cursorOf;
    this.#handler = handler;
    this.#after = after;
    this.#onEnd = onEnd;
    this.done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.caughtUp = new Promise((resolve, reject) => {
      this.#resolveCaughtUp = resolve;
      this.#rejectCaughtUp = reject;
    });
    // `done` carries the same error: a caller awaiting only `done` has handled it.
    this.caughtUp.catch(() => {});
    this.close = () => this.#end();
    this.#run(feed);
  }

  /** Ends the subscription: with `error`, `done` (and `caughtUp`, if pending) reject with it. */
  #end(error) {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake?.();
    this.#stop?.(); // at once: the adapter stops watching with the last subscription
    this.#onEnd();
    if (error === undefined) {
      this.#resolveCaughtUp();
      this.#resolveDone();
    } else {
      this.#rejectCaughtUp(error);
      this.#rejectDone(error);
    }
  }

  async #run(feed) {
    try {
      const { stop, armed } = feed.listen(() => {
        this.#dirty = true;
        this.#wake?.();
      });
      this.#stop = stop; // so that an end while watch() is still being armed stops listening
      await armed;
      let caughtUp = false;
      while (!this.#ended) {
        this.#dirty = false;
        const page = await this.#read(this.#after);
        for (const event of page) {
          if (this.#ended) return;
          const result = this.#handler(event);
          if (isThenable(result)) await result;
          this.#after = this.#cursorOf(event);
        }
        if (this.#ended) return;
        if (page.length >= PAGE) continue; // maybe more: read on before waiting
        if (!caughtUp) {
          caughtUp = true;
          this.#resolveCaughtUp();
        }
        if (!this.#dirty) {
          await new Promise((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        }
      }
    } catch (error) {
      this.#end(error);
    } finally {
      this.#stop?.();
    }
  }
}
