// Pass-through mode: each caller's own upstream token gets its own AuditClient (a client holds its
// token privately and scrubs it from errors), all sharing one undici Agent so connections to the
// upstream are pooled. Clients are kept in a small LRU keyed by the token's digest.
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { AuditClient, type AuditClientOptions } from '../audit-client/index.js';
import { createUpstreamState, type UpstreamState, type UpstreamStateOptions } from '../graphql/upstream-state.js';

export class ClientPool {
  private readonly clients = new Map<string, { client: AuditClient; upstream: UpstreamState }>();
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

  constructor(
    private readonly base: Omit<AuditClientOptions, 'token' | 'dispatcher'>,
    /** Shared by every token's state; each token gets a verified history of its own. */
    private readonly state: Omit<UpstreamStateOptions, 'client' | 'history'>,
    private readonly maxClients = 1000,
  ) {}

  /** The client (and upstream state: root cache, verified history, last verified root) for one upstream token. */
  forToken(token: string): { client: AuditClient; upstream: UpstreamState } {
    const key = createHash('sha256').update(token).digest('base64url');
    let entry = this.clients.get(key);
    if (entry) {
      // Refresh its place in the LRU.
      this.clients.delete(key);
      this.clients.set(key, entry);
      return entry;
    }
    const client = new AuditClient({ ...this.base, token, dispatcher: this.agent });
    entry = { client, upstream: createUpstreamState({ ...this.state, client }) };
    if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
    this.clients.set(key, entry);
    return entry;
  }

  /** The clients kept now (graceful shutdown ends the live tails served through them). */
  clientsInUse(): AuditClient[] {
    return [...this.clients.values()].map((entry) => entry.client);
  }

  async close(): Promise<void> {
    this.clients.clear();
    await this.agent.close();
  }
}
