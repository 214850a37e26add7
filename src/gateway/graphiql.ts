// GraphiQL's page, served by the gateway's HTTP layer instead of yoga: the page inlines GraphiQL,
// Monaco and their workers (about 9 MB of HTML) and never changes while the process runs, so it
// is rendered once, compressed once per encoding (on the first request that wants it, off the
// event loop), and answered with a strong ETag that lets browsers revalidate with a 304.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';

type RendererModule = typeof import('@graphql-yoga/render-graphiql');
type RenderGraphiQL = RendererModule['renderGraphiQL'];

let loadedRenderer: RenderGraphiQL | undefined;

/**
 * yoga's GraphiQL renderer, its module loaded on the first page rendered: the module holds the
 * whole page as source text (9 MB of JavaScript, about 28 MB of strings in the heap), which a
 * gateway started with GRAPHIQL=false never renders.
 */
export const renderGraphiQL: RenderGraphiQL = (options) => {
  loadedRenderer ??= (createRequire(import.meta.url)('@graphql-yoga/render-graphiql') as RendererModule).renderGraphiQL;
  return loadedRenderer(options);
};

export interface GraphiQLOptions {
  title: string;
  defaultQuery: string;
}

type Encoding = 'br' | 'gzip' | 'identity';

interface Representation {
  body: Buffer;
  etag: string;
}

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * Brotli quality 6 and gzip level 6: the page is about 1.9 MB and 2.4 MB, in a fraction of a
 * second each; the highest levels take seconds for a few percent less.
 */
function compress(html: Buffer, encoding: Exclude<Encoding, 'identity'>): Promise<Buffer> {
  if (encoding === 'gzip') return gzipAsync(html, { level: 6 });
  return brotli(html, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 6, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: html.length } });
}

/**
 * The encoding to answer with: brotli, else gzip, when Accept-Encoding accepts it (a q of 0
 * refuses; `*` accepts any), else the page as it is.
 */
export function chooseEncoding(acceptEncoding: string | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (!token) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    accepted.set(token, Number.isNaN(weight) ? 0 : weight);
  }
  const weightOf = (encoding: string): number => accepted.get(encoding) ?? accepted.get('*') ?? 0;
  const br = weightOf('br');
  const gz = weightOf('gzip');
  if (br > 0 && br >= gz) return 'br';
  if (gz > 0) return 'gzip';
  return 'identity';
}

/** Does If-None-Match name this ETag (weak comparison, as RFC 9110 has it for If-None-Match)? */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export interface GraphiQLPage {
  /** A request yoga would answer with GraphiQL: GET of the endpoint by a browser. */
  matches(req: IncomingMessage): boolean;
  /** Answers the page (or a 304) in the encoding the request accepts. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The page for `endpoint`, as yoga's renderGraphiQL makes it from these options. */
export function createGraphiQLPage(endpoint: string, options: GraphiQLOptions): GraphiQLPage {
  let html: Buffer | undefined;
  let tag: string | undefined;
  const representations = new Map<Encoding, Promise<Representation>>();

  const representation = (encoding: Encoding): Promise<Representation> => {
    let pending = representations.get(encoding);
    if (!pending) {
      html ??= Buffer.from(renderGraphiQL(options), 'utf8');
      tag ??= createHash('sha256').update(html).digest('base64url').slice(0, 32);
      const page = html;
      // Each encoding is its own representation with its own strong validator.
      const etag = encoding === 'identity' ? `"${tag}"` : `"${tag}-${encoding}"`;
      pending = encoding === 'identity' ? Promise.resolve({ body: page, etag }) : compress(page, encoding).then((body) => ({ body, etag }));
      // A failed compression is tried again by the next request rather than remembered.
      pending.catch(() => representations.delete(encoding));
      representations.set(encoding, pending);
    }
    return pending;
  };

  return {
    matches(req) {
      if (req.method !== 'GET' || !(req.headers.accept ?? '').includes('text/html')) return false;
      const path = (req.url ?? '/').split('?')[0];
      return path === endpoint || path === `${endpoint}/`;
    },
    async serve(req, res) {
      const encoding = chooseEncoding(req.headers['accept-encoding']);
      const { body, etag } = await representation(encoding);
      const headers: Record<string, string> = {
        etag,
        // Stored, but revalidated on every load: a new gateway version is a new page.
        'cache-control': 'no-cache',
        vary: 'accept-encoding',
      };
      if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(body.length),
        ...(encoding === 'identity' ? {} : { 'content-encoding': encoding }),
      });
      res.end(body);
    },
  };
}
