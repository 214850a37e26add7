// An adversarial audit service for tests: a real HTTP proxy on 127.0.0.1 in front of a real local
// audit service (SQLite), which forwards every request and answer and, when told to, lies in the
// ways a compromised or buggy upstream could. A gateway pointed at it cannot tell it from the
// service itself until a lie is switched on; each lie can be switched on and off at any time.
//
// What it can do (see LyingUpstream below):
// - fork: serve a second history, a copy of the service's file with one event changed and the tree
//   and published roots rebuilt to match (same sizes, same number of roots);
// - strip hashes, proofs, roots, flags and leaf indexes from v1/search and v1/results answers (and
//   the consistency proof from v1/root answers);
// - alter events' membership proofs (one bit of the first step's digest);
// - drop events from pages while keeping `count`;
// - ignore the search restriction the caller forced (another tenant's events come back);
// - withhold v1/log's consistency proof after a prev_root, or forge one that puts junk before the
//   old tree; drop results from v2/log answers;
// - store logged events other than those sent (changed on their way in, so the service's answers
//   and proofs are genuine, for the changed events);
// - roll the latest root back k sizes;
// - forge published roots of chosen sizes (one bit of the hash changed) in v1/root answers and
//   pages;
// - add keys of its choosing to events' envelopes (e.g. objects shaped like the gateway's verdicts),
//   or edit the events they hold;
// - answer v1/root for chosen sizes with 503, as a service down for them;
// - answer v1/root for chosen sizes with the root of another size, or with Success and no root;
// - re-sign events with an attacker's key, either in transit (hash recomputed, so the tree no
//   longer holds it) or at rest in the file (hash, tree and roots rebuilt, so only the list of
//   trusted signing keys can catch it).
//
// Answers stay valid REST envelopes: only `result` changes, status codes and headers are kept and
// content-length is recomputed. Honest answers are passed through byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublishedRoot, SearchEvent } from '../../src/wire/index.js';
import { startLocalAudit, type LocalAudit } from '../../src/local-audit/index.js';
import { hashEnvelope, signEvent } from '../../src/merkle/index.js';
import { flipBit } from './digest-bits.js';
import { startTestService, tempDir, type TestService } from './local-audit.js';
import { changeMessage, rewriteLeaves, snapshotAuditDb, treeSize, withAuditDb, type EnvelopeMutation, type RewrittenLeaf } from './tamper.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Parts of v1/search and v1/results answers (and v1/root's proof) to withhold. */
export interface StripFields {
  /** Each event's `hash`. */
  hash?: boolean;
  /** Each event's `membership_proof`. */
  membershipProof?: boolean;
  /** The page's `root` (the latest published root). */
  root?: boolean;
  /** The page's `unpublished_root`. */
  unpublishedRoot?: boolean;
  /** Each event's `published` flag. */
  published?: boolean;
  /** Each event's `leaf_index`. */
  leafIndex?: boolean;
  /** `consistency_proof` of the page's root and of every v1/root answer. */
  consistencyProofOfRoot?: boolean;
}

/** Chooses events of a page (index = position in the upstream's page). */
export type EventFilter = (event: SearchEvent, index: number) => boolean;

/** One request the proxy answered. */
export interface UpstreamCall {
  method: string;
  /** The path as asked, e.g. `/v1/search` or `/request/prq_…`. */
  path: string;
  /** Which history answered. */
  served: 'primary' | 'fork';
  /** The JSON body as the client sent it. */
  request: Json;
  /** The JSON body as forwarded (differs from `request` only when a lie changed it). */
  forwarded: Json;
  /** The HTTP status the client got. */
  status: number;
  /** The JSON answer as the client got it (after any lie). */
  response: Json;
  /** What was changed, one line per lie; empty when the exchange was honest. */
  lies: string[];
}

export interface ForkOptions {
  /** The leaf whose event the second history changes (default 0). */
  leaf?: number;
  /** How it changes it (default: another message). */
  mutate?: EnvelopeMutation;
}

/** An error answer in the service's envelope: HTTP status, envelope status and summary, extra headers. */
export interface Refusal {
  http: number;
  status: string;
  summary: string;
  headers?: Record<string, string>;
}

export interface LyingUpstreamOptions {
  /** The bearer token clients must present to the proxy (default "lying-upstream-token"). */
  token?: string;
  /** How long the services' result sets live. */
  resultTtlMs?: number;
}

export interface LyingUpstream {
  /** `http://127.0.0.1:<port>`: the base URL to give a client. */
  readonly url: string;
  /** The token to give a client; the proxy swaps it for the serving service's own. */
  readonly token: string;
  /** The real service behind the proxy (its own URL and token bypass the lies). */
  readonly primary: TestService;
  /** The second history, once fork(true) has made it. */
  readonly forkService: LocalAudit | undefined;
  /** The service answering now: the fork while forked, else the primary. */
  readonly served: LocalAudit;
  /** Every exchange, in the order the answers were sent. */
  readonly calls: UpstreamCall[];
  /** Publishes the serving service's current size. */
  publish(): void;
  /**
   * Serve everything from the second history (true) or the primary again (false). The first
   * fork(true) makes the second history from a snapshot of the primary taken then; later calls
   * reuse it.
   */
  fork(on: boolean, options?: ForkOptions): Promise<void>;
  /** Withhold these parts of search/results pages (and v1/root's proof); `{}` stops. `which` limits the per-event ones. */
  strip(fields: StripFields, which?: EventFilter): void;
  /**
   * Flip one bit of the first step's digest in the membership proof of every page event `which`
   * selects (the proof keeps its shape; it leads to another root); null stops.
   */
  alterMembershipProof(which: EventFilter | null): void;
  /** Remove the first `n` events of every page, or those `which` selects, keeping `count`; 0 stops. */
  dropEvents(what: number | EventFilter): void;
  /** Remove `search_restriction` from v1/search and `assert_search_restriction` from v1/results requests. */
  ignoreRestriction(on: boolean): void;
  /** Remove `consistency_proof` from v1/log answers. */
  withholdLogConsistencyProof(on: boolean): void;
  /**
   * Change each event of v1/log and v2/log requests before forwarding them (the item: its `event`,
   * `signature`, `public_key`): the service stores the changed events and answers with genuine
   * hashes and proofs of them. null stops.
   */
  alterLoggedEvents(change: ((item: Record<string, Json>) => Record<string, Json>) | null): void;
  /**
   * Answer verified v1/logs (those with a prev_root P) with a new root that holds the genuine
   * event e but puts junk Z before the old tree: N = H(Z || H(P || e)), with the membership proof
   * `l:P,l:Z` and the consistency proof [`x:P,r:e,l:Z`], which fold and reach N.
   */
  forgeLogChain(on: boolean): void;
  /** Remove the last `n` results of v2/log answers (the events stay stored); 0 stops. */
  dropLogResults(n: number): void;
  /** Remove `hash` from the results of v2/log answers that `which` selects (by index); null stops. */
  withholdLogResultHashes(which: ((index: number) => boolean) | null): void;
  /**
   * Add an envelope nobody asked for to non-verbose v1/log answers: the logged event with its
   * message changed, stamped now, so it does not hash to the answer's hash.
   */
  forgeLogEnvelope(on: boolean): void;
  /**
   * Answer v1/root without tree_size, and the `root` of search/results pages, with the published
   * root `k` sizes before the real one (the service's own root of that size); 0 stops.
   */
  rollback(k: number): void;
  /**
   * Change one bit of the root hash of every published root whose size `which` selects: v1/root
   * answers and the `root` of search/results pages (applied after rollback). The rest of the
   * record is kept, so its consistency proof no longer holds. null stops.
   */
  forgeRoot(which: ((size: number) => boolean) | null): void;
  /**
   * Re-sign every event of search/results pages with this Ed25519 key (PKCS#8 PEM or 32-byte
   * seed) and recompute its hash; null stops.
   */
  resign(privateKey: string | Uint8Array | null): void;
  /**
   * Add these keys to every event's envelope on search/results pages, the hash left as it was (so
   * the envelope no longer hashes to it); null stops.
   */
  decorateEnvelopes(extra: Record<string, Json> | null): void;
  /** Change the stored event of every envelope in search/results pages (not rehashed); null stops. */
  editPageEvents(edit: ((event: Record<string, Json>) => void) | null): void;
  /** Answer v1/root for the sizes chosen with 503 ServiceUnavailable (a service that is down for them); null stops. */
  failRoots(which: ((size: number) => boolean) | null): void;
  /**
   * Answer every request to `endpoint` (e.g. `v1/download_results`) with this error envelope
   * instead of the service's answer, as a busy or forgetful service would; null stops.
   */
  refuse(endpoint: string, refusal: Refusal | null): void;
  /**
   * Answer v1/root with tree_size N with the service's own published root of size `other(N)`
   * when that is a number other than N and such a root exists (else honestly); null stops.
   */
  substituteRoots(other: ((size: number) => number | undefined) | null): void;
  /**
   * Answer v1/root with Success but without `data` (result `{}`) for the sizes chosen: `size` is
   * the tree_size asked for, undefined for the latest root. null stops.
   */
  withholdRoots(which: ((size: number | undefined) => boolean) | null): void;
  /**
   * Re-sign stored events in the serving service's file with this key (null: strip their
   * signatures): envelope, hash, tree nodes and published roots rewritten consistently. Default:
   * every event. Returns what changed.
   */
  resignAtRest(privateKey: string | Uint8Array | null, leaves?: readonly number[]): RewrittenLeaf[];
  /** Switches every lie off except the fork. */
  honest(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function parseJson(bytes: Buffer): Json {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An answer in the service's envelope shape for when the proxy itself cannot reach it. */
function unavailable(reason: string): Buffer {
  return envelope('ServiceNotAvailable', reason);
}

/** An error answer in the service's envelope shape. */
function envelope(status: string, summary: string): Buffer {
  const now = new Date().toISOString();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const id = 'prq_' + Array.from(randomBytes(32), (b) => alphabet[b % alphabet.length]).join('');
  return Buffer.from(JSON.stringify({ request_id: id, request_time: now, response_time: now, status, summary, result: null }));
}

export async function startLyingUpstream(options: LyingUpstreamOptions = {}): Promise<LyingUpstream> {
  const token = options.token ?? 'lying-upstream-token';
  const ttl = options.resultTtlMs !== undefined ? { resultTtlMs: options.resultTtlMs } : {};
  const primary = await startTestService(ttl);
  const agent = new Agent({ keepAlive: true });
  const calls: UpstreamCall[] = [];

  let forked = false;
  let forkService: LocalAudit | undefined;
  let forkDir: string | undefined;
  let stripFields: StripFields = {};
  let stripWhich: EventFilter | undefined;
  let drop: number | EventFilter = 0;
  let alterProof: EventFilter | null = null;
  let ignoreRestriction = false;
  let withholdLogProof = false;
  let forgeLogEnvelope = false;
  let alterLogged: ((item: Record<string, Json>) => Record<string, Json>) | null = null;
  let dropLogResults = 0;
  let withholdResultHash: ((index: number) => boolean) | null = null;
  let forgeLogChain = false;
  let rollbackBy = 0;
  let forgeRootOf: ((size: number) => boolean) | null = null;
  let resignKey: string | Uint8Array | null = null;
  let envelopeExtra: Record<string, Json> | null = null;
  let editEvent: ((event: Record<string, Json>) => void) | null = null;
  let failRootOf: ((size: number) => boolean) | null = null;
  const refusals = new Map<string, Refusal>();
  let substituteRootOf: ((size: number) => number | undefined) | null = null;
  let withholdRootOf: ((size: number | undefined) => boolean) | null = null;

  const served = (): LocalAudit => (forked && forkService ? forkService : primary);

  /** One exchange with a service, bytes in and out. */
  const exchange = (service: LocalAudit, method: string, path: string, headers: OutgoingHttpHeaders, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const target = new URL(path, service.url);
      const req = httpRequest(target, { method, headers, agent }, (res) => {
        readAll(res).then((bytes) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: bytes }), reject);
      });
      req.on('error', reject);
      req.end(body.length > 0 ? body : undefined);
    });

  /** The service's own published root of `size` (undefined when there is none). */
  const publishedRoot = async (service: LocalAudit, size: number): Promise<PublishedRoot | undefined> => {
    if (!Number.isSafeInteger(size) || size < 1) return undefined;
    const body = Buffer.from(JSON.stringify({ tree_size: size }));
    const answer = await exchange(service, 'POST', '/v1/root', { authorization: `Bearer ${service.token}`, 'content-type': 'application/json', 'content-length': body.length }, body);
    const json = parseJson(answer.body);
    return json?.status === 'Success' ? (json.result.data as PublishedRoot) : undefined;
  };

  /** Forges `root` (a published-root record) when forgeRoot selects its size. */
  const forgeRoot = (root: Json, where: string, lies: string[]): void => {
    if (forgeRootOf === null || !isObject(root) || typeof root.root_hash !== 'string' || !Number.isSafeInteger(root.size) || !forgeRootOf(root.size)) return;
    root.root_hash = flipBit(root.root_hash, 4);
    lies.push(`forged ${where} root(${root.size})`);
  };

  /** Request-side lies; returns the body to forward (the same object when nothing changed). */
  const lieInRequest = (endpoint: string, request: Json, lies: string[]): Json => {
    if (alterLogged !== null && isObject(request)) {
      if (endpoint === 'v1/log' && isObject(request.event)) {
        const { event, signature, public_key, ...rest } = request;
        lies.push('stored another event than the one sent');
        return { ...rest, ...alterLogged({ event, signature, public_key }) };
      }
      if (endpoint === 'v2/log' && Array.isArray(request.events)) {
        lies.push(`stored other events than the ${request.events.length} sent`);
        return { ...request, events: request.events.map((item: Json) => alterLogged!({ ...item })) };
      }
    }
    if (!ignoreRestriction || !isObject(request)) return request;
    const key = endpoint === 'v1/search' ? 'search_restriction' : endpoint === 'v1/results' ? 'assert_search_restriction' : undefined;
    if (!key || !(key in request)) return request;
    const { [key]: removed, ...rest } = request;
    lies.push(`removed ${key} ${JSON.stringify(removed)}`);
    return rest;
  };

  const lieAboutPage = async (service: LocalAudit, result: Record<string, Json>, lies: string[]): Promise<void> => {
    const events: SearchEvent[] = Array.isArray(result.events) ? result.events : [];
    if (rollbackBy > 0 && isObject(result.root)) {
      const older = await publishedRoot(service, result.root.size - rollbackBy);
      if (older) {
        lies.push(`root rolled back from size ${result.root.size} to ${older.size}`);
        result.root = older;
      }
    }
    forgeRoot(result.root, "the page's", lies);
    if (resignKey !== null) {
      for (const event of events) {
        const signed = signEvent(event.envelope.event as Record<string, unknown>, resignKey);
        event.envelope.signature = signed.signature;
        event.envelope.public_key = signed.public_key;
        event.hash = hashEnvelope(event.envelope);
      }
      if (events.length > 0) lies.push(`re-signed ${events.length} events with the attacker's key`);
    }
    if (editEvent !== null) {
      for (const event of events) if (isObject(event.envelope) && isObject(event.envelope.event)) editEvent(event.envelope.event);
      if (events.length > 0) lies.push(`edited the stored event of ${events.length} envelopes`);
    }
    if (envelopeExtra !== null) {
      for (const event of events) Object.assign(event.envelope, envelopeExtra);
      if (events.length > 0) lies.push(`added ${Object.keys(envelopeExtra).join(', ')} to ${events.length} envelopes`);
    }
    const perEvent: Array<[keyof StripFields, keyof SearchEvent]> = [
      ['hash', 'hash'],
      ['membershipProof', 'membership_proof'],
      ['published', 'published'],
      ['leafIndex', 'leaf_index'],
    ];
    for (const [flag, key] of perEvent) {
      if (!stripFields[flag]) continue;
      let n = 0;
      events.forEach((event, i) => {
        if ((stripWhich === undefined || stripWhich(event, i)) && key in event) {
          delete (event as unknown as Record<string, unknown>)[key];
          n++;
        }
      });
      if (n > 0) lies.push(`stripped ${key} from ${n} events`);
    }
    if (stripFields.root && 'root' in result) {
      delete result.root;
      lies.push('stripped root');
    }
    if (stripFields.unpublishedRoot && 'unpublished_root' in result) {
      delete result.unpublished_root;
      lies.push('stripped unpublished_root');
    }
    if (stripFields.consistencyProofOfRoot && isObject(result.root) && 'consistency_proof' in result.root) {
      delete result.root.consistency_proof;
      lies.push('stripped root.consistency_proof');
    }
    if (alterProof !== null) {
      let n = 0;
      events.forEach((event, i) => {
        const proof = event.membership_proof;
        if (alterProof!(event, i) && typeof proof === 'string' && /^[lr]:[0-9a-f]{64}(,|$)/.test(proof)) {
          event.membership_proof = proof.slice(0, 2) + flipBit(proof.slice(2, 66), 4) + proof.slice(66);
          n++;
        }
      });
      if (n > 0) lies.push(`altered the membership proof of ${n} events`);
    }
    if (drop !== 0) {
      const keep = typeof drop === 'number' ? events.filter((_e, i) => i >= (drop as number)) : events.filter((e, i) => !(drop as EventFilter)(e, i));
      if (keep.length < events.length) {
        lies.push(`dropped ${events.length - keep.length} events`);
        result.events = keep;
      }
    }
  };

  const lieAboutRoot = async (service: LocalAudit, request: Json, result: Record<string, Json>, lies: string[]): Promise<void> => {
    if (!isObject(result.data)) return;
    const asked = isObject(request) && typeof request.tree_size === 'number' ? request.tree_size : undefined;
    if (withholdRootOf !== null && withholdRootOf(asked)) {
      delete result.data;
      lies.push(`withheld the root of ${asked === undefined ? 'the latest' : `size ${asked}`}`);
      return;
    }
    if (substituteRootOf !== null && asked !== undefined) {
      const other = substituteRootOf(asked);
      const substitute = other !== undefined && other !== asked ? await publishedRoot(service, other) : undefined;
      if (substitute) {
        lies.push(`answered root(${asked}) with root(${substitute.size})`);
        result.data = substitute;
      }
    }
    if (rollbackBy > 0 && !(isObject(request) && request.tree_size !== undefined)) {
      const older = await publishedRoot(service, result.data.size - rollbackBy);
      if (older) {
        lies.push(`latest root rolled back from size ${result.data.size} to ${older.size}`);
        result.data = older;
      }
    }
    forgeRoot(result.data, 'the v1/root', lies);
    if (stripFields.consistencyProofOfRoot && 'consistency_proof' in result.data) {
      // The stored root may be shared (frozen) inside the service; this is a parsed copy.
      delete result.data.consistency_proof;
      lies.push('stripped data.consistency_proof');
    }
  };

  /** Response-side lies on a Success answer's result. */
  const lieInAnswer = async (service: LocalAudit, endpoint: string, request: Json, result: Json, lies: string[]): Promise<void> => {
    if (!isObject(result)) return;
    if (endpoint === 'v1/search' || endpoint === 'v1/results') await lieAboutPage(service, result, lies);
    else if (endpoint === 'v1/root') await lieAboutRoot(service, request, result, lies);
    else if (endpoint === 'v2/log' && dropLogResults > 0 && Array.isArray(result.results)) {
      result.results = result.results.slice(0, Math.max(0, result.results.length - dropLogResults));
      lies.push(`dropped the last ${dropLogResults} results`);
    } else if (endpoint === 'v2/log' && withholdResultHash !== null && Array.isArray(result.results)) {
      result.results.forEach((item: Json, index: number) => {
        if (isObject(item) && withholdResultHash!(index)) {
          delete item.hash;
          lies.push(`withheld the hash of result ${index}`);
        }
      });
    } else if (endpoint === 'v1/log') {
      if (forgeLogChain && isObject(request) && typeof request.prev_root === 'string' && typeof result.hash === 'string') {
        const pair = (a: string, b: string): string => createHash('sha256').update(Buffer.from(a, 'hex')).update(Buffer.from(b, 'hex')).digest('hex');
        const P = request.prev_root;
        const e = result.hash;
        const Z = randomBytes(32).toString('hex');
        result.unpublished_root = pair(Z, pair(P, e));
        result.membership_proof = `l:${P},l:${Z}`;
        result.consistency_proof = [`x:${P},r:${e},l:${Z}`];
        lies.push('forged a root with junk before the old tree');
      }
      if (withholdLogProof && 'consistency_proof' in result) {
        delete result.consistency_proof;
        lies.push('withheld consistency_proof');
      }
      if (forgeLogEnvelope && isObject(request) && request.verbose !== true && isObject(request.event) && !('envelope' in result)) {
        result.envelope = { event: { ...request.event, message: `forged: ${String(request.event.message)}` }, received_at: new Date().toISOString() };
        lies.push('forged an unasked envelope');
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readAll(req);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const endpoint = new URL(path, 'http://proxy').pathname.replace(/^\/+/, '');
    const service = served();
    const lies: string[] = [];
    const request = method === 'POST' ? parseJson(raw) : undefined;
    const forwarded = request === undefined ? undefined : lieInRequest(endpoint, request, lies);
    const body = forwarded !== request ? Buffer.from(JSON.stringify(forwarded)) : raw;

    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    // The client's credential for the proxy becomes the serving service's; any other is passed on
    // as it is (and refused by the service, as it would be).
    if (req.headers.authorization === `Bearer ${token}`) headers.authorization = `Bearer ${service.token}`;
    if (method !== 'GET' && method !== 'HEAD') headers['content-length'] = body.length;

    let status: number;
    let answerHeaders: IncomingHttpHeaders;
    let out: Buffer;
    let response: Json;
    if (endpoint === 'v1/root' && failRootOf !== null && isObject(request) && typeof request.tree_size === 'number' && failRootOf(request.tree_size)) {
      out = unavailable(`root(${request.tree_size}) is unavailable`);
      lies.push(`answered v1/root of size ${request.tree_size} with 503`);
      calls.push({ method, path, served: service === primary ? 'primary' : 'fork', request, forwarded, status: 503, response: parseJson(out), lies });
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
      return;
    }
    const refusal = refusals.get(endpoint);
    if (refusal) {
      out = envelope(refusal.status, refusal.summary);
      lies.push(`answered ${endpoint} with ${refusal.http} ${refusal.status}`);
      calls.push({ method, path, served: service === primary ? 'primary' : 'fork', request, forwarded, status: refusal.http, response: parseJson(out), lies });
      res.writeHead(refusal.http, { 'content-type': 'application/json', 'content-length': out.length, ...refusal.headers });
      res.end(out);
      return;
    }
    try {
      const answer = await exchange(service, method, path, headers, body);
      status = answer.status;
      answerHeaders = answer.headers;
      out = answer.body;
      response = String(answer.headers['content-type'] ?? '').includes('json') ? parseJson(answer.body) : undefined;
      if (isObject(response)) {
        if (response.status === 'Success') await lieInAnswer(service, endpoint, forwarded, response.result, lies);
        // Where the service sends clients next (polling, downloads) goes through the proxy too.
        const result = response.result;
        let moved = false;
        for (const key of ['location', 'dest_url']) {
          if (isObject(result) && typeof result[key] === 'string' && result[key].startsWith(service.url)) {
            result[key] = proxyUrl + result[key].slice(service.url.length);
            moved = true;
          }
        }
        if (lies.length > 0 || moved) out = Buffer.from(JSON.stringify(response));
      }
    } catch (err) {
      status = 503;
      answerHeaders = { 'content-type': 'application/json' };
      out = unavailable(`the lying upstream could not reach the service: ${(err as Error).message}`);
      response = parseJson(out);
    }
    calls.push({ method, path, served: service === primary ? 'primary' : 'fork', request, forwarded, status, response, lies });
    const outHeaders: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answerHeaders)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) outHeaders[name] = value;
    }
    outHeaders['content-length'] = out.length;
    res.writeHead(status, outHeaders);
    res.end(out);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let closing: Promise<void> | undefined;
  return {
    url: proxyUrl,
    token,
    primary,
    get forkService() {
      return forkService;
    },
    get served() {
      return served();
    },
    calls,
    publish: () => served().publishNow(),
    fork: async (on, forkOptions = {}) => {
      if (on && !forkService) {
        const dir = tempDir('audit-fork-');
        forkDir = dir;
        // A snapshot of what the primary has committed, made through SQLite's backup API, so the
        // copy is a closed file and the primary keeps running.
        await snapshotAuditDb(primary.dataDir, dir);
        const leaf = forkOptions.leaf ?? 0;
        withAuditDb(dir, (db) => {
          const size = treeSize(db);
          if (leaf >= size) throw new Error(`cannot fork at leaf ${leaf}: the log holds ${size} events`);
          rewriteLeaves(db, [leaf], forkOptions.mutate ?? changeMessage);
        });
        forkService = await startLocalAudit({ dataDir: dir, port: 0, publishIntervalMs: 0, token: 'fork-token', onError: () => {}, ...ttl });
      }
      forked = on;
    },
    strip: (fields, which) => {
      stripFields = { ...fields };
      stripWhich = which;
    },
    dropEvents: (what) => {
      drop = what;
    },
    ignoreRestriction: (on) => {
      ignoreRestriction = on;
    },
    withholdLogConsistencyProof: (on) => {
      withholdLogProof = on;
    },
    forgeLogEnvelope: (on) => {
      forgeLogEnvelope = on;
    },
    alterLoggedEvents: (change) => {
      alterLogged = change;
    },
    dropLogResults: (n) => {
      dropLogResults = n;
    },
    withholdLogResultHashes: (which) => {
      withholdResultHash = which;
    },
    forgeLogChain: (on) => {
      forgeLogChain = on;
    },
    alterMembershipProof: (which) => {
      alterProof = which;
    },
    rollback: (k) => {
      if (!Number.isSafeInteger(k) || k < 0) throw new RangeError('rollback needs a whole number of sizes');
      rollbackBy = k;
    },
    forgeRoot: (which) => {
      forgeRootOf = which;
    },
    resign: (privateKey) => {
      resignKey = privateKey;
    },
    decorateEnvelopes: (extra) => {
      envelopeExtra = extra;
    },
    editPageEvents: (edit) => {
      editEvent = edit;
    },
    failRoots: (which) => {
      failRootOf = which;
    },
    refuse: (endpoint, refusal) => {
      if (refusal) refusals.set(endpoint, refusal);
      else refusals.delete(endpoint);
    },
    substituteRoots: (other) => {
      substituteRootOf = other;
    },
    withholdRoots: (which) => {
      withholdRootOf = which;
    },
    resignAtRest: (privateKey, leaves) =>
      withAuditDb(served().dataDir, (db) => {
        const chosen = leaves ?? Array.from({ length: treeSize(db) }, (_, i) => i);
        return rewriteLeaves(db, chosen, (envelope) => {
          if (privateKey === null) {
            delete envelope.signature;
            delete envelope.public_key;
            return;
          }
          const signed = signEvent(envelope.event, privateKey);
          envelope.signature = signed.signature;
          envelope.public_key = signed.public_key;
        });
      }),
    honest: () => {
      stripFields = {};
      stripWhich = undefined;
      drop = 0;
      alterProof = null;
      ignoreRestriction = false;
      withholdLogProof = false;
      forgeLogEnvelope = false;
      alterLogged = null;
      dropLogResults = 0;
      withholdResultHash = null;
      forgeLogChain = false;
      rollbackBy = 0;
      forgeRootOf = null;
      resignKey = null;
      envelopeExtra = null;
      editEvent = null;
      failRootOf = null;
      refusals.clear();
      substituteRootOf = null;
      withholdRootOf = null;
    },
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        agent.destroy();
        if (forkService) await forkService.close();
        if (forkDir) rmSync(forkDir, { recursive: true, force: true });
        await primary.destroy();
      })()),
  };
}
