// What the gateway notes about each request, for its metrics and its access log: when it began,
// the GraphQL operation (name and type, never its text or variables), whether the answer carried
// GraphQL errors, and who called (Caller.id, never a credential). One JSON line per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, type DocumentNode } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GatewayMetrics, OperationOutcome } from './metrics.js';

export interface RequestObservation {
  startedAt: number;
  /** The request went to the GraphQL endpoint. */
  graphql: boolean;
  operationName?: string | undefined;
  operationType?: string | undefined;
  /** The answer carried GraphQL errors (syntax, validation, execution, authentication). */
  errors?: boolean;
  caller?: string | undefined;
}

export interface RequestObserver {
  metrics: GatewayMetrics | undefined;
  /** Receives each access log line (JSON); absent: no access log. */
  accessLog: ((line: string) => void) | undefined;
}

/** Observes a request until its answer is written (or its connection is gone). */
export function observeRequest(observer: RequestObserver, req: IncomingMessage, res: ServerResponse, path: string): RequestObservation {
  const observation: RequestObservation = { startedAt: performance.now(), graphql: path === '/graphql' && req.method !== 'OPTIONS' };
  res.once('close', () => finish(observer, observation, req, res, path));
  return observation;
}

function finish(observer: RequestObserver, observation: RequestObservation, req: IncomingMessage, res: ServerResponse, path: string): void {
  const ms = performance.now() - observation.startedAt;
  const status = res.statusCode;
  // The GraphiQL page is served at the GraphQL endpoint too; it is no operation.
  const graphql = observation.graphql && !String(res.getHeader('content-type') ?? '').startsWith('text/html');
  const outcome = outcomeOf(status, observation.errors === true);
  if (graphql) observer.metrics?.observeOperation(observation.operationName, observation.operationType, outcome, ms / 1000);
  observer.accessLog?.(
    JSON.stringify({
      time: new Date().toISOString(),
      method: req.method,
      path: loggedPath(path),
      status,
      durationMs: Math.round(ms * 1000) / 1000,
      ...(graphql ? { operationName: observation.operationName ?? null, operationType: observation.operationType ?? null } : {}),
      caller: observation.caller ?? null,
      outcome,
      // The answer was not written to the end: the client left, or the connection was cut.
      ...(res.writableFinished ? {} : { aborted: true }),
    }),
  );
}

/**
 * http_error: refused before any document was looked at (401, 413, …) or failed otherwise;
 * graphql_error: the answer carries GraphQL errors (with 200, or 400 for a document that does not
 * parse or validate); ok: everything else.
 */
function outcomeOf(status: number, errors: boolean): OperationOutcome {
  if (status >= 400 && status !== 400) return 'http_error';
  if (errors) return 'graphql_error';
  return status >= 400 ? 'http_error' : 'ok';
}

/** A download link's path holds its capability token: it is not logged. */
function loggedPath(path: string): string {
  if (path.startsWith('/downloads/')) return '/downloads/:token';
  return path.length > 128 ? `${path.slice(0, 128)}…` : path;
}

/** Records the operation and the errors of GraphQL requests on their observation. */
export function observationPlugin(observationOf: (request: Request) => RequestObservation | undefined): Plugin {
  return {
    onParams({ params, request }) {
      const observation = observationOf(request);
      if (observation && typeof params.operationName === 'string') observation.operationName = params.operationName;
    },
    onValidate({ params, context }) {
      const request = (context as { request?: Request }).request;
      const observation = request ? observationOf(request) : undefined;
      if (observation) describeOperation(observation, params.documentAST as DocumentNode, observation.operationName);
    },
    onResultProcess({ result, request }) {
      const observation = observationOf(request);
      if (observation && !isAsyncIterable(result)) {
        const results = Array.isArray(result) ? result : [result];
        observation.errors = results.some((r) => (r?.errors?.length ?? 0) > 0);
      }
    },
  };
}

function describeOperation(observation: RequestObservation, document: DocumentNode, operationName: string | undefined): void {
  const operation = getOperationAST(document, operationName);
  if (!operation) return;
  observation.operationName = operation.name?.value;
  observation.operationType = operation.operation;
}
