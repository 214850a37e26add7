// Long-running and file operations: logBulkAsync and export (answered 202: an AcceptedRequest to
// poll), pollResult, logStream and downloadResults.
import { NotFoundError } from '../../audit-client/errors.js';
import type { AcceptedRequest, AuditResponse } from '../../audit-client/index.js';
import type { DownloadRequest, ExportRequest } from '../../wire/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { ForbiddenError } from '../../auth/errors.js';
import type { JobHandle, JobKind } from '../../auth/job-handles.js';
import type { Caller } from '../../auth/caller.js';
import type { Scope } from '../../auth/scopes.js';
import { INPUT_ERRORS, WRITE_ERRORS } from '../error-types.js';
import { InputError, ResultSetExpiredError, upstream, upstreamWrite } from '../errors.js';
import type { LogBulkResult } from '../../wire/index.js';
import { AuditEventInput, bulkItems, LogBulkResultRef, LogOptionsInput, signerFor } from './log.js';
import { OrderEnum } from './search.js';

const AcceptedRequestRef = builder.objectRef<AcceptedRequest>('AcceptedRequest').implement({
  description: 'A request the audit service accepted and is still working on; poll it with pollResult.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', {
      description: "The gateway's handle of the request (not the audit service's id): opaque and sealed, it names the job, its kind and who started it. Pass it to pollResult (and to downloadResults for an export) on any replica of this gateway: it opens for the caller that started the job, or for one that may read its result anyway (see pollResult).",
    }),
    ttlMins: t.exposeInt('ttlMins', { description: 'Minutes the result is kept once ready.' }),
    retryCounter: t.exposeInt('retryCounter', { description: 'How many times it has been polled.' }),
    location: t.string({
      description: "A URL on this gateway that polls the request: GraphQL over HTTP GET running pollResult (send your credentials and an x-graphql-yoga-csrf header). The upstream's own location is never shown.",
      resolve: (accepted, _args, ctx) => ctx.urls.poll(accepted.requestId),
    }),
  }),
});

interface PollState {
  /** The gateway's handle, as the client passed it. */
  requestId: string;
  /** The audit service's id of the request. */
  upstreamId: string;
  done: boolean;
  result: unknown;
  accepted: AcceptedRequest | null;
  kind: JobKind;
}

/** A finished request's result, by what the gateway knows the request to be. */
type FinishedRequest =
  | { kind: 'logBulk'; requestId: string; result: LogBulkResult }
  | { kind: 'export'; requestId: string; upstreamId: string; result: Record<string, unknown> }
  | { kind: 'other'; requestId: string; result: unknown };

const LogBulkPollResultRef = builder.objectRef<Extract<FinishedRequest, { kind: 'logBulk' }>>('LogBulkPollResult').implement({
  description: 'A finished logBulkAsync.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The polled request.' }),
    logBulk: t.field({
      type: LogBulkResultRef,
      description: "The events as logBulk returns them, each with the gateway's own hash and signature checks.",
      resolve: (r) => r.result,
    }),
  }),
});

const ExportPollResultRef = builder.objectRef<Extract<FinishedRequest, { kind: 'export' }>>('ExportPollResult').implement({
  description: 'A finished export: its file is ready to download.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The polled request (downloadResults takes it as requestId).' }),
    status: t.string({ nullable: true, description: "The audit service's status of the export, when it gives one.", resolve: (r) => (typeof r.result.status === 'string' ? r.result.status : null) }),
    count: t.int({ nullable: true, description: 'How many events the file holds, when the audit service says.', resolve: (r) => (Number.isSafeInteger(r.result.count) ? (r.result.count as number) : null) }),
    downloadLink: t.field({
      type: DownloadLinkRef,
      description: 'A download link for the file, as downloadResults(requestId) gives it, or the typed error that kept it from being made (status and count stay readable).',
      errors: { types: [...INPUT_ERRORS, NotFoundError] },
      nullable: true,
      args: { format: t.arg({ type: DownloadFormatEnum, description: 'File format (default: the format the export was made in).' }) },
      resolve: (r, { format }, ctx) => exportDownload(ctx, r, format),
    }),
    download: t.field({
      type: DownloadLinkRef,
      nullable: true,
      description: 'A download link for the file, as downloadResults(requestId) gives it; null when it could not be made, with only an untyped error in `errors`.',
      deprecationReason: 'Failures are untyped: use downloadLink.',
      args: { format: t.arg({ type: DownloadFormatEnum, description: 'File format (default: the format the export was made in).' }) },
      resolve: (r, { format }, ctx) => exportDownload(ctx, r, format),
    }),
  }),
});

/** The link to a finished export's file, for ExportPollResult.downloadLink and download. */
async function exportDownload(ctx: GraphQLContext, r: Extract<FinishedRequest, { kind: 'export' }>, format: 'csv' | 'json' | null | undefined): Promise<DownloadLink> {
  if (ctx.caller.tenantId !== undefined) throw new ForbiddenError('exports cover every tenant');
  return downloadLink(ctx, { request_id: r.upstreamId, ...(format ? { format } : {}) });
}

const OtherPollResultRef = builder.objectRef<Extract<FinishedRequest, { kind: 'other' }>>('OtherPollResult').implement({
  description: 'A finished request this gateway did not start (or no longer remembers), so cannot type: its result as the audit service sent it.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The polled request.' }),
    result: t.field({ type: 'JSON', nullable: true, description: "The request's result body.", resolve: (r) => r.result ?? null }),
  }),
});

const PollOutcomeRef = builder.unionType('PollOutcome', {
  description: 'The result of a finished request, typed by the kind of request.',
  types: [LogBulkPollResultRef, ExportPollResultRef, OtherPollResultRef],
  resolveType: (r) => ({ logBulk: LogBulkPollResultRef, export: ExportPollResultRef, other: OtherPollResultRef })[r.kind],
});

/**
 * Types a finished request by the kind of job this gateway recorded; a request it did not start
 * is a bulk log only if its result has that shape, since a 202 may come from any endpoint.
 */
function finished(p: PollState): FinishedRequest | null {
  if (!p.done) return null;
  const { requestId, result } = p;
  if (p.kind === 'logBulkAsync' && isLogBulkResult(result)) return { kind: 'logBulk', requestId, result };
  if (p.kind === 'export' && result !== null && typeof result === 'object' && !Array.isArray(result)) return { kind: 'export', requestId, upstreamId: p.upstreamId, result: result as Record<string, unknown> };
  return { kind: 'other', requestId, result };
}

const PollResultRef = builder.objectRef<PollState>('PollResult').implement({
  description: 'The state of an accepted request.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The polled request.' }),
    done: t.exposeBoolean('done', { description: 'True when the result is ready.' }),
    outcome: t.field({ type: PollOutcomeRef, nullable: true, description: 'When done: the result, typed by the kind of request; null while running.', resolve: finished }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: "The finished request's result (its endpoint's result body).",
      deprecationReason: 'Untyped: use outcome.',
      resolve: (p) => p.result ?? null,
    }),
    accepted: t.field({ type: AcceptedRequestRef, nullable: true, description: 'While still running: the accepted request.', resolve: (p) => p.accepted }),
    logBulk: t.field({
      type: LogBulkResultRef,
      nullable: true,
      description: "A finished logBulkAsync's events as logBulk returns them, each with the gateway's own hash and signature checks; null for other requests and while running.",
      deprecationReason: 'Use outcome { ... on LogBulkPollResult { logBulk } }.',
      resolve: (p) => (p.done && isLogBulkResult(p.result) ? p.result : null),
    }),
  }),
});

/** The result body of v2/log (and so of a finished v2/log_async): `{results: [{hash, envelope?}]}`. */
function isLogBulkResult(result: unknown): result is LogBulkResult {
  const items = (result as { results?: unknown } | null)?.results;
  return Array.isArray(items) && items.every((item) => item !== null && typeof item === 'object' && typeof (item as { hash?: unknown }).hash === 'string');
}

interface DownloadLink {
  url: string;
  expiresAt: string;
}

const DownloadLinkRef = builder.objectRef<DownloadLink>('DownloadLink').implement({
  description: 'A gzip file of results, served by this gateway: the link itself is the credential (issued to the caller that asked for it) until it expires.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Download URL on this gateway (gzip CSV or JSON); a plain GET fetches it.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the link stops working.', resolve: (d) => d.expiresAt }),
  }),
});

interface StreamOutcome {
  requestId: string;
  summary: string;
}

const LogStreamResultRef = builder.objectRef<StreamOutcome>('LogStreamResult').implement({
  description: 'A vendor log stream the audit service accepted; each record became one event.',
  fields: (t) => ({
    requestId: t.exposeString('requestId', { description: 'The upstream request id.' }),
    summary: t.exposeString('summary', { description: "The audit service's summary." }),
  }),
});

const DownloadFormatEnum = builder.enumType('DownloadFormat', {
  description: 'File format of a download.',
  values: { CSV: { value: 'csv', description: 'Comma-separated values.' }, JSON: { value: 'json', description: 'A JSON array.' } } as const,
});

/**
 * The ids the audit service issues are short (prq_ or pas_ and 32 characters). A longer or
 * ill-formed one is refused before it goes into an upstream URL, and never echoed back.
 */
const UPSTREAM_ID = /^[\x21-\x7e]{1,128}$/;

function upstreamId(value: string | number, argument: string): string {
  const id = String(value);
  if (!UPSTREAM_ID.test(id)) throw new InputError(`${argument} must be 1 to 128 printable ASCII characters without spaces, as the audit service issues them`, argument);
  return id;
}

/** A handle is longer than an upstream id (it seals one) but still bounded and printable ASCII. */
const HANDLE = /^[\x21-\x7e]{1,1024}$/;

/** The handle as passed, if it is shaped like one: an ill-formed one is refused, never echoed. */
function handleArg(value: string | number, argument: string): string {
  const handle = String(value);
  if (!HANDLE.test(handle)) throw new InputError(`${argument} must be a requestId this gateway returned: 1 to 1024 printable ASCII characters without spaces`, argument);
  return handle;
}

/** The scope that may see a job's result: the scope of the field that started it. */
const JOB_SCOPE: Record<JobKind, Scope> = { logBulkAsync: 'audit:log', export: 'audit:export' };

/**
 * The scopes with which a caller other than a job's starter could read its result anyway: a bulk
 * log's result holds the stored envelopes, which only search shows; an export's file, only export.
 */
const READ_SCOPES: Record<JobKind, readonly Scope[]> = { logBulkAsync: ['audit:log', 'audit:search'], export: ['audit:export'] };

/**
 * Whether a job opens for this caller. A handle is a long-lived bearer value (it is also in the
 * `location` URL), so holding one proves nothing: the job opens for the caller that started it
 * (caller ids come from the keys configuration, the JWT subject or the pass-through token's digest,
 * the same on every replica), or for another caller that could read its result anyway and is
 * bound to no tenant or to the job's. A pass-through caller's scopes are nominal (the upstream
 * decides what its token may do), so there only the token that started the job opens it.
 */
function mayOpen(caller: Caller, job: JobHandle): boolean {
  if (caller.id === job.callerId && caller.tenantId === job.tenantId) return true;
  if (caller.upstreamToken !== undefined) return false;
  if (caller.tenantId !== undefined && caller.tenantId !== job.tenantId) return false;
  return READ_SCOPES[job.kind].every((scope) => caller.scopes.has(scope));
}

/** The job behind a handle, when it opens for this caller; any other handle is answered as unknown. */
function openJob(ctx: GraphQLContext, handle: string): JobHandle | undefined {
  const job = ctx.jobs.open(handle);
  return job !== undefined && mayOpen(ctx.caller, job) ? job : undefined;
}

/**
 * A handle that does not open for the caller (forged, altered, expired, sealed under another
 * secret, or someone else's) could be any request: it takes every scope to be told it is unknown,
 * as before handles existed, so that another caller's handle cannot be told from a forged one.
 */
function pollScopes(job: JobHandle | undefined) {
  if (job) return { [JOB_SCOPE[job.kind]]: true };
  return { $all: { 'audit:log': true, 'audit:export': true, 'audit:search': true } } as const;
}

/** The answer to a handle that does not open for the caller: the upstream's answer to a request it does not know. */
function unknownRequest(argument: string): NotFoundError {
  return new NotFoundError({ status: 'NotFound', summary: `no such request (${argument} is not a live handle issued by this gateway)`, requestId: '', httpStatus: 404, endpoint: 'request' });
}

/** The gateway's handle for a job it started: the id clients see in place of the upstream's. */
function handOut(ctx: GraphQLContext, accepted: AcceptedRequest, kind: JobKind): AcceptedRequest {
  const requestId = ctx.jobs.seal({ upstreamId: accepted.requestId, kind, callerId: ctx.caller.id, tenantId: ctx.caller.tenantId });
  return { ...accepted, requestId };
}

function asAccepted(response: AuditResponse<unknown> | AcceptedRequest): AcceptedRequest {
  if (response.status === 'Accepted') return response;
  // The upstream finished immediately: present it as a request that is already done.
  return { status: 'Accepted', requestId: response.requestId, summary: response.summary, ttlMins: 0, retryCounter: 0, location: `/request/${response.requestId}` };
}

/** Only the caller's own tenant may be downloaded: the result set must carry that restriction. */
async function checkTenantResultSet(ctx: GraphQLContext, resultId: string): Promise<void> {
  const tenant = ctx.caller.tenantId;
  if (tenant === undefined) return;
  try {
    await upstream(() => ctx.client.results({ id: resultId, limit: 1, assert_search_restriction: { tenant_id: [tenant] } }, { signal: ctx.signal }));
  } catch (err) {
    if (err instanceof NotFoundError) throw new ResultSetExpiredError(resultId);
    throw new ForbiddenError('that result set was not made for your tenant');
  }
}

/** The upstream id of an export from its handle; any other handle, or one not for this caller, is an unknown request. */
function exportId(ctx: GraphQLContext, handle: string): string {
  const job = openJob(ctx, handleArg(handle, 'requestId'));
  if (job === undefined || job.kind !== 'export') throw unknownRequest('requestId');
  return job.upstreamId;
}

/** Asks the upstream for the file and hands out this gateway's link to it. */
async function downloadLink(ctx: GraphQLContext, request: DownloadRequest): Promise<DownloadLink> {
  const result = (await upstream(() => ctx.client.downloadResults(request, { signal: ctx.signal }))).result;
  return ctx.urls.download({ upstreamUrl: result.dest_url, expiresAt: result.expires_at, format: request.format ?? '', caller: ctx.caller });
}

builder.mutationFields((t) => ({
  logBulkAsync: t.field({
    type: AcceptedRequestRef,
    description: 'Queues up to 1000 events; poll the returned request for their hashes.',
    authScopes: { 'audit:log': true },
    errors: { types: [...WRITE_ERRORS] },
    nullable: true,
    args: {
      events: t.arg({ type: [AuditEventInput], required: true, description: 'The events, 1..1000.' }),
      options: t.arg({ type: LogOptionsInput, description: 'verbose / signLocal.' }),
    },
    resolve: async (_root, { events, options }, ctx) => {
      const items = bulkItems(ctx, events);
      const sign = signerFor(ctx, options);
      const verbose = (options?.verbose ?? false) || (options?.verify ?? false);
      const accepted = asAccepted(await upstreamWrite(() => ctx.client.logBulkAsync({ events: items, verbose }, { signal: ctx.signal, sign, poll: false })));
      return handOut(ctx, accepted, 'logBulkAsync');
    },
  }),
  export: t.field({
    type: AcceptedRequestRef,
    description: 'Exports events in a time range to a file; when done, downloadResults(requestId).',
    authScopes: { 'audit:export': true },
    errors: { types: [...INPUT_ERRORS] },
    nullable: true,
    args: {
      format: t.arg({ type: DownloadFormatEnum, description: 'File format (default CSV).' }),
      start: t.arg.string({ description: 'Earliest received_at: RFC 3339 or relative (7d).' }),
      end: t.arg.string({ description: 'Latest received_at.' }),
      order: t.arg({ type: OrderEnum, description: 'Sort direction (default oldest first, as the audit service has it).' }),
      orderBy: t.arg.string({ description: 'Sort field.' }),
      verbose: t.arg.boolean({ description: 'Include proofs.' }),
    },
    resolve: async (_root, args, ctx) => {
      // v1/export has no restriction parameter, so it cannot be limited to one tenant.
      if (ctx.caller.tenantId !== undefined) throw new ForbiddenError('export covers every tenant; use search + downloadResults for your tenant');
      const request: ExportRequest = {
        ...(args.format ? { format: args.format } : {}),
        ...(args.start ? { start: args.start } : {}),
        ...(args.end ? { end: args.end } : {}),
        ...(args.order ? { order: args.order } : {}),
        ...(args.orderBy ? { order_by: args.orderBy } : {}),
        ...(args.verbose != null ? { verbose: args.verbose } : {}),
      };
      const accepted = asAccepted(await upstream(() => ctx.client.export(request, { signal: ctx.signal, poll: false })));
      return handOut(ctx, accepted, 'export');
    },
  }),
  logStream: t.field({
    type: LogStreamResultRef,
    description: 'Logs a vendor log stream (e.g. Auth0 {logs: [...]}); each record becomes one event.',
    authScopes: { 'audit:log': true },
    errors: { types: [...WRITE_ERRORS] },
    nullable: true,
    args: { data: t.arg({ type: 'JSON', required: true, description: 'The vendor payload.' }) },
    resolve: async (_root, { data }, ctx) => {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new InputError('data must be a JSON object', 'data');
      if (ctx.caller.tenantId !== undefined) throw new ForbiddenError('log streams cannot be bound to a tenant; use log or logBulk');
      const response = await upstreamWrite(() => ctx.client.logStream(data as Record<string, unknown>, { signal: ctx.signal }));
      return { requestId: response.requestId, summary: response.summary };
    },
  }),
  downloadResults: t.field({
    type: DownloadLinkRef,
    description: "A download link for a search result set (resultId, needs audit:search) or a finished export (requestId, needs audit:export; the handle opens only as pollResult's does, any other is an unknown request).",
    // An export's file holds every tenant's events: the export scope, not the search scope.
    authScopes: (_root, args) => (args.requestId != null ? { 'audit:export': true } : { 'audit:search': true }),
    errors: { types: [...INPUT_ERRORS, ResultSetExpiredError, NotFoundError] },
    nullable: true,
    args: {
      resultId: t.arg.id({ description: 'A search resultId.' }),
      requestId: t.arg.id({ description: 'The requestId (handle) export returned, once the export is done.' }),
      format: t.arg({ type: DownloadFormatEnum, description: 'File format (default CSV).' }),
    },
    resolve: async (_root, { resultId, requestId, format }, ctx) => {
      if ((resultId == null) === (requestId == null)) throw new InputError('pass exactly one of resultId and requestId', resultId == null ? 'resultId' : 'requestId');
      if (requestId != null && ctx.caller.tenantId !== undefined) throw new ForbiddenError('exports cover every tenant');
      const id = resultId != null ? upstreamId(resultId, 'resultId') : exportId(ctx, String(requestId));
      if (resultId != null) await checkTenantResultSet(ctx, id);
      const request = (resultId != null ? { result_id: id } : { request_id: id }) as DownloadRequest;
      if (format) request.format = format;
      try {
        return await downloadLink(ctx, request);
      } catch (err) {
        // An unknown result set is the same answer search and results give for it.
        if (resultId != null && err instanceof NotFoundError) throw new ResultSetExpiredError(id);
        throw err;
      }
    },
  }),
}));

builder.queryField('pollResult', (t) =>
  t.field({
    type: PollResultRef,
    description:
      "The state (and, when done, the result) of a request accepted by logBulkAsync (needs audit:log) or export (needs audit:export), by the handle they returned as requestId. Any replica sharing the cursor secret opens it, for the caller that started the request, or for another that could read the result anyway: with audit:log and audit:search, bound to no tenant or to the request's, for a logBulkAsync; with audit:export and no tenant for an export; in pass-through mode, only with the token that started it. A handle that does not open for the caller (forged, altered, expired, or someone else's) is answered as an unknown request, and needs audit:log, audit:export and audit:search.",
    // The scope of the job's kind: polling an export hands out every tenant's export summary.
    authScopes: (_root, args, ctx) => pollScopes(openJob(ctx, String(args.requestId))),
    errors: { types: [...INPUT_ERRORS, NotFoundError] },
    nullable: true,
    args: { requestId: t.arg.id({ required: true, description: "The AcceptedRequest.requestId: the gateway's handle of the request." }) },
    resolve: async (_root, args, ctx) => {
      const requestId = handleArg(args.requestId, 'requestId');
      const job = openJob(ctx, requestId);
      if (job === undefined) throw unknownRequest('requestId');
      const response = await upstream(() => ctx.client.pollResult(job.upstreamId, { signal: ctx.signal }));
      const base = { requestId, upstreamId: job.upstreamId, kind: job.kind };
      return response.status === 'Accepted'
        ? { ...base, done: false, result: null, accepted: { ...response, requestId } }
        : { ...base, done: true, result: response.result, accepted: null };
    },
  }),
);
