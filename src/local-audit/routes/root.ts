// v1/root: the latest published root, or any published size, with the proof from size-1.
import type { AuditLog } from '../audit-log.js';
import { ServiceError } from '../core/errors.js';
import { validateBody } from '../core/validate.js';
import type { RawResponse } from '../http/router.js';
import type { RouteModuleFactory } from './module.js';

export const rootModule: RouteModuleFactory = ({ log }) => ({
  publicGet: (path) => publishedRootFile(log, path),
  actions: {
    'v1/root': ({ body }) => {
      const req = validateBody<{ tree_size?: number }>(body, { fields: { tree_size: { type: 'integer', min: 1 } } });
      const latest = log.latestPublishedSize();
      if (latest === 0) throw new ServiceError('TreeNotFound', 'no root has been published yet');
      const size = req.tree_size ?? latest;
      const root = log.publishedRoot(size);
      if (!root) {
        throw new ServiceError('ValidationError', `tree_size ${size} is larger than the latest published size ${latest}`, {
          errors: [{ code: 'AboveMaximum', detail: `tree_size must be at most ${latest}`, source: '/tree_size' }],
        });
      }
      return { result: { data: root } };
    },
  },
});

const ROOT_PATH = /^\/roots\/([0-9a-f]{64})\/(\d{1,15})$/;

/** Public copy of each published root (the role Arweave plays for the cloud), at the root's `url`. */
function publishedRootFile(log: AuditLog, path: string): RawResponse | undefined {
  const match = ROOT_PATH.exec(path);
  if (!match) return undefined;
  const root = match[1] === log.treeName ? log.publishedRoot(Number(match[2])) : undefined;
  if (!root) return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'no such published root\n' };
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(root) };
}
