// A GraphQL-over-HTTP client for the benchmarks: one keep-alive pool, POST with JSON, the HTTP
// status and the parsed body (or the start of a body that is not JSON) back.
import { Pool } from 'undici';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface GraphQLAnswer {
  status: number;
  body: Json;
  /** The body as received, for messages about a wrong answer. */
  text: string;
  /** False when the body was not JSON (then `body` is `{ unparsable: <its start> }`). */
  json: boolean;
}

export class GraphQLClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(url: URL, connections: number) {
    this.pool = new Pool(url.origin, { connections, keepAliveTimeout: 30_000 });
    this.path = url.pathname;
  }

  async run(query: string, variables: Record<string, unknown>): Promise<GraphQLAnswer> {
    const res = await this.pool.request({
      method: 'POST',
      path: this.path,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await res.body.text();
    try {
      return { status: res.statusCode, body: JSON.parse(text), text, json: true };
    } catch {
      return { status: res.statusCode, body: { unparsable: text.slice(0, 200) }, text, json: false };
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
