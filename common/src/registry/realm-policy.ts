import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { isLoopbackHost } from './registry-names';

/**
 * Which bearer-token realms archfarm will fetch. A registry names its token server in its 401
 * answer, so a hostile (or hijacked) registry could point the coordinator at anything it can
 * reach: a cloud metadata service on a link-local address, or a plain-HTTP host on the way.
 * The rules, as the issue fixed them:
 * - https, unless the registry itself is spoken to over plain HTTP (an --insecure-registry
 *   entry, or loopback) or the realm is on loopback;
 * - never a link-local (169.254.0.0/16, fe80::/10) or unspecified (0.0.0.0/8, ::) address,
 *   whether written in the realm or what its host name resolves to.
 */

/** Resolves a host name to every address it has (dns.lookup's view, as fetch connects). */
export type ResolveHost = (host: string) => Promise<string[]>;

const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('0.0.0.0', 8, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('::', 'ipv6');

/** dns.lookup with every address, so one bad address among several is seen. */
export const resolveWithDns: ResolveHost = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Why an address may not be a realm's, or undefined when it may. */
export function forbiddenAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return undefined;
  const v4 = family === 6 ? mappedIpv4(bare) : bare;
  const blocked = v4 !== undefined ? FORBIDDEN.check(v4, 'ipv4') : FORBIDDEN.check(bare, 'ipv6');
  if (!blocked) return undefined;
  const ip = v4 ?? bare;
  return /^(169\.254\.|fe[89ab])/i.test(ip) ? 'a link-local address' : 'an unspecified address';
}

/**
 * Why this realm URL may not be fetched, judged on its text alone; undefined when it may.
 * `plainRegistry`: the registry is spoken to over plain HTTP already.
 */
export function realmRefusal(url: URL, plainRegistry: boolean): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `its scheme ${url.protocol} is not https`;
  if (url.username || url.password) return 'it carries a user name or password';
  const literal = forbiddenAddress(url.hostname);
  if (literal) return `it is ${literal}`;
  if (url.protocol === 'http:' && !plainRegistry && !isLoopbackHost(url.host)) {
    return 'it is plain http for a registry spoken to over https (mark the registry insecure to allow it)';
  }
  return undefined;
}

/** realmRefusal, then the same address rule for what the realm's host name resolves to. */
export async function realmRefusalResolved(url: URL, plainRegistry: boolean, resolve: ResolveHost): Promise<string | undefined> {
  const refusal = realmRefusal(url, plainRegistry);
  if (refusal || isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return refusal;
  let addresses: string[];
  try {
    addresses = await resolve(url.hostname);
  } catch {
    // fetch would fail the same way; its own error says the host is unreachable.
    return undefined;
  }
  for (const address of addresses) {
    const why = forbiddenAddress(address);
    if (why) return `its host resolves to ${why} (${address})`;
  }
  return undefined;
}

/** "::ffff:169.254.1.1" or "::ffff:a9fe:101" as the IPv4 address it maps, else undefined. */
function mappedIpv4(v6: string): string | undefined {
  const m = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(v6) ?? /^::ffff:(.+)$/i.exec(v6);
  if (!m) return undefined;
  const rest = m[1]!;
  if (isIP(rest) === 4) return rest;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(rest);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
