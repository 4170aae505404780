// HTTP framing at the package runner's front, as a black-box fuzz found it: bodies over the
// limit are answered (and the answer read by the client) rather than cut; a body that never
// ends is cut after BODY_TIMEOUT_SECONDS; and what the Workers runtime answers itself, before
// the mock sees the request, pinned so that a runtime update which changes it is noticed (the
// README's "Known differences" describes it with the runtime's version).

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startMock } from '../../lib/index.mjs';
import { authHeaders } from './harness.mjs';

const MIB = 1024 * 1024;
let mock;
let port;
before(async () => {
  mock = await startMock({ vars: { BODY_TIMEOUT_SECONDS: '2' } });
  port = mock.port;
});
after(async () => { await mock?.stop(); });

/** Sends raw bytes; resolves with what came back before the server closed (or `waitMs` passed). */
function raw(bytes, { waitMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks = [];
    const started = Date.now();
    const done = (why) => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), why, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done('still open'), waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => { clearTimeout(timer); done('closed'); });
    socket.on('error', (/** @type {NodeJS.ErrnoException} */ e) => { clearTimeout(timer); done(e.code); });
    socket.write(bytes);
  });
}
const statusLine = (text) => text.split('\r\n')[0];

for (const size of [2 * MIB, 4 * MIB]) {
  test(`a ${size / MIB} MiB body is answered, and the client reads the answer (control API and AWS API)`, async () => {
    const control = await fetch(`${mock.url}/_mock/products`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(size, 0x20),
    });
    assert.equal(control.status, 413);
    assert.match((await control.json()).error, /accepts at most 1048576/);
    const aws = await fetch(mock.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.MeterUsage', ...authHeaders() },
      body: Buffer.alloc(size, 0x20),
    });
    assert.equal(aws.status, 400);
    assert.equal((await aws.json()).__type, 'ValidationException');
  });
}

test('a body shorter than its Content-Length, or a chunked one that never ends, is cut after BODY_TIMEOUT_SECONDS with a 408', async () => {
  const short = await raw(Buffer.from(
    'POST /_mock/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
  ));
  assert.equal(statusLine(short.text), 'HTTP/1.1 408 Request Timeout', short.text);
  assert.ok(short.ms >= 1500 && short.ms < 8000, `answered after ${short.ms} ms`);
  assert.equal(short.why, 'closed');
  // A GET's body is bounded and timed too: no route reads it, and no object waits for it.
  const getShort = await raw(Buffer.from('GET /_mock/products HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":'));
  assert.equal(statusLine(getShort.text), 'HTTP/1.1 408 Request Timeout', getShort.text);
  const getLong = await raw(Buffer.concat([
    Buffer.from(`GET /_mock/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${2 * MIB}\r\n\r\n`),
    Buffer.alloc(2 * MIB, 0x20),
  ]));
  assert.equal(statusLine(getLong.text), 'HTTP/1.1 413 Payload Too Large', getLong.text.slice(0, 300));
  const chunked = await raw(Buffer.from(
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSMPMeteringService.MeterUsage\r\n'
      + 'Authorization: AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00\r\n'
      + 'X-Amz-Date: 20261207T000000Z\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n',
  ));
  assert.equal(statusLine(chunked.text), 'HTTP/1.1 408 Request Timeout', chunked.text);
  assert.match(chunked.text, /connection: close/i);
});

test('a client that waits for 100 Continue gets the refusal at once, and HEAD gets headers only', async () => {
  const expecting = await raw(Buffer.from(
    `POST /_mock/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * MIB}\r\nExpect: 100-continue\r\n\r\n`,
  ), { waitMs: 5000 });
  assert.equal(statusLine(expecting.text), 'HTTP/1.1 413 Payload Too Large', expecting.text.slice(0, 300));
  assert.ok(expecting.ms < 1500, `answered after ${expecting.ms} ms`);
  const head = await raw(Buffer.from('HEAD /_mock/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.equal(statusLine(head.text), 'HTTP/1.1 200 OK');
  assert.equal(head.text.split('\r\n\r\n')[1], '', 'nothing follows the headers');
  const other = await raw(Buffer.from('PROPFIND /_mock/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.equal(statusLine(other.text), 'HTTP/1.1 405 Method Not Allowed');
  assert.match(other.text, /\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/i);
});

// What workerd 1.20261123 (under Miniflare 5.20261123.1-beta) answers before the worker runs.
// A change here means the runtime changed: update "Known differences" in the README.
test('the runtime answers malformed framing itself: these answers are pinned to notice a runtime update', async () => {
  const cases = [
    ['GET http://127.0.0.1/_mock/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'HTTP/1.1 200 OK'],
    ['POST /_mock/ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['POST /_mock/ping HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['POST /_mock/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 500 Internal Server Error'],
    ['OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'HTTP/1.1 500 Internal Server Error'],
  ];
  for (const [request, expected] of cases) {
    const r = await raw(Buffer.from(request), { waitMs: 5000 });
    assert.equal(statusLine(r.text), expected, `${request.split('\r\n')[0]}: ${r.text.slice(0, 200)}`);
  }
});

test('an open mock answers only under names a web page cannot rebind to it', async () => {
  const request = (host, extra = '') => raw(Buffer.from(`GET /_mock/settings HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`));
  // A public name (a page's own, rebound to 127.0.0.1): refused, with what to do instead.
  const rebound = await request(`rebound.example:${port}`);
  assert.match(statusLine(rebound.text), / 403 /);
  assert.match(rebound.text, /ALLOWED_ORIGINS/);
  // Claiming a local URL (Miniflare takes it from MF-Original-URL, which a same-origin page
  // may send) does not hide the Host the browser sent.
  const claimed = await request(`rebound.example:${port}`, `MF-Original-URL: http://127.0.0.1:${port}/_mock/settings\r\n`);
  assert.match(statusLine(claimed.text), / 403 /);
  // Loopback, an IP address, a container's name, a reserved local suffix: answered.
  for (const host of ['localhost', '127.0.0.1', '10.1.2.3', 'mock', 'host.docker.internal']) {
    assert.match(statusLine((await request(`${host}:${port}`)).text), / 200 /, host);
  }
});

test('a credential scope whose Region does not look like one is refused and stores nothing', async () => {
  for (const region of ['r'.repeat(33), 'x'.repeat(20_000)]) {
    const r = await fetch(`${mock.url}/ns/regions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.ResolveCustomer', ...authHeaders({ region }) },
      body: JSON.stringify({ RegistrationToken: 'x' }),
    });
    assert.equal(r.status, 403, region.slice(0, 40));
    const body = await r.json();
    assert.equal(body.__type, 'InvalidSignatureException');
    assert.ok(JSON.stringify(body).length < 1000);
  }
  const journal = await (await fetch(`${mock.url}/ns/regions/_mock/requests`)).json();
  assert.ok(JSON.stringify(journal).length < 5000, 'the journal keeps no long Region');
});
