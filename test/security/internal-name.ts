// A host name that resolves to an internal address of this machine, for tests of what the download
// route connects to: a name is what the check of a link's URL cannot classify.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { downloadAllowed } from '../../src/gateway/download-route.js';

/** An address for a URL: IPv6 in brackets. */
export function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/**
 * A host name this machine resolves to one of its own non-public addresses without the name saying
 * so (not `localhost` or `*.localhost`), and a server listening on that address: the machine's own
 * name (127.0.1.1, or a container's private address) or another name of /etc/hosts (`ip6-localhost`
 * on Debian). Undefined when there is none, or none that can be listened on.
 */
export async function internalNameServer(listener: RequestListener): Promise<{ name: string; address: string; server: Server } | undefined> {
  let hosts = '';
  try {
    hosts = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // No hosts file: the machine's own name is still a candidate.
  }
  const fromHosts = hosts.split('\n').flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(1));
  const publicUpstream = new URL('https://203.0.113.10');
  for (const name of new Set([hostname(), ...fromHosts])) {
    if (name === '' || isIP(name) !== 0 || /(^|\.)localhost\.?$/i.test(name)) continue;
    // A name that is not in /etc/hosts may wait on an unreachable DNS server: not for long.
    let timer: NodeJS.Timeout | undefined;
    const resolved = await Promise.race([
      lookup(name).then(({ address }) => address, () => undefined),
      new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 2_000, undefined))),
    ]);
    clearTimeout(timer);
    if (resolved === undefined) continue;
    const address = resolved;
    // A literal address the route refuses for a public upstream: loopback, private, link-local, special.
    if (downloadAllowed(`http://${urlHost(address)}/`, publicUpstream)) continue;
    const server = createServer(listener);
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, address, () => resolve(true));
    });
    if (listening) return { name, address, server };
  }
  return undefined;
}
