// createSyncHandler: the server side of sync, a fetch-style (Request) => Promise<Response> over
// any EventStore whose storage has a global log (FileStorage, PostgresStorage, ...).
//
// A push is checked whole by the core (syncParsePush: the protocol, limits, every event by the
// rules of appendEvents) and authorized whole before anything is written; then each batch is
// appended on its own, atomically, with its expected version. A batch after a failed one of the
// same aggregate is skipped (it was decided on the failed one). Retries after a lost answer
// write nothing twice: every event carries its eventId (the store's idempotent retries).
// A pull pages the global log and returns only events of aggregates the caller may read, with
// the position it read up to; with `wait` it is a long poll, answered when the log moves.
// Every refusal is a 4xx with a JSON body; nothing the request says can make a 5xx.
import { Readable } from 'node:stream';
import { describe, EventStoreError, invalid, messageOf } from '../core/errors.mjs';
import { internalsOf } from '../core/internals.mjs';
import { eventsJson } from '../sync/events-json.mjs';
import { RESERVED } from '../sync/layout.mjs';
import { PROTOCOL, ROUTES } from '../sync/protocol.mjs';

const DEFAULTS = Object.freeze({ maxBodyBytes: 1 << 20, maxBatches: 100, maxEvents: 1000, maxPullEvents: 1000, maxWaitMs: 30_000 });

/** The body of every refusal and failure: `{ protocol, error: { code, message, … } }`. */
function errorBody(code, message, extra) {
  return { protocol: PROTOCOL, error: { code, message, ...extra } };
}

const JSON_TYPE = 'application/json; charset=utf-8';

class Refused extends Error {
  constructor(status, code, message, extra) {
    super(message);
    this.status = status;
    this.body = errorBody(code, message, extra);
  }
}

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store' },
  });
}

/** The body as text, refusing it past `max` bytes (before reading, when it says its length). */
async function readBody(request, max) {
  const declared = Number(request.headers.get('content-length'));
  if (declared > max) throw new Refused(413, 'too-large', `a request body takes at most ${max} bytes`);
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      await reader.cancel().catch(() => {});
      throw new Refused(413, 'too-large', `a request body takes at most ${max} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Refused(400, 'malformed', 'the body is not UTF-8 text');
  }
}

function integerParameter(query, name, { min, max, fallback }) {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Refused(400, 'malformed', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return value;
}

export function createServerApi(core) {
  /**
   * The sync handler over `options.store`. `options.authorize({ request, aggregateId, access })`
   * (access 'read' or 'write') is asked for every aggregate a request touches and may return a
   * Promise; anything but `true` refuses. `options.limits` overrides DEFAULTS.
   */
  function createSyncHandler(options) {
    if (options === null || typeof options !== 'object') throw invalid(`createSyncHandler takes { store, authorize }, got ${describe(options)}`);
    const { store, authorize, limits: given = {} } = options;
    const internals = internalsOf(store);
    if (internals === undefined) throw invalid(`options.store must be an EventStore, got ${describe(store)}`);
    if (internals.noLog !== undefined) {
      throw new EventStoreError('UNSUPPORTED', `the sync handler needs a store whose storage has a global log: ${internals.noLog}`);
    }
    if (typeof authorize !== 'function') {
      throw invalid('options.authorize must be a function ({ request, aggregateId, access }) => boolean: a sync server is never open by default ' +
        '(return true for every call to make it so, knowingly)');
    }
    const limits = { ...DEFAULTS };
    for (const [name, value] of Object.entries(given ?? {})) {
      if (!(name in DEFAULTS)) throw invalid(`options.limits.${name} is not a limit; the limits are ${Object.keys(DEFAULTS).join(', ')}`);
      if (!Number.isSafeInteger(value) || value < 0) throw invalid(`options.limits.${name} must be a non-negative integer, got ${describe(value)}`);
      limits[name] = value;
    }

    /** Whether `authorize` allows it (cached per request and access). */
    const allowed = async (request, cache, aggregateId, access) => {
      const key = `${access}:${aggregateId}`;
      if (!cache.has(key)) cache.set(key, (await authorize({ request, aggregateId, access })) === true);
      return cache.get(key);
    };

    async function push(request) {
      const body = await readBody(request, limits.maxBodyBytes);
      const checked = JSON.parse(core.syncParsePush(body, limits.maxBatches, limits.maxEvents));
      if (checked.refusal !== undefined) {
        const { status, code, message, batches } = checked.refusal;
        throw new Refused(status, code, message, batches.length > 0 ? { batches } : undefined);
      }
      // The JSON the core checked, as the JS values appendEvents takes, checked again by its
      // rules for JS values (1e400 is JSON, but becomes Infinity, which no store takes): a
      // batch refused here is refused before anything is written, like any other.
      const unfaithful = [];
      checked.batches.forEach((batch, index) => {
        try {
          eventsJson(batch.events);
        } catch (error) {
          unfaithful.push([index, messageOf(error)]);
        }
      });
      if (unfaithful.length > 0) {
        throw new Refused(400, 'invalid', `batches[${unfaithful[0][0]}]: ${unfaithful[0][1]}`, { batches: unfaithful.map(([index]) => index) });
      }
      const cache = new Map();
      const refused = [];
      for (const { aggregateId } of checked.batches) {
        if (!refused.includes(aggregateId) && !(await allowed(request, cache, aggregateId, 'write'))) refused.push(aggregateId);
      }
      if (refused.length > 0) throw new Refused(403, 'forbidden', `this caller may not write ${refused.join(', ')}`, { aggregates: refused });
      const failed = new Set();
      const results = [];
      for (const { aggregateId, expectedVersion, events } of checked.batches) {
        if (failed.has(aggregateId)) {
          results.push({ status: 'skipped' });
          continue;
        }
        try {
          const version = await store.appendEvents(aggregateId, expectedVersion, events);
          results.push({ status: 'ok', version });
        } catch (error) {
          failed.add(aggregateId);
          if (error?.code !== 'CONFLICT') throw error; // the storage failed: a 503, and the client retries
          results.push({ status: 'conflict', actualVersion: error.actualVersion ?? -1 });
        }
      }
      return json(200, { protocol: PROTOCOL, results });
    }

    async function pull(request, query) {
      const protocol = query.get('protocol');
      if (protocol !== String(PROTOCOL)) {
        throw new Refused(400, 'protocol', `this server speaks sync protocol ${PROTOCOL}; the request says ${protocol === null ? 'nothing' : JSON.stringify(protocol.slice(0, 20))}`);
      }
      const after = integerParameter(query, 'after', { min: -1, max: Number.MAX_SAFE_INTEGER, fallback: -1 });
      // A page larger than this server gives is capped, not refused: clients ask for what they
      // would like, `more` tells them to go on.
      const limit = Math.min(integerParameter(query, 'limit', { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: limits.maxPullEvents }), limits.maxPullEvents);
      const wait = integerParameter(query, 'wait', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
      const deadline = Date.now() + Math.min(wait, limits.maxWaitMs);
      const cache = new Map();
      let listening;
      let dirty = false;
      let wake;
      try {
        for (;;) {
          const page = await store.loadAllEvents(after, { limit });
          if (page.length > 0 || Date.now() >= deadline || request.signal?.aborted) {
            const events = [];
            for (const event of page) {
              if (!event.aggregateId.startsWith(RESERVED) && (await allowed(request, cache, event.aggregateId, 'read'))) events.push(event);
            }
            const lastPosition = page.length > 0 ? page[page.length - 1].position : after;
            return json(200, { protocol: PROTOCOL, events, lastPosition, more: page.length === limit });
          }
          // A long poll: hear the log move (this process's appends, and the storage's watch()
          // for other processes), then read again; armed before the read above is repeated.
          if (listening === undefined) {
            listening = internals.feed.listen(() => {
              dirty = true;
              wake?.();
            });
            await listening.armed;
            continue; // an append between the read and the arming is seen now
          }
          if (!dirty) {
            await new Promise((resolve) => {
              const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
              request.signal?.addEventListener('abort', wake, { once: true });
            });
            wake = undefined;
          }
          dirty = false;
        }
      } finally {
        listening?.stop();
      }
    }

    return async function syncHandler(request) {
      try {
        const url = new URL(request.url);
        const route = url.pathname.replace(/\/+$/, '').split('/').pop();
        if (route === ROUTES.push) {
          if (request.method !== 'POST') throw new Refused(405, 'method', `${url.pathname} takes POST, not ${request.method}`);
          return await push(request);
        }
        if (route === ROUTES.pull) {
          if (request.method !== 'GET') throw new Refused(405, 'method', `${url.pathname} takes GET, not ${request.method}`);
          return await pull(request, url.searchParams);
        }
        throw new Refused(404, 'not-found', `no sync route at ${url.pathname}; the routes are .../${ROUTES.push} (POST) and .../${ROUTES.pull} (GET)`);
      } catch (error) {
        if (error instanceof Refused) return json(error.status, error.body);
        // The store or authorize() failed: the client keeps everything and tries again. The
        // message says which; the stack stays in the server.
        const unavailable = error instanceof EventStoreError && error.code !== 'INTERNAL';
        return json(unavailable ? 503 : 500, unavailable
          ? errorBody('unavailable', `the event store failed: ${messageOf(error)}`)
          : errorBody('internal', 'the sync handler failed'));
      }
    };
  }

  return { createSyncHandler, toNodeListener };
}

/** Answers a node:http request with an error body of its own (before the handler could). */
function sendError(res, status, code, message) {
  res.writeHead(status, { 'content-type': JSON_TYPE });
  res.end(JSON.stringify(errorBody(code, message)));
}

/**
 * A node:http request listener over a fetch-style handler: the request's body streams in (the
 * handler stops reading past its limit), the response goes out in one write (a sync handler's
 * answers are small), and a client that goes away aborts `request.signal` (a long poll ends).
 */
export function toNodeListener(handler) {
  if (typeof handler !== 'function') throw invalid(`toNodeListener takes a (Request) => Promise<Response> handler, got ${describe(handler)}`);
  return async (req, res) => {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      let url;
      try {
        url = new URL(req.url, `http://${req.headers.host ?? 'localhost'}`);
      } catch {
        sendError(res, 400, 'malformed', 'the request URL cannot be read');
        return;
      }
      let request;
      try {
        request = new Request(url, {
          method: req.method,
          headers,
          body: hasBody ? Readable.toWeb(req) : undefined,
          duplex: hasBody ? 'half' : undefined,
          signal: abort.signal,
        });
      } catch {
        // A method fetch's Request refuses (TRACE, CONNECT): not one of the routes' methods.
        sendError(res, 405, 'method', `${req.method} is not a method of the sync routes`);
        return;
      }
      const response = await handler(request);
      // The sync handler's answers are small JSON documents: one write, not a stream's chunks.
      const body = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, { ...Object.fromEntries(response.headers), 'content-length': body.length });
      res.end(body);
    } catch (error) {
      if (!res.headersSent) {
        sendError(res, 500, 'internal', 'the request could not be served');
      } else {
        res.destroy(error);
      }
    }
  };
}
