// How common each trigram is in each indexed column, estimated from a random sample of events, so
// the trigram prefilter (fts-prefilter.ts) can look a value up by its rarest trigrams. FTS5 reads
// the whole doclist of every trigram of a phrase: `actor:load-x1-client-3` read 18 doclists, most
// of them holding every event, where the one of "t-3" alone names the same candidates (24 ms
// against 1.6 ms over 115,000 events). The estimate only chooses which trigrams to look up; the
// candidates they give always include every match, and the search's own test still decides.
import type { Db } from './database.js';

/** Events read per sample. */
const SAMPLE_ROWS = 1024;
/** Characters of a value whose trigrams are counted (indexed fields are short). */
const SAMPLED_CHARS = 256;
/**
 * Distinct trigrams counted per column: a column of long random values would otherwise keep
 * hundreds of thousands. One met after that counts as unseen, so it looks rare: the prefilter then
 * tries it, and falls back to the phrase if it names too many events.
 */
const MAX_TRIGRAMS_PER_COLUMN = 20_000;
/** A new sample once the log has grown by this fraction since the last one… */
const GROWTH_BEFORE_RESAMPLE = 0.25;
/** …or after this long, if it has grown at all. */
const RESAMPLE_AFTER_MS = 60_000;

export class TrigramSample {
  /** Per column: in how many sampled events each trigram occurs. */
  private counts = new Map<string, Map<string, number>>();
  private rows = 0;
  private sampledSize = 0;
  private sampledAt = 0;

  constructor(
    private readonly db: Db,
    private readonly columns: readonly string[],
  ) {}

  /**
   * The estimated share (0..1) of events whose `column` contains `trigram`, among the first
   * `treeSize` leaves; undefined when there is nothing to estimate from.
   */
  share(column: string, trigram: string, treeSize: number): number | undefined {
    this.refreshFor(treeSize);
    if (this.rows === 0) return undefined;
    return (this.counts.get(column)?.get(trigram) ?? 0) / this.rows;
  }

  /** How many (column, trigram) counts the sample keeps. */
  get kept(): number {
    let total = 0;
    for (const column of this.counts.values()) total += column.size;
    return total;
  }

  private refreshFor(treeSize: number): void {
    if (treeSize <= this.sampledSize) return;
    const grownEnough = treeSize >= this.sampledSize * (1 + GROWTH_BEFORE_RESAMPLE);
    if (!grownEnough && performance.now() - this.sampledAt < RESAMPLE_AFTER_MS) return;
    this.sample(treeSize);
  }

  private sample(treeSize: number): void {
    const leaves = new Set<number>();
    if (treeSize <= SAMPLE_ROWS) for (let leaf = 0; leaf < treeSize; leaf++) leaves.add(leaf);
    else while (leaves.size < SAMPLE_ROWS) leaves.add(Math.floor(Math.random() * treeSize));
    const columns = this.columns.map((c) => `"${c}"`).join(', ');
    const rows = this.db
      .prepare(`SELECT ${columns} FROM events WHERE leaf_index IN (SELECT value FROM json_each(?))`)
      .raw()
      .all(JSON.stringify([...leaves])) as unknown[][];
    const counts = new Map<string, Map<string, number>>(this.columns.map((c) => [c, new Map<string, number>()]));
    for (const row of rows) {
      this.columns.forEach((column, i) => {
        const value = row[i];
        if (typeof value !== 'string') return;
        const seen = counts.get(column)!;
        for (const trigram of new Set(trigramsOf(value.slice(0, SAMPLED_CHARS)))) {
          const count = seen.get(trigram);
          if (count !== undefined) seen.set(trigram, count + 1);
          else if (seen.size < MAX_TRIGRAMS_PER_COLUMN) seen.set(trigram, 1);
        }
      });
    }
    this.counts = counts;
    this.rows = rows.length;
    this.sampledSize = treeSize;
    this.sampledAt = performance.now();
  }
}

/** The trigrams of a value as the FTS5 trigram tokenizer makes them: three characters (code points) each. */
export function trigramsOf(value: string): string[] {
  const chars = [...value];
  const out: string[] = [];
  for (let i = 0; i + 3 <= chars.length; i++) out.push(chars[i]! + chars[i + 1]! + chars[i + 2]!);
  return out;
}
