// A bound on what one search may cost per event, checked on the parsed query before it runs.
// A search that no index narrows tests every event, and each event costs one test per field
// predicate the query compiles to: a bare value tests every searchable field, `field:value` one.
// AND stops at the first false test, OR goes on through every alternative of a row that does not
// match, so wide ORs of bare values are the dearest queries (256 bare words joined by OR are
// 2,560 tests per event). The parser's limits (terms, depth) keep the SQL valid; these keep it
// affordable, and the search deadline bounds what remains (a large log, long text fields).

import type { QueryNode, Span } from './ast.js';
import { QuerySyntaxError } from './errors.js';
import type { FieldResolver } from './fields.js';

/** Most field tests one query may make on an event. */
export const MAX_FIELD_TESTS = 256;
/** Most alternatives one OR may join (nested ORs count as one: `(a OR b) OR c` is three). */
export const MAX_OR_WIDTH = 32;

/**
 * Throws QuerySyntaxError, naming the first term past a limit, when the query would make more than
 * MAX_FIELD_TESTS field tests per event or join more than MAX_OR_WIDTH alternatives in one OR.
 */
export function checkQueryCost(node: QueryNode, fields: FieldResolver): void {
  const bareCost = Math.max(1, fields.all().filter((f) => f.searchable).length);
  let tests = 0;
  const walk = (n: QueryNode): void => {
    switch (n.type) {
      case 'match':
      case 'compare': {
        tests += n.type === 'match' && n.field === null ? bareCost : 1;
        if (tests > MAX_FIELD_TESTS) {
          const at = firstSpan(n);
          const hint = n.type === 'match' && n.field === null ? `; a bare value tests each of the ${bareCost} searchable fields, field:value only that one` : '';
          throw new QuerySyntaxError(at.text, at.position, `search too expensive: narrow it (at most ${MAX_FIELD_TESTS} field tests per event${hint}), first term too many:`);
        }
        return;
      }
      case 'not':
        return walk(n.child);
      case 'and':
        return n.children.forEach(walk);
      case 'or': {
        const alternatives = flattenOr(n);
        if (alternatives.length > MAX_OR_WIDTH) {
          const at = firstSpan(alternatives[MAX_OR_WIDTH]!);
          throw new QuerySyntaxError(at.text, at.position, `search too expensive: narrow it (at most ${MAX_OR_WIDTH} alternatives joined by one OR), first one too many:`);
        }
        return alternatives.forEach(walk);
      }
    }
  };
  walk(node);
}

function flattenOr(node: QueryNode): QueryNode[] {
  return node.type === 'or' ? node.children.flatMap(flattenOr) : [node];
}

/** Where a subtree starts as written: the field of its first term, else the term's value. */
function firstSpan(node: QueryNode): Span {
  switch (node.type) {
    case 'match':
      return node.loc.field ?? node.loc.value;
    case 'compare':
      return node.loc.field;
    case 'not':
      return firstSpan(node.child);
    case 'and':
    case 'or':
      // Parsed queries have children here; the empty AND (match-all) is never under an OR.
      return node.children.length > 0 ? firstSpan(node.children[0]!) : { text: '', position: 0 };
  }
}
