// GET /downloads/<token>: result files served through the gateway, so a download link works from
// wherever the gateway is reachable (PUBLIC_URL) and never reveals the upstream's address.
//
// downloadResults asks the upstream for its file URL and hands out `${PUBLIC_URL}/downloads/<token>`
// instead, the token sealing {upstream URL, caller, tenant, format, expiry} (auth/download-links.ts).
// The token is the credential: a plain browser GET must work, so no Authorization header is
// needed. It is bound to the caller it was issued to: when a request does carry credentials
// (keys mode), they must be that caller's. The file is streamed from the upstream as it arrives.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditClient, DEFAULT_TIMEOUTS } from '../audit-client/index.js';
import type { Caller } from '../auth/caller.js';
import { DownloadLinks } from '../auth/download-links.js';
import { JobHandles } from '../auth/job-handles.js';
import type { GatewayUrls } from '../graphql/context.js';
import { ADDRESS_KIND_REFUSED, addressKind, downloadAgent } from './address-kind.js';

/** Every download link's path starts here (the server routes on it before anything else runs). */
export const DOWNLOADS_PREFIX = '/downloads/';
const PREFIX = DOWNLOADS_PREFIX;
/** A link never outlives this, even when the upstream keeps its file longer. */
const MAX_LINK_LIFETIME_MS = 60 * 60 * 1000;

/** The document AcceptedRequest.location runs; a trusted document too (persisted-operations.ts). */
export const POLL_QUERY = 'query Poll($id: ID!) { pollResult(requestId: $id) { __typename ... on PollResult { done result } ... on Error { message } } }';
/** POLL_QUERY's id as codegen names trusted documents. */
export const POLL_DOCUMENT_ID = `sha256:${createHash('sha256').update(POLL_QUERY).digest('hex')}`;

export interface DownloadsOptions {
  /**
   * The upstream: its base URL says which kinds of address its files may be fetched from (see
   * downloadAllowed). The files are fetched by a client of the route's own, which sends no token.
   */
  client: AuditClient;
  /** The gateway's public base URL (PUBLIC_URL), without a trailing slash; read when a URL is made. */
  publicUrl: () => string;
  /** Sealing key material for links (see auth/download-links.ts); default: per process. */
  secret?: Buffer;
  /** The gateway's caller authentication, to check credentials sent along with a download. */
  authenticate?: ((req: Request) => Caller | Promise<Caller>) | undefined;
  logError?: ((err: unknown) => void) | undefined;
  /**
   * Only trusted documents run (PERSISTED_OPERATIONS_FILE): poll links then name POLL_QUERY by its
   * id, since its text would be refused.
   */
  trustedDocumentsOnly?: boolean;
}

export interface Downloads {
  /** Seals and opens the request handles of accepted jobs (same secret as the links). */
  jobs: JobHandles;
  urls: GatewayUrls;
  /** Answers a request under /downloads/; false (nothing written) for any other path. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export function createDownloads(options: DownloadsOptions): Downloads {
  const secret = options.secret ?? randomBytes(32);
  const links = new DownloadLinks(secret);
  const jobs = new JobHandles(secret);
  const urls: GatewayUrls = {
    download: ({ upstreamUrl, expiresAt, format, caller }) => {
      const upstreamExpiry = Date.parse(expiresAt);
      const cap = Date.now() + MAX_LINK_LIFETIME_MS;
      const expiresAtMs = Number.isFinite(upstreamExpiry) ? Math.min(upstreamExpiry, cap) : cap;
      const token = links.seal({ upstreamUrl, callerId: caller.id, tenantId: caller.tenantId, format, expiresAtMs });
      return { url: `${options.publicUrl()}${PREFIX}${token}`, expiresAt: new Date(expiresAtMs).toISOString() };
    },
    // GraphQL over HTTP GET runs the pollResult query (with the caller's credentials, and the
    // x-graphql-yoga-csrf header the CSRF protection asks of GET requests).
    poll: (requestId) => {
      const document = options.trustedDocumentsOnly ? `documentId=${encodeURIComponent(POLL_DOCUMENT_ID)}` : `query=${encodeURIComponent(POLL_QUERY)}`;
      return `${options.publicUrl()}/graphql?${document}&variables=${encodeURIComponent(JSON.stringify({ id: requestId }))}`;
    },
  };
  const upstreamBase = new URL(options.client.baseUrl);
  // Files are fetched through an Agent that connects only to the kinds of address downloadAllowed
  // allows, checked on the address connected to (address-kind.ts). Redirects are not followed
  // (undici's request follows none without its redirect interceptor): a 3xx is an upstream failure
  // (502); were one followed, its connection would go through this Agent too. The upstream's own
  // client keeps its Agent for the API. This client sends no token (downloadFile sends none); its
  // token is random so that no text in an error is redacted as if it were one.
  const fetcher = new AuditClient({
    baseUrl: options.client.baseUrl,
    token: randomBytes(16).toString('hex'),
    dispatcher: downloadAgent(upstreamBase, DEFAULT_TIMEOUTS.connectMs),
  });
  return { jobs, urls, serve: (req, res) => serve(req, res, links, upstreamBase, fetcher, options) };
}

/**
 * Whether a sealed upstream URL may be fetched: a second line behind the sealing key, for a key
 * that leaked or was guessed, since the route fetches without credentials and streams back
 * whatever answers. Every sealed URL is a dest_url of v1/download_results; the embedded service's
 * is on its own origin (loopback), but the cloud's files are served from other hosts that are not
 * known in advance (presigned storage URLs), so no origin list can be kept. Hence: http(s) only,
 * no credentials in the URL, and the upstream's own origin or a host of the same kind of address
 * as the upstream's: a public upstream's files are not fetched from loopback, private or
 * link-local addresses (cloud metadata at 169.254.169.254), while the embedded service on loopback
 * and an upstream inside a private network keep working. This checks the URL's text (literal
 * addresses, localhost names); a host name is checked on the addresses it resolves to when the
 * file is fetched (downloadAgent), which is also where the upstream's own name is classified by
 * its addresses: here an upstream given by a name other than localhost counts as public.
 */
export function downloadAllowed(target: string, upstreamBase: URL): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username !== '' || url.password !== '') return false;
  if (url.origin === upstreamBase.origin) return true;
  const kind = addressKind(url);
  return kind === 'public' || kind === addressKind(upstreamBase);
}

/** http://<address>:<port> of a listening server: the public URL when none is configured. */
export function listenerOrigin(server: Server): string {
  const address = server.address() as AddressInfo | null;
  if (address === null) return 'http://127.0.0.1';
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** The upstream's file name when it gave a plain one, else one from the format asked for. */
function fileDisposition(upstream: string | undefined, format: string): string {
  if (upstream !== undefined && /^attachment; filename="[\w.-]{1,100}"$/.test(upstream)) return upstream;
  return /^[a-z]{1,8}$/.test(format) ? `attachment; filename="audit_events.${format}.gz"` : 'attachment; filename="audit_events.gz"';
}

function answer(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const text = message + '\n';
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

const NOT_VALID = 'this download link is not valid (altered, truncated, or issued by another gateway)';

async function serve(req: IncomingMessage, res: ServerResponse, links: DownloadLinks, upstreamBase: URL, fetcher: AuditClient, options: DownloadsOptions): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (!path.startsWith(PREFIX)) return false;
  if (req.method !== 'GET') {
    answer(res, 405, 'download links are fetched with GET', { allow: 'GET' });
    return true;
  }
  const opened = links.open(path.slice(PREFIX.length));
  if (!opened.ok) {
    if (opened.reason === 'expired') answer(res, 410, 'this download link has expired; ask downloadResults for a new one');
    else answer(res, 403, NOT_VALID);
    return true;
  }
  const { claims } = opened;
  if (!downloadAllowed(claims.upstreamUrl, upstreamBase)) {
    // Sealed with this gateway's key, yet not a file URL the upstream could have given: the key
    // may be known to someone else. The URL itself is for the operator's log only.
    options.logError?.(new Error(`a download link sealed with this gateway's key points at ${JSON.stringify(claims.upstreamUrl)}, which is not fetched (not the upstream's kind of address); is CURSOR_SECRET known to others?`));
    answer(res, 403, NOT_VALID);
    return true;
  }
  if (req.headers.authorization !== undefined && options.authenticate) {
    let caller: Caller;
    try {
      caller = await options.authenticate(new Request('http://gateway/', { headers: { authorization: req.headers.authorization } }));
    } catch {
      answer(res, 401, 'the credentials sent with this download are not valid; the link alone is enough');
      return true;
    }
    if (caller.id !== claims.callerId || caller.tenantId !== claims.tenantId) {
      answer(res, 403, 'this download link was issued to another caller');
      return true;
    }
  }

  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  try {
    await fetcher.downloadFile(claims.upstreamUrl, res, {
      signal: controller.signal,
      onResponse: ({ contentType, contentLength, contentDisposition }) => {
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': contentType ?? 'application/gzip',
          ...(contentLength !== undefined ? { 'content-length': String(contentLength) } : {}),
          'content-disposition': fileDisposition(contentDisposition, claims.format),
          'cache-control': 'private, no-store',
          // The token is in the URL: pages linked from the file's viewer must not receive it.
          'referrer-policy': 'no-referrer',
        });
      },
    });
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return true;
    }
    if ((err as { code?: unknown }).code === ADDRESS_KIND_REFUSED) {
      // Refused when connecting (never retried), as the check of the URL refuses: a forged link, or
      // an upstream whose file host resolves here to an internal address (a private endpoint).
      options.logError?.(new Error(`a download link sealed with this gateway's key points at ${JSON.stringify(claims.upstreamUrl)}, which is not fetched: ${(err as Error).message}; is CURSOR_SECRET known to others, or does the upstream's file host resolve to an internal address here?`));
      answer(res, 403, NOT_VALID);
      return true;
    }
    const status = (err as { httpStatus?: unknown }).httpStatus;
    if (status === 404 || status === 410) answer(res, 410, 'the file behind this link is no longer kept by the audit service; ask downloadResults for a new link');
    else {
      options.logError?.(err);
      answer(res, 502, 'the audit service could not serve this file; try again later');
    }
  }
  return true;
}
