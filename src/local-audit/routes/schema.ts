// v1/schema: the active event schema (standard or custom), so clients can build forms and queries.
import { validateBody } from '../core/validate.js';
import type { RouteModuleFactory } from './module.js';

export const schemaModule: RouteModuleFactory = ({ log }) => ({
  actions: {
    'v1/schema': ({ body }) => {
      validateBody(body, { fields: {} });
      return { result: log.schema };
    },
  },
});
