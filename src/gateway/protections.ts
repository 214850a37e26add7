// Request-shape protections in front of execution: depth, aliases, directives and tokens
// (graphql-armor), no "did you mean" suggestions outside development (they leak the schema), CSRF
// prevention (a browser cannot send a "simple" cross-site GraphQL request), and introspection
// that can be switched off. Query cost is limited by the Pothos complexity model, which counts
// connection `first`/`last`, checked once per operation before execution (graphql/complexity.ts).
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { MAX_QUERY_DEPTH } from '../graphql/limits.js';

interface ProtectionOptions {
  /** Allow introspection queries (GraphiQL and codegen need them). */
  introspection: boolean;
  /** Hide every "did you mean …?" suggestion: fields, arguments, types, enum values, input fields. */
  blockFieldSuggestions: boolean;
}

export const LIMITS = {
  depth: MAX_QUERY_DEPTH,
  aliases: 15,
  directives: 10,
  tokens: 3000,
} as const;

export function protectionPlugins(options: ProtectionOptions): Plugin[] {
  const plugins: Plugin[] = [
    maxDepthPlugin({ n: LIMITS.depth, flattenFragments: true, ignoreIntrospection: false, exposeLimits: true }),
    maxAliasesPlugin({ n: LIMITS.aliases, exposeLimits: true }),
    maxDirectivesPlugin({ n: LIMITS.directives, exposeLimits: true }),
    maxTokensPlugin({ n: LIMITS.tokens, exposeLimits: true }),
    // Browsers send GraphQL only as JSON POSTs (which need a CORS preflight) or with this header.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'apollo-require-preflight'] }),
  ];
  if (options.blockFieldSuggestions) plugins.push(hideSuggestions);
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}

/**
 * graphql-js (16) suggests schema names in validation errors (fields, arguments, types, enum
 * values, input fields) and in variable coercion errors, which come from execution; it has no
 * switch to turn them off. graphql-armor's block-field-suggestions rewrites validation errors
 * only, and misses the enum form (`Did you mean the enum value "ASC"?`). This removes the
 * sentence from every error of every answer over HTTP, at the last step before it is written.
 * GraphQL over WebSocket (websocket.ts) runs yoga's envelop alone, without that step: there
 * validation, execution and subscription results are cleaned as they come out.
 */
const hideSuggestions: Plugin = {
  onResultProcess(payload) {
    const result = payload.result;
    if (Symbol.asyncIterator in result) {
      payload.setResult(
        (async function* () {
          for await (const each of result) yield withoutSuggestions(each);
        })(),
      );
    } else payload.setResult(Array.isArray(result) ? result.map(withoutSuggestions) : withoutSuggestions(result));
  },
  onValidate() {
    return ({ result, setResult }) => {
      if (result.length > 0) setResult(result.map(withoutSuggestion));
    };
  },
  onExecute() {
    return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, cleanResult) };
  },
  onSubscribe() {
    // The subscription payload has the execution one's shape (args, result, setResult).
    return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload as Parameters<typeof handleStreamOrSingleExecutionResult>[0], cleanResult) };
  },
};

const cleanResult = (payload: { result: ExecutionResult; setResult: (result: ExecutionResult) => void }): void => {
  const cleaned = withoutSuggestions(payload.result);
  if (cleaned !== payload.result) payload.setResult(cleaned);
};

/** What graphql-js's didYouMean() appends: ` Did you mean "a"?`, `… "a" or "b"?`, `… the enum value "A"?` (names hold no "?"). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withoutSuggestions<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.length) return result;
  const errors = result.errors.map(withoutSuggestion);
  return errors.some((error, i) => error !== result.errors![i]) ? { ...result, errors } : result;
}

function withoutSuggestion<E extends Error>(error: E): E {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message) return error;
  if (!(error instanceof GraphQLError)) return { ...error, message };
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: error.extensions }) as Error as E;
}
