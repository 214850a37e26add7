// Validation results kept per parsed document. Yoga's own validation cache files them under an
// LRU cache with a time-to-live whose every lookup arms a timer (about 3 µs a request, a tenth of
// yoga's own work on a small mutation); the documents themselves come from the gateway's document
// cache, so the same DocumentNode object comes back for the same text and a WeakMap finds it.
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** What validate() answered: the errors found, none for a valid document. */
type ValidationResult = readonly Error[];

/**
 * Keyed as yoga keys it: by the names of the rules in force (plugins add rules on every request,
 * possibly as new functions), then by schema, then by document. The rule sets in force are fixed
 * by configuration; past this many distinct ones, further sets are validated every time.
 */
const MAX_RULE_SETS = 32;

type ResultsBySchema = WeakMap<GraphQLSchema, WeakMap<DocumentNode, ValidationResult>>;
type Rules = readonly { name: string }[] | undefined;

export function validationCache(): Plugin {
  const byRuleNames = new Map<string, ResultsBySchema>();
  // The same rule functions come back on every request: found by identity first, a rule set
  // skips building its key from about thirty names.
  const byRuleFunctions: { rules: Rules; results: ResultsBySchema }[] = [];
  const resultsForRules = (rules: Rules): ResultsBySchema | undefined => {
    for (const known of byRuleFunctions) if (sameRules(known.rules, rules)) return known.results;
    const key = rulesKeyOf(rules);
    let results = byRuleNames.get(key);
    if (!results) {
      if (byRuleNames.size >= MAX_RULE_SETS) return undefined;
      results = new WeakMap();
      byRuleNames.set(key, results);
    }
    if (byRuleFunctions.length < MAX_RULE_SETS) byRuleFunctions.push({ rules: rules && [...rules], results });
    return results;
  };
  return {
    onValidate({ params, setResult }) {
      const { schema, documentAST, rules } = params as { schema: GraphQLSchema | null | undefined; documentAST: DocumentNode; rules: Rules };
      if (!schema) return;
      const bySchema = resultsForRules(rules);
      if (!bySchema) return;
      let results = bySchema.get(schema);
      if (!results) {
        results = new WeakMap();
        bySchema.set(schema, results);
      }
      const cached = results.get(documentAST);
      if (cached) {
        setResult(cached);
        return;
      }
      const documents = results;
      return ({ result }) => {
        if (result != null) documents.set(documentAST, result);
      };
    },
  };
}

function sameRules(a: Rules, b: Rules): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rulesKeyOf(rules: Rules): string {
  if (!rules) return '';
  let key = '';
  for (const rule of rules) key += `${rule.name},`;
  return key;
}
