// Narrowing a search with the trigram index (events_fts, see database.ts) without changing what
// it finds. From the query's syntax tree and the search_restriction we derive an FTS5 MATCH
// expression that every matching event necessarily satisfies: `actor:bob` implies that the
// actor column contains the trigrams of "bob" in sequence, an equality restriction implies the
// same, AND keeps what any child implies, OR needs an implication from every child, and negations
// or comparisons imply nothing. The search keeps its full WHERE clause, so the index can only
// remove rows that could not match; the exact, case-sensitive instr() test still decides.
import type { AuditSchema } from '../audit-schema.js';
import type { QueryNode } from '../query/index.js';
import { fieldColumn, ftsFieldIds } from './database.js';

/** An FTS5 phrase for `value`, or null when the trigram index cannot look for it. */
function phrase(value: string): string | null {
  // Fewer than three characters make no trigram: FTS5 would match nothing, not everything.
  if ([...value].length < 3 || value.includes('\0')) return null;
  return `"${value.replace(/"/g, '""')}"`;
}

export class FtsPrefilter {
  private readonly indexed: Set<string>;
  /** Bare values may use the index only when every field they search is indexed. */
  private readonly bareColumns: string | null;

  constructor(schema: AuditSchema) {
    this.indexed = new Set(ftsFieldIds(schema));
    const searchable = schema.fields.filter((f) => f.type !== 'string-unindexed');
    this.bareColumns = searchable.length > 0 && searchable.every((f) => this.indexed.has(f.id)) ? searchable.map((f) => fieldColumn(f.id)).join(' ') : null;
  }

  get enabled(): boolean {
    return this.indexed.size > 0;
  }

  /** A MATCH expression implied by the query and the restriction, or null when there is none. */
  derive(query: QueryNode, restriction: Readonly<Record<string, unknown>> | undefined): string | null {
    if (!this.enabled) return null;
    const parts: string[] = [];
    const fromQuery = this.implied(query);
    if (fromQuery) parts.push(fromQuery);
    for (const [field, values] of Object.entries(restriction ?? {})) {
      if (!this.indexed.has(field) || !Array.isArray(values) || values.length === 0) continue;
      const phrases = values.map((v) => (typeof v === 'string' ? phrase(v) : null));
      if (phrases.some((p) => p === null)) continue;
      parts.push(`{${fieldColumn(field)}} : (${phrases.join(' OR ')})`);
    }
    if (parts.length === 0) return null;
    return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
  }

  private implied(node: QueryNode): string | null {
    switch (node.type) {
      case 'match': {
        const p = phrase(node.value);
        if (p === null) return null;
        if (node.field === null) return this.bareColumns === null ? null : `{${this.bareColumns}} : ${p}`;
        return this.indexed.has(node.field) ? `{${fieldColumn(node.field)}} : ${p}` : null;
      }
      case 'and': {
        const parts = node.children.map((c) => this.implied(c)).filter((p): p is string => p !== null);
        if (parts.length === 0) return null;
        return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
      }
      case 'or': {
        const parts = node.children.map((c) => this.implied(c));
        if (parts.some((p) => p === null)) return null;
        return parts.map((p) => `(${p})`).join(' OR ');
      }
      case 'not':
      case 'compare':
        return null;
    }
  }
}
