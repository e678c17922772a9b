import type { EventStore, EventShape } from './index';

export interface SyncAuthorization {
  /** The request being served (its headers carry the caller's credentials). */
  request: Request;
  aggregateId: string;
  access: 'read' | 'write';
}

export interface SyncLimits {
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** Batches in one push; default 100. */
  maxBatches?: number;
  /** Events in one push; default 1,000. */
  maxEvents?: number;
  /** Events in one pull page; default 1,000. */
  maxPullEvents?: number;
  /** The longest a long-polling pull waits; default 30,000 ms. */
  maxWaitMs?: number;
}

export interface SyncHandlerOptions {
  /** A store whose storage has the global log (FileStorage, PostgresStorage, memory). */
  store: EventStore<any>;
  /** Asked for every aggregate a request reads or writes; anything but `true` refuses. Required. */
  authorize: (args: SyncAuthorization) => boolean | Promise<boolean>;
  limits?: SyncLimits;
}

/** A fetch-style handler of the sync protocol (routes …/push and …/pull). */
export type SyncHandler = (request: Request) => Promise<Response>;

export function createSyncHandler(options: SyncHandlerOptions): SyncHandler;

/** A node:http request listener over a fetch-style handler. */
export function toNodeListener(handler: SyncHandler): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void>;

export type { EventShape };
