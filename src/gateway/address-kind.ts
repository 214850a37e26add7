// What kind of network address a download is fetched from (public, loopback, private, link-local,
// special), and the undici Agent the download route fetches with, which applies the route's rule
// (a public address, or one of the upstream's kind) to the address each connection actually goes
// to. Checking a name's resolution before the fetch would not do: the fetch resolves it again, and
// a name that answers a public address first and an internal one next (DNS rebinding) would pass.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';

export type AddressKind = 'public' | 'loopback' | 'link-local' | 'private' | 'special';

/** Address ranges a download is not fetched from unless the upstream itself is in the same one. */
const RANGES: ReadonlyArray<readonly [AddressKind, ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']>]> = [
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']]],
  // "This network", multicast, reserved/broadcast; IPv6 unspecified, IPv4-compatible, NAT64, 6to4, multicast.
  ['special', [['0.0.0.0', 8, 'ipv4'], ['224.0.0.0', 3, 'ipv4'], ['::', 96, 'ipv6'], ['64:ff9b::', 96, 'ipv6'], ['2002::', 16, 'ipv6'], ['ff00::', 8, 'ipv6']]],
];
const BLOCKS = RANGES.map(([kind, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix, type] of subnets) list.addSubnet(network, prefix, type);
  return [kind, list] as const;
});

/** A URL's host as an address or a name: no IPv6 brackets, no trailing dot, lower case. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/** The kind of a literal address (IPv4-mapped IPv6 included); 'public' for anything else. */
export function ipKind(address: string): AddressKind {
  const version = isIP(address);
  if (version === 0) return 'public';
  for (const [kind, list] of BLOCKS) if (list.check(address, version === 4 ? 'ipv4' : 'ipv6')) return kind;
  return 'public';
}

/**
 * What kind of address a URL's host is by its text alone: literal addresses (in any form the URL
 * parser turns into one) and localhost names are recognised; other names count as public here, and
 * what they resolve to is checked when connecting (downloadAgent).
 */
export function addressKind(url: URL): AddressKind {
  const host = bareHost(url);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  return ipKind(host);
}

/** Code of the error a refused connection fails with (kept by the audit client's transport error). */
export const ADDRESS_KIND_REFUSED = 'ERR_ADDRESS_KIND_REFUSED';

/** A download host that is, or resolves to, an address of a kind that is not fetched. */
export class AddressKindRefusedError extends Error {
  override name = 'AddressKindRefusedError';
  readonly code = ADDRESS_KIND_REFUSED;

  constructor(host: string, address: string, kind: AddressKind, allowed: ReadonlySet<AddressKind>) {
    const what = host === address ? address : `${host} resolves to ${address}, which`;
    super(`${what} is a ${kind} address; downloads are fetched only from public addresses and the upstream's kind (${[...allowed].join(', ')})`);
  }
}

/**
 * The kinds of address a download may connect to: public ones and the upstream's. An upstream
 * given by a name is classified by what the name resolves to, again at each connection rather than
 * once at startup: the route is set up synchronously before the upstream need be resolvable, and
 * the upstream's addresses may change while the gateway runs. Resolving the upstream's name opens
 * no rebinding hole: the name is the operator's configuration, not something a link chooses, and
 * the address checked for a download is still the one its connection goes to. So the upstream's
 * own origin needs no exception here: its addresses are the upstream's kind. When the name does not
 * resolve at the moment, what the name says (public, or loopback for a localhost name) stands.
 */
function upstreamKinds(upstreamBase: URL, done: (kinds: ReadonlySet<AddressKind>) => void): void {
  const kinds = new Set<AddressKind>(['public', addressKind(upstreamBase)]);
  const host = bareHost(upstreamBase);
  if (isIP(host) !== 0) {
    done(kinds);
    return;
  }
  dnsLookup(host, { all: true }, (err, addresses) => {
    if (!err) for (const { address } of addresses) kinds.add(ipKind(address));
    done(kinds);
  });
}

/**
 * dns.lookup for a download's connection, failing with AddressKindRefusedError when the name
 * resolves to any address of a kind not allowed (one internal address among public ones is not
 * quietly dropped: the name is refused). Answers in the form asked: a list for `all: true` (as
 * Node's happy-eyeballs connect asks), else the first address and its family.
 */
export function downloadLookup(upstreamBase: URL): LookupFunction {
  return (hostname, options, callback) => {
    upstreamKinds(upstreamBase, (allowed) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) {
          callback(err, options.all ? [] : '');
          return;
        }
        for (const { address } of addresses) {
          const kind = ipKind(address);
          if (!allowed.has(kind)) {
            callback(new AddressKindRefusedError(hostname, address, kind, allowed), options.all ? [] : '');
            return;
          }
        }
        const first = addresses[0];
        if (options.all) callback(null, addresses);
        else if (first) callback(null, first.address, first.family);
        else callback(Object.assign(new Error(`${hostname} resolves to no address`), { code: 'ENOTFOUND' }), '');
      });
    });
  };
}

/**
 * The Agent downloads are fetched with: every connection, to a name or to a literal address, goes
 * only to a public address or one of the upstream's kind. Names are checked by downloadLookup (the
 * socket connects to the addresses it answered, so nothing can change between check and connect);
 * literal addresses, which are not looked up, are checked here before connecting. Whatever URL the
 * Agent is handed, a redirect's included, it keeps to this rule.
 */
export function downloadAgent(upstreamBase: URL, connectTimeoutMs: number): Agent {
  const connectTo = buildConnector({ timeout: connectTimeoutMs, lookup: downloadLookup(upstreamBase) });
  return new Agent({
    connect: (options, callback) => {
      // undici hands IPv6 literals over without their brackets.
      if (isIP(options.hostname) === 0) {
        connectTo(options, callback);
        return;
      }
      upstreamKinds(upstreamBase, (allowed) => {
        const kind = ipKind(options.hostname);
        if (!allowed.has(kind)) {
          callback(new AddressKindRefusedError(options.hostname, options.hostname, kind, allowed), null);
          return;
        }
        try {
          connectTo(options, callback);
        } catch (err) {
          callback(err as Error, null);
        }
      });
    },
  });
}
