// The control API under /_mock/: products, the usage ledger and its filters, settings, the
// clock, reset, health and method rules.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { BatchMeterUsageCommand, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, meteringClient, control, sdkError, namespaceUrl, epochOf, createProduct, setClock, usageRecords,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const LICENSE = 'arn:aws:license-manager::777788889999:license:l-0000000000000000000000000000007';
const DEFAULT_SETTINGS = {
  meterUsageMaxAgeSeconds: 21600,
  batchMeterUsageMaxAgeSeconds: 86400,
  monthEndGraceSeconds: 21600,
  maxFutureSeconds: 300,
  unknownCustomer: 'customer-not-subscribed',
  tagCharset: 'documented',
  maxDistinctTagKeysPerRecord: 5,
  dryRunResponse: 'success',
  dryRunStatus: 400,
  signatureCredentialKeyIds: [],
  registrationTokenTtlSeconds: 3600,
  repeatableTokenResolution: false,
  requestJournal: true,
  eventShapes: 'captured-2026',
  licenseDeprovisionedAt: 'cancellation',
  licenseUpdatedDelaySeconds: 0,
  licenseDeprovisionedDelaySeconds: 0,
  duplicateEventDeliveries: false,
  approvalPlans: [],
  webhookMaxAttempts: 4,
  webhookRetryDelaySeconds: 20,
  containerPlatform: 'ecs',
  retiredPublicKeyVersion: 'rotation-timestamp',
  disabledOperations: {},
};

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

const fresh = () => namespaceUrl(mock, `control-${++namespaces}`);
const product = (code, extra = {}) => ({ productCode: code, dimensions: ['d1'], ...extra });

function meter(url, input = {}) {
  return meteringClient(url).send(new MeterUsageCommand({
    ProductCode: 'p1', Timestamp: new Date(NOW), UsageDimension: 'd1', UsageQuantity: 1, ...input,
  }));
}

function batch(url, productCode, records) {
  return meteringClient(url).send(new BatchMeterUsageCommand({ ProductCode: productCode, UsageRecords: records }));
}

/** Asserts a control API error: status and a {"error": "…"} body. */
function assertControlError(r, status) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error, 'string', r.text);
  assert.ok(r.json.error.length > 0);
}

// ---------------------------------------------------------------------------------- products

test('POST /_mock/products creates a product (201) and returns it', async () => {
  const url = fresh();
  const r = await control(url, 'POST', '/products', product('p1', { dimensions: ['a', 'b'] }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.product.productCode, 'p1');
  assert.deepEqual(r.json.product.dimensions, ['a', 'b']);
  assert.equal(r.json.product.integration, 'legacy');
});

test('POST /_mock/products of an existing code replaces it (200)', async () => {
  const url = fresh();
  await createProduct(url, product('p1', { dimensions: ['a'] }));
  const r = await control(url, 'POST', '/products', product('p1', { dimensions: ['b', 'c'] }));
  assert.equal(r.status, 200, r.text);
  const one = await control(url, 'GET', '/products/p1');
  assert.deepEqual(one.json.product.dimensions, ['b', 'c']);
  const list = await control(url, 'GET', '/products');
  assert.equal(list.json.products.length, 1);
});

test('GET /_mock/products lists every product by code and GET /_mock/products/<code> returns one', async () => {
  const url = fresh();
  await createProduct(url, product('zeta'));
  await createProduct(url, product('alpha', { customers: [{ customerIdentifier: 'c1' }] }));
  const list = await control(url, 'GET', '/products');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.products.map((p) => p.productCode), ['alpha', 'zeta']);
  const one = await control(url, 'GET', '/products/alpha');
  assert.equal(one.status, 200);
  assert.deepEqual(one.json.product.customers, [{ customerIdentifier: 'c1', subscription: 'subscribed' }]);
});

test('DELETE /_mock/products/<code> removes the product', async () => {
  const url = fresh();
  await createProduct(url, product('p1'));
  const r = await control(url, 'DELETE', '/products/p1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.deleted, 'p1');
  assertControlError(await control(url, 'GET', '/products/p1'), 404);
  assert.deepEqual((await control(url, 'GET', '/products')).json.products, []);
  await assertSdkErrorName(meter(url), 'InvalidProductCodeException');
});

test('an unknown product is 404 for GET and DELETE', async () => {
  const url = fresh();
  assertControlError(await control(url, 'GET', '/products/nope'), 404);
  assertControlError(await control(url, 'DELETE', '/products/nope'), 404);
});

test('a product with no dimensions is 400 with an error', async () => {
  const url = fresh();
  assertControlError(await control(url, 'POST', '/products', product('p1', { dimensions: [] })), 400);
  assert.deepEqual((await control(url, 'GET', '/products')).json.products, []);
});

test('a product with a bad licenseArn is 400 with an error', async () => {
  const url = fresh();
  const r = await control(url, 'POST', '/products', product('p1', {
    customers: [{ customerAWSAccountId: '111122223333', licenseArn: 'not-a-license' }],
  }));
  assertControlError(r, 400);
  assert.match(r.json.error, /licenseArn/);
});

test('a product document with an unknown field is 400 with an error', async () => {
  const url = fresh();
  assertControlError(await control(url, 'POST', '/products', product('p1', { surprise: true })), 400);
});

test('a product body that is not JSON is 400 with an error', async () => {
  const r = await fetch(`${fresh()}/_mock/products`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope',
  });
  assert.equal(r.status, 400);
  assert.equal(typeof (await r.json()).error, 'string');
});

test('a control body not sent as application/json is 415 and changes nothing', async () => {
  const url = fresh();
  for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
    const r = await fetch(`${url}/_mock/products`, {
      method: 'POST', headers, body: JSON.stringify({ productCode: 'p', dimensions: ['d'] }),
    });
    assert.equal(r.status, 415, JSON.stringify(headers));
  }
  assert.deepEqual((await control(url, 'GET', '/products')).json.products, []);
});

// ------------------------------------------------------------------------------------- usage

/**
 * A namespace with usage in hours 10, 11, 12, 12 (in that order):
 * p1/cust-1/d1 at 10, p1/account 444455556666/d2 at 11, p2/license/d1 at 12, MeterUsage p1/d1 at 12.
 */
async function usageWorld() {
  const url = fresh();
  await createProduct(url, product('p1', {
    dimensions: ['d1', 'd2'],
    customers: [{ customerIdentifier: 'cust-1' }, { customerAWSAccountId: '444455556666' }],
  }));
  await createProduct(url, product('p2', {
    integration: 'concurrent-agreements',
    customers: [{ customerAWSAccountId: '777788889999', licenseArn: LICENSE }],
  }));
  await setClock(url, { frozenAt: NOW });
  await batch(url, 'p1', [{ Timestamp: new Date('2026-03-10T10:15:00Z'), CustomerIdentifier: 'cust-1', Dimension: 'd1', Quantity: 1 }]);
  await batch(url, 'p1', [{ Timestamp: new Date('2026-03-10T11:15:00Z'), CustomerAWSAccountId: '444455556666', Dimension: 'd2', Quantity: 2 }]);
  await batch(url, 'p2', [{
    Timestamp: new Date('2026-03-10T12:15:00Z'), CustomerAWSAccountId: '777788889999', LicenseArn: LICENSE, Dimension: 'd1', Quantity: 3,
  }]);
  await meter(url, { Timestamp: new Date('2026-03-10T12:20:00Z'), UsageQuantity: 4 });
  return url;
}

const quantities = (records) => records.map((r) => r.quantity);

test('GET /_mock/usage lists every record in the order recorded with count', async () => {
  const url = await usageWorld();
  const r = await control(url, 'GET', '/usage');
  assert.equal(r.status, 200);
  assert.equal(r.json.count, 4);
  assert.deepEqual(quantities(r.json.records), ['1', '2', '3', '4']);
  assert.equal(r.json.records[0].hour, '2026-03-10T10:00:00Z');
  assert.equal(r.json.records[0].timestamp, '2026-03-10T10:15:00Z');
});

test('GET /_mock/usage?product= filters by product', async () => {
  const url = await usageWorld();
  assert.deepEqual(quantities(await usageRecords(url, { product: 'p1' })), ['1', '2', '4']);
  assert.deepEqual(quantities(await usageRecords(url, { product: 'p2' })), ['3']);
  assert.deepEqual(quantities(await usageRecords(url, { productCode: 'p2' })), ['3']);
});

test('GET /_mock/usage?customer= matches the customer identifier, account or license', async () => {
  const url = await usageWorld();
  assert.deepEqual(quantities(await usageRecords(url, { customer: 'cust-1' })), ['1']);
  assert.deepEqual(quantities(await usageRecords(url, { customer: '444455556666' })), ['2']);
  assert.deepEqual(quantities(await usageRecords(url, { customer: LICENSE })), ['3']);
  assert.deepEqual(quantities(await usageRecords(url, { customer: '777788889999' })), ['3']);
  assert.deepEqual(await usageRecords(url, { customer: 'nobody' }), []);
});

test('GET /_mock/usage?dimension= filters by dimension', async () => {
  const url = await usageWorld();
  assert.deepEqual(quantities(await usageRecords(url, { dimension: 'd2' })), ['2']);
  assert.deepEqual(quantities(await usageRecords(url, { dimension: 'd1' })), ['1', '3', '4']);
});

test('GET /_mock/usage?from=&to= filters usage hours (from inclusive, to exclusive) given as epoch seconds', async () => {
  const url = await usageWorld();
  const from = String(epochOf('2026-03-10T11:00:00Z'));
  const to = String(epochOf('2026-03-10T12:00:00Z'));
  assert.deepEqual(quantities(await usageRecords(url, { from })), ['2', '3', '4']);
  assert.deepEqual(quantities(await usageRecords(url, { to })), ['1', '2']);
  assert.deepEqual(quantities(await usageRecords(url, { from, to })), ['2']);
});

test('GET /_mock/usage?from=&to= accepts RFC 3339 instants', async () => {
  const url = await usageWorld();
  assert.deepEqual(quantities(await usageRecords(url, { from: '2026-03-10T12:00:00Z' })), ['3', '4']);
  assert.deepEqual(quantities(await usageRecords(url, { from: '2026-03-10T10:00:00Z', to: '2026-03-10T11:00:00Z' })), ['1']);
});

test('GET /_mock/usage?limit= returns at most that many records, the earliest first', async () => {
  const url = await usageWorld();
  assert.deepEqual(quantities(await usageRecords(url, { limit: '2' })), ['1', '2']);
  assert.deepEqual(quantities(await usageRecords(url, { product: 'p1', limit: '1' })), ['1']);
});

test('GET /_mock/usage with an unknown filter is 400', async () => {
  const r = await control(fresh(), 'GET', '/usage?nope=1');
  assertControlError(r, 400);
  assert.match(r.json.error, /nope/);
});

test('GET /_mock/usage with a bad from or limit is 400', async () => {
  const url = fresh();
  assertControlError(await control(url, 'GET', '/usage?from=yesterday'), 400);
  assertControlError(await control(url, 'GET', '/usage?limit=0'), 400);
  assertControlError(await control(url, 'GET', '/usage?limit=lots'), 400);
});

// ---------------------------------------------------------------------------------- settings

test('GET /_mock/settings shows the documented defaults', async () => {
  const r = await control(fresh(), 'GET', '/settings');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, DEFAULT_SETTINGS);
});

test('PATCH /_mock/settings changes only the given settings', async () => {
  const url = fresh();
  const r = await control(url, 'PATCH', '/settings', { maxFutureSeconds: 60, tagCharset: 'model-regex' });
  assert.equal(r.status, 200, r.text);
  const expected = { ...DEFAULT_SETTINGS, maxFutureSeconds: 60, tagCharset: 'model-regex' };
  assert.deepEqual(r.json, expected);
  await control(url, 'PATCH', '/settings', { dryRunStatus: 412 });
  assert.deepEqual((await control(url, 'GET', '/settings')).json, { ...expected, dryRunStatus: 412 });
});

test('PATCH /_mock/settings with an unknown key is 400 and changes nothing', async () => {
  const url = fresh();
  assertControlError(await control(url, 'PATCH', '/settings', { maxFutureSeconds: 1, nope: 1 }), 400);
  assert.deepEqual((await control(url, 'GET', '/settings')).json, DEFAULT_SETTINGS);
});

test('PATCH /_mock/settings with a bad value is 400 and changes nothing', async () => {
  const url = fresh();
  for (const bad of [{ dryRunStatus: 200 }, { meterUsageMaxAgeSeconds: -1 }, { unknownCustomer: 'maybe' },
    { maxFutureSeconds: 'soon' }]) {
    assertControlError(await control(url, 'PATCH', '/settings', bad), 400);
  }
  assert.deepEqual((await control(url, 'GET', '/settings')).json, DEFAULT_SETTINGS);
});

test('a patched meterUsageMaxAgeSeconds takes effect on MeterUsage', async () => {
  const url = fresh();
  await createProduct(url, product('p1', { dimensions: ['d1', 'd2'] }));
  await setClock(url, { frozenAt: NOW });
  const twoHoursAgo = new Date('2026-03-10T10:30:00Z');
  await meter(url, { Timestamp: twoHoursAgo, UsageDimension: 'd1' });
  await control(url, 'PATCH', '/settings', { meterUsageMaxAgeSeconds: 3600 });
  await assertSdkErrorName(meter(url, { Timestamp: twoHoursAgo, UsageDimension: 'd2' }), 'TimestampOutOfBoundsException');
  assert.equal((await usageRecords(url)).length, 1);
});

test('with dryRunResponse "error", a patched dryRunStatus is the status of DryRunOperation', async () => {
  const url = fresh();
  await createProduct(url, product('p1'));
  await control(url, 'PATCH', '/settings', { dryRunResponse: 'error', dryRunStatus: 412 });
  const e = await sdkError(meter(url, { Timestamp: new Date(), DryRun: true }));
  assert.equal(e.name, 'DryRunOperation');
  assert.equal(e.$metadata.httpStatusCode, 412);
});

// ------------------------------------------------------------------------------------- clock

test('GET /_mock/clock follows real time by default', async () => {
  const r = await control(fresh(), 'GET', '/clock');
  assert.equal(r.status, 200);
  assert.equal(r.json.frozen, false);
  assert.equal(r.json.offsetSeconds, 0);
  assert.ok(Math.abs(r.json.nowEpochSeconds - Date.now() / 1000) < 60, JSON.stringify(r.json));
  assert.equal(Date.parse(r.json.now) / 1000, r.json.nowEpochSeconds);
});

test('PUT /_mock/clock offsetSeconds shifts now', async () => {
  const url = fresh();
  const r = await control(url, 'PUT', '/clock', { offsetSeconds: -86400 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.offsetSeconds, -86400);
  assert.equal(r.json.frozen, false);
  const shift = r.json.nowEpochSeconds - Date.now() / 1000;
  assert.ok(Math.abs(shift + 86400) < 60, `shifted by ${shift}`);
  const health = await control(url, 'GET', '/health');
  assert.ok(Math.abs(Date.parse(health.json.now) / 1000 - (Date.now() / 1000 - 86400)) < 60);
});

test('PUT /_mock/clock frozenAt (RFC 3339 or epoch seconds) freezes now', async () => {
  const url = fresh();
  const r = await control(url, 'PUT', '/clock', { frozenAt: NOW });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.frozen, true);
  assert.equal(r.json.now, NOW);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await control(url, 'GET', '/clock')).json.nowEpochSeconds, epochOf(NOW));
  const n = await control(url, 'PUT', '/clock', { frozenAt: epochOf('2026-01-02T03:04:05Z') });
  assert.equal(n.json.now, '2026-01-02T03:04:05Z');
});

test('PUT /_mock/clock with both offsetSeconds and frozenAt is 400', async () => {
  const url = fresh();
  assertControlError(await control(url, 'PUT', '/clock', { offsetSeconds: 60, frozenAt: NOW }), 400);
  assert.equal((await control(url, 'GET', '/clock')).json.frozen, false);
});

test('PUT /_mock/clock with an unknown field or a bad instant is 400', async () => {
  const url = fresh();
  assertControlError(await control(url, 'PUT', '/clock', { speed: 2 }), 400);
  assertControlError(await control(url, 'PUT', '/clock', { frozenAt: 'tomorrow' }), 400);
});

test('PUT /_mock/clock {} returns to real time', async () => {
  const url = fresh();
  await setClock(url, { frozenAt: NOW });
  const r = await control(url, 'PUT', '/clock', {});
  assert.equal(r.json.frozen, false);
  assert.ok(Math.abs(r.json.nowEpochSeconds - Date.now() / 1000) < 60);
});

// ------------------------------------------------------------------------------------- reset

test('POST /_mock/reset on a namespace empties its products, usage, settings and clock', async () => {
  const url = fresh();
  await createProduct(url, product('p1'));
  await setClock(url, { frozenAt: NOW });
  await meter(url);
  await control(url, 'PATCH', '/settings', { maxFutureSeconds: 1 });
  const r = await control(url, 'POST', '/reset');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.reset, true);
  assert.deepEqual((await control(url, 'GET', '/products')).json.products, []);
  assert.deepEqual(await usageRecords(url), []);
  assert.deepEqual((await control(url, 'GET', '/settings')).json, DEFAULT_SETTINGS);
  assert.equal((await control(url, 'GET', '/clock')).json.frozen, false);
});

test('POST /_mock/reset forgets client tokens', async () => {
  const url = fresh();
  await createProduct(url, product('p1'));
  await setClock(url, { frozenAt: NOW });
  await meter(url, { ClientToken: 'reset-token', UsageQuantity: 1 });
  await control(url, 'POST', '/reset');
  await createProduct(url, product('p1'));
  await setClock(url, { frozenAt: NOW });
  const out = await meter(url, { ClientToken: 'reset-token', UsageQuantity: 2 });
  assert.deepEqual((await usageRecords(url)).map((r) => [r.meteringRecordId, r.quantity]), [[out.MeteringRecordId, '2']]);
});

test('POST /_mock/reset on default restores the 4 demo products and empties usage', async () => {
  await createProduct(mock.url, product('extra'));
  assert.equal((await control(mock.url, 'DELETE', '/products/demo-saas-product')).status, 200);
  await meter(mock.url, { ProductCode: 'demo-ami-product', UsageDimension: 'hosts', Timestamp: new Date() });
  assert.equal((await usageRecords(mock.url)).length, 1);
  const r = await control(mock.url, 'POST', '/reset');
  assert.equal(r.status, 200, r.text);
  const codes = (await control(mock.url, 'GET', '/products')).json.products.map((p) => p.productCode);
  assert.deepEqual(codes, ['demo-ami-product', 'demo-ca-product', 'demo-container-product', 'demo-saas-product']);
  assert.deepEqual(await usageRecords(mock.url), []);
});

// ------------------------------------------------------------------------- health and methods

test('GET /_mock/health reports ok, the namespace, its now and its product count', async () => {
  const url = fresh();
  await createProduct(url, product('p1'));
  await setClock(url, { frozenAt: NOW });
  const r = await control(url, 'GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok', namespace: `control-${namespaces}`, now: NOW, products: 1 });
  const d = await control(mock.url, 'GET', '/health');
  assert.equal(d.json.namespace, 'default');
  assert.equal(d.json.products, 4);
});

test('a wrong method on a control endpoint is 405', async () => {
  const url = fresh();
  for (const [method, path] of [['DELETE', '/usage'], ['GET', '/reset'], ['POST', '/settings'], ['PUT', '/products'],
    ['POST', '/health'], ['POST', '/clock'], ['GET', '/store-contract']]) {
    const r = await control(url, method, path, method === 'GET' ? undefined : {});
    assert.equal(r.status, 405, `${method} ${path}: ${r.text}`);
    assert.equal(typeof r.json.error, 'string');
  }
});

async function assertSdkErrorName(promise, name) {
  const e = await sdkError(promise);
  assert.equal(e.name, name, e.message);
  assert.equal(e.$metadata.httpStatusCode, 400);
}

test('an open deployment has no admin API, and the registry\'s calls to a namespace cannot be sent from outside', async () => {
  assert.equal((await fetch(`${mock.url}/_admin/namespaces`)).status, 404);
  const url = fresh();
  await control(url, 'POST', '/products', product('kept'));
  const forged = JSON.stringify({
    name: 'x', controlTokenSha256: '0'.repeat(64), accessKeyId: 'AKIAFORGED', secretAccessKey: 'x', idleDays: 1, createdAt: 0,
  });
  for (const path of [`${url}/_registry/provision`, `${mock.url}/_registry/provision`]) {
    for (const method of ['PUT', 'DELETE']) {
      const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: forged });
      assert.equal(r.status, 404, `${method} ${path}`);
    }
  }
  assert.deepEqual((await control(url, 'GET', '/products')).json.products.map((p) => p.productCode), ['kept']);
});

test('an open deployment still accepts webhooks to local and private addresses over http', async () => {
  const url = fresh();
  const webhooks = ['http://127.0.0.1:9/h', 'http://10.0.0.1/h', 'http://169.254.169.254/h', 'http://[::1]:9/h']
    .map((u) => ({ url: u }));
  const r = await control(url, 'POST', '/products', product('hooked', { webhooks }));
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json.product.webhooks.map((w) => w.url), webhooks.map((w) => w.url));
});

test('a method the mock does not serve is 405 at the door', async () => {
  const r = await fetch(`${fresh()}/_mock/usage`, { method: 'PROPFIND' });
  assert.equal(r.status, 405);
});
