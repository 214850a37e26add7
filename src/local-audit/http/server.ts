// The HTTP front of the local audit service: authentication before any work, the JSON envelope on
// every answer, body size checks, and no stack trace ever sent to a client.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { readBody, parseJson } from './body.js';
import { JsonText } from './json-text.js';
import { BEARER_TOKEN } from '../core/bearer-token.js';
import { microTimestamp } from '../core/clock.js';
import { ServiceError, type ServiceStatus } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import { envelope, HTTP_CODES } from './envelope.js';
import type { ActionResult, Routes } from './router.js';

interface HttpOptions {
  token: string;
  maxBodyBytes: number;
  /**
   * Most bytes of request bodies buffered at once, across all requests: each may buffer up to
   * maxBodyBytes, and 300 unfinished 9.4 MB bodies took the process to 3 GB. A request that would
   * pass it is answered 503 with Retry-After before its body is read.
   */
  maxBodyBytesInFlight: number;
  /** Where unexpected errors are reported (never to the client). */
  onError: (err: unknown) => void;
}

const ACTION_PATH = /^\/(v\d+)\/([a-z_]+)\/?$/;
const POLL_PATH = /^\/request\/([A-Za-z0-9_-]{1,128})\/?$/;

/** Seconds a client refused for the in-flight body budget is told to wait. */
const BUSY_RETRY_AFTER_S = 1;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function createHttpServer(routes: Routes, options: HttpOptions): Server {
  if (!BEARER_TOKEN.test(options.token)) throw new Error('the bearer token must be one word of visible ASCII characters');
  const expected = digest(options.token);
  // The presented token is compared as sent: trimming it would let "Bearer" followed by a
  // non-ASCII space (which \s matches and HTTP does not strip) present the empty token.
  // Digests are compared so the comparison is constant-time whatever the presented token's length.
  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer[ \t]+(\S+)$/i.exec(header);
    return match !== null && BEARER_TOKEN.test(match[1]!) && timingSafeEqual(digest(match[1]!), expected);
  };

  // Bytes reserved by the bodies being read or handled now: the declared Content-Length, or for a
  // body of unstated length the most it may buffer. Released when the request's answer is done.
  let bodyBytesInFlight = 0;
  const reserveBody = (req: IncomingMessage): number => {
    const declared = Number(req.headers['content-length']);
    // A declared length above the limit is refused by readBody without reading: nothing to reserve.
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) return 0;
    const bytes = Number.isFinite(declared) && declared >= 0 ? declared : options.maxBodyBytes;
    if (bytes > 0 && bodyBytesInFlight + bytes > options.maxBodyBytesInFlight) {
      throw new ServiceError('ServiceNotAvailable', `too many request bodies are being received at once; retry in ${BUSY_RETRY_AFTER_S} s`);
    }
    bodyBytesInFlight += bytes;
    return bytes;
  };

  const send = (res: ServerResponse, requestId: string, requestTime: string, status: ServiceStatus, summary: string, result: unknown): void => {
    // Encoded once: the byte length and the bytes written come from the same pass.
    const body = Buffer.from(
      result instanceof JsonText
        ? // The envelope without its result (stringify drops undefined), closed around the text.
          `${JSON.stringify(envelope(requestId, requestTime, status, summary, undefined)).slice(0, -1)},"result":${result.text}}`
        : JSON.stringify(envelope(requestId, requestTime, status, summary, result)),
    );
    res.writeHead(HTTP_CODES[status], {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-request-id': requestId,
    });
    res.end(body);
  };

  const sendResult = (res: ServerResponse, requestId: string, requestTime: string, out: ActionResult): void => {
    const status = out.status ?? 'Success';
    send(res, requestId, requestTime, status, out.summary ?? (status === 'Accepted' ? 'Accepted' : 'Success'), out.result);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A poll answers about an earlier request: its envelope (errors included) carries that id.
    let requestId = randomId('prq_');
    const requestTime = microTimestamp();
    const path = (req.url ?? '/').split('?')[0]!;
    let reserved = 0;
    try {
      if (req.method === 'GET') {
        const raw = routes.publicGet(path);
        if (raw) {
          res.writeHead(raw.statusCode, { ...raw.headers, 'x-request-id': requestId });
          if (raw.body instanceof Readable) {
            // Written as fast as the client reads; a client that goes away closes the source.
            pipeline(raw.body, res, (err) => {
              if (err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') options.onError(err);
            });
          } else {
            res.end(raw.body);
          }
          return;
        }
      }
      if (!authorized(req)) {
        throw new ServiceError('Unauthorized', 'Not authorized to access this resource');
      }
      const poll = POLL_PATH.exec(path);
      if (poll) {
        if (req.method !== 'GET') throw new ServiceError('MethodNotAllowed', `use GET for ${path}`);
        requestId = poll[1]!;
        const out = routes.poll(poll[1]!);
        if (!out) throw new ServiceError('NotFound', `request ${poll[1]} was not found or has expired`);
        sendResult(res, poll[1]!, requestTime, out);
        return;
      }
      const action = ACTION_PATH.exec(path);
      const handler = action ? routes.actions[`${action[1]}/${action[2]}`] : undefined;
      if (!handler) throw new ServiceError('NotFound', `no such endpoint: ${req.method} ${path}`);
      if (req.method !== 'POST') throw new ServiceError('MethodNotAllowed', `use POST for ${path}`);
      // The body is read as JSON whatever its stated type, as the vendor's clients expect: its
      // Python SDK 3.x posts JSON with no content type (requests) or as text/plain (aiohttp). A caller
      // must still present the bearer token, which no cross-site form or simple request can send.
      reserved = reserveBody(req);
      let raw: Buffer;
      try {
        raw = await readBody(req, options.maxBodyBytes);
      } catch (err) {
        if (err instanceof ServiceError) throw err;
        // The client went away (or broke the stream) mid-body: no one to answer, nothing unexpected.
        res.destroy();
        return;
      }
      const body = parseJson(raw);
      sendResult(res, requestId, requestTime, await handler({ body, requestId, requestTime }));
    } catch (err) {
      if (err instanceof ServiceError) {
        if (!req.complete) {
          // A body given up on half-way (too large while streaming) or never read (the in-flight
          // budget) would stall the connection until the request timeout, holding up close() and,
          // drained, cost the reading it was refused to spare. Answer, then close the connection.
          // Otherwise drain what is left so the connection can be reused.
          if (err.status === 'PayloadTooLarge' || err.status === 'ServiceNotAvailable' || req.destroyed) res.setHeader('connection', 'close');
          else req.resume();
        }
        if (err.status === 'ServiceNotAvailable') res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
        send(res, requestId, requestTime, err.status, err.summary, err.result ?? {});
        return;
      }
      options.onError(err);
      if (!res.headersSent) send(res, requestId, requestTime, 'InternalError', 'An internal error occurred; see the service log', {});
      else res.destroy();
    } finally {
      bodyBytesInFlight -= reserved;
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 120_000;
  return server;
}
