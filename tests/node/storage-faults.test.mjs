// A real SQLite failure at any write of a request rolls the whole request back, under the
// Workers runtime (not the native test's stand-in store): with TEST_STORAGE_FAULTS=1 a
// request's `x-mock-fail-write: N` makes its N-th write a statement SQLite refuses. For every
// N, the namespace is exactly as before the request, the answer is a retryable 500 in the
// request's protocol, and once N is past the request's writes it succeeds whole. A write SQLite
// would refuse again (`x-mock-fail-write: N permanent`: a value over its size limit) answers a
// 400 naming the cause, which SDKs do not retry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEphemeralMock, authHeaders, namespaceUrl, createProduct, setClock } from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const NOW_SECONDS = Date.parse(NOW) / 1000;
const MAX_WRITES = 30;

/** @param {string} url @param {{aws?: string, method?: string, path?: string, body?: any, failWrite?: number | string, name?: string}} request */
async function send(url, { aws, method = 'POST', path = '', body, failWrite }) {
  const headers = failWrite === undefined ? {} : { 'x-mock-fail-write': String(failWrite) };
  if (aws) {
    Object.assign(headers, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSMPMeteringService.${aws}`,
      ...authHeaders({ accessKeyId: 'faults-caller' }),
    });
  } else {
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(aws ? url : `${url}/_mock${path}`, { method, headers, body: JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

/** Everything a request could change, as one comparable text. */
async function snapshot(url) {
  const parts = [];
  for (const path of ['/products', '/usage?limit=1000', '/events?limit=1000', '/settings', '/registrations', '/requests?limit=200']) {
    const r = await fetch(`${url}/_mock${path}`);
    parts.push(`${path} ${r.status} ${await r.text()}`);
  }
  return parts.join('\n');
}

const REQUESTS = [
  {
    // 25 records: the store writes them in several multi-row statements.
    name: 'BatchMeterUsage of 25 records',
    aws: 'BatchMeterUsage',
    body: {
      ProductCode: 'prod',
      UsageRecords: Array.from({ length: 25 }, (_, i) => ({ Timestamp: NOW_SECONDS, CustomerIdentifier: `c${Math.floor(i / 3)}`, Dimension: `d${i % 3}`, Quantity: i + 1 })),
    },
    ok: (r) => r.json?.Results?.length === 25 && r.json.Results.every((x) => x.Status === 'Success'),
  },
  {
    name: 'MeterUsage with a ClientToken (the token and the record)',
    aws: 'MeterUsage',
    body: { ProductCode: 'prod', Timestamp: NOW_SECONDS, UsageDimension: 'd0', UsageQuantity: 4, ClientToken: 'storage-faults-1' },
    ok: (r) => typeof r.json?.MeteringRecordId === 'string',
  },
  {
    name: 'a lifecycle action (the product and its notification)',
    path: '/subscriptions',
    body: { productCode: 'prod', customerIdentifier: 'c1', action: 'unsubscribe-pending' },
    ok: (r) => r.json?.customer?.subscription === 'unsubscribe-pending',
  },
  {
    name: 'a sign-up (a new buyer, its notification and its registration token)',
    path: '/marketplace/subscribe?format=json',
    body: { productCode: 'prod' },
    ok: (r) => typeof r.json?.registrationToken === 'string',
  },
];

test('a real SQLite failure at any write rolls the whole request back; past its writes it succeeds once', async (t) => {
  const mock = await startEphemeralMock({ vars: { TEST_STORAGE_FAULTS: '1' } });
  t.after(() => mock.stop());
  const url = namespaceUrl(mock, 'faults');
  await setClock(url, { frozenAt: NOW });
  await createProduct(url, {
    productCode: 'prod',
    dimensions: ['d0', 'd1', 'd2'],
    fulfillmentUrl: 'http://127.0.0.1:9/register',
    customers: Array.from({ length: 9 }, (_, i) => ({ customerIdentifier: `c${i}` })),
  });

  for (const request of REQUESTS) {
    const before = await snapshot(url);
    let failures = 0;
    let succeeded = null;
    for (let n = 1; n <= MAX_WRITES && !succeeded; n += 1) {
      const r = await send(url, { ...request, failWrite: n });
      if (r.status === 500) {
        failures += 1;
        if (request.aws) {
          assert.match(r.headers.get('x-amzn-errortype') ?? '', /InternalServiceError/, `${request.name}, write ${n}`);
        } else {
          assert.match(r.json?.error ?? '', /rolled back/, `${request.name}, write ${n}`);
        }
        assert.equal(await snapshot(url), before, `${request.name}: write ${n} failed, and the namespace must be as before`);
      } else {
        assert.ok(request.ok(r), `${request.name}, write ${n}: ${r.status} ${r.text}`);
        succeeded = n;
      }
    }
    assert.ok(succeeded, `${request.name} never succeeded within ${MAX_WRITES} writes`);
    // The write that failed first was the first; a later one failing proves earlier real
    // writes of the same request were taken back.
    assert.ok(failures >= 2, `${request.name}: only ${failures} writes (want at least 2 to fail after a write)`);
    assert.notEqual(await snapshot(url), before, `${request.name} changed nothing`);
  }
  const usage = await (await fetch(`${url}/_mock/usage?limit=1000`)).json();
  assert.equal(usage.records.length, 26, '25 batch records and one MeterUsage record, each once');
});

test('a write that would fail again answers a 400 naming the cause, and the SDK does not retry it', async (t) => {
  const mock = await startEphemeralMock({ vars: { TEST_STORAGE_FAULTS: '1' } });
  t.after(() => mock.stop());
  const url = namespaceUrl(mock, 'permanent');
  await setClock(url, { frozenAt: NOW });
  await createProduct(url, { productCode: 'prod', dimensions: ['d0'] });
  const before = await snapshot(url);
  const { MarketplaceMeteringClient, MeterUsageCommand } = await import('@aws-sdk/client-marketplace-metering');
  const client = new MarketplaceMeteringClient({
    region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'faults-caller', secretAccessKey: 'x' }, maxAttempts: 3,
  });
  client.middlewareStack.add((next) => async (args) => {
    /** @type {any} */ (args.request).headers['x-mock-fail-write'] = '1 permanent';
    return next(args);
  }, { step: 'build' });
  const error = await client.send(new MeterUsageCommand({
    ProductCode: 'prod', Timestamp: new Date(NOW), UsageDimension: 'd0', UsageQuantity: 1,
  })).then(() => null, (e) => e);
  assert.equal(error?.name, 'ValidationException', String(error));
  assert.equal(error.$metadata.httpStatusCode, 400);
  assert.equal(error.$metadata.attempts, 1, 'not retried');
  assert.match(error.message, /SQLITE_TOOBIG.*the same request would fail again/);
  assert.doesNotMatch(error.message, /[Rr]etry it/);
  // The control API says the same, and nothing was kept either way.
  const control = await send(url, { path: '/products', body: { productCode: 'other', dimensions: ['d'] }, failWrite: '1 permanent' });
  assert.equal(control.status, 400, control.text);
  assert.match(control.json.error, /SQLITE_TOOBIG/);
  assert.equal(await snapshot(url), before);
  // A write a retry could pass stays a retryable 500.
  const transient = await send(url, { aws: 'MeterUsage', body: { ProductCode: 'prod', Timestamp: NOW_SECONDS, UsageDimension: 'd0', UsageQuantity: 1 }, failWrite: 1 });
  assert.equal(transient.status, 500, transient.text);
});

test('without TEST_STORAGE_FAULTS the header does nothing', async (t) => {
  const mock = await startEphemeralMock();
  t.after(() => mock.stop());
  const url = namespaceUrl(mock, 'plain');
  await setClock(url, { frozenAt: NOW });
  await createProduct(url, { productCode: 'prod', dimensions: ['d0'] });
  const r = await send(url, { aws: 'MeterUsage', body: { ProductCode: 'prod', Timestamp: NOW_SECONDS, UsageDimension: 'd0', UsageQuantity: 1 }, failWrite: 1 });
  assert.equal(r.status, 200, r.text);
});

test('RegisterUsage signs in Rust when WebCrypto fails, and the signature verifies', async (t) => {
  const mock = await startEphemeralMock({ vars: { TEST_STORAGE_FAULTS: '1' } });
  t.after(() => mock.stop());
  const url = namespaceUrl(mock, 'signing');
  await createProduct(url, { productCode: 'box', dimensions: ['vcpu'], customers: [{ customerAWSAccountId: '111122223333' }] });
  const register = (nonce, headers = {}) => fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSMPMeteringService.RegisterUsage',
      ...authHeaders({ accessKeyId: '111122223333' }),
      ...headers,
    },
    body: JSON.stringify({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: nonce }),
  }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const fallbackLog = /WebCrypto signing failed, signing in wasm: WebCrypto left out by x-mock-fail-webcrypto/g;
  const usual = await register('task-webcrypto');
  assert.equal(usual.status, 200, JSON.stringify(usual.json));
  const fallback = await register('task-fallback', { 'x-mock-fail-webcrypto': '1' });
  assert.equal(fallback.status, 200, JSON.stringify(fallback.json));
  // The worker says which signer ran (PSS signatures are random, so they cannot).
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(mock.output().match(fallbackLog)?.length, 1, mock.output());
  const pem = await (await fetch(`${url}/_mock/keys/1`)).text();
  const { importSPKI, jwtVerify } = await import('jose');
  const key = await importSPKI(pem, 'PS256');
  for (const [answer, nonce] of /** @type {[any, string][]} */ ([[fallback, 'task-fallback'], [usual, 'task-webcrypto']])) {
    const { payload } = await jwtVerify(answer.json.Signature, key, { algorithms: ['PS256'] });
    assert.equal(payload.nonce, nonce);
  }
  // The journal holds the signature the caller got, made either way.
  const journal = await (await fetch(`${url}/_mock/requests?operation=RegisterUsage`)).json();
  assert.deepEqual(
    journal.requests.map((r) => r.response.Signature).sort(),
    [fallback.json.Signature, usual.json.Signature].sort(),
  );
});
