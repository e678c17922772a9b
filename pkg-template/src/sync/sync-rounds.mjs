// SyncRounds: one device's pushes, pulls and reconciliations, as the core decides them.
//
// A push sends what the outbox plans and reads the answer: results (accepted batches are not
// sent again this session; conflicting aggregates wait for a pull), or a refusal of the whole
// request (403 forbidden, 400 invalid, 413 too large: fewer batches, or the one batch is too
// large), whose batches are dropped and reported. A pull applies pages of the server's log to
// the device's streams (syncPlanPull) and writes a checkpoint after each. Reconciling looks at
// every aggregate whose confirmed stream moved past its pending base: its own events confirmed
// (settled), or others' events arrived (the app's rebase re-decides, or the batch is dropped).
import { describe, EventStoreConflictError, EventStoreError, fromCore, invalid, messageOf } from '../core/errors.mjs';
import { isReserved, unwrapConfirmed, wrapConfirmed } from './layout.mjs';
import { eventsJson } from './events-json.mjs';

/** What one push carries at most (the server's defaults are 100 batches, 1,000 events, 1 MB). */
const PUSH_LIMITS = { batches: 100, events: 1000, bytes: 900_000 };
const PULL_PAGE = 1000;

export class SyncRounds {
  #core;
  #device;
  #remote;
  #rebase;
  #emit;
  #changed;

  /**
   * `emit(event, value)` tells the replica's listeners; `changed(aggregateId)` says a view
   * changed. `rebaseError` is the last error of the app's rebase (cleared by the caller).
   */
  constructor({ core, device, remote, rebase, emit, changed }) {
    this.#core = core;
    this.#device = device;
    this.#remote = remote;
    this.#rebase = rebase;
    this.#emit = emit;
    this.#changed = changed;
    this.rebaseError = null;
  }

  /** Pushes and pulls until neither moves (at most a few rounds). */
  async run() {
    await this.reconcileAll();
    await this.push();
    let pulled = await this.pull();
    // What the pull confirmed or a rebase re-decided is pushed, then confirmed, at once.
    for (let round = 0; round < 3 && (await this.push()) + pulled > 0 && this.#device.outbox.pending_count() > 0; round++) {
      pulled = await this.pull();
    }
  }

  /** Pushes until nothing is left to push; the number of batches the server accepted. */
  async push() {
    let accepted = 0;
    let maxBatches = PUSH_LIMITS.batches;
    for (;;) {
      await this.#device.catchUp();
      const request = this.#device.outbox.plan_push(maxBatches, PUSH_LIMITS.events, PUSH_LIMITS.bytes);
      if (request === undefined) return accepted;
      const answer = await this.#remote.push(request);
      const batches = JSON.parse(this.#device.outbox.in_flight_aggregates()).length;
      if (answer.status === 200) {
        try {
          accepted += this.#device.outbox.push_results(JSON.stringify(answer.body?.results));
        } catch (error) {
          throw new EventStoreError('NETWORK', `the sync server's answer to a push cannot be read: ${messageOf(error)}`, { cause: error });
        }
        continue;
      }
      const error = answer.body?.error ?? {};
      if (answer.status === 413 && batches > 1) {
        this.#device.outbox.refuse([]); // nothing dropped: send fewer at a time
        maxBatches = Math.max(1, Math.floor(batches / 2));
        continue;
      }
      let reason;
      let indexes;
      if (answer.status === 403) {
        reason = 'forbidden';
        const named = new Set(Array.isArray(error.aggregates) ? error.aggregates : []);
        indexes = JSON.parse(this.#device.outbox.in_flight_aggregates()).flatMap((id, index) => (named.has(id) ? [index] : []));
      } else if (answer.status === 400 && error.code === 'invalid') {
        reason = 'invalid';
        // Only batches of this request: anything else names nothing (and refuses nothing).
        indexes = Array.isArray(error.batches) ? error.batches.filter((i) => Number.isInteger(i) && i >= 0 && i < batches) : [];
      } else if (answer.status === 413) {
        reason = 'too-large';
        indexes = [0];
      } else {
        this.#device.outbox.refuse([]);
        throw new EventStoreError('NETWORK', `the sync server refused a push (${answer.status}): ${messageOf(error.message ?? 'no reason given')}`);
      }
      if (indexes.length === 0) {
        this.#device.outbox.refuse([]);
        throw new EventStoreError('NETWORK', `the sync server refused a push (${answer.status}) without naming a batch: ${messageOf(error.message)}`);
      }
      await this.#refuse(indexes, reason, error);
    }
  }

  async #refuse(indexes, reason, body) {
    const { outbox } = this.#device;
    // Decided now, on the outbox as it is now: what each refusal keeps of its aggregate.
    const applied = outbox.applied();
    const refusals = JSON.parse(outbox.refuse(indexes)).map((refusal) => ({ ...refusal, state: outbox.pending_state(refusal.aggregateId) }));
    // The server's word, as an error the app can show or log ('reason' says which refusal).
    const error = new EventStoreError('INVALID_ARGUMENT', `the sync server refused the batch (${reason}): ${messageOf(body.message ?? reason)}`);
    for (const refusal of refusals) {
      const written = await this.#device.commitFor(refusal.aggregateId, refusal.entry, applied, refusal.state);
      if (!written) continue; // the aggregate changed meanwhile: the next push asks again
      for (const events of refusal.batches) this.#emit('rejected', { aggregateId: refusal.aggregateId, events, reason, error });
      this.#changed(refusal.aggregateId);
    }
  }

  /** Pulls pages until the server has no more; how many events it applied. */
  async pull() {
    let applied = 0;
    for (;;) {
      await this.#device.readCheckpoint();
      const after = this.#device.checkpoint.position;
      const answer = await this.#remote.pull(after, { limit: PULL_PAGE });
      const events = answer.events;
      if (events.length > 0) applied += await this.#applyPage(after, events);
      const lastEvent = events.length > 0 ? events[events.length - 1].position : this.#device.checkpoint.lastEvent;
      if (answer.lastPosition > after) {
        await this.#device.writeCheckpoint({
          position: answer.lastPosition,
          lastEvent,
          local: (await this.#device.store.getLastPosition()) ?? -1,
          // Where the next open() starts folding the outbox (see Outbox::live_from).
          outboxFrom: this.#device.outbox.live_from(),
        });
      }
      if (!answer.more) break;
    }
    if (applied > 0) await this.reconcileAll();
    return applied;
  }

  async #applyPage(after, page) {
    // A server of this package never has such streams; another one must not write a replica's
    // bookkeeping (they would be taken for its outbox or checkpoint).
    const events = page.filter((event) => !isReserved(event.aggregateId));
    if (events.length === 0) return 0;
    const versions = {};
    for (const event of events) {
      if (!(event.aggregateId in versions)) versions[event.aggregateId] = await this.#device.confirmedVersion(event.aggregateId);
    }
    let plan;
    try {
      plan = JSON.parse(this.#core.syncPlanPull(JSON.stringify(events), after, JSON.stringify(versions)));
    } catch (error) {
      throw fromCore(error);
    }
    let applied = 0;
    for (const [aggregateId, expectedVersion, start, end] of plan) {
      // Another tab may have stored this page already: the same eventIds make it a retry.
      await this.#device.store.appendEvents(aggregateId, expectedVersion, events.slice(start, end).map(wrapConfirmed));
      applied += end - start;
      this.#changed(aggregateId);
    }
    return applied;
  }

  /** Reconciles every aggregate whose confirmed stream moved past its pending base. */
  async reconcileAll() {
    await this.#device.catchUp();
    for (const [aggregateId] of JSON.parse(this.#device.outbox.pending_aggregates())) {
      await this.#reconcile(aggregateId);
    }
  }

  async #reconcile(aggregateId) {
    for (;;) {
      await this.#device.catchUp();
      const base = this.#device.outbox.pending_base(aggregateId);
      if (base < -1) return; // nothing pending any more
      const confirmed = await this.#device.confirmedVersion(aggregateId);
      if (confirmed === base) return;
      const arrived = (await this.#device.store.loadEvents(aggregateId, base)).filter((e) => e.version <= confirmed).map(unwrapConfirmed);
      // The decision, and the outbox it was made on.
      const { outbox } = this.#device;
      const applied = outbox.applied();
      const state = outbox.pending_state(aggregateId);
      const decision = JSON.parse(outbox.reconcile(aggregateId, confirmed, JSON.stringify(arrived.map((e) => e.eventId))));
      if (decision.kind === 'unchanged') return;
      if (decision.kind === 'settle') {
        if (await this.#device.commitFor(aggregateId, decision.entry, applied, state)) {
          this.#changed(aggregateId);
          return;
        }
        continue;
      }
      const missed = arrived.slice(decision.missedFrom);
      let entry;
      let dropped = false;
      if (this.#rebase === undefined) {
        entry = this.#device.outbox.rebase_entry(aggregateId, decision.base, '[]', Date.now());
        dropped = true;
      } else {
        let answer;
        try {
          answer = await this.#rebase({ aggregateId, pending: decision.pending, missed });
          if (!Array.isArray(answer)) throw invalid(`rebase must return an array of events ([] to drop them), got ${describe(answer)}`);
          entry = this.#device.outbox.rebase_entry(aggregateId, decision.base, eventsJson(answer), Date.now());
        } catch (error) {
          // The pending events stay as they are; status.lastError says why.
          this.rebaseError = error;
          return;
        }
        dropped = answer.length === 0;
      }
      // Stored unless this aggregate's pending events changed while the app decided (then it
      // is asked again, about what is pending now).
      if (!(await this.#device.commitFor(aggregateId, entry, applied, state))) continue;
      if (dropped) {
        const last = missed.length > 0 ? missed[missed.length - 1].version : confirmed;
        const error = new EventStoreConflictError(aggregateId, decision.base, last);
        this.#emit('rejected', { aggregateId, events: decision.pending, reason: 'conflict', error });
      }
      this.#changed(aggregateId);
      return;
    }
  }

}
