// Where a locked mock may connect, under the package runner: its fetch connects to public
// addresses only (lib/outbound.mjs), judged by the lookup the connection itself uses, so a
// webhook whose name resolves to a local address fails there, past the worker's own checks
// of the URL, which cannot see what a name resolves to. Shown with a worker that fetches a
// local server by a name (localhost) and by its address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { COMPATIBILITY_DATE, outboundFor } from '../../lib/index.mjs';
import { isPublicAddress } from '../../lib/outbound.mjs';
import { listenLocally } from './harness.mjs';

/** What a worker run with `outboundService` gets when it fetches `url`. */
async function fetchFromWorker(outboundService, url) {
  const { Miniflare, convertV4MiniflareOptions } = await import('miniflare');
  const mf = new Miniflare(convertV4MiniflareOptions(/** @type {any} */ ({
    modules: true,
    script: `export default { async fetch(request) {
      const target = new URL(request.url).searchParams.get('to');
      try {
        const r = await fetch(target, { method: 'POST', body: 'event' });
        return new Response(r.status + ' ' + (await r.text()));
      }
      catch (e) { return new Response('refused: ' + e.message); }
    } };`,
    compatibilityDate: COMPATIBILITY_DATE,
    ...(outboundService ? { outboundService } : {}),
  })));
  try {
    const r = await mf.dispatchFetch(`http://localhost/?to=${encodeURIComponent(url)}`);
    return await r.text();
  } finally {
    await mf.dispose();
  }
}

test('a locked mock cannot connect to a local address, by name or by address; an open one can', async () => {
  const bodies = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { bodies.push(Buffer.concat(chunks).toString()); res.end('local'); });
  });
  const port = await listenLocally(server);
  try {
    const open = await outboundFor({});
    assert.equal(open, undefined);
    assert.equal(await fetchFromWorker(open, `http://127.0.0.1:${port}/hook`), '200 local');
    assert.deepEqual(bodies, ['event']);
    const locked = await outboundFor({ ADMIN_TOKEN: 'x'.repeat(16) });
    for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`]) {
      assert.match(await fetchFromWorker(locked, url), /^502 .*not a public address: a locked mock does not connect there/, url);
    }
    assert.equal(bodies.length, 1, 'the locked worker reached the local server');
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  }
});

test('public addresses are told from loopback, private, link-local and the IPv6 forms that carry them', () => {
  for (const address of ['93.184.216.34', '2606:4700::1111', '1.1.1.1', '::ffff:5db8:d822']) assert.ok(isPublicAddress(address), address);
  for (const address of [
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '::1', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '::7f00:1', '64:ff9b::a00:1', '64:ff9b:1::1', '2002:7f00:1::', '2001::1',
    'fd00:ec2::254', 'fe80::1', 'ff02::1', 'not an address',
  ]) assert.ok(!isPublicAddress(address), address);
});
