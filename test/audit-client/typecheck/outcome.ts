// Compile-time checks (run by `npm run typecheck`, not by Jest): what each method's return type is
// for the options given, and that misplaced options are rejected. Every @ts-expect-error must
// still be an error, or tsc fails.
import type { AuditClient } from '../../../src/audit-client/index.js';

export async function outcomeTypes(c: AuditClient): Promise<void> {
  // poll: true on an async method: the result, never an AcceptedRequest.
  const polled = await c.logBulkAsync({ events: [] }, { poll: true });
  void polled.result.results;
  // By default an async method may hand back the 202.
  const unpolled = await c.logBulkAsync({ events: [] });
  // @ts-expect-error may be an AcceptedRequest
  void unpolled.result;
  // Synchronous methods poll by default...
  const found = await c.search({ query: '' }, { signal: new AbortController().signal });
  void found.result.events;
  // ...unless told not to.
  const maybe = await c.search({ query: '' }, { poll: false });
  // @ts-expect-error may be an AcceptedRequest
  void maybe.result;
  const flag: boolean = Math.random() > 0.5;
  const either = await c.root({}, { poll: flag });
  // @ts-expect-error may be an AcceptedRequest
  void either.result;

  // @ts-expect-error verbose belongs in the request body, not the options
  void c.logBulkAsync({ events: [] }, { poll: true, verbose: true });
  // @ts-expect-error sign is only an option of the logging methods
  void c.search({ query: '' }, { sign: false });
  // @ts-expect-error exactly one of result_id / request_id
  void c.downloadResults({ result_id: 'pas_1', request_id: 'prq_1' });
}
