// Page side of the conformance test: runs the package's storage conformance cases
// (wasm-event-store/web-testing) against IndexedDbStorage over the page's real IndexedDB.
// The Node side asks for the case names, then runs each case by name and reports it.
//
// A case's context, as pkg-template/entries/testing.cjs gives it under node:test:
//   adapter    a new IndexedDbStorage over a new database (a fresh name for every case)
//   other      a second connection to the same database, as another tab would have
//   reopen(a)  a new connection to a's database (the case closes a first)
//   close(a)   closes a connection (once; later calls do nothing)
import { IndexedDbStorage } from '/pkg/web.mjs';
import { createConformanceCases } from '/pkg/web-testing.mjs';

const cases = createConformanceCases();

export function caseList() {
  return cases.map(({ name, needs }) => ({ name, needs: needs ?? null }));
}

function deleteDatabase(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Only fires while a connection is still open, i.e. close() did not close it.
    request.onblocked = () => reject(new Error(`deleting ${name} is blocked: a connection was left open`));
  });
}

const describe = (error) => (error instanceof Error ? `${error.stack ?? error}` : String(error));

/** Runs one case; resolves to { ok: true } or { ok: false, error } (never rejects). */
export async function runCase(name) {
  const conformanceCase = cases.find((c) => c.name === name);
  if (!conformanceCase) return { ok: false, error: `no conformance case named ${JSON.stringify(name)}` };

  const dbName = `conformance-${crypto.randomUUID()}`;
  const opened = [];
  const closed = new Set();
  const open = async () => {
    const adapter = await IndexedDbStorage.open(dbName);
    opened.push(adapter);
    return adapter;
  };
  const close = async (adapter) => {
    if (closed.has(adapter)) return;
    closed.add(adapter);
    adapter.close();
  };
  const reopen = async (adapter) => {
    await close(adapter);
    return open();
  };

  let result;
  try {
    const adapter = await open();
    const other = await open();
    const outcome = await conformanceCase.run({ adapter, other, reopen, close });
    // IndexedDbStorage has every optional method: a skipped case here is a failure.
    result = outcome?.skipped ? { ok: false, error: `skipped: ${outcome.skipped}` } : { ok: true };
  } catch (error) {
    result = { ok: false, error: describe(error) };
  }
  // Close every connection the case left open, then drop its database: that close() really
  // releases connections is part of what is checked here.
  try {
    for (const adapter of opened) await close(adapter);
    await deleteDatabase(dbName);
  } catch (error) {
    if (result.ok) result = { ok: false, error: `clean-up: ${describe(error)}` };
  }
  return result;
}
