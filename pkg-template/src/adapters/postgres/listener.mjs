// The LISTEN side of PostgresStorage.watch(): one dedicated connection per storage (never one of
// the user's pool connections, which it would hold for ever), made from the pool's own settings
// (`new pool.Client(pool.options)`), LISTENing on the storage's channel. When it drops (a server
// restart, pg_terminate_backend, a network cut) it is made again, with a growing pause; once it
// listens again every watcher is told to read again, so that what was appended while it was gone
// is not missed (a subscription then re-reads from its last position).
const RETRY_MS = [50, 100, 250, 500, 1000, 2000];

export class Listener {
  #makeClient;
  #channel;
  #watchers = new Set();
  #client;
  // Which connection attempt is current: closing or disconnecting makes one in flight stale.
  #generation = 0;
  // Settles when the connection listens (the first time: watch() waits for it).
  #connecting;
  #closed = false;
  #failures = 0;
  #timer;

  constructor(makeClient, channel) {
    this.#makeClient = makeClient;
    this.#channel = channel;
  }

  /** Adds `onChange`; resolves to the function that removes it once the connection listens. */
  async watch(onChange) {
    const watcher = () => onChange();
    this.#watchers.add(watcher);
    try {
      await this.#listening();
    } catch (error) {
      this.#watchers.delete(watcher);
      throw error;
    }
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) this.#disconnect();
    };
  }

  #notify() {
    for (const watcher of this.#watchers) {
      try {
        watcher();
      } catch (error) {
        // One watcher's throw must not skip the others, nor throw inside pg's socket handler.
        queueMicrotask(() => { throw error; });
      }
    }
  }

  #listening() {
    if (this.#closed) return Promise.reject(new Error('the PostgresStorage is closed'));
    this.#connecting ??= this.#connect().catch((error) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #connect() {
    const generation = this.#generation;
    const client = this.#makeClient();
    // An 'error' without a listener would crash the process; a dropped connection is expected.
    client.on('error', () => {});
    client.on('notification', () => this.#notify());
    client.on('end', () => this.#dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.end().catch(() => {});
      throw error;
    }
    if (generation !== this.#generation || this.#closed || this.#watchers.size === 0) {
      // Closed (or everyone left) while connecting: this connection is nobody's.
      client.removeAllListeners('end');
      client.end().catch(() => {});
      if (this.#closed) throw new Error('the PostgresStorage was closed');
      return;
    }
    this.#client = client;
    this.#failures = 0;
  }

  /** The connection ended: make it again if anyone still watches. */
  #dropped(client) {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#connecting = undefined;
    if (this.#closed || this.#watchers.size === 0) return;
    this.#reconnect();
  }

  #reconnect() {
    const pause = RETRY_MS[Math.min(this.#failures, RETRY_MS.length - 1)];
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || this.#watchers.size === 0) return;
      this.#listening().then(
        () => this.#notify(), // appends made while it was gone: read again
        () => {
          this.#failures++;
          this.#reconnect();
        },
      );
    }, pause);
    // Not unref'd: a process that only subscribes must stay alive while its connection comes back.
  }

  #disconnect() {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#connecting = undefined;
    client?.end().catch(() => {});
  }

  /** Ends the connection for good. */
  close() {
    this.#closed = true;
    this.#watchers.clear();
    this.#disconnect();
  }
}
