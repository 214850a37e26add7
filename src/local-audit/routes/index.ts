// Every endpoint family of the local audit service. Add a module here to serve its routes.
import { asyncModule } from './async.js';
import { downloadModule } from './download.js';
import { exportModule } from './export.js';
import { logModule } from './log.js';
import { logStreamModule } from './log-stream.js';
import type { RouteModuleFactory } from './module.js';
import { rootModule } from './root.js';
import { schemaModule } from './schema.js';
import { searchModule } from './search.js';

export const ROUTE_MODULES: RouteModuleFactory[] = [logModule, rootModule, schemaModule, searchModule, asyncModule, exportModule, downloadModule, logStreamModule];
