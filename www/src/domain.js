// The shopping list domain, free of the DOM and of the store: state is a fold over the events,
// and every user intent is turned into events by `decide` against the state this tab has loaded.
// Keeping the intent (not the events) is what makes a retry after a conflict meaningful: the same
// intent is decided again on the fresh state, and may give other events, or none.
//
// Each list is an aggregate, its own stream: it starts with ListCreated (at expected version -1)
// and may end with ListDeleted. The same fold serves the list a tab shows and the sidebar, which
// folds every event of the global log into one state per list.

/** A new list's id: the aggregate id of its stream. */
export const newListId = () => `list-${crypto.randomUUID()}`;

export function emptyState() {
  return { name: '', created: false, deleted: false, items: new Map(), version: null, position: null };
}

/** Applies one recorded event; returns the same state object (mutated). Unknown types are kept in the log only. */
export function apply(state, event) {
  const { data } = event;
  switch (event.type) {
    case 'ItemAdded':
      state.items.set(data.itemId, { id: data.itemId, name: data.name, checked: false, addedAt: event.occurredOn });
      break;
    case 'ItemChecked': {
      const item = state.items.get(data.itemId);
      if (item) item.checked = true;
      break;
    }
    case 'ItemUnchecked': {
      const item = state.items.get(data.itemId);
      if (item) item.checked = false;
      break;
    }
    case 'ItemRemoved':
      state.items.delete(data.itemId);
      break;
    case 'ListCreated':
      state.created = true;
      state.name = data.name;
      break;
    case 'ListRenamed':
      state.name = data.name;
      break;
    case 'ListDeleted':
      state.deleted = true;
      break;
    default:
      break;
  }
  state.version = event.version;
  if (event.position !== undefined) state.position ??= event.position; // when the list began
  return state;
}

export function rebuild(events) {
  return events.reduce(apply, emptyState());
}

/** Thrown by `decide` when an intent makes no sense on the given state. */
export class IntentRejected extends Error {
  constructor(message) {
    super(message);
    this.name = 'IntentRejected';
  }
}

/**
 * Turns an intent into the events that carry it out on `state`.
 * Intents: { kind: 'create', name } | { kind: 'add', name } | { kind: 'check', itemId, checked }
 *        | { kind: 'remove', itemId } | { kind: 'rename', name } | { kind: 'delete' }
 * Returns [] when there is nothing to do (the state already says what the user wanted).
 */
export function decide(state, intent, newId = () => crypto.randomUUID()) {
  if (intent.kind === 'create') {
    const name = intent.name.trim();
    if (!name) throw new IntentRejected('Type the name of the new list first.');
    if (name.length > 60) throw new IntentRejected('List names are at most 60 characters.');
    if (state.created) throw new IntentRejected('This list exists already.');
    return [{ type: 'ListCreated', data: { name } }];
  }
  if (state.deleted) throw new IntentRejected(`“${state.name}” was deleted.`);
  if (!state.created) throw new IntentRejected('This list does not exist.');
  switch (intent.kind) {
    case 'add': {
      const name = intent.name.trim();
      if (!name) throw new IntentRejected('Type the name of an item first.');
      if (name.length > 80) throw new IntentRejected('Item names are at most 80 characters.');
      return [{ type: 'ItemAdded', data: { itemId: intent.itemId ?? newId(), name } }];
    }
    case 'check': {
      const item = state.items.get(intent.itemId);
      if (!item) throw new IntentRejected(`"${intent.label}" is no longer on the list.`);
      if (item.checked === intent.checked) return [];
      return [{ type: intent.checked ? 'ItemChecked' : 'ItemUnchecked', data: { itemId: item.id } }];
    }
    case 'remove': {
      if (!state.items.has(intent.itemId)) return [];
      return [{ type: 'ItemRemoved', data: { itemId: intent.itemId } }];
    }
    case 'rename': {
      const name = intent.name.trim();
      if (!name) throw new IntentRejected('A list needs a name.');
      if (name.length > 60) throw new IntentRejected('List names are at most 60 characters.');
      if (name === state.name) return [];
      return [{ type: 'ListRenamed', data: { name } }];
    }
    case 'delete':
      return [{ type: 'ListDeleted', data: {} }];
    default:
      throw new IntentRejected(`Unknown intent ${intent.kind}`);
  }
}

/** A short human description of an intent, for messages ("Add “milk”"). */
export function describeIntent(intent) {
  switch (intent.kind) {
    case 'add': return `Add “${intent.name.trim()}”`;
    case 'check': return `${intent.checked ? 'Check' : 'Uncheck'} “${intent.label}”`;
    case 'remove': return `Remove “${intent.label}”`;
    case 'rename': return `Rename the list to “${intent.name.trim()}”`;
    case 'create': return `Create the list “${intent.name.trim()}”`;
    case 'delete': return `Delete “${intent.label}”`;
    default: return intent.kind;
  }
}

/** A one-line summary of a recorded event's data for the log, resolving item ids to names. */
export function describeEvent(event, names) {
  const { data } = event;
  switch (event.type) {
    case 'ItemAdded': return `“${data.name}”`;
    case 'ItemChecked':
    case 'ItemUnchecked':
    case 'ItemRemoved': return `“${names.get(data.itemId) ?? data.itemId}”`;
    case 'ListRenamed': return `to “${data.name}”`;
    case 'ListCreated': return `“${data.name}”`;
    case 'ListDeleted': return '';
    default: return JSON.stringify(data);
  }
}

/** The intent a recorded event carried out (what `redecide` decides again). */
function intentOf(event, state, names) {
  const { data } = event;
  const label = names.get(data?.itemId) ?? state.items.get(data?.itemId)?.name ?? 'an item';
  switch (event.type) {
    case 'ListCreated': return { kind: 'create', name: data.name };
    case 'ItemAdded': return { kind: 'add', name: data.name, itemId: data.itemId };
    case 'ItemChecked': return { kind: 'check', itemId: data.itemId, checked: true, label };
    case 'ItemUnchecked': return { kind: 'check', itemId: data.itemId, checked: false, label };
    case 'ItemRemoved': return { kind: 'remove', itemId: data.itemId, label };
    case 'ListRenamed': return { kind: 'rename', name: data.name };
    case 'ListDeleted': return { kind: 'delete', label: state.name };
    default: return undefined;
  }
}

/**
 * A Replica's rebase: this device's pending events were decided on a list another device has
 * changed since. Each one's intent is decided again, in order, on the list as it is now
 * (`state`, the confirmed events): "check milk" still checks milk, but not if milk was removed
 * there. `names`: item names by id, for the messages. Resolves to the events that replace the
 * pending ones, and what was dropped and why.
 */
export function redecide(state, pending, names = new Map()) {
  const events = [];
  const dropped = [];
  for (const event of pending) {
    const intent = intentOf(event, state, names);
    if (intent === undefined) continue;
    try {
      for (const decided of decide(state, intent)) {
        events.push({ ...decided, metadata: event.metadata });
        apply(state, { ...decided, version: state.version === null ? 0 : state.version + 1, occurredOn: event.occurredOn });
      }
    } catch (error) {
      if (!(error instanceof IntentRejected)) throw error;
      dropped.push(`${describeIntent(intent)} was dropped: ${error.message}`);
    }
  }
  return { events, dropped };
}
