// An audit service reached over its REST API as an audit source: the whole log through v1/export
// (202, polled), downloaded with v1/download_results as gzip JSON and parsed while it streams in,
// and the published roots from v1/root.
//
// What the export holds (src/local-audit/export-format.ts): each event's envelope exactly as
// stored, its hash, and `leaf_index` for the events below the published size. The export is
// ordered by received_at (the only order v1/export offers besides schema fields), so events are
// put back into leaf order through a bounded window (REORDER_WINDOW) before the rebuild; an event
// whose received_at puts it out of leaf order is then reported by the core like any other.
// Events without a leaf_index (not yet published, or a service that does not say) take the next
// position in received_at order. With no leaf_index at all the report says leafOrder
// "received_at": a rebuilt root that matches a published one then still proves that exactly those
// events, in that order, make up the log up to that size; one that does not match cannot tell a
// deleted or edited event from events whose received_at order differs from their leaf order (equal
// times, or a service that nests several events under one leaf).
//
// Published roots: v1/root answers one size per request, so the audit asks for the latest, every
// power of two below it and each verified size: about log2(n) requests, and the first power of two
// whose root differs narrows a rewrite down to half of the log below it.
import { PassThrough } from 'node:stream';
import { AuditClient, TreeNotFoundError, type PublishedRoot } from '../audit-client/index.js';
import { ExportEventScanner, ExportFormatError } from './export-scanner.js';
import type { AuditSource, LeafChunk, LeafRecord, RootRecord } from './types.js';

export interface RemoteSourceOptions {
  baseUrl: string;
  token: string;
  configId?: string | undefined;
  /** Sizes of verified roots: their published roots are fetched too. */
  verifiedSizes?: readonly number[];
  signal?: AbortSignal;
  /** How long to wait for the export job (default 30 min). */
  exportDeadlineMs?: number;
}

/** Events held back at most to restore leaf order (an event displaced further ends up a gap). */
const REORDER_WINDOW = 4096;
const CHUNK = 1024;
const ROOT_CONCURRENCY = 4;

interface ExportedEvent {
  envelope?: unknown;
  hash?: unknown;
  leaf_index?: unknown;
}

/** A binary min-heap of records by leaf index. */
class LeafHeap {
  private readonly items: LeafRecord[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): LeafRecord | undefined {
    return this.items[0];
  }

  push(record: LeafRecord): void {
    const items = this.items;
    let i = items.push(record) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.leafIndex! <= record.leafIndex!) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = record;
  }

  pop(): LeafRecord | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.leafIndex! < items[left]!.leafIndex! ? right : left;
      if (items[child]!.leafIndex! >= last.leafIndex!) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function rootRecord(root: PublishedRoot, wanted: number | undefined): RootRecord {
  if (!Number.isSafeInteger(root.size) || typeof root.root_hash !== 'string' || (wanted !== undefined && root.size !== wanted)) {
    throw new Error(`v1/root answered size ${String(root.size)} for tree_size ${wanted ?? 'latest'}`);
  }
  return { size: root.size, rootHash: root.root_hash.toLowerCase() };
}

async function fetchPublishedRoots(client: AuditClient, verifiedSizes: readonly number[], signal: AbortSignal | undefined): Promise<RootRecord[]> {
  let latest: RootRecord;
  try {
    latest = rootRecord((await client.root({}, signal ? { signal } : {})).result.data, undefined);
  } catch (err) {
    // Nothing published yet: there is no root to compare.
    if (err instanceof TreeNotFoundError) return [];
    throw err;
  }
  const sizes = new Set<number>();
  for (let size = 1; size < latest.size; size *= 2) sizes.add(size);
  for (const size of verifiedSizes) if (size >= 1 && size < latest.size) sizes.add(size);
  const wanted = [...sizes].sort((a, b) => a - b);
  const roots = new Array<RootRecord>(wanted.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const i = next++;
      const size = wanted[i]!;
      roots[i] = rootRecord((await client.root({ tree_size: size }, signal ? { signal } : {})).result.data, size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ROOT_CONCURRENCY, wanted.length) }, worker));
  return [...roots, latest];
}

export async function openRemoteSource(options: RemoteSourceOptions): Promise<AuditSource> {
  const signal = options.signal;
  const client = new AuditClient({
    baseUrl: options.baseUrl,
    token: options.token,
    ...(options.configId ? { configId: options.configId } : {}),
    polling: { deadlineMs: options.exportDeadlineMs ?? 30 * 60_000 },
  });
  try {
    // The roots first: the export, taken after, holds at least every event they cover.
    const roots = await fetchPublishedRoots(client, options.verifiedSizes ?? [], signal);
    const exported = await client.export({ format: 'json', order: 'asc', order_by: 'received_at' }, { poll: true, ...(signal ? { signal } : {}) });
    const count = (exported.result as { count?: unknown }).count;
    const link = await client.downloadResults({ request_id: exported.requestId, format: 'json' }, signal ? { signal } : {});
    let sawLeafIndexes = false;

    async function* chunks(): AsyncGenerator<LeafChunk> {
      const file = new PassThrough();
      file.setEncoding('utf8');
      // The download's own failure, when it failed: it explains a broken stream better than the parser.
      let failed: { error: unknown } | undefined;
      const download = client.downloadFile(link.result.dest_url, file, { decompress: true, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
        failed = { error: err };
        file.destroy();
      });
      const scanner = new ExportEventScanner();
      const heap = new LeafHeap();
      let ready: LeafRecord[] = [];
      let next = 0;
      const emit = (record: LeafRecord): void => {
        ready.push(record);
        next = Math.max(next, (record.leafIndex ?? next) + 1);
      };
      const onEvent = (item: unknown): void => {
        const event = item as ExportedEvent;
        if (event.envelope === null || typeof event.envelope !== 'object') throw new ExportFormatError(`exported event ${scanner.count - 1} has no envelope object`);
        const record: LeafRecord = { envelope: event.envelope };
        if (typeof event.hash === 'string') record.storedHash = event.hash;
        if (Number.isSafeInteger(event.leaf_index) && (event.leaf_index as number) >= 0) {
          record.leafIndex = event.leaf_index as number;
          sawLeafIndexes = true;
          heap.push(record);
          while (heap.size > 0 && heap.peek()!.leafIndex! <= next) emit(heap.pop()!);
          // Held back too long: let it go (the core reports the gap it leaves).
          while (heap.size > REORDER_WINDOW) emit(heap.pop()!);
        } else {
          // No position given: everything held back goes first, then it takes the next one.
          while (heap.size > 0) emit(heap.pop()!);
          emit(record);
        }
      };
      try {
        try {
          for await (const piece of file) {
            scanner.feed(piece as string, onEvent);
            if (ready.length >= CHUNK) {
              yield { leaves: ready };
              ready = [];
            }
          }
        } catch (err) {
          throw failed ? failed.error : err;
        }
        await download;
        if (failed) throw failed.error;
        scanner.end();
        while (heap.size > 0) emit(heap.pop()!);
        if (ready.length > 0) yield { leaves: ready };
      } finally {
        file.destroy();
        await download;
      }
    }

    async function* publishedRoots(): AsyncGenerator<RootRecord[]> {
      if (roots.length > 0) yield roots;
    }

    return {
      kind: 'remote',
      location: client.baseUrl,
      get leafOrder() {
        return sawLeafIndexes ? ('leaf_index' as const) : ('received_at' as const);
      },
      expectedEvents: typeof count === 'number' ? count : undefined,
      chunks,
      publishedRoots,
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
