// Chooses how requests are authenticated from the configuration (see AuthMode in config.ts) and
// turns a failure into HTTP 401 with a GraphQL error that names the problem (never the secret).
import { createHash } from 'node:crypto';
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

/** undefined in mode "none": every (loopback) caller is the local all-scopes caller. */
export function createAuthenticate(mode: AuthMode): Authenticate | undefined {
  if (mode.kind === 'none') return undefined;
  if (mode.kind === 'passthrough') {
    const all = new Set(SCOPES);
    return async (request) => {
      const token = bearerCredential(request);
      if (!token) throw unauthenticated('send your audit service token as Authorization: Bearer <token>');
      // The upstream decides what this token may do; the id is a digest prefix, never the token.
      const id = `passthrough:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
      return { id, scopes: all, upstreamToken: token };
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
