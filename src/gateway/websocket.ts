// GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the GraphQL path, for
// subscriptions (live tail) and any other operation. Every operation runs through yoga's envelop:
// the same protection plugins (tokens, depth, aliases, directives), masking, complexity and
// context as over HTTP. Callers authenticate as over HTTP, from the upgrade request's
// Authorization header or, for browsers (which cannot set headers on a WebSocket), from
// `connectionParams.authorization`; a connection without valid credentials is closed (4403) before
// any operation. A socket is authenticated once, so one whose credential expires (a JWT's `exp`)
// is closed (4403) then, its operations with it. A browser upgrade is refused unless its origin is
// accepted (server.ts: loopback, the public URL's or CORS_ORIGINS): a WebSocket is not covered by
// CORS, so this check stands in for it. Without caller authentication, an upgrade addressed to a
// foreign Host is refused as any request is (server.ts, hostCheck: DNS rebinding).
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs, type GraphQLSchema, type DocumentNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { hasExpired, whenExpired, type Caller } from '../auth/caller.js';

/** What yoga's getEnveloped gives for one operation (the parts used here). */
interface Enveloped {
  schema: GraphQLSchema;
  parse(source: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
  contextFactory(): unknown;
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

export interface WebSocketOptions {
  /** The GraphQL path; upgrades elsewhere are refused. */
  path: string;
  /** Whether a browser page of this origin (its Origin header) may open a socket. */
  acceptsOrigin(origin: string): boolean;
  /** Whether an upgrade addressed to this Host is served (the HTTP requests' check); unset: any. */
  acceptsHost?: ((host: string | undefined) => boolean) | undefined;
  /** The HTTP path's caller authentication; unset: everyone is the local caller. */
  authenticate?: ((request: Request) => Caller | Promise<Caller>) | undefined;
  /** A fetch Request for an operation (what the context builder and yoga's plugins read: headers, signal, method). */
  toRequest(url: string, headers: Record<string, string>, signal: AbortSignal): Request;
  /** yoga.getEnveloped: the plugins' parse, validate, context and executors for one operation. */
  getEnveloped(initialContext: Record<string, unknown>): Enveloped;
}

export interface GraphQLWebSocket {
  /** Closes every connection (1001, going away); their subscriptions end. */
  close(): Promise<void>;
}

type Authentication = { caller: Caller } | { failure: unknown };

interface Connection {
  headers: Record<string, string>;
  authentication: Authentication | undefined;
  /** One per running operation: aborted when it completes or the socket closes. */
  operations: Map<string, AbortController>;
  /** Cancels the close at the credential's expiry. */
  cancelExpiry: () => void;
}

const EXPIRED = 'Forbidden: the credential has expired';

export function attachGraphQLWebSocket(server: Server, options: WebSocketOptions): GraphQLWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const connections = new WeakMap<WebSocket, Connection>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops listening for the socket's errors when it hands it over here: a client that resets
    // the connection before the answer is written would otherwise throw out of the process.
    const destroy = (): void => void socket.destroy();
    socket.on('error', destroy);
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return servePlainRequest(server, req, socket);
    const path = (req.url ?? '/').split('?')[0];
    if (path !== options.path) return refuse(socket, 404, 'Not Found');
    if (options.acceptsHost && !options.acceptsHost(req.headers.host)) return refuse(socket, 421, 'Misdirected Request');
    const origin = req.headers.origin;
    if (origin !== undefined && !options.acceptsOrigin(origin)) return refuse(socket, 403, 'Forbidden');
    // ws listens for the socket's errors from here on.
    socket.off('error', destroy);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const connectionOf = (socket: WebSocket): Connection => {
    let connection = connections.get(socket);
    if (!connection) {
      connection = { headers: {}, authentication: undefined, operations: new Map(), cancelExpiry: () => {} };
      connections.set(socket, connection);
      socket.once('close', () => {
        connection!.cancelExpiry();
        for (const controller of connection!.operations.values()) controller.abort();
      });
    }
    return connection;
  };

  const disposable = useServer(
    {
      onConnect: async (ctx) => {
        const connection = connectionOf(ctx.extra.socket);
        connection.headers = headersOf(ctx.extra.request, ctx.connectionParams);
        if (!options.authenticate) return true;
        try {
          const caller = await options.authenticate(options.toRequest(urlOf(ctx.extra.request), connection.headers, AbortSignal.timeout(10_000)));
          connection.authentication = { caller };
          // Not for a socket closed while it authenticated: its close has already run.
          const socket = ctx.extra.socket;
          if (socket.readyState === socket.OPEN) connection.cancelExpiry = whenExpired(caller, () => socket.close(CloseCode.Forbidden, EXPIRED));
          return true;
        } catch (failure) {
          connection.authentication = { failure };
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const connection = connectionOf(ctx.extra.socket);
        // The close at expiry is a timer, which may not have fired yet.
        if (connection.authentication && 'caller' in connection.authentication && hasExpired(connection.authentication.caller)) {
          ctx.extra.socket.close(CloseCode.Forbidden, EXPIRED);
          return [new GraphQLError(EXPIRED, { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        const controller = new AbortController();
        connection.operations.set(id, controller);
        const request = options.toRequest(urlOf(ctx.extra.request), connection.headers, controller.signal);
        const enveloped = options.getEnveloped({ request, authentication: connection.authentication, req: ctx.extra.request, params: payload });
        let document: DocumentNode;
        try {
          document = enveloped.parse(payload.query);
        } catch (err) {
          return [err as GraphQLError];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        return {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onComplete: (ctx, id) => {
        const connection = connectionOf(ctx.extra.socket);
        connection.operations.get(id)?.abort();
        connection.operations.delete(id);
      },
    },
    wss,
  );

  return {
    async close() {
      await disposable.dispose();
    },
  };
}

/** The upgrade request's headers, with connectionParams.authorization when it carries none. */
function headersOf(req: IncomingMessage, params: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.join(', ');
  }
  const fromParams = params?.authorization ?? params?.Authorization;
  if (headers.authorization === undefined && typeof fromParams === 'string') headers.authorization = fromParams;
  return headers;
}

function urlOf(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
}

/** Answers and closes: the socket is no longer the HTTP server's, which would otherwise close it. */
function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
}

/**
 * A request that offers some other protocol (`Upgrade: h2c`, from curl --http2 or Java's
 * HttpClient) is a plain HTTP request all the same, and the offer may be ignored. Node 20's
 * server sends every request with an Upgrade header here once 'upgrade' is listened for (newer
 * versions let createServer's shouldUpgradeCallback keep them), without a response and with the
 * body, if any, left unparsed on the socket. So one without a body goes to the request handler
 * on a response of its own, on a connection that closes after it; one with a body is refused
 * (501) rather than served as if it had none.
 */
function servePlainRequest(server: Server, req: IncomingMessage, socket: Duplex): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => socket.end(() => socket.destroy()));
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  if (!hasBody) {
    server.emit('request', req, res);
    return;
  }
  const text = 'a request with a body cannot offer a protocol upgrade here: send it without the Upgrade header\n';
  res.writeHead(501, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
