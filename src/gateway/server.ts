// The gateway's HTTP server: yoga (GraphQL over HTTP, GraphiQL from local assets) behind a body
// size limit, plus /health and /ready. Each request gets a fresh context (caller, loaders, signal).
// Callers are authenticated on their headers before anything else: a refused request's body is
// never read, parsed or validated. Cross-origin browser access is closed unless origins are listed.
// Without caller authentication, only requests addressed to a trusted host name are served (DNS
// rebinding, see hostCheck).
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createGraphQLError, createYoga, maskError, type CORSOptions, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { DocumentNode, ParseOptions, Source } from 'graphql';
import { AbortSource, type AuditClient, type EventSigner } from '../audit-client/index.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { CursorCodec } from '../graphql/cursor.js';
import { complexityLimit } from '../graphql/complexity.js';
import { createLoaders } from '../graphql/loaders.js';
import { getSchema } from '../graphql/schema.js';
import type { IntegrityWatch } from '../trust/integrity-status.js';
import type { UpstreamState } from '../graphql/upstream-state.js';
import { LOCAL_CALLER, type Caller } from '../auth/caller.js';
import { isLoopback } from '../config.js';
import { BodyTooLargeError, readBoundedBody } from '../node-http/bounded-body.js';
import { compiledExecution } from './jit.js';
import { scopeCacheRelease } from './scope-cache-release.js';
import { validationCache } from './validation-cache.js';
import { createDownloads, DOWNLOADS_PREFIX, listenerOrigin, type Downloads } from './download-route.js';
import { observationPlugin, observeRequest, type RequestObservation } from './access-log.js';
import type { GatewayMetrics } from './metrics.js';
import { createGraphiQLPage, renderGraphiQL } from './graphiql.js';
import { documentCache } from './document-cache.js';
import { operationSpans, withRequestSpan } from './otel.js';
import { attachGraphQLWebSocket, type GraphQLWebSocket } from './websocket.js';

interface GatewayOptions {
  client: AuditClient;
  upstream: UpstreamState;
  cursors: CursorCodec;
  signer?: EventSigner | undefined;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Serve GraphiQL at GET /graphql (default true). */
  graphiql?: boolean;
  /**
   * Resolves the caller of a request; default: everyone is the local all-scopes caller. Throwing
   * a GraphQLError with extensions.http.status 401 answers the request with that status.
   */
  authenticate?: (req: Request) => Caller | Promise<Caller>;
  /**
   * The client and upstream state for a caller: pass-through callers get a client with their own
   * token and their own root cache (their token may belong to another project's tree).
   */
  clientFor?: (caller: Caller) => { client: AuditClient; upstream: UpstreamState };
  /** Yoga/envelop plugins in front of execution (limits, CSRF prevention, introspection). */
  plugins?: Plugin[];
  /** Readiness: can the upstream be reached? */
  ready?: () => Promise<{ ok: boolean; detail: string }>;
  /** Where unexpected errors are logged (they are masked for clients). */
  logError?: (err: unknown) => void;
  /** The integrity monitor, for Query.integrity. */
  integrity?: IntegrityWatch | undefined;
  /** Browser origins allowed cross-origin access (exact, as sent in Origin); default none. */
  corsOrigins?: readonly string[];
  /**
   * Host names (ALLOWED_HOSTS, lower case, no port) requests may be addressed to besides loopback
   * names and the public URL's host, when callers are not authenticated (see hostCheck).
   */
  allowedHosts?: readonly string[];
  /** Milliseconds between a live-tail watcher's polls. */
  liveTailIntervalMs?: number | undefined;
  /** GET /downloads/<token> and the URLs and job ownership resolvers use (download-route.ts). */
  downloads?: Downloads;
  /** Counted and served at GET /metrics (metrics.ts). */
  metrics?: GatewayMetrics | undefined;
  /** The bearer token GET /metrics asks for; unset: none asked. */
  metricsToken?: string | undefined;
  /** Receives one JSON line per request (access-log.ts); unset: no access log. */
  accessLog?: ((line: string) => void) | undefined;
  /** A span per GraphQL request (otel.ts): set when tracing is on. */
  traced?: boolean;
  /** GraphQL over WebSocket on the GraphQL path (websocket.ts); default true. */
  webSocket?: boolean;
}

/** Concurrent upstream calls one GraphQL request may make (roots for a 1000-event page, plus a few). */
const MAX_UPSTREAM_CALLS_PER_REQUEST = 2 * 1000 + 64;

/**
 * What the HTTP handler settled about a request before yoga sees it, kept by the request itself:
 * yoga's server adapter copies a server context into a new object for every request, property by
 * property with their descriptors (about 20 µs a request), and skips that for a request handed
 * over without one. Requests that reach yoga another way get an empty state on first use.
 */
interface RequestState {
  /** Settled from the headers before the body is read (handleRequest), or else before parsing (authenticateFirst). */
  authentication?: Authentication | undefined;
  /** Present when requests are observed (metrics or access log). */
  observation?: RequestObservation;
}

const requestStates = new WeakMap<Request, RequestState>();

function stateOf(request: Request): RequestState {
  let state = requestStates.get(request);
  if (!state) {
    state = {};
    requestStates.set(request, state);
  }
  return state;
}

/** GraphQL over WebSocket passes its connection's authentication in the initial context. */
interface ServerContext {
  authentication?: Authentication | undefined;
}

type Authentication = { caller: Caller } | { failure: unknown };

export interface Gateway {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  server: Server;
  /** GraphQL over WebSocket, unless turned off. */
  webSocket: GraphQLWebSocket | undefined;
}

export function createGateway(given: GatewayOptions): Gateway {
  // Without configured downloads: per-process links under the listener's own address.
  const downloads = given.downloads ?? createDownloads({ client: given.client, publicUrl: () => listenerOrigin(server), authenticate: given.authenticate, logError: given.logError });
  const options = { ...given, downloads };
  const yoga = createGraphQLHandler(options);
  // The public URL (PUBLIC_URL, else the listener's address) is the one download and poll URLs
  // are made under: read back from a poll URL when needed, since it is known only once listening.
  const publicOrigin = (): string | undefined => {
    try {
      return new URL(downloads.urls.poll('')).origin;
    } catch {
      return undefined;
    }
  };
  const acceptsHost = options.authenticate ? undefined : hostCheck(options.allowedHosts ?? [], publicOrigin);
  const handle = handleRequest(yoga, options, acceptsHost);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => answerInternalError(res, err, options.logError));
  });
  const webSocket =
    options.webSocket === false
      ? undefined
      : attachGraphQLWebSocket(server, {
          path: '/graphql',
          acceptsHost,
          acceptsOrigin: originCheck(options.corsOrigins ?? [], publicOrigin),
          authenticate: options.authenticate,
          // As a POST: an operation over a WebSocket is no GET, and yoga's plugins read the method
          // (a mutation "via GET" is refused on parse). The HTTP-only plugins that also read it
          // (CSRF prevention, persisted operations' parameters) run on request and params, which
          // the WebSocket path does not run.
          toRequest: (url, headers, signal) => new yoga.fetchAPI.Request(url, { method: 'POST', headers, signal }),
          getEnveloped: (initial) => yoga.getEnveloped(initial as never),
          ...(options.logError ? { logError: options.logError } : {}),
        });
  return { yoga, server, webSocket };
}

type Yoga = Gateway['yoga'];

/** Yoga over the schema: protections, masked errors and a context per request. */
function createGraphQLHandler(options: GatewayOptions): Yoga {
  return createYoga<ServerContext, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    graphiql: options.graphiql === false ? false : GRAPHIQL_OPTIONS,
    renderGraphiQL,
    landingPage: false,
    batching: false,
    // No field takes a file: a multipart body is refused (415), not parsed, and no multipart
    // parser hook runs on every request.
    multipart: false,
    cors: corsFor(options.corsOrigins ?? []),
    // The body reaches yoga already read under MAX_BODY_BYTES (handleRequest); yoga's own limit
    // would pipe that string back through a web TransformStream on every request just to count it.
    maxRequestBodySize: false,
    // Validation results are kept by validationCache() (validation-cache.ts), in yoga's place.
    parserAndValidationCache: { documentCache: documentCache(), errorCache: documentCache(), validationCache: false },
    // The two guards wrap what yoga and the protection plugins install: the request parser (set
    // by yoga's own plugins, which run first) and the parse function (set by the token limit).
    plugins: [
      validationCache(),
      malformedParamsAreBadRequests,
      ...(options.authenticate ? [authenticateFirst(options.authenticate)] : []),
      ...(options.plugins ?? []),
      deepDocumentsAreSyntaxErrors,
      complexityLimit(),
      compiledExecution(),
      scopeCacheRelease,
      ...(options.metrics || options.accessLog ? [observationPlugin((request) => requestStates.get(request)?.observation)] : []),
      ...(options.traced ? [operationSpans] : []),
    ],
    maskedErrors: {
      // Unexpected errors reach the log in full and the client as "Unexpected error.".
      maskError: (error, message, isDev) => {
        const masked = maskError(error, message, isDev);
        if (masked !== error) options.logError?.(error);
        return masked;
      },
    },
    // Synchronous: a promise here would put every request's execution a microtask later.
    context: ({ request, authentication }) => buildContext(request, authentication ?? requestStates.get(request)?.authentication, options),
    logging: false,
  });
}

/** The per-request context: who calls, their client and upstream state, fresh loaders. */
function buildContext(request: Request, authentication: Authentication | undefined, options: GatewayOptions): GraphQLContext {
  // Every upstream call of the request listens on its signal, and a page of search results
  // fetches up to two published roots per event concurrently: lift Node's default of 10
  // listeners (a MaxListenersExceededWarning on every large page) to a bound that still
  // flags a real leak.
  setMaxListeners(MAX_UPSTREAM_CALLS_PER_REQUEST, request.signal);
  const caller = callerOf(authentication, options);
  const { client, upstream } = options.clientFor ? options.clientFor(caller) : options;
  return {
    caller,
    client,
    upstream,
    loaders: createLoaders(client, upstream.roots, request.signal),
    signer: options.signer,
    cursors: options.cursors,
    signal: request.signal,
    integrity: options.integrity,
    jobs: options.downloads!.jobs,
    urls: options.downloads!.urls,
    liveTailIntervalMs: options.liveTailIntervalMs,
    verificationTally: options.metrics,
  };
}

function callerOf(authentication: Authentication | undefined, options: GatewayOptions): Caller {
  if (!options.authenticate) return LOCAL_CALLER;
  if (authentication && 'caller' in authentication) return authentication.caller;
  // authenticateFirst settles every request before its parameters are parsed; never run unauthenticated.
  throw new Error('a request reached execution without being authenticated');
}

async function settleAuthentication(authenticate: NonNullable<GatewayOptions['authenticate']>, request: Request): Promise<Authentication> {
  try {
    return { caller: await authenticate(request) };
  } catch (failure) {
    return { failure };
  }
}

/**
 * Authentication before the request parser, the parser and validation: an unauthenticated caller
 * learns nothing of the schema. Requests with a body come here settled by handleRequest (from
 * their headers, before the body is read); GET requests are authenticated here. GraphiQL's page
 * and CORS preflights are answered earlier (onRequest) and need no credentials.
 */
function authenticateFirst(authenticate: NonNullable<GatewayOptions['authenticate']>): Plugin<object, ServerContext> {
  return {
    async onRequestParse({ request }) {
      const state = stateOf(request);
      state.authentication ??= await settleAuthentication(authenticate, request);
      // Thrown here, it is answered as auth errors always were: a GraphQLError with its HTTP
      // status (401), anything else masked as an unexpected error.
      if ('failure' in state.authentication) throw state.authentication.failure;
    },
  };
}

/**
 * Cross-origin access for the listed origins only. Yoga's default reflects any Origin with
 * credentials allowed, and its own list answers an unlisted origin with `null`, which sandboxed
 * pages send: an unlisted origin gets no CORS header at all, and a preflight from it is answered
 * without allow headers, so the browser neither sends the request nor shows the answer.
 * Credentials (cookies) are not allowed: callers authenticate with the Authorization header.
 */
function corsFor(origins: readonly string[]): (request: Request) => CORSOptions {
  const allowed = new Set(origins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) return false;
    return {
      origin: [origin],
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-graphql-yoga-csrf', 'apollo-require-preflight'],
      credentials: false,
      maxAge: 600,
    };
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * DNS rebinding: without caller authentication every request runs as the all-scopes local caller,
 * and a page of any site can have its own name resolve to 127.0.0.1, then call the gateway as the
 * same origin (a JSON POST, a WebSocket: no preflight, no CORS), reading and writing everything.
 * Its requests still carry its own name in Host, so only requests addressed to a name the gateway
 * answers to are served: a loopback name (localhost, *.localhost, 127.0.0.0/8, [::1]; browsers
 * resolve none of them through DNS), the public URL's host, or an ALLOWED_HOSTS entry; any port.
 * Without authentication, configuration only lets the gateway listen on loopback, so its own
 * address is a loopback name too. With callers authenticating (an Authorization header, which a
 * browser never sends on its own), a rebound page gains nothing and Host is left unchecked.
 */
function hostCheck(allowedHosts: readonly string[], publicOrigin: () => string | undefined): (host: string | undefined) => boolean {
  const allowed = new Set(allowedHosts.map((name) => name.toLowerCase()));
  return (host) => {
    // Browsers always send Host, and Node answers an HTTP/1.1 request without one itself (400):
    // only an HTTP/1.0 client, which no page can be, gets here without one.
    if (host === undefined) return true;
    const name = hostNameOf(host);
    if (name === undefined) return false;
    if (isLoopbackName(name) || allowed.has(name)) return true;
    const origin = publicOrigin();
    return origin !== undefined && new URL(origin).hostname === name;
  };
}

/**
 * Which browser pages may open a GraphQL WebSocket (CORS does not cover WebSockets): loopback
 * origins, the public URL's and CORS_ORIGINS. Not "the origin of the Host asked for": without the
 * host check (callers authenticate) that name is the page's own choice.
 */
function originCheck(corsOrigins: readonly string[], publicOrigin: () => string | undefined): (origin: string) => boolean {
  const listed = new Set(corsOrigins);
  return (origin) => {
    if (listed.has(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return isLoopbackName(url.hostname) || origin === publicOrigin();
  };
}

/** The host name of a Host header (`name[:port]`, `[v6][:port]`), lower case, without a final dot. */
function hostNameOf(host: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^\s:/@[\]]+)(?::\d*)?$/i.exec(host);
  if (!match) return undefined;
  return match[1]!.toLowerCase().replace(/\.$/, '');
}

/** A loopback address or name, as HOST is judged (config.ts), and the *.localhost names browsers keep on loopback. */
function isLoopbackName(name: string): boolean {
  return name.endsWith('.localhost') || isLoopback(name);
}

function answerMisdirected(res: ServerResponse): void {
  const text = 'misdirected request: without caller authentication this gateway answers only requests addressed to localhost, 127.0.0.1, [::1], its PUBLIC_URL host or a host in ALLOWED_HOSTS\n';
  res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff', connection: 'close' });
  res.end(text);
}

/** /health, /ready, and everything else to yoga (with the body read under the size limit). */
function handleRequest(yoga: Yoga, options: GatewayOptions, acceptsHost: ((host: string | undefined) => boolean) | undefined): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  // The page yoga would render, precompressed and cacheable (graphiql.ts); yoga keeps its own for yoga.fetch.
  const graphiql = options.graphiql === false ? undefined : createGraphiQLPage('/graphql', GRAPHIQL_OPTIONS);
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const observation = options.metrics || options.accessLog ? observeRequest({ metrics: options.metrics, accessLog: options.accessLog }, req, res, path) : undefined;
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') return answerReady(res, options.ready);
    // After the probes, which expose nothing and may be addressed to any name (a probe of the
    // pod's address); before everything else, the body unread.
    if (acceptsHost && !acceptsHost(req.headers.host)) return answerMisdirected(res);
    if (path === '/metrics' && options.metrics) return options.metrics.serve(req, res, options.metricsToken);
    // Only download paths wait on the download route; every other request goes straight on.
    if (options.downloads && path.startsWith(DOWNLOADS_PREFIX) && (await options.downloads.serve(req, res))) return;
    if (graphiql?.matches(req)) return graphiql.serve(req, res);
    const signal = abortWhenClientLeaves(res);
    let body: Buffer | undefined;
    let authentication: Authentication | undefined;
    // A preflight carries neither credentials nor a body; yoga answers it before authenticating.
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
      // The headers decide first: the body of a caller without valid credentials is never read.
      if (options.authenticate) authentication = await settleAuthentication(options.authenticate, toFetchRequest(yoga, req, undefined, signal));
      if (authentication && 'failure' in authentication) {
        // Yoga answers the failure (authenticateFirst); the unread body goes with the connection.
        res.setHeader('connection', 'close');
      } else {
        try {
          body = await readBoundedBody(req, maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLargeError) return answerBodyTooLarge(res, err);
          throw err;
        }
      }
    }
    const request = toFetchRequest(yoga, req, body, signal);
    const state: RequestState = { authentication, ...(observation ? { observation } : {}) };
    requestStates.set(request, state);
    // Without a server context (see RequestState). The request's signal still stops its upstream calls.
    // No named closure for it: tsx, which runs the sources, names each with Object.defineProperty.
    const response = await (options.traced
      ? withRequestSpan(req.headers, req.method ?? 'GET', path, async () => yoga.handleRequest(request, undefined as unknown as ServerContext))
      : yoga.handleRequest(request, undefined as unknown as ServerContext));
    if (observation) observation.caller = callerIdOf(state.authentication, options);
    await writeResponse(res, response);
  };
}

function callerIdOf(authentication: Authentication | undefined, options: GatewayOptions): string | undefined {
  if (!options.authenticate) return LOCAL_CALLER.id;
  return authentication && 'caller' in authentication ? authentication.caller.id : undefined;
}

async function answerReady(res: ServerResponse, ready: GatewayOptions['ready']): Promise<void> {
  const state = ready ? await ready() : { ok: true, detail: 'no readiness check configured' };
  sendJson(res, state.ok ? 200 : 503, { status: state.ok ? 'ready' : 'not ready', detail: state.detail });
}

function answerBodyTooLarge(res: ServerResponse, err: BodyTooLargeError): void {
  res.setHeader('connection', 'close');
  sendJson(res, 413, { errors: [{ message: err.message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
}

function answerInternalError(res: ServerResponse, err: unknown, logError: GatewayOptions['logError']): void {
  logError?.(err);
  if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'internal error' }] });
  else res.destroy();
}

/** A signal aborted when the client goes away before its answer is written, so REST calls stop too. */
function abortWhenClientLeaves(res: ServerResponse): AbortSignal {
  const source = new AbortSource();
  res.on('close', () => {
    if (!res.writableFinished) source.abort();
  });
  return source.signal;
}

/**
 * Yoga's own fetch classes (@whatwg-node's Node implementation): a string body and a string
 * answer stay strings, where the global Request/Response went through web streams both ways.
 */
function toFetchRequest(yoga: Yoga, req: IncomingMessage, body: Buffer | undefined, signal: AbortSignal): Request {
  const { Request } = yoga.fetchAPI;
  // Node's header object as is (names already lower case): @whatwg-node's Headers reads it in
  // place and builds no map unless every header is asked for. Node joins repeated headers into
  // one value, except set-cookie, which a request does not carry.
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers: req.headers as Record<string, string>,
    ...(body ? { body: body.toString('utf8') } : {}),
    signal,
  });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  // The type first: reading `body` of a string answer makes @whatwg-node build a stream of it.
  if ((type.startsWith('text/event-stream') || type.startsWith('multipart/')) && response.body) {
    // Incremental answers are written as they come.
    res.writeHead(response.status, Object.fromEntries(response.headers));
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
    res.end();
    return;
  }
  // A string answer (every GraphQL result) is taken as the string it is, as @whatwg-node's own
  // Node adapter does; reading it through text() cost about 30 µs per request.
  const { bodyType, bodyInit } = response as { bodyType?: unknown; bodyInit?: unknown };
  const text = bodyType === 'String' && typeof bodyInit === 'string' ? bodyInit : await response.text();
  // The length of what is written; any the response carries (in whatever case) is dropped.
  const answerHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.toLowerCase() !== 'content-length') answerHeaders[name] = value;
  });
  // Encoded once: its length is the header, and the bytes are what is written (Buffer.byteLength
  // and then writing the string would each walk a 30 KB page answer).
  const bytes = Buffer.from(text, 'utf8');
  answerHeaders['content-length'] = String(bytes.length);
  res.writeHead(response.status, answerHeaders);
  res.end(bytes);
}

/**
 * Yoga reads the `variables` and `extensions` parameters of GET and form-encoded requests with a
 * bare JSON.parse, so a malformed one would be a masked 500 "Unexpected error.": make it a 400
 * that says so, like a malformed JSON body. Yoga's own parsers run first, so `requestParser` is the chosen one.
 */
const malformedParamsAreBadRequests: Plugin = {
  onRequestParse({ request, requestParser, setRequestParser }) {
    // A JSON body (every POST of a GraphQL client) has a parser that answers malformed JSON with a
    // 400 itself: no wrapper, and no promise of its own, for it.
    if (!requestParser || isJsonPost(request)) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        throw createGraphQLError(`request parameters are not valid JSON: ${err.message}`, { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });
      }
    });
  },
};

/** As yoga chooses its JSON body parser: POST with the first listed content type application/json. */
function isJsonPost(request: Request): boolean {
  if (request.method !== 'POST') return false;
  const type = request.headers.get('content-type')?.split(',')[0];
  return type === 'application/json' || type?.startsWith('application/json;') === true;
}

type ParseFn = (source: string | Source, options?: ParseOptions) => DocumentNode;

/**
 * The GraphQL parser is recursive: a value literal nested about two thousand levels deep (still
 * under the token limit) overflows the stack, which would be a masked 500. Make it a syntax
 * error. Listed after the protection plugins, so it wraps the token-limited parser. The parser
 * it wraps is the same function on every request: wrapped once, not once per request.
 */
const deepDocumentsAreSyntaxErrors: Plugin = (() => {
  const wrapped = new WeakMap<ParseFn, ParseFn>();
  const wrap = (parseFn: ParseFn): ParseFn => (source, options) => {
    try {
      return parseFn(source, options);
    } catch (err) {
      if (err instanceof RangeError) throw createGraphQLError('Syntax Error: the document nests too deeply.');
      throw err;
    }
  };
  return {
    onParse({ parseFn, setParseFn }) {
      const inner = parseFn as ParseFn;
      let outer = wrapped.get(inner);
      if (!outer) {
        outer = wrap(inner);
        wrapped.set(inner, outer);
      }
      setParseFn(outer);
    },
  };
})();

const DEFAULT_QUERY = `# Audit Gateway: search the audit log; every event is verified by the gateway itself.
query RecentEvents {
  search(query: "", first: 10) {
    ... on AuditEventConnection {
      totalCount
      edges {
        node {
          receivedAt
          actor
          action
          message
          verification { hash membership consistency signature failures }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { message }
  }
}
`;

const GRAPHIQL_OPTIONS = { title: 'Audit Gateway', defaultQuery: DEFAULT_QUERY };
