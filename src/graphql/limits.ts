// How deep an operation may nest. One limit for the whole gateway: the request-shape protections
// (src/gateway/protections.ts) apply it to every field, introspection included; the complexity
// limit (complexity.ts) applies it to schema fields only, whose deepest path is far shorter.

/** Deep enough for GraphiQL's and codegen's introspection query, which is the deepest legitimate one. */
export const MAX_QUERY_DEPTH = 20;
