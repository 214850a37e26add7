// Chooses how requests are authenticated from the configuration (see AuthMode in config.ts) and
// turns a failure into HTTP 401 with a GraphQL error that names the problem (never the secret).
import { hash as digestOf } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthMode } from '../config.js';
import type { Caller } from '../auth/caller.js';
import { AuthenticationError } from '../auth/errors.js';
import { SCOPES } from '../auth/scopes.js';
import { bearerCredential, CallerDirectory } from './callers.js';

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

type Authenticate = (request: Request) => Promise<Caller>;

/**
 * Asks the upstream whether it takes a pass-through token: 'valid', 'invalid', or a thrown error
 * when it cannot say (unreachable).
 */
export type ConfirmToken = (token: string) => Promise<'valid' | 'invalid'>;

/** How long a token the upstream accepted is taken without asking again, and how many are kept. */
const CONFIRMED_TOKEN_MS = 5 * 60_000;
const CONFIRMED_TOKENS = 10_000;

/**
 * Only the upstream knows a pass-through token. Asking it once per token (then remembering the
 * answer for a while) lets a made-up token be refused from the headers, before its request's body
 * is read or its query parsed, like a bad key in `keys` mode. When the upstream cannot answer, the
 * request goes on: its own upstream calls then fail with a typed error.
 */
function tokenConfirmations(confirm: ConfirmToken): (digest: string, token: string) => Promise<boolean> {
  const confirmed = new Map<string, number>(); // digest -> until, oldest first
  const asking = new Map<string, Promise<'valid' | 'invalid' | 'unknown'>>();
  return async (digest, token) => {
    const until = confirmed.get(digest);
    if (until !== undefined && until > Date.now()) return true;
    let answer = asking.get(digest);
    if (!answer) {
      answer = confirm(token).catch(() => 'unknown' as const);
      asking.set(digest, answer);
      void answer.finally(() => asking.delete(digest));
    }
    const verdict = await answer;
    if (verdict === 'invalid') return false;
    if (verdict === 'valid') {
      confirmed.delete(digest);
      if (confirmed.size >= CONFIRMED_TOKENS) confirmed.delete(confirmed.keys().next().value!);
      confirmed.set(digest, Date.now() + CONFIRMED_TOKEN_MS);
    }
    return true;
  };
}

/** undefined in mode "none": every (loopback) caller is the local all-scopes caller. */
export function createAuthenticate(mode: AuthMode, confirmToken?: ConfirmToken): Authenticate | undefined {
  if (mode.kind === 'none') return undefined;
  if (mode.kind === 'passthrough') {
    const all = new Set(SCOPES);
    const accepted = confirmToken ? tokenConfirmations(confirmToken) : undefined;
    return async (request) => {
      const token = bearerCredential(request);
      if (!token) throw unauthenticated('send your audit service token as Authorization: Bearer <token>');
      const digest = digestOf('sha256', token, 'hex');
      if (accepted && !(await accepted(digest, token))) throw unauthenticated('not authenticated: the audit service does not accept this token');
      // The upstream decides what this token may do; the id is a digest prefix, never the token.
      return { id: `passthrough:${digest.slice(0, 12)}`, scopes: all, upstreamToken: token };
    };
  }
  const directory = mode.file ? CallerDirectory.fromFile(mode.file) : CallerDirectory.fromJson(mode.inline!, 'GATEWAY_KEYS');
  return async (request) => {
    const credential = bearerCredential(request);
    if (!credential) throw unauthenticated('send an API key or token as Authorization: Bearer <credential>');
    try {
      return await directory.authenticate(credential);
    } catch (err) {
      if (err instanceof AuthenticationError) throw unauthenticated(`not authenticated: ${err.message}`);
      throw err;
    }
  };
}
