// Writers for downloadable files (v1/download_results): CSV and JSON renderings of stored events.
// Pure functions over events already read from the store; gzip and storage are the caller's job.
// Each format is also offered in pieces (head, one event, tail) for files written as a stream;
// writeCsv and writeJson are those pieces joined.
//
// JSON: an object shaped like a v1/results result (result-json.ts), so code that reads search
// pages reads it too; each `envelope` is the stored canonical JSON spliced in byte for byte.
//
// CSV (RFC 4180: CRLF line ends, fields quoted when they hold `"`, `,`, CR or LF, quotes
// doubled): a header row, then one row per event with the columns
//   received_at, hash, <every schema field id in schema order>, signature, public_key,
//   published, leaf_index[, membership_proof]
// An absent value is an empty cell. Values are written as stored, not defused for spreadsheets: a
// cell starting with `=` stays as logged, since an audit export must not alter what was logged.
import type { AuditSchema } from './audit-schema.js';
import { eventJson, type ResultEvent, type ResultRoots } from './result-json.js';
import { canonicalJson } from '../merkle/index.js';
import type { StoredEnvelope } from './store/event-store.js';

export type DownloadFormat = 'csv' | 'json';
export const DOWNLOAD_FORMATS: readonly DownloadFormat[] = ['csv', 'json'];

/** An event to write; `membershipProof` is present when the download was asked for with proofs. */
export interface FormatEvent extends ResultEvent {
  envelope: StoredEnvelope;
}

export type JsonRoots = ResultRoots;

/** One CSV field, quoted only when RFC 4180 requires it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return canonicalJson(value);
}

function csvHeader(schema: AuditSchema, withProofs: boolean): string[] {
  const columns = ['received_at', 'hash', ...schema.fields.map((f) => f.id), 'signature', 'public_key', 'published', 'leaf_index'];
  return withProofs ? [...columns, 'membership_proof'] : columns;
}

function csvRow(schema: AuditSchema, event: FormatEvent, withProofs: boolean): string[] {
  const { envelope } = event;
  const row = [
    envelope.received_at,
    event.hash,
    ...schema.fields.map((f) => cell(envelope.event[f.id])),
    cell(envelope.signature),
    cell(envelope.public_key),
    String(event.published),
    event.published ? String(event.leafIndex) : '',
  ];
  if (withProofs) row.push(cell(event.membershipProof));
  return row;
}

/** The CSV header line, CRLF included. */
export function csvHead(schema: AuditSchema, withProofs: boolean): string {
  return csvHeader(schema, withProofs).map(csvField).join(',') + '\r\n';
}

/** One CSV record, CRLF included. */
export function csvLine(schema: AuditSchema, event: FormatEvent, withProofs: boolean): string {
  return csvRow(schema, event, withProofs).map(csvField).join(',') + '\r\n';
}

export function writeCsv(schema: AuditSchema, events: Iterable<FormatEvent>, withProofs: boolean): string {
  let out = csvHead(schema, withProofs);
  for (const event of events) out += csvLine(schema, event, withProofs);
  return out;
}

/** The JSON file up to its first event: the count comes first, so it is known before writing. */
export function jsonHead(count: number): string {
  return `{"count":${count},"events":[`;
}

/** The `index`-th event of a JSON file (from 0), with the comma that separates it. */
export function jsonEvent(event: ResultEvent, index: number): string {
  return (index === 0 ? '' : ',') + eventJson(event);
}

/** The JSON file after its last event. */
export function jsonTail(roots: JsonRoots = {}): string {
  let out = ']';
  if (roots.root) out += `,"root":${JSON.stringify(roots.root)}`;
  if (roots.unpublished_root) out += `,"unpublished_root":${JSON.stringify(roots.unpublished_root)}`;
  return out + '}';
}

export function writeJson(events: Iterable<ResultEvent>, roots: JsonRoots = {}): string {
  // The count is the number of events written: collect them first (the writer takes one pass).
  const all = [...events];
  return jsonHead(all.length) + all.map(jsonEvent).join('') + jsonTail(roots);
}
