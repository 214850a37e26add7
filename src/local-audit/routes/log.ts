// v1/log and v2/log: validate, stamp received_at, append as one batch, answer with hashes and
// (verbose) envelopes, the unpublished root, and proofs built from the tree.
import { validateEvent } from '../audit-schema.js';
import { validationError, type FieldError } from '../core/errors.js';
import { BATCHED_MAX_EVENTS, MAX_SHORT_PARAM } from '../core/limits.js';
import { validateBody, type BodySpec } from '../core/validate.js';
import { appendBulk, bulkResult, checkSignaturePair, LOG_BATCH_BODY, toEnvelope, validateBulkItems, type LogItem } from '../log-items.js';
import type { RouteModuleFactory } from './module.js';

const SIGNATURE_FIELDS = {
  signature: { type: 'string', maxLength: 512 },
  public_key: { type: 'string', maxLength: 4096 },
} as const;

const V1_LOG: BodySpec = {
  fields: {
    event: { type: 'object', required: true },
    verbose: { type: 'boolean' },
    prev_root: { type: 'string', maxLength: MAX_SHORT_PARAM },
    ...SIGNATURE_FIELDS,
  },
};

export const logModule: RouteModuleFactory = ({ log }) => ({
  actions: {
    'v1/log': async ({ body }) => {
      const req = validateBody<LogItem & { verbose?: boolean; prev_root?: string }>(body, V1_LOG);
      const errors: FieldError[] = [];
      validateEvent(log.schema, req.event, '/event', errors);
      checkSignaturePair(req, '', errors);
      if (errors.length > 0) throw validationError(errors);
      // Single events from many callers at once share a commit (AuditLog.appendBatched); the
      // answer is built in that transaction (it may record the root it hands out).
      const result = await log.appendBatched(
        () => [toEnvelope(req)],
        ([appended]) => {
          const size = appended!.leafIndex + 1;
          const out: Record<string, unknown> = { hash: appended!.hash };
          if (req.verbose) {
            out.envelope = appended!.envelope;
            out.unpublished_root = log.unpublishedRoot(size)!.root_hash;
            out.membership_proof = log.membershipProof(appended!.leafIndex, size);
          }
          if (req.prev_root !== undefined) {
            const prevSize = log.roots.sizeOf(req.prev_root);
            if (prevSize !== undefined && prevSize < size) out.consistency_proof = log.consistencyProof(prevSize, size);
          }
          return out;
        },
      );
      return { result };
    },
    'v2/log': async ({ body }) => {
      const req = validateBody<{ events: unknown[]; verbose?: boolean }>(body, LOG_BATCH_BODY);
      const items = validateBulkItems(log.schema, req.events);
      const verbose = req.verbose ?? false;
      // Small batches from many callers share commits as single events do; a large one is worth
      // its own transaction (joining others would only delay the first of them).
      if (items.length > BATCHED_MAX_EVENTS) return { result: appendBulk(log, items, verbose) };
      return { result: await log.appendBatched(() => items.map(toEnvelope), (appended) => bulkResult(appended, verbose)) };
    },
  },
  close: () => log.flushAppends(),
});
