// HttpRemote: a Replica's remote over HTTP with fetch (browsers, workers, Node 20), speaking the
// JSON protocol of the sync handler (README, "Sync protocol").
//
// The remote contract a Replica uses (another transport can implement it):
// - push(requestJson) resolves to { status, body }: the HTTP status and the parsed JSON body;
// - pull(after, { limit, wait, signal }) resolves to { events, lastPosition, more }.
// Both reject with an EventStoreError with code 'NETWORK' when the server cannot be reached or
// answers that it cannot serve (5xx, a body that is not the protocol's); a pull aborted through
// `signal` rejects with the AbortError.
import { describe, EventStoreError, invalid, messageOf } from '../core/errors.mjs';
import { PROTOCOL, ROUTES } from './protocol.mjs';

function network(message, cause) {
  return new EventStoreError('NETWORK', message, cause === undefined ? undefined : { cause });
}

export class HttpRemote {
  #base;
  #headers;
  #fetch;

  /**
   * `url`: where the sync handler is mounted (its routes are `${url}/push` and `${url}/pull`);
   * `options.headers`: an object, or a (possibly async) function returning one, sent with every
   * request (authorization); `options.fetch`: the fetch to use (default: the global one).
   */
  constructor(url, options = {}) {
    let base;
    try {
      base = new URL(url, globalThis.location?.href);
    } catch (error) {
      throw invalid(`url must be an absolute URL (or a path, in a page) of the sync handler, got ${describe(url)}`, error);
    }
    this.#base = base.href.replace(/\/+$/, '');
    const { headers, fetch: fetchFunction } = options ?? {};
    if (headers !== undefined && typeof headers !== 'function' && (headers === null || typeof headers !== 'object')) {
      throw invalid(`options.headers must be an object or a function returning one, got ${describe(headers)}`);
    }
    if (fetchFunction !== undefined && typeof fetchFunction !== 'function') throw invalid(`options.fetch must be a function, got ${describe(fetchFunction)}`);
    this.#headers = headers;
    this.#fetch = fetchFunction ?? ((...args) => globalThis.fetch(...args));
  }

  async push(requestJson) {
    const response = await this.#send(`${this.#base}/${ROUTES.push}`, { method: 'POST', body: requestJson });
    if (response.status === 413 && !(response.headers.get('content-type') ?? '').includes('json')) {
      // A proxy in front of the server refused the body (nginx's default is 1 MiB): too large,
      // whoever said it.
      await response.body?.cancel().catch(() => {});
      return { status: 413, body: { protocol: PROTOCOL, error: { code: 'too-large', message: 'a proxy refused the request as too large (413)' } } };
    }
    return { status: response.status, body: await this.#body(response) };
  }

  async pull(after, { limit = 1000, wait, signal } = {}) {
    const query = new URLSearchParams({ protocol: String(PROTOCOL), after: String(after), limit: String(limit) });
    if (wait !== undefined) query.set('wait', String(wait));
    const response = await this.#send(`${this.#base}/${ROUTES.pull}?${query}`, { method: 'GET', signal });
    const body = await this.#body(response, signal);
    if (response.status !== 200) {
      throw network(`the sync server refused a pull (${response.status}): ${messageOf(body?.error?.message ?? 'no reason given')}`);
    }
    if (!Array.isArray(body?.events) || !Number.isSafeInteger(body.lastPosition)) {
      throw network('the sync server answered a pull with a body that is not a page of events');
    }
    return { events: body.events, lastPosition: body.lastPosition, more: body.more === true };
  }

  async #send(url, init) {
    let headers;
    try {
      headers = typeof this.#headers === 'function' ? await this.#headers() : this.#headers;
    } catch (error) {
      throw network(`options.headers() failed: ${messageOf(error)}`, error);
    }
    let response;
    try {
      response = await this.#fetch(url, {
        ...init,
        headers: { ...headers, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        cache: 'no-store',
      });
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      throw network(`cannot reach the sync server at ${url}: ${messageOf(error)}`, error);
    }
    if (response.status >= 500) {
      await response.body?.cancel().catch(() => {});
      throw network(`the sync server answered ${response.status} ${response.statusText} (${url})`);
    }
    return response;
  }

  async #body(response) {
    let body;
    try {
      body = await response.json();
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      throw network(`the sync server's answer (${response.status}) is not JSON: ${messageOf(error)}`, error);
    }
    if (body?.protocol !== PROTOCOL) {
      throw network(`the sync server speaks sync protocol ${describe(body?.protocol)}, this client ${PROTOCOL}`);
    }
    return body;
  }
}
