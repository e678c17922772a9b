// The app: three shopping lists, each an aggregate whose events wasm-event-store keeps in
// IndexedDB. Each tab keeps, per list, the version it last loaded and appends with exactly that
// version as expectedVersion; it never re-reads the version just before appending. So when another
// tab has changed the list in between, the store refuses the append (EventStoreConflictError), and
// this tab says so, loads what it missed and offers to retry the same intent on the fresh state.
import { EventStore, EventStoreConflictError, IndexedDbStorage } from 'wasm-event-store';
import { LISTS, apply, decide, describeEvent, describeIntent, emptyState, IntentRejected } from './domain.js';
import './style.css';

const DB_NAME = 'wes-demo-shopping-lists';
const CHANNEL = 'wes-demo-shopping-lists';

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

/** Per list: the events this tab has loaded, the state folded from them, and what others did since. */
const lists = new Map(LISTS.map((list) => [list.id, {
  ...list,
  events: [],
  state: emptyState(list.defaultName),
  /** The version this tab last loaded (null: the stream did not exist). Appends use it. */
  loadedVersion: null,
  /** The newest version another tab announced, if newer than loadedVersion. */
  announcedVersion: null,
  /** Versions that arrived with the last reload, highlighted in the log. */
  fresh: new Set(),
  /** How long the first rebuild from the whole log took, in ms. */
  rebuildMs: null,
}]));

const ui = {
  selected: LISTS.some((l) => l.id === location.hash.slice(1)) ? location.hash.slice(1)
    : (LISTS.find((l) => l.id === localStorage.getItem('wes-demo-selected'))?.id ?? LISTS[0].id),
  busy: false,
  /** { listId, intent, expectedVersion, actualVersion, missed } after a refused append. */
  conflict: null,
  /** { kind: 'info' | 'error' | 'success', text } */
  message: null,
};

let store;
const channel = 'BroadcastChannel' in globalThis ? new BroadcastChannel(CHANNEL) : null;

const current = () => lists.get(ui.selected);
const versionLabel = (v) => (v === null || v === -1 ? 'none' : `v${v}`);

/** Loads the events of `listId` after the version this tab has, and folds them into its state. */
async function refresh(listId, { highlight = true } = {}) {
  const list = lists.get(listId);
  const since = list.loadedVersion;
  const started = performance.now();
  const events = await store.loadEvents(listId, since);
  if (since === null) list.rebuildMs = performance.now() - started;
  for (const event of events) {
    apply(list.state, event);
    list.events.push(event);
  }
  if (events.length) list.loadedVersion = events[events.length - 1].version;
  list.fresh = highlight && since !== null ? new Set(events.map((e) => e.version)) : new Set();
  if (list.announcedVersion !== null && list.announcedVersion <= (list.loadedVersion ?? -1)) list.announcedVersion = null;
  return events;
}

/** Decides `intent` on this tab's state and appends the events with the version this tab loaded. */
async function perform(intent) {
  const listId = ui.selected;
  const list = lists.get(listId);
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
    channel?.postMessage({ type: 'appended', listId, version, tab: tabId });
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

async function reload() {
  const list = current();
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
  const items = LISTS.map(({ id }) => {
    const list = lists.get(id);
    const count = list.state.items.size;
    const open = [...list.state.items.values()].filter((i) => !i.checked).length;
    return el('li', {},
      el('button', {
        type: 'button',
        class: 'list-option',
        'aria-current': id === ui.selected ? 'page' : undefined,
        dataset: { listId: id },
        onclick: () => select(id),
      },
      el('span', { class: 'list-option-name' }, list.state.name),
      el('span', { class: 'list-option-meta' },
        count ? `${open} to buy · ${count} item${count === 1 ? '' : 's'}` : 'empty',
        ` · ${versionLabel(list.loadedVersion)}`),
      list.announcedVersion !== null ? el('span', { class: 'dot', title: 'Changed in another tab' }, 'changed') : null));
  });
  $('list-picker').replaceChildren(...items);
}

function renderBanners() {
  const list = current();
  const banners = [];
  const { conflict } = ui;
  if (conflict && conflict.listId === list.id) {
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
  } else if (list.announcedVersion !== null) {
    banners.push(el('div', { class: 'banner notice', role: 'status' },
      el('div', { class: 'banner-body' },
        el('strong', {}, 'Another tab changed this list.'),
        el('p', {}, `It is at version ${list.announcedVersion}; this tab shows ${versionLabel(list.loadedVersion)}. Reload to see the changes (or keep going to see a conflict).`)),
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
  for (const id of ['add-button', 'reload-button', 'rename-button']) $(id).disabled = ui.busy;
}

function renderLog() {
  const list = current();
  const names = new Map();
  for (const event of list.events) if (event.type === 'ItemAdded') names.set(event.data.itemId, event.data.name);
  const rows = [...list.events].reverse().map((event) => {
    const mine = event.metadata?.tab === tabId;
    return el('tr', { class: list.fresh.has(event.version) ? 'fresh' : undefined, dataset: { version: event.version } },
      el('td', { class: 'version' }, `v${event.version}`),
      el('td', {}, el('span', { class: `type type-${event.type}` }, event.type)),
      el('td', { class: 'details' }, describeEvent(event, names)),
      el('td', { class: 'when' }, el('time', { datetime: event.occurredOn, title: event.occurredOn }, when(event.occurredOn))),
      el('td', { class: mine ? 'by mine' : 'by' }, mine ? 'this tab' : `tab ${event.metadata?.tab ?? '?'}`));
  });
  $('log-body').replaceChildren(...(rows.length ? rows
    : [el('tr', {}, el('td', { colspan: 5, class: 'muted empty-log' }, 'No events yet.'))]));
  const n = list.events.length;
  $('log-meta').textContent = n === 0 ? `Stream “${list.id}” does not exist yet.`
    : `Stream “${list.id}”: ${n} event${n === 1 ? '' : 's'}, v0 to v${list.loadedVersion}, newest first${list.rebuildMs !== null ? ` · first load and rebuild ${list.rebuildMs.toFixed(1)} ms` : ''}`;
}

function render() {
  renderPicker();
  renderBanners();
  renderList();
  renderLog();
  $('app').setAttribute('aria-busy', String(ui.busy));
}

function select(listId) {
  if (!lists.has(listId) || listId === ui.selected) return;
  ui.selected = listId;
  ui.message = null;
  localStorage.setItem('wes-demo-selected', listId);
  history.replaceState(null, '', `#${listId}`);
  $('rename-form').hidden = true;
  render();
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
  addEventListener('hashchange', () => select(location.hash.slice(1)));
}

function wireChannel() {
  if (!channel) return;
  channel.addEventListener('message', ({ data }) => {
    if (data?.type !== 'appended' || data.tab === tabId) return;
    const list = lists.get(data.listId);
    if (!list || data.version <= (list.loadedVersion ?? -1)) return;
    list.announcedVersion = Math.max(list.announcedVersion ?? -1, data.version);
    render();
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
  wireChannel();
  try {
    store = new EventStore({ storage: await IndexedDbStorage.open(DB_NAME) });
    for (const { id } of LISTS) await refresh(id, { highlight: false });
  } catch (error) {
    console.error(error);
    ui.message = { kind: 'error', text: `Could not open the event store: ${error.message}` };
  }
  render();
  document.body.dataset.ready = 'true';
}

main();
