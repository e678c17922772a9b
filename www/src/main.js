// The app: shopping lists, each an aggregate whose events wasm-event-store keeps in IndexedDB,
// in a Replica that syncs them through the demo's sync server (make demo serves it at ./sync).
// The app works offline at once: changes are pending until the server confirms them, and when
// another device changed the same list meanwhile, `rebase` re-decides this device's intents on
// the fresh list (domain.js, redecide); what no longer makes sense is dropped and said.
//
// The sidebar folds every list's view (confirmed then pending events) into a state per list,
// read again when the replica says a stream changed (its 'change' event: this tab's appends and
// syncs, and other tabs' writes to the same IndexedDB, which IndexedDbStorage broadcasts).
//
// The list on the right is what this tab has loaded of that one stream. Each tab appends with
// the version it last loaded as expectedVersion and never re-reads the version just before
// appending. So when another tab has changed the list in between, the store refuses the append
// (EventStoreConflictError), and this tab says so, loads what it missed and offers to retry the
// same intent on the fresh state. (The sidebar already knows: it flags the list as changed.)
import { EventStoreConflictError, HttpRemote, IndexedDbStorage, Replica } from 'wasm-event-store';
import { decide, describeEvent, describeIntent, emptyState, IntentRejected, newListId, rebuild, redecide } from './domain.js';
import './style.css';

const DB_NAME = 'wes-demo-shopping-lists';

const $ = (id) => document.getElementById(id);

/** A short id for this tab, kept across reloads of the tab (sessionStorage), shown in the log. */
const tabId = (() => {
  let id = sessionStorage.getItem('wes-demo-tab');
  if (!id) {
    const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    id = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => letters[b % letters.length]).join('');
    sessionStorage.setItem('wes-demo-tab', id);
  }
  return id;
})();

/** Every list's state, by id: the fold of its view (kept by `project`). */
const catalog = new Map();

/** Per list this tab has opened: the events it loaded, their fold, and what arrived last. */
const loaded = new Map();
function loadedList(id) {
  let list = loaded.get(id);
  if (list === undefined) {
    list = {
      id,
      events: [],
      state: emptyState(),
      /** The version this tab last loaded (null: nothing loaded yet). Appends use it. */
      loadedVersion: null,
      /** Versions that arrived with the last reload, highlighted in the log. */
      fresh: new Set(),
      /** How long the first rebuild from the whole stream took, in ms. */
      rebuildMs: null,
    };
    loaded.set(id, list);
  }
  return list;
}

const ui = {
  selected: null,
  busy: false,
  /** { listId, intent, expectedVersion, actualVersion, missed } after a refused append. */
  conflict: null,
  /** { kind: 'info' | 'error' | 'success', text } */
  message: null,
  /** What the server refused or a conflict dropped: { aggregateId, events, reason }, newest first. */
  rejected: [],
};

/** The Replica: this device's lists, synced through the demo's server. */
let store;

const current = () => (ui.selected === null ? undefined : loadedList(ui.selected));
const versionLabel = (v) => (v === null || v === -1 ? 'none' : `v${v}`);
/** The lists the sidebar shows: created and not deleted, oldest first. */
const liveLists = () => [...catalog.entries()]
  .filter(([, state]) => state.created && !state.deleted)
  .sort(([, a], [, b]) => a.position - b.position);
/** The newest version another tab appended to `id` that this tab has not loaded, or null. */
function changedElsewhere(id) {
  const known = catalog.get(id);
  const list = loaded.get(id);
  if (!known || !list || known.lastForeignVersion === undefined) return null;
  return known.lastForeignVersion > (list.loadedVersion ?? -1) ? known.lastForeignVersion : null;
}

/** Folds the view (confirmed then pending) of each of `ids` into the sidebar's states. */
async function project(ids) {
  for (const id of ids) {
    const events = await store.loadEvents(id);
    const state = rebuild(events);
    const foreign = events.filter((e) => e.metadata?.tab !== tabId);
    if (foreign.length) state.lastForeignVersion = foreign[foreign.length - 1].version;
    state.pendingCount = events.filter((e) => e.pending).length;
    catalog.set(id, state);
  }
  scheduleRender();
}

/** Every list the device knows: of its confirmed log and of its pending events. */
/** The server position up to which the lists of the confirmed log are known. */
let projectedPosition = -1;

/**
 * Every list that may have changed when the device storage did (maybe in another tab): those
 * of the confirmed log since the last time, those with pending events, and those that had
 * some (they may have been confirmed or dropped since).
 */
async function projectAll() {
  const ids = new Set(await store.pendingAggregates());
  for (const [id, state] of catalog) if (state.pendingCount) ids.add(id);
  const confirmed = await store.loadAllEvents(projectedPosition);
  for (const event of confirmed) ids.add(event.aggregateId);
  if (confirmed.length) projectedPosition = confirmed[confirmed.length - 1].position;
  await project(ids);
}

// 'change' events arrive in bursts (a pull applies many): one projection per burst.
let changedIds = new Set();
let everything = false;
let projecting = false;
function changed({ aggregateId }) {
  if (aggregateId === null) everything = true;
  else changedIds.add(aggregateId);
  if (projecting) return; // the projection running now goes round again for these
  projecting = true;
  (async () => {
    try {
      while (everything || changedIds.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const ids = changedIds;
        const all = everything;
        changedIds = new Set();
        everything = false;
        if (all) await projectAll();
        else await project(ids);
        // A sync changed the list this tab shows (a pull, a rebase): show it as it is now.
        // Other tabs' changes only flag the list, so that appending without Reload shows a
        // conflict.
        if (ui.selected !== null && ids.has(ui.selected) && ui.conflict === null && !ui.busy) {
          await refresh(ui.selected);
          render();
        }
      }
    } finally {
      projecting = false;
    }
  })().catch((error) => console.error(error));
}

let renderScheduled = false;
/** One render for a burst of changes. */
function scheduleRender() {
  if (renderScheduled) return;
  renderScheduled = true;
  setTimeout(() => {
    renderScheduled = false;
    followDeletion();
    render();
  }, 0);
}

/** If the list shown here was deleted (in any tab), show another one. */
function followDeletion() {
  const id = ui.selected;
  if (id === null || !catalog.get(id)?.deleted) return;
  const name = catalog.get(id).name;
  const next = liveLists()[0]?.[0] ?? null;
  ui.conflict = null;
  select(next, { kind: 'info', text: `The list “${name}” was deleted.` });
}

/**
 * Loads the view of `listId` and folds it into this tab's state of it; resolves to the events
 * this tab did not have (new versions, or ones a sync replaced: pending events confirmed or
 * re-decided).
 */
async function refresh(listId, { highlight = true } = {}) {
  const list = loadedList(listId);
  const since = list.loadedVersion;
  const started = performance.now();
  const events = await store.loadEvents(listId);
  if (since === null) list.rebuildMs = performance.now() - started;
  const before = new Map(list.events.map((e) => [e.version, `${e.eventId}${e.pending ? '?' : ''}`]));
  const fresh = events.filter((e) => before.get(e.version) !== `${e.eventId}${e.pending ? '?' : ''}`);
  list.events = events;
  list.state = rebuild(events);
  list.loadedVersion = events.length ? events[events.length - 1].version : null;
  list.fresh = highlight && since !== null ? new Set(fresh.map((e) => e.version)) : new Set();
  return fresh;
}

/** Decides `intent` on this tab's state of `listId` and appends with the version this tab loaded. */
async function perform(intent, listId = ui.selected) {
  if (listId === null) return false;
  const list = loadedList(listId);
  let events;
  try {
    events = decide(list.state, intent);
  } catch (error) {
    if (!(error instanceof IntentRejected)) throw error;
    ui.conflict = null;
    ui.message = { kind: 'info', text: error.message };
    render();
    return false;
  }
  if (events.length === 0) {
    ui.conflict = null;
    ui.message = { kind: 'info', text: `Nothing to do: ${describeIntent(intent)} is already the case.` };
    render();
    return true;
  }

  const expectedVersion = list.loadedVersion ?? -1;
  ui.busy = true;
  ui.message = null;
  render();
  try {
    const version = await store.appendEvents(listId, expectedVersion, events.map((e) => ({ ...e, metadata: { tab: tabId } })));
    const wasRetry = ui.conflict?.listId === listId;
    ui.conflict = null;
    await refresh(listId, { highlight: false });
    // A retried add leaves the item's name in the input: it is on the list now.
    if (intent.kind === 'add' && $('add-input').value.trim() === intent.name.trim()) $('add-input').value = '';
    if (wasRetry) ui.message = { kind: 'success', text: `Retried: ${describeIntent(intent)} is saved as ${versionLabel(version)}.` };
    return true;
  } catch (error) {
    if (error instanceof EventStoreConflictError) {
      const missed = await refresh(listId);
      ui.conflict = {
        listId,
        intent,
        expectedVersion: error.expectedVersion,
        actualVersion: error.actualVersion,
        missed: missed.length,
      };
    } else {
      console.error(error);
      ui.message = { kind: 'error', text: `Could not save the change: ${error.message}` };
    }
    return false;
  } finally {
    ui.busy = false;
    render();
  }
}

/** Creates a new list (a new stream, expected version -1) and shows it. */
async function createList(name) {
  const id = newListId();
  const saved = await perform({ kind: 'create', name }, id);
  if (saved) await select(id);
  else loaded.delete(id);
  return saved;
}

async function reload() {
  const list = current();
  if (!list) return;
  ui.busy = true;
  render();
  try {
    const events = await refresh(list.id);
    ui.message = events.length
      ? { kind: 'success', text: `Reloaded: ${events.length} new event${events.length === 1 ? '' : 's'} from other tabs, now at ${versionLabel(list.loadedVersion)}.` }
      : { kind: 'info', text: `Up to date: nothing new after ${versionLabel(list.loadedVersion)}.` };
  } finally {
    ui.busy = false;
    render();
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering: the page skeleton is static HTML; these functions fill in what changes.

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function button(label, onclick, props = {}) {
  return el('button', { type: 'button', onclick, ...props }, label);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
function when(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : `${dateFormat.format(date)}, ${timeFormat.format(date)}`;
}

function renderPicker() {
  const items = liveLists().map(([id, state]) => {
    const count = state.items.size;
    const open = [...state.items.values()].filter((i) => !i.checked).length;
    return el('li', {},
      el('button', {
        type: 'button',
        class: 'list-option',
        'aria-current': id === ui.selected ? 'page' : undefined,
        dataset: { listId: id },
        onclick: () => select(id),
      },
      el('span', { class: 'list-option-name' }, state.name),
      el('span', { class: 'list-option-meta' },
        count ? `${open} to buy · ${count} item${count === 1 ? '' : 's'}` : 'empty',
        ` · ${versionLabel(state.version)}`),
      changedElsewhere(id) !== null ? el('span', { class: 'dot', title: 'Changed in another tab or on another device' }, 'changed') : null,
      state.pendingCount ? el('span', { class: 'dot pending-dot', title: 'Changes not synced yet' }, `${state.pendingCount} pending`) : null));
  });
  $('list-picker').replaceChildren(...items);
  $('no-lists').hidden = items.length > 0;
}

function renderBanners() {
  const list = current();
  const banners = [];
  const { conflict } = ui;
  const announced = list ? changedElsewhere(list.id) : null;
  if (list && conflict && conflict.listId === list.id) {
    const expected = conflict.expectedVersion === -1 ? '−1 (a new list)' : conflict.expectedVersion;
    banners.push(el('div', { class: 'banner conflict', role: 'alert', dataset: { testid: 'conflict-banner' } },
      el('div', { class: 'banner-body' },
        el('strong', {}, 'Conflict: your change was not saved.'),
        el('p', {},
          `${describeIntent(conflict.intent)} was appended with expected version ${expected}, `,
          `but “${list.state.name}” was already at version ${conflict.actualVersion}: another tab changed it first. `),
        el('p', {},
          `The list now shows the latest version (${conflict.missed} event${conflict.missed === 1 ? '' : 's'} loaded, highlighted in the log). `,
          'Retry applies your change to it.')),
      el('div', { class: 'banner-actions' },
        button(`Retry: ${describeIntent(conflict.intent)}`, () => perform(conflict.intent), { class: 'primary', disabled: ui.busy, dataset: { testid: 'retry' } }),
        button('Discard my change', () => { ui.conflict = null; render(); }, { class: 'ghost', disabled: ui.busy }))));
  } else if (announced !== null) {
    banners.push(el('div', { class: 'banner notice', role: 'status' },
      el('div', { class: 'banner-body' },
        el('strong', {}, 'Another tab changed this list.'),
        el('p', {}, `It is at version ${announced}; this tab shows ${versionLabel(list.loadedVersion)}. Reload to see the changes (or keep going to see a conflict).`)),
      el('div', { class: 'banner-actions' }, button('Reload', reload, { class: 'secondary', disabled: ui.busy }))));
  }
  if (ui.message) {
    banners.push(el('div', { class: `banner ${ui.message.kind}`, role: ui.message.kind === 'error' ? 'alert' : 'status' },
      el('div', { class: 'banner-body' }, el('p', {}, ui.message.text)),
      el('div', { class: 'banner-actions' }, button('×', () => { ui.message = null; render(); }, { class: 'icon', 'aria-label': 'Dismiss message' }))));
  }
  $('banners').replaceChildren(...banners);
}

function renderList() {
  const list = current();
  $('list-card').hidden = !list;
  $('log-card').hidden = !list;
  if (!list) return;
  const { state } = list;
  $('list-title').textContent = state.name;
  const count = state.items.size;
  $('list-meta').textContent = list.loadedVersion === null
    ? 'No events yet: the first change creates the stream (expected version −1).'
    : `${count} item${count === 1 ? '' : 's'} · rebuilt from ${list.events.length} event${list.events.length === 1 ? '' : 's'} · this tab is at ${versionLabel(list.loadedVersion)}`;

  const items = [...state.items.values()].sort((a, b) => Number(a.checked) - Number(b.checked));
  $('items').replaceChildren(...items.map((item) => {
    const checkboxId = `item-${item.id}`;
    return el('li', { class: `item${item.checked ? ' checked' : ''}`, dataset: { itemId: item.id } },
      el('input', {
        type: 'checkbox', id: checkboxId, checked: item.checked, disabled: ui.busy,
        onchange: (event) => perform({ kind: 'check', itemId: item.id, checked: event.target.checked, label: item.name }),
      }),
      el('label', { for: checkboxId, class: 'item-name' }, item.name),
      button('Remove', () => perform({ kind: 'remove', itemId: item.id, label: item.name }), {
        class: 'ghost small', disabled: ui.busy, 'aria-label': `Remove ${item.name}`,
      }));
  }));
  $('empty').hidden = count > 0;
  for (const id of ['add-button', 'reload-button', 'rename-button', 'delete-button']) $(id).disabled = ui.busy;
}

function renderLog() {
  const list = current();
  if (!list) return;
  const names = new Map();
  for (const event of list.events) if (event.type === 'ItemAdded') names.set(event.data.itemId, event.data.name);
  const rows = [...list.events].reverse().map((event) => {
    const mine = event.metadata?.tab === tabId;
    const classes = [list.fresh.has(event.version) ? 'fresh' : '', event.pending ? 'pending' : ''].filter(Boolean).join(' ');
    return el('tr', { class: classes || undefined, dataset: { version: event.version, pending: String(Boolean(event.pending)) } },
      el('td', { class: 'version' }, `v${event.version}`),
      el('td', {}, el('span', { class: `type type-${event.type}` }, event.type)),
      el('td', { class: 'details' }, describeEvent(event, names)),
      el('td', { class: 'when' }, el('time', { datetime: event.occurredOn, title: event.occurredOn }, when(event.occurredOn))),
      el('td', { class: mine ? 'by mine' : 'by' }, mine ? 'this tab' : `tab ${event.metadata?.tab ?? '?'}`),
      el('td', { class: 'synced', title: event.pending ? 'Not confirmed by the sync server yet' : 'Position in the server\'s log' },
        event.pending ? 'pending' : `#${event.position}`));
  });
  $('log-body').replaceChildren(...(rows.length ? rows
    : [el('tr', {}, el('td', { colspan: 6, class: 'muted empty-log' }, 'No events yet.'))]));
  const n = list.events.length;
  $('log-meta').textContent = n === 0 ? `Stream “${list.id}” does not exist yet.`
    : `Stream “${list.id}”: ${n} event${n === 1 ? '' : 's'}, v0 to v${list.loadedVersion}, newest first${list.rebuildMs !== null ? ` · first load and rebuild ${list.rebuildMs.toFixed(1)} ms` : ''}`;
}

/** The sync pill: pending changes, online or not, and when the last sync was. */
function renderSync() {
  const pill = $('sync-pill');
  if (!store) return;
  const { pending, online, syncing, lastSyncAt, lastError } = store.status;
  const last = lastSyncAt === null ? 'never synced' : `synced ${when(new Date(lastSyncAt).toISOString())}`;
  pill.textContent = `${pending} pending · ${online ? (syncing ? 'syncing…' : last) : 'server unreachable'}`;
  pill.dataset.pending = String(pending);
  pill.classList.toggle('warn', !online);
  pill.classList.toggle('ok', online && pending === 0);
  pill.title = lastError ? `Last error: ${lastError.message}` : 'Changes are kept on this device and pushed to the sync server';
}

function renderRejected() {
  $('rejected').replaceChildren(...ui.rejected.map(({ name, events, reason }) => el('li', { dataset: { reason } },
    `${events.length} change${events.length === 1 ? '' : 's'} to “${name}” did not make it (${reason}).`)));
  $('rejected-card').hidden = ui.rejected.length === 0;
}

function render() {
  for (const id of ['new-list-button']) $(id).disabled = ui.busy;
  renderSync();
  renderRejected();
  renderPicker();
  renderBanners();
  renderList();
  renderLog();
  $('app').setAttribute('aria-busy', String(ui.busy));
}

/**
 * Shows `listId` (null: none), loading what this tab has not loaded of it yet, with `message`
 * (if any) above it.
 */
async function select(listId, message = null) {
  if (listId === ui.selected) return;
  // Known from the projection, or just created by this tab (before the projection heard of it).
  if (listId !== null && !catalog.get(listId)?.created && !loaded.get(listId)?.state.created) return;
  ui.message = message;
  show(listId);
  if (listId !== null && loadedList(listId).loadedVersion === null) {
    ui.busy = true;
    render();
    try {
      await refresh(listId, { highlight: false });
    } finally {
      ui.busy = false;
    }
  }
  render();
}

function show(listId) {
  ui.selected = listId;
  if (listId === null) localStorage.removeItem('wes-demo-selected');
  else localStorage.setItem('wes-demo-selected', listId);
  history.replaceState(null, '', listId === null ? location.pathname : `#${listId}`);
  $('rename-form').hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function wireForms() {
  $('add-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('add-input');
    if (ui.busy) return;
    const saved = await perform({ kind: 'add', name: input.value });
    if (saved) input.value = '';
    input.focus();
  });
  $('reload-button').addEventListener('click', reload);
  $('rename-button').addEventListener('click', () => {
    const form = $('rename-form');
    form.hidden = !form.hidden;
    if (!form.hidden) {
      $('rename-input').value = current().state.name;
      $('rename-input').select();
    }
  });
  $('rename-cancel').addEventListener('click', () => { $('rename-form').hidden = true; });
  $('rename-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await perform({ kind: 'rename', name: $('rename-input').value })) $('rename-form').hidden = true;
  });
  addEventListener('hashchange', () => select(location.hash.slice(1) || null));
  $('new-list-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (ui.busy) return;
    if (await createList($('new-list-input').value)) $('new-list-input').value = '';
  });
  $('delete-button').addEventListener('click', () => {
    const list = current();
    if (list) perform({ kind: 'delete', label: list.state.name });
  });
}

function wireStatus() {
  $('tab-pill').textContent = `Tab ${tabId}`;
  const network = () => {
    const pill = $('network-pill');
    pill.textContent = navigator.onLine ? 'Online' : 'Offline';
    pill.classList.toggle('warn', !navigator.onLine);
  };
  addEventListener('online', network);
  addEventListener('offline', network);
  network();

  const offline = $('offline-pill');
  if (!('serviceWorker' in navigator)) {
    offline.textContent = 'No offline support in this browser';
    return;
  }
  if (!import.meta.env.PROD) {
    offline.textContent = 'Service worker off (dev server)';
    return;
  }
  offline.textContent = 'Caching for offline use…';
  navigator.serviceWorker.register(new URL('./sw.js', location.href), { scope: './' }).catch((error) => {
    if (offline.classList.contains('ok')) return;
    offline.textContent = 'Offline cache unavailable';
    offline.title = String(error);
  });
  // `ready` resolves once a worker is active, i.e. after its install step cached the whole app.
  navigator.serviceWorker.ready.then(() => {
    offline.textContent = 'Ready to work offline';
    offline.classList.add('ok');
    offline.title = 'The app shell, scripts, styles and the .wasm are cached by a service worker';
  });
}

async function main() {
  wireStatus();
  wireForms();
  try {
    store = await Replica.open({
      storage: await IndexedDbStorage.open(DB_NAME),
      remote: new HttpRemote(new URL('./sync', location.href)),
      // Another device changed a list while this one had pending changes to it: decide this
      // device's intents again on the list as it is now.
      rebase: async ({ aggregateId, pending }) => {
        const confirmed = (await store.loadEvents(aggregateId)).filter((e) => !e.pending);
        const names = new Map(confirmed.concat(pending).filter((e) => e.type === 'ItemAdded').map((e) => [e.data.itemId, e.data.name]));
        const { events, dropped } = redecide(rebuild(confirmed), pending, names);
        if (dropped.length) {
          ui.message = { kind: 'info', text: `Synced with another device: ${dropped.join('; ')}` };
          scheduleRender();
        }
        return events; // each keeps the metadata (the tab) of the pending event it re-decides
      },
    });
    store.on('change', changed);
    store.on('status', renderSync);
    store.on('rejected', ({ aggregateId, events, reason }) => {
      ui.rejected.unshift({ aggregateId, events, reason, name: catalog.get(aggregateId)?.name ?? aggregateId });
      ui.rejected.length = Math.min(ui.rejected.length, 5);
      scheduleRender();
    });
    await projectAll();
    store.start();
    const wanted = [location.hash.slice(1), localStorage.getItem('wes-demo-selected')];
    const first = wanted.find((id) => id && catalog.get(id)?.created && !catalog.get(id).deleted) ?? liveLists()[0]?.[0] ?? null;
    await select(first);
  } catch (error) {
    console.error(error);
    ui.message = { kind: 'error', text: `Could not open the event store: ${error.message}` };
  }
  render();
  document.body.dataset.ready = 'true';
}

main();
