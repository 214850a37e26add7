// The V8 heap setting the gateway process runs with, applied when this module is evaluated:
// src/main.ts imports it first, before the modules that serve requests are loaded.
//
// Allocation-site pretenuring: once nearly every object made at one allocation site (an object or
// array literal) has survived a young collection, V8 makes that site's objects in the old
// generation from then on. The young objects they point to are then kept by every young
// collection until the next full one, dead or alive, and promoted. Under the gateway's requests
// (many objects each, 16 or more in flight) sites on the request path were switched over, and
// then most of each request was promoted: a verified 20-event page, 16 in flight, promoted
// 131–741 KB per young collection on Node 20.20, and 15–16 KB with this setting, for 10–15% less
// gateway CPU per page. On Node 24.22, which collects the same objects young anyway, the setting
// made no difference that was measured (docs/performance.md: What each request leaves behind).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
