// GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the GraphQL path, for
// subscriptions (live tail) and any other operation. Every operation runs through yoga's envelop:
// the same protection plugins (tokens, depth, aliases, directives), masking, complexity and
// context as over HTTP. An operation refused before it runs (a limit, a parse or validation error,
// a context that cannot be built) gets an `error` message of its own, and the socket's other
// operations go on. Callers authenticate as over HTTP, from the upgrade request's Authorization
// header or, for browsers (which cannot set headers on a WebSocket), from
// `connectionParams.authorization`; a connection without valid credentials is closed (4403) before
// any operation. A socket is authenticated once, so when its credential expires (a JWT's `exp`)
// every operation still open on it gets an UNAUTHENTICATED `error` (the client's sink.error: a
// live tail is resumed with `after:`), then the socket is closed (4403). A browser upgrade is
// refused unless its origin is accepted (server.ts: loopback, the public URL's or CORS_ORIGINS): a
// WebSocket is not covered by CORS, so this check stands in for it. Without caller
// authentication, an upgrade addressed to a foreign Host is refused as any request is (server.ts,
// hostCheck: DNS rebinding).
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GraphQLError, OperationTypeNode, getOperationAST, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, MessageType, stringifyMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { maskError } from 'graphql-yoga';
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
  /** Where an unexpected error (masked for the client) is reported; unset: stderr. */
  logError?: ((err: unknown) => void) | undefined;
}

export interface GraphQLWebSocket {
  /** Closes every connection (1001, going away); their subscriptions end. */
  close(): Promise<void>;
}

type Authentication = { caller: Caller } | { failure: unknown };

interface Operation {
  /** The signal of the operation's request: aborted when it ends or the socket closes. */
  controller: AbortController;
  /** Its type, once its document is parsed: what it is told when the credential expires. */
  type: OperationTypeNode | undefined;
}

interface Connection {
  headers: Record<string, string>;
  authentication: Authentication | undefined;
  /**
   * The operations the client has not been sent their last message (error or complete) for:
   * added on subscribe, removed in the hooks graphql-ws runs just before it sends that message.
   */
  operations: Map<string, Operation>;
  /** Cancels the close at the credential's expiry. */
  cancelExpiry: () => void;
  /** The credential's expiry has been acted on (errors sent, socket closed). */
  expired: boolean;
}

const EXPIRED = 'Forbidden: the credential has expired';

/**
 * What each operation still open is told when the credential expires. A live tail's is the one it
 * ends with over SSE (live-tail.ts); a mutation cut short may have been stored all the same.
 */
function expiredError(type: OperationTypeNode | undefined): GraphQLError {
  const message =
    type === OperationTypeNode.SUBSCRIPTION
      ? 'not authenticated: the credential has expired; subscribe again with a new one and after: set to the last cursor received'
      : type === OperationTypeNode.MUTATION
        ? 'not authenticated: the credential expired before the mutation finished: whether it took effect is unknown, so do not send it again blindly'
        : 'not authenticated: the credential expired before the operation finished; send it again with a new one';
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
}

export function attachGraphQLWebSocket(server: Server, options: WebSocketOptions): GraphQLWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const connections = new WeakMap<WebSocket, Connection>();
  const logError = options.logError ?? ((err: unknown) => console.error('[gateway] unexpected error over a WebSocket:', err));

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
      const created: Connection = { headers: {}, authentication: undefined, operations: new Map(), cancelExpiry: () => {}, expired: false };
      connections.set(socket, created);
      socket.once('close', () => {
        created.cancelExpiry();
        for (const operation of created.operations.values()) operation.controller.abort();
        created.operations.clear();
      });
      connection = created;
    }
    return connection;
  };

  /** The operation is over: its request's work stops (the live tail's watcher, upstream calls). */
  const end = (connection: Connection, id: string, operation = connection.operations.get(id)): void => {
    if (!operation) return;
    if (connection.operations.get(id) === operation) connection.operations.delete(id);
    operation.controller.abort();
  };

  /**
   * The credential has expired: every open operation gets an UNAUTHENTICATED error, then the
   * socket is closed, in one synchronous step. graphql-ws sends nothing once the socket is
   * closing, so no operation gets a message after its error, nor a second one. This runs only at
   * the start of a task (the expiry timer, a subscribe message), never inside graphql-ws's own
   * promise chains: the last message of an operation is sent a few microtasks after the hook that
   * takes it out of `operations`, so at that point every operation is either ended or listed, and
   * each open one is told exactly once.
   *
   * The close code stays 4403 (Forbidden), which the graphql-ws client retries, reconnecting with
   * its connectionParams (a function can give a fresh token there): every operation has had its
   * error, so a retry resubscribes none of them behind the application's back; it carries only
   * what the application sent after, such as the live tail it subscribes again with `after:` from
   * its sink's error handler while this socket was closing. A code the client takes as fatal (4401,
   * 4500, 1002…) would fail that new subscription too and stop a non-lazy client for good.
   */
  const expire = (socket: WebSocket, connection: Connection): void => {
    if (connection.expired) return;
    connection.expired = true;
    connection.cancelExpiry();
    const open = [...connection.operations];
    connection.operations.clear();
    if (socket.readyState === socket.OPEN) {
      for (const [id, operation] of open) {
        socket.send(stringifyMessage({ id, type: MessageType.Error, payload: [expiredError(operation.type).toJSON()] }));
      }
      socket.close(CloseCode.Forbidden, EXPIRED);
    }
    for (const [, operation] of open) operation.controller.abort();
  };

  const credentialExpired = (connection: Connection): boolean => {
    const authentication = connection.authentication;
    return authentication !== undefined && 'caller' in authentication && hasExpired(authentication.caller);
  };

  /**
   * What an operation that fails before it runs is answered, as yoga answers it over HTTP: a
   * GraphQL error as it is (graphql-armor's depth, alias and directive limits throw theirs from
   * validation), anything else masked ("Unexpected error.") and logged.
   */
  const refusal = (err: unknown): GraphQLError => {
    const masked = maskError(err, 'Unexpected error.');
    if (masked !== err) logError(err);
    return masked instanceof GraphQLError ? masked : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };

  /**
   * An executor that throws (or rejects) answers its operation with the masked error, instead of
   * throwing out of graphql-ws's message handler, which closes the whole socket (4500). Envelop's
   * executors may return a thenable that is no native Promise.
   */
  const settled = (run: () => unknown): unknown => {
    const failed = (err: unknown): unknown => ({ errors: [refusal(err)] });
    try {
      const result = run();
      return typeof (result as PromiseLike<unknown> | undefined)?.then === 'function' ? Promise.resolve(result).catch(failed) : result;
    } catch (err) {
      return failed(err);
    }
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
          if (socket.readyState === socket.OPEN) connection.cancelExpiry = whenExpired(caller, () => expire(socket, connection));
          return true;
        } catch (failure) {
          connection.authentication = { failure };
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        const connection = connectionOf(socket);
        const operation: Operation = { controller: new AbortController(), type: undefined };
        connection.operations.set(id, operation);
        // The expiry timer may not have fired yet. This operation is told with the others; what
        // graphql-ws sends for it after that is dropped, the socket being closed.
        if (credentialExpired(connection)) {
          expire(socket, connection);
          return [expiredError(undefined)];
        }
        // Every way out before the operation runs ends it here: graphql-ws calls no hook when it
        // drops errors for an operation the client completed meanwhile.
        try {
          const request = options.toRequest(urlOf(ctx.extra.request), connection.headers, operation.controller.signal);
          const enveloped = options.getEnveloped({ request, authentication: connection.authentication, req: ctx.extra.request, params: payload });
          const document = enveloped.parse(payload.query);
          operation.type = getOperationAST(document, payload.operationName)?.operation;
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) {
            end(connection, id, operation);
            return errors;
          }
          const contextValue = await enveloped.contextFactory();
          // Ended while its context was built (the credential expired, the socket closed): the
          // client has been told, or is gone; nothing is to run.
          if (operation.controller.signal.aborted) return [expiredError(operation.type)];
          return { schema: enveloped.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue, rootValue: enveloped };
        } catch (err) {
          end(connection, id, operation);
          return [refusal(err)];
        }
      },
      execute: (args) => settled(() => (args.rootValue as Enveloped).execute(args)) as never,
      subscribe: (args) => settled(() => (args.rootValue as Enveloped).subscribe(args)) as never,
      onError: (ctx, id) => end(connectionOf(ctx.extra.socket), id),
      onComplete: (ctx, id) => end(connectionOf(ctx.extra.socket), id),
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
