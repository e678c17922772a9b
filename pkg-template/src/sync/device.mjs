// Device: a replica's state in the device storage, and the writes to it that other tabs race.
//
// The store is an EventStore over the device's adapter (layout.mjs says which streams hold
// what); the outbox is the core's SyncOutbox, folded from the outbox stream. Every outbox write
// is an append at the outbox version its decision was made on: when another tab wrote first,
// the append conflicts, the fold catches up, and the caller decides again.
import { fromCore } from '../core/errors.mjs';
import { CHECKPOINT, OUTBOX } from './layout.mjs';

function isConflict(error) {
  return error?.code === 'CONFLICT';
}

export class Device {
  // Local operations of this replica, one at a time (other tabs are kept out by the outbox's
  // expected version instead).
  #turn = Promise.resolve();

  /** `store`: an EventStore over the device storage; `outbox`: a fresh SyncOutbox. */
  constructor(store, outbox) {
    this.store = store;
    this.outbox = outbox;
    // The last checkpoint read or written: its version in the checkpoint stream, and its data.
    this.checkpoint = { version: -1, position: -1, lastEvent: -1, local: -1 };
  }

  /** Folds the outbox entries other tabs (or this one) stored since the last fold. */
  async catchUp() {
    const entries = await this.store.loadEvents(OUTBOX, this.outbox.applied());
    for (const event of entries) {
      try {
        this.outbox.apply(event.version, JSON.stringify(event.data));
      } catch (error) {
        throw fromCore(error);
      }
    }
  }

  /**
   * Runs `decide` (which returns { entry, result }) and stores its entry at the outbox version
   * it was decided on, deciding again when another tab wrote first. Resolves to `result`.
   */
  async commit(decide) {
    for (;;) {
      await this.catchUp();
      const applied = this.outbox.applied();
      const { entry, result } = await decide();
      if (entry === undefined) return result;
      if (await this.commitAt(entry, applied)) return result;
    }
  }

  /** Stores `entry` if the outbox is still at `applied`; whether it did. */
  async commitAt(entry, applied = this.outbox.applied()) {
    try {
      await this.store.appendEvents(OUTBOX, applied, [{ type: 'outbox-entry', data: JSON.parse(entry) }]);
    } catch (error) {
      if (isConflict(error)) {
        await this.catchUp();
        return false;
      }
      throw error;
    }
    this.outbox.apply(applied + 1, entry);
    return true;
  }

  /**
   * The stream's confirmed version, and (as JSON, for the core) the ids of its confirmed events
   * after its pending base: events a pull stored whose reconciliation is not written yet, which
   * the view must not show twice.
   */
  async confirmed(aggregateId) {
    const version = await this.confirmedVersion(aggregateId);
    const base = this.outbox.pending_base(aggregateId);
    if (base < -1 || version <= base) return { version, arrived: '[]' };
    const arrived = await this.store.loadEvents(aggregateId, base, { limit: version - base });
    return { version, arrived: JSON.stringify(arrived.map((event) => event.eventId)) };
  }

  /**
   * Stores `entry`, a decision about `aggregateId` made when the outbox was at `applied` and
   * the aggregate's pending state was `state` (outbox.pending_state). When other entries were
   * written meanwhile, it is stored after them as long as they left this aggregate's pending
   * state as it was (they were about other aggregates); whether it was stored.
   */
  async commitFor(aggregateId, entry, applied, state) {
    for (let at = applied; ; at = this.outbox.applied()) {
      if (await this.exclusive(() => this.commitAt(entry, at))) return true;
      if (this.outbox.pending_state(aggregateId) !== state) return false;
    }
  }

  async confirmedVersion(aggregateId) {
    return (await this.store.getCurrentVersion(aggregateId)) ?? -1;
  }

  /** Reads the newest checkpoint (another tab may have written it), only when there is a newer one. */
  async readCheckpoint() {
    const version = (await this.store.getCurrentVersion(CHECKPOINT)) ?? -1;
    if (version <= this.checkpoint.version) return;
    const [last] = await this.store.loadEvents(CHECKPOINT, version - 1, { limit: 1 });
    if (last !== undefined) this.checkpoint = { version: last.version, ...last.data };
  }

  /**
   * Opens the device's state: the newest checkpoint, then the outbox folded from the first
   * entry still live when it was written (older ones were all superseded), not from the start.
   */
  async open() {
    await this.readCheckpoint();
    if (Number.isSafeInteger(this.checkpoint.outboxFrom)) this.outbox.start_at(this.checkpoint.outboxFrom);
    await this.catchUp();
  }

  async writeCheckpoint(checkpoint) {
    try {
      await this.store.appendEvents(CHECKPOINT, this.checkpoint.version, [{ type: 'checkpoint', data: checkpoint }]);
    } catch (error) {
      if (isConflict(error)) return; // another tab pulled and wrote one: read it next time
      throw error;
    }
    this.checkpoint = { version: this.checkpoint.version + 1, ...checkpoint };
  }

  /**
   * The device log's position from which every confirmed event after server position
   * `after` follows: the checkpoint with the highest position <= `after` (a binary search over
   * the checkpoint stream's versions), or the start.
   */
  async localPositionBefore(after) {
    if (after < 0) return -1;
    await this.readCheckpoint();
    let low = 0;
    let high = this.checkpoint.version;
    let found = -1;
    while (low <= high) {
      const middle = Math.floor((low + high) / 2);
      const [checkpoint] = await this.store.loadEvents(CHECKPOINT, middle - 1, { limit: 1 });
      if (checkpoint.data.lastEvent <= after) {
        found = checkpoint.data.local;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Runs `task` after every other task of this replica. */
  exclusive(task) {
    const run = this.#turn.then(task, task);
    this.#turn = run.catch(() => {});
    return run;
  }

}
