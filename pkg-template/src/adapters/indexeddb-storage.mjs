// IndexedDbStorage: a StorageAdapter over the browser's IndexedDB.
//
// One object store, "records": the value is the payload string, the out-of-line key is
// [aggregateId, version], so a stream is one contiguous key range. An append is one readwrite
// transaction that reads the stream's last key and add()s the records only if it is the expected
// version. IndexedDB runs readwrite transactions with overlapping scopes one at a time, across
// tabs too, so two tabs can never both succeed for one expected version; should another writer
// still get there first, add() fails with ConstraintError and the append becomes a conflict.
// The Promise settles on the transaction's complete (durable with durability 'strict', the
// default here), or rejects with the real error on error/abort (QuotaExceededError included).

const STORE = 'records';
const DB_VERSION = 1;

function requestResult(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Opens the database `name` at this schema's version, creating the object store if needed.
 * `onLost` runs when another connection asks for a version change (a newer app's schema upgrade
 * or a deleteDatabase, from this or another tab): this one then closes so as not to block it.
 */
async function connect(factory, name, onLost) {
  const request = factory.open(name, DB_VERSION);
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
  };
  const db = await requestResult(request);
  db.onversionchange = () => {
    db.close();
    onLost(db);
  };
  return db;
}

class IndexedDbStorage {
  // The open connection; undefined after a version change closed it (see #reconnect).
  #db;
  #reconnecting;
  #closed = false;
  #connect;
  #KeyRange;
  #durability;

  constructor(connectTo, KeyRange, durability) {
    this.#connect = connectTo;
    this.#KeyRange = KeyRange;
    this.#durability = durability;
  }

  /**
   * Opens (creating if needed) the database `name`.
   * options.indexedDB / options.IDBKeyRange: the factory to use (default: the globals; pass
   * fake-indexeddb's in Node). options.durability: 'strict' (default: acknowledged appends are
   * flushed to disk) or 'relaxed' (faster; a crash of the OS may lose the last appends).
   */
  static async open(name, options) {
    const { indexedDB: given, IDBKeyRange: givenKeyRange, durability = 'strict' } = options ?? {};
    const factory = given ?? globalThis.indexedDB;
    const KeyRange = givenKeyRange ?? globalThis.IDBKeyRange;
    if (durability !== 'strict' && durability !== 'relaxed') {
      throw new TypeError(`IndexedDbStorage.open: durability must be 'strict' or 'relaxed', got ${String(durability)}`);
    }
    if (!factory || !KeyRange) {
      throw new Error('IndexedDbStorage: IndexedDB is not available here (pass options.indexedDB and options.IDBKeyRange)');
    }
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('IndexedDbStorage.open: name must be a non-empty string');
    }
    let storage;
    const connectTo = () => connect(factory, name, (db) => storage.#lost(db));
    storage = new IndexedDbStorage(connectTo, KeyRange, durability);
    storage.#db = await connectTo();
    return storage;
  }

  #lost(db) {
    if (this.#db === db) this.#db = undefined;
  }

  /**
   * Opens the database again after a version change closed it, once for all the operations
   * waiting. After another tab deleted the database this creates it afresh (empty); after a newer
   * version of the app upgraded it, opening at this version fails with a VersionError, which the
   * operations report (the store makes it a STORAGE error) until the page runs the newer code.
   */
  #reconnect() {
    if (this.#closed) return Promise.reject(new Error('this IndexedDbStorage was closed with close()'));
    this.#reconnecting ??= this.#connect().then(
      (db) => {
        this.#reconnecting = undefined;
        if (this.#closed) db.close();
        else this.#db = db;
      },
      (error) => {
        this.#reconnecting = undefined;
        throw error;
      },
    );
    return this.#reconnecting;
  }

  #stream(aggregateId, afterVersion = -1) {
    return this.#KeyRange.bound([aggregateId, afterVersion + 1], [aggregateId, Infinity]);
  }

  #transaction(mode) {
    return mode === 'readwrite'
      ? this.#db.transaction(STORE, mode, { durability: this.#durability })
      : this.#db.transaction(STORE, mode);
  }

  load(aggregateId, afterVersion) {
    if (this.#db === undefined) return this.#reconnect().then(() => this.load(aggregateId, afterVersion));
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readonly');
      let payloads;
      tx.objectStore(STORE).getAll(this.#stream(aggregateId, afterVersion)).onsuccess = (e) => {
        payloads = e.target.result;
      };
      // Values come in key order, so the i-th is version afterVersion + 1 + i as long as the
      // stream has no gap. Reading the keys too would double the work of every load; a gap is
      // still caught, because every payload names its own version and the core checks it.
      tx.oncomplete = () => resolve(payloads.map((payload, i) => ({ version: afterVersion + 1 + i, payload })));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB load transaction aborted'));
    });
  }

  #lastVersion(store, aggregateId, done) {
    store.openKeyCursor(this.#stream(aggregateId), 'prev').onsuccess = (e) => {
      const cursor = e.target.result;
      done(cursor ? cursor.key[1] : -1);
    };
  }

  version(aggregateId) {
    if (this.#db === undefined) return this.#reconnect().then(() => this.version(aggregateId));
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readonly');
      let version;
      this.#lastVersion(tx.objectStore(STORE), aggregateId, (v) => { version = v; });
      tx.oncomplete = () => resolve(version);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB version transaction aborted'));
    });
  }

  append(aggregateId, expectedVersion, records) {
    if (this.#db === undefined) return this.#reconnect().then(() => this.append(aggregateId, expectedVersion, records));
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readwrite');
      const store = tx.objectStore(STORE);
      let result;
      let raced = false;
      this.#lastVersion(store, aggregateId, (actualVersion) => {
        if (actualVersion !== expectedVersion) {
          result = { ok: false, actualVersion };
          return; // nothing written; the transaction completes empty
        }
        for (const record of records) store.add(record.payload, [aggregateId, record.version]);
        result = { ok: true };
      });
      // A failed add() bubbles its error here; left unhandled, it aborts the transaction.
      tx.onerror = (event) => {
        if (event.target?.error?.name === 'ConstraintError') raced = true;
      };
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => {
        if (raced) {
          // Another writer stored this version first: report its version as a conflict.
          this.version(aggregateId).then((actualVersion) => resolve({ ok: false, actualVersion }), reject);
        } else {
          reject(tx.error ?? new Error('IndexedDB append transaction aborted'));
        }
      };
    });
  }

  /** Closes the database connection; later calls reject. */
  close() {
    this.#closed = true;
    this.#db?.close();
    this.#db = undefined;
  }
}

export { IndexedDbStorage };
