// Request-shape protections in front of execution: depth, aliases, directives and tokens
// (graphql-armor), no field suggestions outside development (they leak the schema), CSRF
// prevention (a browser cannot send a "simple" cross-site GraphQL request), and introspection
// that can be switched off. Query cost is limited by the Pothos complexity plugin (builder.ts),
// which counts connection `first`/`last`.
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';
import { MAX_QUERY_DEPTH } from '../graphql/limits.js';

interface ProtectionOptions {
  /** Allow introspection queries (GraphiQL and codegen need them). */
  introspection: boolean;
  /** Hide "did you mean …?" suggestions in validation errors. */
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
  if (options.blockFieldSuggestions) plugins.push(blockFieldSuggestionsPlugin());
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}
