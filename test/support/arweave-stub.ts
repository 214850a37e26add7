// Keeps the vendor SDK offline: it looks published roots up on arweave.net (a GraphQL query by
// tree_name/tree_size, then each transaction's data) before falling back to v1/root. This wraps
// globalThis.fetch in-process so that any request to arweave.net (or a subdomain) is answered
// locally — the GraphQL endpoint with an empty transaction list, everything else with 404 — and
// every other request goes to the real fetch untouched. `restore()` puts the original back.

export interface ArweaveStub {
  /** Every arweave request seen, as "METHOD url", in order. */
  readonly requests: string[];
  /** Puts the original fetch back (idempotent). */
  restore(): void;
}

const EMPTY_TRANSACTIONS = JSON.stringify({ data: { transactions: { edges: [] } } });

function requestUrl(input: Parameters<typeof fetch>[0]): URL | undefined {
  try {
    if (typeof input === 'string') return new URL(input);
    if (input instanceof URL) return input;
    return new URL(input.url);
  } catch {
    return undefined;
  }
}

function isArweave(url: URL | undefined): boolean {
  return url !== undefined && (url.hostname === 'arweave.net' || url.hostname.endsWith('.arweave.net'));
}

export function installArweaveStub(): ArweaveStub {
  const original = globalThis.fetch;
  const requests: string[] = [];
  const stubbed: typeof fetch = async (input, init) => {
    const url = requestUrl(input);
    if (!isArweave(url)) return original(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    requests.push(`${method} ${url!.href}`);
    if (method === 'POST' && url!.pathname.replace(/\/+$/, '') === '/graphql') {
      return new Response(EMPTY_TRANSACTIONS, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    return new Response('not found', { status: 404, statusText: 'Not Found', headers: { 'content-type': 'text/plain' } });
  };
  globalThis.fetch = stubbed;
  let restored = false;
  return {
    requests,
    restore() {
      if (restored) return;
      restored = true;
      globalThis.fetch = original;
    },
  };
}
