// A real HTTP server on 127.0.0.1 that answers like an Arweave gateway for published roots, so
// the root witness (src/trust/witness.ts) and the vendor SDK can be tested without the network:
// - POST /graphql: the `transactions(tags: …, first, after)` query, parsed with graphql-js and
//   answered from the store (a transaction matches when, for every tag filter, it carries a tag of
//   that name whose value is one of the filter's values), newest first, 10 per page by default
//   and at most 100, like arweave.net.
// - GET /<id> and /<id>/: the transaction's data (the root JSON), as the Node and Python SDKs read it.
// - GET /tx/<id>/data (and with a trailing slash): the same data in unpadded base64url, as Go's SDK
//   reads it.
// A transaction not yet mined answers 202 with status text and body "Pending"; an unknown id 404.
// Faults an honest but flaky gateway shows can be switched on: one transaction's data answering
// an error status or not answering at all (`setDataFault`), and a listing that comes back partial
// (`setListingFault`: GraphQL errors next to the data, or an edge without its node).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kind, parse, valueFromASTUntyped, type FieldNode, type OperationDefinitionNode } from 'graphql';

export interface WitnessedRoot {
  tree_name: string;
  size: number;
  root_hash: string;
  published_at?: string;
  consistency_proof?: string[];
}

export interface PublishOptions {
  /** Listed by the GraphQL query, but its data answers "Pending" until `mine`. */
  pending?: boolean;
  /** Listed by the GraphQL query, but its data answers 404. */
  withoutData?: boolean;
}

export type DataFault = { status: number; statusText: string } | { hang: true };

export interface TagFilterSeen {
  tags: Array<{ name: string; values: string[] }>;
  first: number;
  after?: string;
}

export interface ArweaveServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly baseUrl: string;
  /** Adds a transaction holding the root (tagged tree_name, tree_size); returns its id. */
  publish(root: WitnessedRoot, opts?: PublishOptions): string;
  /** Adds a transaction tagged for `tree_name`/`size` whose data is exactly `body`; returns its id. */
  publishRaw(tags: { tree_name: string; size: number }, body: string): string;
  /** Marks the pending transactions of that size as mined. */
  mine(size: number): void;
  /** Rewrites the root_hash held by every transaction of that size. */
  tamper(size: number, newRootHash: string): void;
  /** Drops every transaction of that size. */
  remove(size: number): void;
  /** While down, every request is answered 503. */
  setDown(down: boolean): void;
  /** Waits this long before answering each request. */
  setDelay(ms: number): void;
  /** Makes reads of that transaction's data answer `status` (with `statusText`), or never answer (`hang`, until close); undefined clears it. */
  setDataFault(id: string, fault: DataFault | undefined): void;
  /** Makes transactions queries answer partially: `errors` adds a GraphQL error next to the data, `nullNode` nulls the last edge's node. */
  setListingFault(fault: 'errors' | 'nullNode' | undefined): void;
  /** Every request, as "METHOD /path", in arrival order. */
  readonly requests: string[];
  /** The tag filters (and paging) of every transactions query, in arrival order. */
  readonly queries: TagFilterSeen[];
  /** Most requests being answered at the same time so far. */
  readonly peakInFlight: number;
  close(): Promise<void>;
}

interface Transaction {
  seq: number;
  id: string;
  tags: Array<{ name: string; value: string }>;
  /** The root JSON, when the transaction was published from a root (tamper rewrites it). */
  record?: Record<string, unknown>;
  /** The exact data otherwise. */
  raw?: string;
  pending: boolean;
  withoutData: boolean;
}

const DEFAULT_PAGE = 10;
const MAX_PAGE = 100;

class GraphQLRequestError extends Error {}

export async function startArweaveServer(): Promise<ArweaveServer> {
  const store: Transaction[] = [];
  const requests: string[] = [];
  const queries: TagFilterSeen[] = [];
  let seq = 0;
  let down = false;
  let delayMs = 0;
  const dataFaults = new Map<string, DataFault>();
  let listingFault: 'errors' | 'nullNode' | undefined;
  let inFlight = 0;
  let peakInFlight = 0;
  // Delays still running, so close() can end them instead of leaving timers behind.
  const delays = new Set<() => void>();
  /** Waits `ms`, or less when `res` (if given) closes first. */
  const delay = (ms: number, res?: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        delays.delete(done);
        res?.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      delays.add(done);
      res?.once('close', done);
    });

  const add = (tree: string, size: number, body: Pick<Transaction, 'record' | 'raw'>, opts: PublishOptions = {}): string => {
    const id = randomBytes(32).toString('base64url');
    store.push({
      seq: ++seq,
      id,
      tags: [
        { name: 'Content-Type', value: 'application/json' },
        { name: 'tree_size', value: String(size) },
        { name: 'tree_name', value: tree },
      ],
      ...body,
      pending: opts.pending ?? false,
      withoutData: opts.withoutData ?? false,
    });
    return id;
  };
  const ofSize = (size: number): Transaction[] => store.filter((tx) => tx.tags.some((t) => t.name === 'tree_size' && t.value === String(size)));

  const dataOf = (tx: Transaction): string => tx.raw ?? JSON.stringify(tx.record);

  const answerGraphQL = (body: string): { status: number; json: unknown } => {
    try {
      let request: unknown;
      try {
        request = JSON.parse(body);
      } catch {
        throw new GraphQLRequestError('the body is not JSON');
      }
      const { query, variables } = (request ?? {}) as { query?: unknown; variables?: unknown };
      if (typeof query !== 'string') throw new GraphQLRequestError('no query');
      const vars = typeof variables === 'object' && variables !== null ? (variables as Record<string, unknown>) : {};
      const operation = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      if (!operation || operation.operation !== 'query') throw new GraphQLRequestError('expected a query operation');
      const field = operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'transactions');
      if (!field) throw new GraphQLRequestError('only the transactions field is served here');
      const args: Record<string, unknown> = {};
      for (const arg of field.arguments ?? []) {
        if (!['tags', 'first', 'after'].includes(arg.name.value)) throw new GraphQLRequestError(`argument ${arg.name.value} is not served here`);
        args[arg.name.value] = valueFromASTUntyped(arg.value, vars);
      }
      const tags = parseTagFilters(args.tags);
      const first = args.first === undefined ? DEFAULT_PAGE : Number(args.first);
      if (!Number.isInteger(first) || first < 0) throw new GraphQLRequestError('first must be a non-negative integer');
      const after = args.after === undefined || args.after === null ? undefined : String(args.after);
      queries.push({ tags, first, ...(after !== undefined ? { after } : {}) });

      const afterSeq = after === undefined ? Infinity : Number(Buffer.from(after, 'base64url').toString('utf8'));
      if (Number.isNaN(afterSeq)) throw new GraphQLRequestError('bad cursor');
      const matching = store
        .filter((tx) => tx.seq < afterSeq && tags.every((f) => tx.tags.some((t) => t.name === f.name && f.values.includes(t.value))))
        .sort((a, b) => b.seq - a.seq);
      const page = matching.slice(0, Math.min(first, MAX_PAGE));
      const edges: Array<{ cursor: string; node: unknown }> = page.map((tx) => ({ cursor: Buffer.from(String(tx.seq)).toString('base64url'), node: { id: tx.id, tags: tx.tags } }));
      if (listingFault === 'nullNode' && edges.length > 0) edges[edges.length - 1]!.node = null;
      return {
        status: 200,
        json: {
          data: { transactions: { pageInfo: { hasNextPage: matching.length > page.length }, edges } },
          ...(listingFault === 'errors' ? { errors: [{ message: 'upstream timeout resolving tags', path: ['transactions', 'edges', 0, 'node', 'tags'] }] } : {}),
        },
      };
    } catch (err) {
      if (err instanceof GraphQLRequestError || (err instanceof Error && err.name === 'GraphQLError')) {
        return { status: 400, json: { errors: [{ message: err.message }] } };
      }
      throw err;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://arweave.test');
    requests.push(`${method} ${url.pathname}${url.search}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (delayMs > 0) await delay(delayMs);
    if (res.destroyed) return;
    if (down) return send(res, 503, 'Service Unavailable', 'text/plain', 'Service Unavailable');

    if (url.pathname === '/graphql') {
      if (method !== 'POST') return send(res, 405, 'Method Not Allowed', 'text/plain', 'POST only');
      const { status, json } = answerGraphQL(Buffer.concat(chunks).toString('utf8'));
      return send(res, status, status === 200 ? 'OK' : 'Bad Request', 'application/json', JSON.stringify(json));
    }
    if (method !== 'GET') return send(res, 405, 'Method Not Allowed', 'text/plain', 'GET only');
    const direct = /^\/([A-Za-z0-9_-]+)\/?$/.exec(url.pathname);
    const encoded = /^\/tx\/([A-Za-z0-9_-]+)\/data\/?$/.exec(url.pathname);
    const id = direct?.[1] ?? encoded?.[1];
    const tx = id === undefined ? undefined : store.find((t) => t.id === id);
    const fault = tx ? dataFaults.get(tx.id) : undefined;
    if (fault && 'hang' in fault) {
      await delay(24 * 3600_000, res);
      if (res.destroyed) return;
    } else if (fault) return send(res, fault.status, fault.statusText, 'text/plain', fault.statusText);
    if (!tx || tx.withoutData) return send(res, 404, 'Not Found', 'text/plain', 'Not Found');
    if (tx.pending) return send(res, 202, 'Pending', 'text/plain', 'Pending');
    const data = dataOf(tx);
    if (encoded) return send(res, 200, 'OK', 'text/plain', Buffer.from(data, 'utf8').toString('base64url'));
    return send(res, 200, 'OK', 'application/json', data);
  };

  const server = createServer((req, res) => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.once('close', () => inFlight--);
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'Internal Server Error', 'text/plain', String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    publish(root, opts) {
      const record: Record<string, unknown> = {
        tree_name: root.tree_name,
        size: root.size,
        root_hash: root.root_hash,
        published_at: root.published_at ?? new Date().toISOString(),
      };
      if (root.consistency_proof !== undefined) record.consistency_proof = root.consistency_proof;
      return add(root.tree_name, root.size, { record }, opts);
    },
    publishRaw(tags, body) {
      return add(tags.tree_name, tags.size, { raw: body });
    },
    mine(size) {
      for (const tx of ofSize(size)) tx.pending = false;
    },
    tamper(size, newRootHash) {
      for (const tx of ofSize(size)) if (tx.record) tx.record.root_hash = newRootHash;
    },
    remove(size) {
      const drop = new Set(ofSize(size));
      store.splice(0, store.length, ...store.filter((tx) => !drop.has(tx)));
    },
    setDown(value) {
      down = value;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setDataFault(id, fault) {
      if (fault) dataFaults.set(id, fault);
      else dataFaults.delete(id);
    },
    setListingFault(fault) {
      listingFault = fault;
    },
    requests,
    queries,
    get peakInFlight() {
      return peakInFlight;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const done of [...delays]) done();
      });
      return closing;
    },
  };
}

function parseTagFilters(value: unknown): Array<{ name: string; values: string[] }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new GraphQLRequestError('tags must be a list');
  return value.map((f: unknown) => {
    const { name, values } = (f ?? {}) as { name?: unknown; values?: unknown };
    if (typeof name !== 'string' || !Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new GraphQLRequestError('each tag filter needs a name and a list of string values');
    }
    return { name, values: values as string[] };
  });
}

function send(res: ServerResponse, status: number, statusText: string, type: string, body: string): void {
  res.writeHead(status, statusText, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Sends the vendor SDK's Arweave lookups (it calls the global fetch with https://arweave.net/…)
 * to `baseUrl` instead, path and query kept; every other request goes to the real fetch.
 * `restore()` puts the original back.
 */
export function routeArweaveTo(baseUrl: string): { readonly rerouted: string[]; restore(): void } {
  const original = globalThis.fetch;
  const rerouted: string[] = [];
  const routed: typeof fetch = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.hostname !== 'arweave.net' && !url.hostname.endsWith('.arweave.net')) return original(input, init);
    const target = `${baseUrl}${url.pathname}${url.search}`;
    rerouted.push(url.href);
    return original(input instanceof Request ? new Request(target, input) : target, init);
  };
  globalThis.fetch = routed;
  let restored = false;
  return {
    rerouted,
    restore() {
      if (restored) return;
      restored = true;
      globalThis.fetch = original;
    },
  };
}
