// Where a replica keeps its bookkeeping in the device storage, and how confirmed events are
// stored there. Everything under RESERVED is the replica's: its loads, log reads and
// subscriptions skip those streams, and its appendEvents refuses such ids.
//
// - OUTBOX: one event per outbox entry (its data is the entry the core's sync::outbox writes);
// - CHECKPOINT: one event per pull page applied: { position, lastEvent, local, outboxFrom }:
//   the server position pulled up to, the server position of the last event applied, the
//   device log's position once the page was stored (what loadAllEvents uses to find a server
//   position), and the first outbox entry still live (where opening the replica folds from);
// - a confirmed event of aggregate X is stored in stream X at the server's version, with the
//   server's eventId and occurredOn, and its metadata wrapped as
//   { [POSITION_KEY]: <server position>, metadata: <the event's metadata> }.
import { describe, invalid } from '../core/errors.mjs';

export const RESERVED = '$wes-sync/';
export const OUTBOX = `${RESERVED}outbox`;
export const CHECKPOINT = `${RESERVED}checkpoint`;
export const POSITION_KEY = '$wesSyncPosition';

export function isReserved(aggregateId) {
  return typeof aggregateId === 'string' && aggregateId.startsWith(RESERVED);
}

/** Refuses the replica's own stream ids as an app's aggregate ids. */
export function checkAppAggregateId(aggregateId) {
  if (isReserved(aggregateId)) {
    throw invalid(`aggregateId must not start with ${JSON.stringify(RESERVED)}: a Replica keeps its own bookkeeping under that prefix, got ${describe(aggregateId)}`);
  }
}

/** A pulled (recorded) event as the input event that stores it on the device. */
export function wrapConfirmed(event) {
  return {
    type: event.type,
    data: event.data,
    metadata: { [POSITION_KEY]: event.position, metadata: event.metadata },
    eventId: event.eventId,
    occurredOn: event.occurredOn,
  };
}

/** A stored confirmed event as the app sees it: its own metadata, the server's position. */
export function unwrapConfirmed(event) {
  const wrapped = event.metadata;
  return {
    aggregateId: event.aggregateId,
    version: event.version,
    type: event.type,
    data: event.data,
    metadata: wrapped?.metadata ?? {},
    eventId: event.eventId,
    occurredOn: event.occurredOn,
    position: wrapped?.[POSITION_KEY],
  };
}
