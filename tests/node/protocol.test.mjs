// The awsJson1_1 front door seen through raw HTTP: error encoding, request ids, targets,
// authentication, body limits, validation messages and the non-AWS routes.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  startEphemeralMock, rawCall, authHeaders, control, namespaceUrl, epochOf, createProduct, setClock, usageRecords, UUID_V4,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const AWS_CONTENT_TYPE = 'application/x-amz-json-1.1';
const MIB = 1024 * 1024;

let mock;
let ns; // a namespace with product `prod` (dimension `hosts`) and a frozen clock
before(async () => {
  mock = await startEphemeralMock();
  ns = namespaceUrl(mock, 'protocol');
  await createProduct(ns, { productCode: 'prod', dimensions: ['hosts'] });
  await setClock(ns, { frozenAt: NOW });
});
after(async () => { await mock?.stop(); });

const meterInput = (input = {}) => ({
  ProductCode: 'prod', Timestamp: epochOf(NOW), UsageDimension: 'hosts', UsageQuantity: 1, ...input,
});

/** A POST with exactly these headers (nothing added); returns { status, headers, json, text }. */
async function post(url, headers, body) {
  const r = await fetch(url, { method: 'POST', headers, body });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

/** A POST through node:http, which sends header names with the exact case given. */
function postWithHeaderCase(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, rawHeaders: res.rawHeaders, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Asserts the full AWS error encoding of `r`: status, name in header and body, body shape, headers. */
function assertAwsError(r, name, status = 400) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('x-amzn-errortype'), name);
  assert.ok(r.json, `error body is not JSON: ${r.text}`);
  assert.equal(r.json.__type, name);
  assert.deepEqual(Object.keys(r.json).sort(), ['__type', 'message']);
  assert.equal(typeof r.json.message, 'string');
  assert.equal(r.headers.get('content-type'), AWS_CONTENT_TYPE);
  assert.ok(r.headers.get('x-amzn-requestid'), 'x-amzn-RequestId missing');
  return r.json;
}

// ------------------------------------------------------------------------------- request ids

test('a MeterUsage success carries x-amzn-RequestId and the awsJson1_1 content type', async () => {
  const r = await rawCall(ns, 'MeterUsage', meterInput());
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('x-amzn-requestid') ?? '', UUID_V4);
  assert.equal(r.headers.get('content-type'), AWS_CONTENT_TYPE);
  assert.match(r.json.MeteringRecordId, UUID_V4);
});

test('an AWS error carries x-amzn-RequestId', async () => {
  const r = await rawCall(ns, 'MeterUsage', meterInput({ ProductCode: 'nope' }));
  assertAwsError(r, 'InvalidProductCodeException');
  assert.match(r.headers.get('x-amzn-requestid'), UUID_V4);
});

test('control endpoints, 404s and bad namespace answers carry x-amzn-RequestId', async () => {
  for (const path of ['/_mock/health', '/_mock/products', '/', '/no/such/route', '/ns/bad.name/', '/_mock/nope']) {
    const r = await fetch(`${mock.url}${path}`);
    await r.text();
    assert.ok(r.headers.get('x-amzn-requestid'), `no x-amzn-RequestId on GET ${path} (${r.status})`);
  }
});

test('every response gets its own request id', async () => {
  const a = await rawCall(ns, 'MeterUsage', meterInput());
  const b = await rawCall(ns, 'MeterUsage', meterInput());
  assert.notEqual(a.headers.get('x-amzn-requestid'), b.headers.get('x-amzn-requestid'));
});

// ---------------------------------------------------------------------------- error encoding

test('a modeled error has the same name in x-amzn-ErrorType and __type and a {__type, message} body', async () => {
  const r = await rawCall(ns, 'MeterUsage', meterInput({ UsageDimension: 'nope' }));
  const body = assertAwsError(r, 'InvalidUsageDimensionException');
  assert.match(body.message, /nope/);
});

test('malformed JSON is SerializationException (400)', async () => {
  assertAwsError(await rawCall(ns, 'MeterUsage', '{"ProductCode": '), 'SerializationException');
});

test('a JSON body that is not an object is SerializationException', async () => {
  assertAwsError(await rawCall(ns, 'MeterUsage', '[1, 2]'), 'SerializationException');
});

test('a member of the wrong JSON type (UsageQuantity "1") is SerializationException', async () => {
  const body = assertAwsError(await rawCall(ns, 'MeterUsage', meterInput({ UsageQuantity: '1' })),
    'SerializationException');
  assert.match(body.message, /usageQuantity/);
});

test('a string timestamp is SerializationException', async () => {
  assertAwsError(await rawCall(ns, 'MeterUsage', meterInput({ Timestamp: NOW })), 'SerializationException');
});

// ----------------------------------------------------------------------------------- targets

test('a missing X-Amz-Target is UnknownOperationException', async () => {
  const r = await post(ns, { 'content-type': AWS_CONTENT_TYPE, ...authHeaders() }, JSON.stringify(meterInput()));
  assertAwsError(r, 'UnknownOperationException');
});

test('an unknown operation is UnknownOperationException', async () => {
  assertAwsError(await rawCall(ns, 'DeleteEverything', {}), 'UnknownOperationException');
});

test('a target with the wrong service prefix is UnknownOperationException', async () => {
  const r = await rawCall(ns, 'MeterUsage', meterInput(), {
    headers: { 'x-amz-target': 'AWSMPEntitlementService.MeterUsage' },
  });
  assertAwsError(r, 'UnknownOperationException');
});

test('RegisterUsage of a product the namespace does not have is InvalidProductCodeException', async () => {
  const r = await rawCall(ns, 'RegisterUsage', { ProductCode: 'no-such-product', PublicKeyVersion: 1 });
  const body = assertAwsError(r, 'InvalidProductCodeException');
  assert.match(body.message, /no-such-product/);
});

test('ResolveCustomer answers InvalidTokenException for a token it never minted', async () => {
  const r = await rawCall(ns, 'ResolveCustomer', { RegistrationToken: 'token' });
  const body = assertAwsError(r, 'InvalidTokenException');
  assert.match(body.message, /invalid/);
});

test('lower-case header names are accepted', async () => {
  const r = await postWithHeaderCase(ns, {
    'content-type': AWS_CONTENT_TYPE,
    'x-amz-target': 'AWSMPMeteringService.MeterUsage',
    ...authHeaders(),
  }, JSON.stringify(meterInput()));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.match(r.json.MeteringRecordId, UUID_V4);
});

test('upper-case header names are accepted', async () => {
  const auth = authHeaders();
  const r = await postWithHeaderCase(ns, {
    'CONTENT-TYPE': AWS_CONTENT_TYPE,
    'X-AMZ-TARGET': 'AWSMPMeteringService.MeterUsage',
    AUTHORIZATION: auth.authorization,
    'X-AMZ-DATE': auth['x-amz-date'],
  }, JSON.stringify(meterInput()));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.match(r.json.MeteringRecordId, UUID_V4);
});

// ---------------------------------------------------------------------------- authentication

test('no Authorization header is MissingAuthenticationTokenException (400)', async () => {
  const r = await post(ns, {
    'content-type': AWS_CONTENT_TYPE, 'x-amz-target': 'AWSMPMeteringService.MeterUsage', 'x-amz-date': '20261128T000000Z',
  }, JSON.stringify(meterInput()));
  assertAwsError(r, 'MissingAuthenticationTokenException');
});

test('authentication is checked before the target', async () => {
  const r = await post(ns, { 'content-type': AWS_CONTENT_TYPE, 'x-amz-target': 'Nope.Nope' }, '{');
  assertAwsError(r, 'MissingAuthenticationTokenException');
});

test('a presigned query credential stands in for the Authorization header', async () => {
  const credential = encodeURIComponent('test/20261128/us-east-1/aws-marketplace/aws4_request');
  const r = await post(`${ns}/?X-Amz-Credential=${credential}`, {
    'content-type': AWS_CONTENT_TYPE, 'x-amz-target': 'AWSMPMeteringService.MeterUsage',
  }, JSON.stringify(meterInput()));
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.MeteringRecordId, UUID_V4);
});

test('a malformed Authorization header is IncompleteSignatureException (400)', async () => {
  for (const authorization of [
    'Bearer abc',
    'AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/aws-marketplace/aws4_request, Signature=00',
    'AWS4-HMAC-SHA256 Credential=test/us-east-1/aws4_request, SignedHeaders=host, Signature=00',
  ]) {
    const r = await rawCall(ns, 'MeterUsage', meterInput(), { headers: { authorization } });
    assertAwsError(r, 'IncompleteSignatureException');
  }
});

// ------------------------------------------------------------------------------- body limits

test('a body of 1 MiB is ValidationException', async () => {
  const head = '{"Padding":"';
  const tail = `","ProductCode":"prod","Timestamp":${epochOf(NOW)},"UsageDimension":"hosts","UsageQuantity":1}`;
  const body = head + 'a'.repeat(MIB - head.length - tail.length) + tail;
  assert.equal(Buffer.byteLength(body), MIB);
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', body), 'ValidationException');
  assert.match(json.message, /1 MB/);
});

test('a body one byte under 1 MiB is not refused for its size', async () => {
  const head = '{"Padding":"';
  const tail = `","ProductCode":"prod","Timestamp":${epochOf(NOW)},"UsageDimension":"hosts","UsageQuantity":1}`;
  const body = head + 'a'.repeat(MIB - 1 - head.length - tail.length) + tail;
  assert.equal(Buffer.byteLength(body), MIB - 1);
  const r = await rawCall(ns, 'MeterUsage', body);
  assert.equal(r.status, 200, r.text.slice(0, 300));
});

// -------------------------------------------------------------------------------- validation

test('a missing required member is ValidationException in the AWS wording', async () => {
  const { ProductCode, ...input } = meterInput();
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', input), 'ValidationException');
  assert.equal(json.message,
    "1 validation error detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null");
});

test('several violations are listed as "N validation errors detected: …; …"', async () => {
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', {}), 'ValidationException');
  const missing = (path) => `Value null at '${path}' failed to satisfy constraint: Member must not be null`;
  assert.equal(json.message,
    `3 validation errors detected: ${missing('productCode')}; ${missing('timestamp')}; ${missing('usageDimension')}`);
});

test('a product code with a space is ValidationException quoting the pattern', async () => {
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', meterInput({ ProductCode: 'has space' })),
    'ValidationException');
  assert.equal(json.message,
    "1 validation error detected: Value 'has space' at 'productCode' failed to satisfy constraint: "
    + 'Member must satisfy regular expression pattern: ^[-a-zA-Z0-9/=:_.@]*$');
});

test('a negative quantity is ValidationException naming the member', async () => {
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', meterInput({ UsageQuantity: -1 })),
    'ValidationException');
  assert.match(json.message, /Value '-1' at 'usageQuantity' failed to satisfy constraint: Member must have value greater than or equal to 0/);
});

test('a quantity above 2147483647 is ValidationException', async () => {
  const json = assertAwsError(await rawCall(ns, 'MeterUsage', meterInput({ UsageQuantity: 2147483648 })),
    'ValidationException');
  assert.match(json.message, /at 'usageQuantity' failed to satisfy constraint: Member must have value less than or equal to 2147483647/);
});

// -------------------------------------------------------------------------------- timestamps

test('integer and fractional epoch-second timestamps are both accepted', async () => {
  const url = namespaceUrl(mock, 'protocol-timestamps');
  await createProduct(url, { productCode: 'prod', dimensions: ['a', 'b'] });
  await setClock(url, { frozenAt: NOW });
  const integer = await rawCall(url, 'MeterUsage', meterInput({ UsageDimension: 'a', Timestamp: 1773145800 }));
  const fraction = await rawCall(url, 'MeterUsage', meterInput({ UsageDimension: 'b', Timestamp: 1773145800.5 }));
  assert.equal(integer.status, 200, integer.text);
  assert.equal(fraction.status, 200, fraction.text);
  const byDimension = Object.fromEntries((await usageRecords(url)).map((e) => [e.dimension, e.timestamp]));
  assert.deepEqual(byDimension, { a: '2026-03-10T12:30:00Z', b: '2026-03-10T12:30:00.500Z' });
});

// ------------------------------------------------------------------------------ other routes

test('GET / answers 200 JSON describing the service', async () => {
  const r = await fetch(`${mock.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const body = await r.json();
  assert.equal(body.service, 'metering-mock');
  assert.equal(body.namespace, 'default');
  // A person who opened it in a browser finds the dashboard from here.
  assert.equal(body.dashboard, '/_mock/ui/');
  assert.equal((await fetch(new URL(body.dashboard, mock.url))).status, 200);
});

test('GET /ns/<name>/ names its namespace', async () => {
  const r = await fetch(`${ns}/`);
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.namespace, 'protocol');
  assert.equal(body.dashboard, '/ns/protocol/_mock/ui/');
});

test('an unknown path is 404 JSON', async () => {
  const r = await fetch(`${mock.url}/no/such/route`);
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(typeof (await r.json()).error, 'string');
  const c = await control(mock.url, 'GET', '/nope');
  assert.equal(c.status, 404);
  assert.equal(typeof c.json.error, 'string');
});

test('a bad namespace name (/ns/bad.name/) is 400 JSON', async () => {
  const r = await fetch(`${mock.url}/ns/bad.name/`);
  assert.equal(r.status, 400);
  assert.match((await r.json()).error, /bad\.name/);
});

// ------------------------------------------------------- protocol edges found by a fuzz (issue 25)

test('a CBOR GetEntitlements body of 1 MiB is InvalidParameterException, the model\'s only client error', async () => {
  const r = await fetch(`${ns}/service/AWSMPEntitlementService/operation/GetEntitlements`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor', ...authHeaders() },
    body: Buffer.alloc(MIB, 0x60),
  });
  assert.equal(r.status, 400);
  const body = Buffer.from(await r.arrayBuffer()).toString('latin1');
  assert.match(body, /#InvalidParameterException/);
  assert.doesNotMatch(body, /ValidationException/);
});

test('HEAD is answered where GET is, with no body; a 405 names the methods in Allow', async () => {
  for (const path of ['/_mock/products', '/_mock/ping', '/_mock/ui/']) {
    const r = await fetch(`${ns}${path}`, { method: 'HEAD' });
    assert.equal(r.status, 200, path);
    assert.equal((await r.arrayBuffer()).byteLength, 0, path);
  }
  const refused = await fetch(`${ns}/_mock/products`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.get('allow'), 'GET, HEAD, POST');
});

test('a time in the year 0, which boto3 could not read back, is refused by every control field that takes one', async () => {
  const world = namespaceUrl(mock, 'protocol-years');
  await createProduct(world, { productCode: 'prod', dimensions: ['hosts'], customers: [{ customerIdentifier: 'c1' }] });
  const entitle = (at) => ({ productCode: 'prod', customerIdentifier: 'c1', entitlements: [{ dimension: 'hosts', value: { integerValue: 1 }, expirationDate: at }] });
  for (const [method, path, body] of /** @type {[string, string, any][]} */ ([
    ['PUT', '/entitlements', entitle('0000-01-01T00:00:00Z')],
    ['PUT', '/clock', { frozenAt: '0000-01-01T00:00:00Z' }],
    ['PUT', '/clock', { frozenAt: -62167219200 }],
    ['POST', '/keys/1/retire', { at: '0000-01-01T00:00:00Z' }],
  ])) {
    const r = await control(world, method, path, body);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match(r.json.error, /0001/, path);
  }
  assert.equal((await control(world, 'PUT', '/entitlements', entitle('0001-01-01T00:00:00Z'))).status, 200);
});
