// Narrowing a search with the trigram index (events_fts, see database.ts) without changing what
// it finds. From the query's syntax tree and the search_restriction we derive an FTS5 MATCH
// expression that every matching event necessarily satisfies: `actor:bob` implies that the
// actor column contains the trigrams of "bob" in sequence, an equality restriction implies the
// same, AND keeps what any child implies, OR needs an implication from every child, and negations
// or comparisons imply nothing. The search keeps its full WHERE clause, so the index can only
// remove rows that could not match; the exact, case-sensitive instr() test still decides.
//
// With an estimate of how common each trigram is (trigram-sample.ts), a long value is looked up
// by its rarest trigram (and the next one, when that is rare too) instead of as a phrase of all
// of them: a value's column contains every one of its trigrams, so the candidates still include
// every match, and FTS5 reads one or two short doclists instead of one per trigram.
import type { AuditSchema } from '../audit-schema.js';
import type { QueryNode } from '../query/index.js';
import { fieldColumn, ftsFieldIds } from './database.js';
import { trigramsOf } from './trigram-sample.js';

export interface RarestTrigrams {
  /** How common a trigram is in a column (0..1), or undefined when unknown. */
  share: (column: string, trigram: string) => number | undefined;
  /** The largest estimated share the rarest trigram of a value may have to be used. */
  maxShare: number;
}

/** At most this many trigrams a long value is looked up by, when their shares are known. */
const RAREST_TRIGRAMS = 2;

/** FTS5 string syntax: double quotes around, a double quote inside doubled. */
const ftsString = (text: string): string => `"${text.replace(/"/g, '""')}"`;

/** An FTS5 phrase for `value`, or null when the trigram index cannot look for it. */
function phrase(value: string): string | null {
  // Fewer than three characters make no trigram: FTS5 would match nothing, not everything.
  if ([...value].length < 3 || value.includes('\0')) return null;
  return ftsString(value);
}

/**
 * What to look `value` up by in `columns`: its rarest trigrams ANDed when the estimate says they
 * narrow it to at most `maxShare` of the events, else the phrase.
 */
function term(value: string, columns: readonly string[], rarest: RarestTrigrams | undefined): string | null {
  const whole = phrase(value);
  if (whole === null || !rarest) return whole;
  const trigrams = [...new Set(trigramsOf(value))];
  if (trigrams.length <= RAREST_TRIGRAMS) return whole;
  const rated: Array<{ trigram: string; share: number }> = [];
  for (const trigram of trigrams) {
    let total = 0;
    for (const column of columns) {
      const known = rarest.share(column, trigram);
      if (known === undefined) return whole;
      total += known;
    }
    rated.push({ trigram, share: total });
  }
  rated.sort((a, b) => a.share - b.share);
  // Candidates beyond the prefilter's cap would mean a full scan: then the exact phrase is better.
  if (rated[0]!.share > rarest.maxShare) return whole;
  // A second trigram only when it is rare too: a common one costs a long doclist for little.
  const chosen = rated.slice(0, RAREST_TRIGRAMS).filter((r, i) => i === 0 || r.share <= rarest.maxShare);
  return chosen.length === 1 ? ftsString(chosen[0]!.trigram) : `(${chosen.map((r) => ftsString(r.trigram)).join(' AND ')})`;
}

export class FtsPrefilter {
  private readonly indexed: Set<string>;
  /** Bare values may use the index only when every field they search is indexed. */
  private readonly bareColumns: string | null;
  /** The columns of bareColumns, one by one. */
  private readonly bareColumnList: string[];

  constructor(schema: AuditSchema) {
    this.indexed = new Set(ftsFieldIds(schema));
    const searchable = schema.fields.filter((f) => f.type !== 'string-unindexed');
    this.bareColumnList = searchable.length > 0 && searchable.every((f) => this.indexed.has(f.id)) ? searchable.map((f) => fieldColumn(f.id)) : [];
    this.bareColumns = this.bareColumnList.length > 0 ? this.bareColumnList.join(' ') : null;
  }

  get enabled(): boolean {
    return this.indexed.size > 0;
  }

  /**
   * A MATCH expression implied by the query and the restriction, or null when there is none.
   * With `rarest`, long values are looked up by their rarest trigrams when those are estimated to
   * match at most `maxShare` of the events; without it, every value is looked up as a phrase.
   */
  derive(query: QueryNode, restriction: Readonly<Record<string, unknown>> | undefined, rarest?: RarestTrigrams): string | null {
    if (!this.enabled) return null;
    const parts: string[] = [];
    const fromQuery = this.implied(query, rarest);
    if (fromQuery) parts.push(fromQuery);
    for (const [field, values] of Object.entries(restriction ?? {})) {
      if (!this.indexed.has(field) || !Array.isArray(values) || values.length === 0) continue;
      const phrases = values.map((v) => (typeof v === 'string' ? term(v, [fieldColumn(field)], rarest) : null));
      if (phrases.some((p) => p === null)) continue;
      parts.push(`{${fieldColumn(field)}} : (${phrases.join(' OR ')})`);
    }
    if (parts.length === 0) return null;
    return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
  }

  private implied(node: QueryNode, rarest: RarestTrigrams | undefined): string | null {
    switch (node.type) {
      case 'match': {
        if (node.field === null) {
          if (this.bareColumns === null) return null;
          const t = term(node.value, this.bareColumnList, rarest);
          return t === null ? null : `{${this.bareColumns}} : ${t}`;
        }
        if (!this.indexed.has(node.field)) return null;
        const column = fieldColumn(node.field);
        const t = term(node.value, [column], rarest);
        return t === null ? null : `{${column}} : ${t}`;
      }
      case 'and': {
        const parts = node.children.map((c) => this.implied(c, rarest)).filter((p): p is string => p !== null);
        if (parts.length === 0) return null;
        return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
      }
      case 'or': {
        const parts = node.children.map((c) => this.implied(c, rarest));
        if (parts.some((p) => p === null)) return null;
        return parts.map((p) => `(${p})`).join(' OR ');
      }
      case 'not':
      case 'compare':
        return null;
    }
  }
}
