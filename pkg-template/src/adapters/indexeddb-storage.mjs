// IndexedDbStorage: a StorageAdapter over the browser's IndexedDB, with the global log.
//
// One object store, "records": the value is { payload, position }, the out-of-line key is
// [aggregateId, version], so a stream is one contiguous key range; a unique index "position"
// orders every record of every stream. An append is one readwrite transaction that reads the
// stream's last key and the highest position, and add()s the records (positions following it)
// only if the stream is at the expected version. IndexedDB runs readwrite transactions with
// overlapping scopes one at a time, across tabs too, so two tabs can never both succeed for one
// expected version, and positions are handed out in commit order: a reader that saw position p
// never later meets an event below p (no holes). Should another writer still get there first,
// add() fails with ConstraintError and the append becomes a conflict. The Promise settles on the
// transaction's complete (durable with durability 'strict', the default here), or rejects with
// the real error on error/abort (QuotaExceededError included). After each commit a message on a
// BroadcastChannel named after the database tells the other tabs and workers (watch()).
//
// Schema versions: 1 (the first release) kept the payload string as the value and had no
// positions; opening such a database upgrades it once, in its versionchange transaction: every
// record gets a position in key order (stream by stream, versions ascending: the commit order
// of old records was never kept), so no event is lost and every stream keeps its order.

const STORE = 'records';
const POSITION = 'position';
const DB_VERSION = 2;
const CHANNEL_PREFIX = 'wasm-event-store:indexeddb:';

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
  request.onupgradeneeded = (event) => {
    const db = request.result;
    const store = db.objectStoreNames.contains(STORE)
      ? request.transaction.objectStore(STORE)
      : db.createObjectStore(STORE);
    if (!store.indexNames.contains(POSITION)) store.createIndex(POSITION, POSITION, { unique: true });
    if (event.oldVersion === 1) givePositions(store);
  };
  const db = await requestResult(request);
  db.onversionchange = () => {
    db.close();
    onLost(db);
  };
  return db;
}

/** Schema 1 to 2: each record's payload string becomes { payload, position }, in key order. */
function givePositions(store) {
  let position = 0;
  store.openCursor().onsuccess = (e) => {
    const cursor = e.target.result;
    if (!cursor) return;
    if (typeof cursor.value === 'string') cursor.update({ payload: cursor.value, position: position++ });
    cursor.continue();
  };
}

/** The records a load hands the core, from the values and keys of one range. */
function recordsOf(values, keys) {
  const records = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const [aggregateId, version] = keys[i];
    records[i] = { aggregateId, version, position: values[i].position, payload: values[i].payload };
  }
  return records;
}

class IndexedDbStorage {
  // The open connection; undefined after a version change closed it (see #reconnect).
  #db;
  #reconnecting;
  #closed = false;
  #connect;
  #KeyRange;
  #durability;
  // The BroadcastChannel of this database (undefined where there is none): appends are
  // announced on it; the watchers hear the other writers' announcements.
  #channel;
  #watchers = new Set();

  constructor(name, connectTo, KeyRange, durability, channel) {
    /** The database's name (a Replica names its sync lock after it). */
    this.name = name;
    this.#connect = connectTo;
    this.#KeyRange = KeyRange;
    this.#durability = durability;
    this.#channel = channel;
    if (channel !== undefined) {
      channel.onmessage = () => {
        for (const onChange of this.#watchers) onChange();
      };
      // In Node (fake-indexeddb) an open channel would keep the process alive.
      channel.unref?.();
    }
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
    const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_PREFIX + name) : undefined;
    storage = new IndexedDbStorage(name, connectTo, KeyRange, durability, channel);
    try {
      storage.#db = await connectTo();
    } catch (error) {
      channel?.close();
      throw error;
    }
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

  /** The stream's records after afterVersion, at most `limit` (default: all), with positions. */
  load(aggregateId, afterVersion, limit) {
    if (this.#db === undefined) return this.#reconnect().then(() => this.load(aggregateId, afterVersion, limit));
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readonly');
      let values;
      tx.objectStore(STORE).getAll(this.#stream(aggregateId, afterVersion), limit).onsuccess = (e) => {
        values = e.target.result;
      };
      // Values come in key order, so the i-th is version afterVersion + 1 + i as long as the
      // stream has no gap. Reading the keys too would double the work of every load; a gap is
      // still caught, because every payload names its own version and the core checks it.
      tx.oncomplete = () => resolve(values.map((value, i) => ({ version: afterVersion + 1 + i, payload: value.payload, position: value.position })));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB load transaction aborted'));
    });
  }

  /** The records of every stream with position > afterPosition, at most `limit`, ascending. */
  loadAll(afterPosition, limit) {
    if (this.#db === undefined) return this.#reconnect().then(() => this.loadAll(afterPosition, limit));
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readonly');
      const index = tx.objectStore(STORE).index(POSITION);
      const range = afterPosition < 0 ? undefined : this.#KeyRange.lowerBound(afterPosition, true);
      let values;
      let keys;
      // Values and primary keys ([aggregateId, version]) of one range, in one transaction.
      index.getAll(range, limit).onsuccess = (e) => {
        values = e.target.result;
      };
      index.getAllKeys(range, limit).onsuccess = (e) => {
        keys = e.target.result;
      };
      tx.oncomplete = () => resolve(recordsOf(values, keys));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB loadAll transaction aborted'));
    });
  }

  /** The highest position, -1 for an empty database. */
  lastPosition() {
    if (this.#db === undefined) return this.#reconnect().then(() => this.lastPosition());
    return new Promise((resolve, reject) => {
      const tx = this.#transaction('readonly');
      let position;
      this.#lastPosition(tx.objectStore(STORE), (p) => { position = p; });
      tx.oncomplete = () => resolve(position);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB lastPosition transaction aborted'));
    });
  }

  /**
   * Calls `onChange` whenever another writer (another tab, worker or IndexedDbStorage of this
   * database) committed an append; returns the function that stops it.
   */
  watch(onChange) {
    if (typeof onChange !== 'function') throw new TypeError('IndexedDbStorage.watch: onChange must be a function');
    const watcher = () => onChange();
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  #lastPosition(store, done) {
    store.index(POSITION).openKeyCursor(null, 'prev').onsuccess = (e) => {
      const cursor = e.target.result;
      done(cursor ? cursor.key : -1);
    };
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
      // Both reads are queued at once (one wait in the transaction, not two); the writes follow
      // the second answer. Still inside the transaction: no other writer can take these
      // positions or this version.
      let actualVersion;
      let lastPosition;
      const decide = () => {
        if (actualVersion === undefined || lastPosition === undefined) return;
        if (actualVersion !== expectedVersion) {
          result = { ok: false, actualVersion };
          return; // nothing written; the transaction completes empty
        }
        let position = lastPosition;
        for (const record of records) store.add({ payload: record.payload, position: ++position }, [aggregateId, record.version]);
        result = { ok: true };
      };
      this.#lastVersion(store, aggregateId, (v) => { actualVersion = v; decide(); });
      this.#lastPosition(store, (p) => { lastPosition = p; decide(); });
      // A failed add() bubbles its error here; left unhandled, it aborts the transaction.
      tx.onerror = (event) => {
        if (event.target?.error?.name === 'ConstraintError') raced = true;
      };
      tx.oncomplete = () => {
        if (result?.ok) this.#announce();
        resolve(result);
      };
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

  /** Tells the other writers' watchers that this one committed an append. */
  #announce() {
    try {
      this.#channel?.postMessage(1);
    } catch {
      // A closed channel (after close()) announces nothing; the append itself is committed.
    }
  }

  /** Closes the database connection and the channel; later calls reject. */
  close() {
    this.#closed = true;
    this.#db?.close();
    this.#db = undefined;
    this.#channel?.close();
    this.#watchers.clear();
  }
}

export { IndexedDbStorage };
