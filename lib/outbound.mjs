// Where a locked mock's `fetch` (its webhooks) may connect under the package runner, which
// runs on the user's own network: public addresses only. The worker checks each webhook URL
// as written (IP literals, internal names), but cannot see what a public name resolves to;
// here the name is resolved when the connection is made, by the lookup the connection uses,
// so a name that resolves to a loopback, private or link-local address fails there, with no
// second lookup a rebinding DNS server could answer differently.

import { lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch, Response } from 'undici';

/** Addresses that are not the public internet's. */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of /** @type {[string, number][]} */ ([
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
])) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of /** @type {[string, number][]} */ ([
  // Unspecified, loopback and IPv4-compatible; NAT64 (well-known and local-use), Teredo and 6to4, which carry
  // IPv4 addresses; discard-only, documentation, unique-local, link-local, multicast. (IPv4-
  // mapped addresses are judged by the IPv4 address they carry.)
  ['::', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64],
  ['2001::', 32], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
])) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** Whether `address` (an IP address) is a public one. */
export function isPublicAddress(address) {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  const family = isIP(address);
  if (family === 0) return false;
  return !NOT_PUBLIC.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

const refusal = (host, address) => Object.assign(
  new Error(`${host} is ${address === host ? '' : `resolved to ${address}, `}not a public address: a locked mock does not connect there`),
  { code: 'ENOTPUBLIC' },
);

/** `dns.lookup` for connections: refuses a name any of whose addresses is not public. */
function publicLookup(hostname, options, callback) {
  lookup(hostname, options, (error, address, family) => {
    if (error) return callback(error);
    const found = Array.isArray(address) ? address : [{ address, family }];
    const bad = found.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(refusal(hostname, bad.address));
    return callback(null, address, family);
  });
}

const agent = new Agent({ connect: { lookup: publicLookup } });

/**
 * The locked mock's outbound `fetch` (Miniflare's `outboundService`): the worker's request,
 * sent from Node through connections that reach public addresses only; redirects are the
 * worker's to judge (it follows none). A refused connection is a 502 whose body says why
 * (the worker records a webhook's status).
 * @param {Request} request
 */
export async function lockedOutboundFetch(request) {
  const host = new URL(request.url).hostname.replace(/^\[|\]$/g, '');
  try {
    if (isIP(host) && !isPublicAddress(host)) throw refusal(host, host);
    // The request is Miniflare's (undici's own classes); its parts are passed on as they are.
    return await fetch(request.url, /** @type {any} */ ({
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      duplex: 'half',
      dispatcher: agent,
      // The worker gives a webhook 10 s; nothing of it is kept open much longer.
      signal: AbortSignal.timeout(15_000),
    }));
  } catch (e) {
    const refused = e.code === 'ENOTPUBLIC' ? e : e.cause?.code === 'ENOTPUBLIC' ? e.cause : null;
    if (!refused) throw e;
    return new Response(refused.message, { status: 502, headers: { 'content-type': 'text/plain' } });
  }
}
