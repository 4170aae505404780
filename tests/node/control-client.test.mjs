// The one control-API client (lib/control.mjs) every JS caller uses: what it sends, what it
// reads back, and that a call with no answer ends at its timeout instead of waiting for ever.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { controlCall } from '../../lib/control.mjs';

/** @type {import('node:http').Server} */
let server;
let base = '';
/** @type {{method?: string, headers: import('node:http').IncomingHttpHeaders, body: string}[]} */
const seen = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url === '/silent') return; // never answers
      if (req.url === '/text') return res.end('not json');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: body ? JSON.parse(body) : null }));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('a body goes as JSON with the bearer token, and the answer comes back parsed', async () => {
  const r = await controlCall(`${base}/json`, { method: 'POST', body: { a: 1 }, token: 'secret-token' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json, { got: { a: 1 } });
  const sent = seen.at(-1);
  assert.equal(sent?.headers.authorization, 'Bearer secret-token');
  assert.equal(sent?.headers['content-type'], 'application/json');
});

test('an answer that is not JSON has json null and its text', async () => {
  const r = await controlCall(`${base}/text`);
  assert.equal(r.json, null);
  assert.equal(r.text, 'not json');
});

test('a call with no answer ends at its timeout, naming the call', async () => {
  const started = Date.now();
  await assert.rejects(controlCall(`${base}/silent`, { method: 'DELETE', timeoutMs: 300 }), /DELETE .*\/silent: no answer within 300 ms/);
  assert.ok(Date.now() - started < 5_000);
});

test('a refused connection names the call', async () => {
  await assert.rejects(controlCall('http://127.0.0.1:9/x', { timeoutMs: 2_000 }), /GET http:\/\/127\.0\.0\.1:9\/x: /);
});
