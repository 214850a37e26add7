// Route shapes: POST actions (v1/log, …) answered with the JSON envelope, an authenticated GET for
// polling (request/<id>), and public GET paths outside the JSON API (published roots, downloads).
import type { Readable } from 'node:stream';
import type { ServiceStatus } from '../core/errors.js';

export interface ActionContext {
  body: unknown;
  requestId: string;
  requestTime: string;
}

export interface ActionResult {
  status?: Extract<ServiceStatus, 'Success' | 'Accepted'>;
  summary?: string;
  /** Serialised with JSON.stringify, or written as is when it is a JsonText. */
  result: unknown;
}

export type ActionHandler = (ctx: ActionContext) => ActionResult | Promise<ActionResult>;

/** A plain HTTP answer, for paths outside the JSON API. A stream body is piped to the response. */
export interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer | string | Readable;
}

export interface Routes {
  /** POST /<version>/<action>, keyed "v1/log". */
  actions: Record<string, ActionHandler>;
  /** GET /request/<id>, authenticated; returns undefined when the id is unknown. */
  poll: (requestId: string) => ActionResult | undefined;
  /** Unauthenticated GETs (published roots, download files); undefined when not theirs. */
  publicGet: (path: string) => RawResponse | undefined;
}
