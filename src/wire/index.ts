// The Secure Audit Log REST wire format as TypeScript types: every request and result body,
// snake_case exactly as it travels. The client (src/audit-client/) and the local service
// (src/local-audit/) both import it, so it is the single typed statement of the contract, below both.
//
// Conventions: an optional member (`x?:`) is omitted from the JSON when absent — the wire never
// carries `null` for an absent optional field. Times are RFC 3339 strings.

// ---------------------------------------------------------------------------------------------
// Envelope

/** Envelope `status` strings the contract defines, with the HTTP code each is sent with. */
export const STATUS_HTTP_CODES = {
  Success: 200,
  Accepted: 202,
  ValidationError: 400,
  Unauthorized: 401,
  ServiceNotEnabled: 403,
  NotFound: 404,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceNotAvailable: 503,
  /** Audit-specific: the tree (or the requested size of it) does not exist. */
  TreeNotFound: 400,
  /** Audit-specific: `v1/results` offset past the end of the result set. */
  BadOffset: 400,
} as const;

export type KnownStatus = keyof typeof STATUS_HTTP_CODES;

/**
 * An envelope status. Services may add statuses (the vendor SDK knows e.g. `NoCredit`,
 * `ProviderError`), so any string is accepted while the known ones still autocomplete.
 */
export type ResponseStatus = KnownStatus | (string & {});

/**
 * Every response body. `request_id` is `prq_` + 32 of `[a-z0-9]` (also sent as the `x-request-id`
 * header); `request_time`/`response_time` are RFC 3339 UTC. Clients decide success from `status`,
 * never from the HTTP code.
 */
export interface ResponseEnvelope<R = unknown> {
  request_id: string;
  request_time: string;
  response_time: string;
  status: ResponseStatus;
  summary: string;
  /** The endpoint's result on `Success`; `AcceptedResult` on `Accepted`; error detail or null otherwise. */
  result: R;
}

/** Members any request body may carry. */
export interface RequestBase {
  /** Selects one of the token's audit configurations. */
  config_id?: string;
}

// ---------------------------------------------------------------------------------------------
// Errors and 202

/** Validation error codes the contract names; services may send others. */
export type ValidationErrorCode =
  | 'FieldRequired'
  | 'AboveMaxLength'
  | 'AboveMaxItems'
  | 'UnexpectedProperty'
  | 'BadFormat'
  | 'NotEnumMember'
  | 'MutuallyExclusive'
  | (string & {});

/** One problem in a `ValidationError` envelope's `result.errors`. */
export interface ValidationErrorItem {
  code: ValidationErrorCode;
  /** Human-readable description, e.g. "'message' is required". */
  detail: string;
  /** JSON pointer into the request body, e.g. `/event/message` ("" for the whole body). */
  source: string;
  /** Dotted path form some services add beside the pointer. */
  path?: string;
}

/** `result` of a `ValidationError` envelope. */
export interface ValidationErrorResult {
  errors: ValidationErrorItem[];
}

/** `result` of an `Accepted` (HTTP 202) envelope: poll `GET /request/<request_id>` for the outcome. */
export interface AcceptedResult {
  /** Minutes the result will be kept once ready. */
  ttl_mins: number;
  /** How many times this request has been polled so far. */
  retry_counter: number;
  /** Where to poll, e.g. `/request/prq_…` (relative to the service base, or absolute). */
  location: string;
}

// ---------------------------------------------------------------------------------------------
// Events

/** A value of an event field as stored: standard fields are strings; custom schemas add integers and booleans. */
export type EventFieldValue = string | number | boolean;

/**
 * The standard audit schema. All values are strings on the wire; clients turn object values into
 * canonical JSON strings before sending and signing (see normalizeEvent in src/merkle/).
 */
export type StandardEvent = {
  /** Required; at most 32766 characters. */
  message: string;
  /** ≤128 */
  actor?: string;
  /** ≤32 */
  action?: string;
  /** ≤128 */
  target?: string;
  /** ≤32 */
  status?: string;
  /** ≤128 */
  source?: string;
  /** ≤32766 */
  old?: string;
  /** ≤32766 */
  new?: string;
  /** ≤128 */
  tenant_id?: string;
  /** RFC 3339 date-time, supplied by the client (unlike `received_at`). */
  timestamp?: string;
};

/** An event as it travels: the standard fields, or the fields of a configuration's custom schema. */
export type WireEvent = StandardEvent | Record<string, EventFieldValue>;

/** The stored (and hashed) form of one event. */
export interface AuditEnvelope<E = WireEvent> {
  event: E;
  /** Server-assigned: UTC, exactly six fractional digits, `Z` (e.g. 2024-07-25T00:51:46.340938Z). */
  received_at: string;
  /** Padded base64 Ed25519 signature over utf8(canonical(event)). */
  signature?: string;
  /** Usually the JSON string {"algorithm":"ED25519","key":"<SPKI PEM>"}; legacy: raw-key base64 or a bare PEM. */
  public_key?: string;
  /** A note from the service about a problem it found with this envelope (for example a bad signature). */
  err?: string;
}

/** Alias: the envelope of an event (as opposed to the response envelope). */
export type Envelope<E = WireEvent> = AuditEnvelope<E>;

// ---------------------------------------------------------------------------------------------
// v1/log, v2/log, v2/log_async

/** `POST v1/log` */
export interface LogRequest extends RequestBase {
  event: WireEvent;
  /** Return the envelope, the unpublished root and the membership proof. */
  verbose?: boolean;
  signature?: string;
  public_key?: string;
  /** The unpublished root the client last saw; a known one earns a `consistency_proof`. */
  prev_root?: string;
}

/** Result of `v1/log`. */
export interface LogResult {
  /** Lowercase hex sha256 of the canonical envelope. */
  hash: string;
  /** verbose only */
  envelope?: AuditEnvelope;
  /** verbose only: the bare hex root hash of the tree including this event. */
  unpublished_root?: string;
  /** verbose only: `"l:<hex>,r:<hex>,…"` from the event's hash to `unpublished_root`. */
  membership_proof?: string;
  /** Only when `prev_root` was sent and known: proves prev_root → unpublished_root. */
  consistency_proof?: string[];
}

/** One event of a bulk log request. */
export interface LogBulkItem {
  event: WireEvent;
  signature?: string;
  public_key?: string;
}

/** `POST v2/log` and `POST v2/log_async` (1..1000 events). */
export interface LogBulkRequest extends RequestBase {
  events: LogBulkItem[];
  verbose?: boolean;
}

/** One entry of a bulk log result, in input order. */
export interface LogBulkItemResult {
  hash: string;
  /** verbose only */
  envelope?: AuditEnvelope;
}

/** Result of `v2/log` (and, once polled, of `v2/log_async`). */
export interface LogBulkResult {
  results: LogBulkItemResult[];
}

// ---------------------------------------------------------------------------------------------
// Roots

/** A published root: `v1/root`'s `data`, and `root` in search/results. */
export interface PublishedRoot {
  tree_name: string;
  size: number;
  root_hash: string;
  published_at: string;
  /** Where the root was published (an Arweave transaction URL in the cloud). */
  url: string;
  /** Proves the root of size-1 → this root; absent for the first root. */
  consistency_proof?: string[];
}

/** The current, not yet published root: `unpublished_root` in search/results. */
export interface UnpublishedRoot {
  tree_name: string;
  size: number;
  root_hash: string;
}

/** `POST v1/root` */
export interface RootRequest extends RequestBase {
  /** Default: the latest published size. */
  tree_size?: number;
}

/** Result of `v1/root` — note the `data` wrapper. */
export interface RootResult {
  data: PublishedRoot;
}

// ---------------------------------------------------------------------------------------------
// v1/search, v1/results

/** `{field: [values]}`: only events whose field equals one of the values are visible. */
export type SearchRestriction = Record<string, string[]>;

/**
 * Most values a `search_restriction` or `assert_search_restriction` may list, over all its fields
 * together (so in any one field too). The local service refuses more with a ValidationError
 * (`AboveMaxItems`) and the gateway refuses more before asking: every value costs a bound SQL
 * parameter and a comparison per candidate event, and SQLite fails a statement of more than
 * 32,766 parameters outright.
 */
export const MAX_SEARCH_RESTRICTION_VALUES = 1000;

/** `POST v1/search` */
export interface SearchRequest extends RequestBase {
  /** The query language: `field:value`, bare terms, quotes, `-field:value`, AND/OR, parentheses, `field>n`. */
  query: string;
  /** RFC 3339, or relative such as `7d`, `120min`. */
  start?: string;
  end?: string;
  /** Events in the first page. */
  limit?: number;
  /** 1..10000: cap on the result set size. */
  max_results?: number;
  order?: 'asc' | 'desc';
  /** A field name or `received_at`. */
  order_by?: string;
  /** Default true: include roots and membership proofs. */
  verbose?: boolean;
  search_restriction?: SearchRestriction;
  /** Include the context needed to decrypt format-preserving-encrypted fields. */
  return_context?: boolean;
}

/** One event in search or results. */
export interface SearchEvent {
  envelope: AuditEnvelope;
  hash: string;
  /** verbose only; to `root.root_hash` if `published`, else to `unpublished_root.root_hash`. */
  membership_proof?: string;
  published: boolean;
  /** Position in the tree; present for published events. */
  leaf_index?: number;
  /** True for events imported rather than logged live. */
  imported?: boolean;
  /** The service's own signature check, when it made one. */
  valid_signature?: boolean;
  /** Format-preserving-encryption context (with `return_context`). */
  fpe_context?: string;
}

/** Result of `v1/search`. */
export interface SearchResult {
  /** The result set id (`pas_…`), for `v1/results` and `v1/download_results`. */
  id: string;
  expires_at: string;
  /** min(matches, max_results): the size of the result set, not of this page. */
  count: number;
  events: SearchEvent[];
  /** verbose only: the latest published root. */
  root?: PublishedRoot;
  /** verbose only */
  unpublished_root?: UnpublishedRoot;
}

/** `POST v1/results` (the service accepts unknown keys here). */
export interface ResultsRequest extends RequestBase {
  /** The `pas_…` id from search. */
  id: string;
  /** Default 20. */
  limit?: number;
  /** Past the end → `BadOffset`. */
  offset?: number;
  assert_search_restriction?: SearchRestriction;
  return_context?: boolean;
}

/** Result of `v1/results`. */
export interface ResultsResult {
  count: number;
  events: SearchEvent[];
  root?: PublishedRoot;
  unpublished_root?: UnpublishedRoot;
}

// ---------------------------------------------------------------------------------------------
// Downloads and export

export type DownloadFormat = 'csv' | 'json';

/** `POST v1/download_results`: exactly one of `result_id` (a search) or `request_id` (an export). */
export type DownloadRequest = RequestBase & {
  format?: DownloadFormat;
  return_context?: boolean;
} & ({ result_id: string; request_id?: never } | { request_id: string; result_id?: never });

/** Result of `v1/download_results`. */
export interface DownloadResult {
  /** A gzip file that needs no authorization (and may be on another origin). */
  dest_url: string;
  expires_at: string;
}

/** `POST v1/export`: answered 202; once done, download with `{request_id}`. */
export interface ExportRequest extends RequestBase {
  format?: DownloadFormat;
  start?: string;
  end?: string;
  order?: 'asc' | 'desc';
  order_by?: string;
  verbose?: boolean;
}

/**
 * What polling a finished export yields. The contract only says "when done, download with
 * request_id", so this is deliberately loose.
 */
export type ExportResult = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// v1/log_stream

/** One Auth0 log-stream record. */
export interface Auth0Log {
  log_id: string;
  data: {
    date: string;
    type: string;
    description?: string;
    client_id?: string;
    ip?: string;
    user_agent?: string;
    user_id?: string;
    [key: string]: unknown;
  };
}

/**
 * `POST v1/log_stream`: a vendor payload (the service accepts unknown keys here); each log becomes
 * one event. Auth0's shape is typed; other vendors' payloads are plain objects.
 */
export type LogStreamRequest = (RequestBase & { logs: Auth0Log[] }) | (RequestBase & Record<string, unknown>);

/** Result of `v1/log_stream`: an empty object. */
export type LogStreamResult = Record<string, never>;

// ---------------------------------------------------------------------------------------------
// v1/schema

/** `POST v1/schema`: the event schema of the (token's or `config_id`'s) configuration. */
export type SchemaRequest = RequestBase;

/** Field types a custom schema may declare. */
export type SchemaFieldType = 'string' | 'text' | 'integer' | 'boolean' | 'datetime' | 'string-unindexed' | (string & {});

/**
 * One field of the schema. Deliberately loose: only `id` and `type` are relied on; services add
 * presentation members (ordering, visibility…) that pass through untouched.
 */
export interface SchemaField {
  /** The event key, e.g. `actor`. */
  id: string;
  /** Display name. */
  name?: string;
  type: SchemaFieldType;
  /** Maximum length for string-like fields. */
  size?: number;
  required?: boolean;
  /** Redacted by the service's redaction rules. */
  redact?: boolean;
  description?: string;
  [extra: string]: unknown;
}

/** Result of `v1/schema`. */
export interface SchemaResult {
  fields: SchemaField[];
  [extra: string]: unknown;
}

/** A field of the standard schema: its id is a key of StandardEvent, and it says what it holds. */
export interface StandardSchemaField extends SchemaField {
  id: keyof StandardEvent;
  description: string;
}

/**
 * The standard audit schema as `v1/schema` describes it: the one list of its fields, with the
 * description every interface shows for them (the GraphQL types are built from it).
 */
export const STANDARD_SCHEMA_FIELDS = [
  { id: 'message', name: 'Message', type: 'text', size: 32766, required: true, description: 'A free-form account of what happened.' },
  { id: 'actor', name: 'Actor', type: 'string', size: 128, description: 'Who performed the activity.' },
  { id: 'action', name: 'Action', type: 'string', size: 32, description: 'What happened.' },
  { id: 'target', name: 'Target', type: 'string', size: 128, description: 'What the activity was done to.' },
  { id: 'status', name: 'Status', type: 'string', size: 32, description: 'Whether the activity succeeded.' },
  { id: 'source', name: 'Source', type: 'string', size: 128, description: 'Where the activity came from.' },
  { id: 'old', name: 'Old', type: 'text', size: 32766, description: 'The value before the change (JSON values arrive as canonical JSON strings).' },
  { id: 'new', name: 'New', type: 'text', size: 32766, description: 'The value after the change (JSON values arrive as canonical JSON strings).' },
  { id: 'tenant_id', name: 'Tenant ID', type: 'string', size: 128, description: 'The tenant the activity belongs to.' },
  { id: 'timestamp', name: 'Timestamp', type: 'datetime', description: 'When the activity happened, by the client clock, as written.' },
] as const satisfies readonly StandardSchemaField[];

type Expect<T extends true> = T;
/** Compile-time check that every key of StandardEvent is listed (`satisfies` above checks the converse). */
export type StandardSchemaFieldsComplete = Expect<[Exclude<keyof StandardEvent, (typeof STANDARD_SCHEMA_FIELDS)[number]['id']>] extends [never] ? true : false>;

// ---------------------------------------------------------------------------------------------
// The endpoint table

/** Every POST endpoint: path (no leading slash) → request and result body types. */
export interface AuditEndpoints {
  'v1/log': { request: LogRequest; result: LogResult };
  'v2/log': { request: LogBulkRequest; result: LogBulkResult };
  'v2/log_async': { request: LogBulkRequest; result: LogBulkResult };
  'v1/search': { request: SearchRequest; result: SearchResult };
  'v1/results': { request: ResultsRequest; result: ResultsResult };
  'v1/root': { request: RootRequest; result: RootResult };
  'v1/download_results': { request: DownloadRequest; result: DownloadResult };
  'v1/export': { request: ExportRequest; result: ExportResult };
  'v1/log_stream': { request: LogStreamRequest; result: LogStreamResult };
  'v1/schema': { request: SchemaRequest; result: SchemaResult };
}

export type EndpointPath = keyof AuditEndpoints;
