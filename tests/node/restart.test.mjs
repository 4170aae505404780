// State survives a restart: the first mock sets up a namespace and meters usage, makes and
// rotates RegisterUsage signing keys and registers a container task, is stopped, and a second
// mock started on the same state directory must see all of it.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  BatchMeterUsageCommand, MeterUsageCommand, RegisterUsageCommand, ResolveCustomerCommand,
} from '@aws-sdk/client-marketplace-metering';
import { importSPKI, jwtVerify } from 'jose';
import {
  startMock, meteringClient, control, sdkError, tempStateDir, namespaceUrl, createProduct, setClock,
  patchSettings, usageRecords, epochOf,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const PRODUCT = {
  productCode: 'persisted',
  dimensions: ['hosts', 'users'],
  sellerAccountId: '999988887777',
  customers: [{ customerIdentifier: 'cust-1', customerAWSAccountId: '111122223333' }],
};

const CONTAINER_BUYER = '111122223333';
const CONTAINER_PRODUCT = {
  productCode: 'box', dimensions: ['vcpu'], customers: [{ customerAWSAccountId: CONTAINER_BUYER }],
};

const stateDir = tempStateDir();
let mock;
const before_ = {}; // what the first run saw

const meterCommand = (extra = {}) => new MeterUsageCommand({
  ProductCode: 'persisted', Timestamp: new Date(NOW), UsageDimension: 'hosts', UsageQuantity: 3, ...extra,
});
const batchCommand = () => new BatchMeterUsageCommand({
  ProductCode: 'persisted',
  UsageRecords: [{ Timestamp: new Date(NOW), CustomerIdentifier: 'cust-1', Dimension: 'users', Quantity: 5 }],
});
/** RegisterUsage of `box` by CONTAINER_BUYER, as task `nonce`. */
const registerUsage = (url, version, nonce) => meteringClient(url, { accessKeyId: CONTAINER_BUYER })
  .send(new RegisterUsageCommand({ ProductCode: 'box', PublicKeyVersion: version, Nonce: nonce }));

/** Every version's PEM (GET /_mock/keys/<v>), by version. */
async function pems(url, versions) {
  const out = {};
  for (const v of versions) {
    const r = await fetch(`${url}/_mock/keys/${v}`);
    assert.equal(r.status, 200);
    out[v] = await r.text();
  }
  return out;
}

/** Verifies a RegisterUsage Signature (PS256) against a PEM; resolves its claims. */
async function claimsOf(signature, pem) {
  return (await jwtVerify(signature, await importSPKI(pem, 'PS256'), { algorithms: ['PS256'] })).payload;
}

before(async () => {
  const first = await startMock({ stateDir });
  try {
    const url = namespaceUrl(first, 'persist');
    await createProduct(url, PRODUCT);
    await setClock(url, { frozenAt: NOW });
    before_.settings = await patchSettings(url, { maxFutureSeconds: 42, unknownCustomer: 'invalid-customer-identifier' });
    const client = meteringClient(url);
    before_.meterId = (await client.send(meterCommand({ ClientToken: 'restart-token' }))).MeteringRecordId;
    before_.batchId = (await client.send(batchCommand())).Results[0].MeteringRecordId;
    await setClock(namespaceUrl(first, 'persist-offset'), { offsetSeconds: -7200 });
    const mint = async () => (await control(url, 'POST', '/registration-tokens',
      { productCode: 'persisted', customerIdentifier: 'cust-1' })).json.registrationToken;
    before_.freshToken = await mint();
    before_.usedToken = await mint();
    await client.send(new ResolveCustomerCommand({ RegistrationToken: before_.usedToken }));
    const put = await control(url, 'PUT', '/entitlements', {
      productCode: 'persisted', customerIdentifier: 'cust-1',
      entitlements: [{ dimension: 'users', value: { integerValue: 7 } }],
    });
    assert.equal(put.status, 200, put.text);

    // Container keys: version 1 retired by the rotation to version 2; task pod-before signed by both.
    const keysUrl = namespaceUrl(first, 'persist-keys');
    await createProduct(keysUrl, CONTAINER_PRODUCT);
    await setClock(keysUrl, { frozenAt: NOW });
    const rotated = await control(keysUrl, 'POST', '/keys/rotate', { retirePrevious: true });
    assert.equal(rotated.status, 201, rotated.text);
    before_.signatures = {
      1: (await registerUsage(keysUrl, 1, 'pod-before')).Signature,
      2: (await registerUsage(keysUrl, 2, 'pod-before')).Signature,
    };
    before_.keys = (await control(keysUrl, 'GET', '/keys')).json;
    before_.pems = await pems(keysUrl, [1, 2]);
    before_.jwks = (await control(keysUrl, 'GET', '/keys/jwks.json')).json;
    before_.registrations = (await control(keysUrl, 'GET', '/registrations')).json;
  } finally {
    await first.stop();
  }
  mock = await startMock({ stateDir });
});
after(async () => {
  await mock?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const url = () => namespaceUrl(mock, 'persist');

test('a product survives a restart', async () => {
  const r = await control(url(), 'GET', '/products/persisted');
  assert.equal(r.status, 200, r.text);
  const { customers, ...rest } = r.json.product;
  assert.deepEqual({ ...rest, customers: PRODUCT.customers }, { ...PRODUCT, integration: 'legacy' });
  // The customer as set up, plus what the first run added: an agreement and entitlements.
  assert.equal(customers.length, 1);
  assert.equal(customers[0].customerIdentifier, 'cust-1');
  assert.equal(customers[0].subscription, 'subscribed');
  assert.match(customers[0].agreementId, /^agmt-/);
  assert.deepEqual(customers[0].entitlements, [{ dimension: 'users', value: { integerValue: 7 } }]);
});

test('usage records survive a restart with their ids', async () => {
  const records = await usageRecords(url());
  assert.deepEqual(records.map((r) => [r.meteringRecordId, r.dimension, r.quantity]),
    [[before_.meterId, 'hosts', '3'], [before_.batchId, 'users', '5']]);
});

test('settings survive a restart', async () => {
  const r = await control(url(), 'GET', '/settings');
  assert.deepEqual(r.json, before_.settings);
  assert.equal(r.json.maxFutureSeconds, 42);
});

test('a frozen clock survives a restart', async () => {
  const r = await control(url(), 'GET', '/clock');
  assert.equal(r.json.frozen, true);
  assert.equal(r.json.now, NOW);
});

test('a clock offset survives a restart', async () => {
  const r = await control(namespaceUrl(mock, 'persist-offset'), 'GET', '/clock');
  assert.equal(r.json.offsetSeconds, -7200);
  assert.ok(Math.abs(r.json.nowEpochSeconds - (Date.now() / 1000 - 7200)) < 60);
});

test('an identical MeterUsage retry after a restart returns the same id and records nothing new', async () => {
  const out = await meteringClient(url()).send(meterCommand());
  assert.equal(out.MeteringRecordId, before_.meterId);
  assert.equal((await usageRecords(url(), { dimension: 'hosts' })).length, 1);
});

test('an identical BatchMeterUsage retry after a restart returns the same id and records nothing new', async () => {
  const out = await meteringClient(url()).send(batchCommand());
  assert.equal(out.Results[0].Status, 'Success');
  assert.equal(out.Results[0].MeteringRecordId, before_.batchId);
  assert.equal((await usageRecords(url(), { dimension: 'users' })).length, 1);
});

test('a ClientToken survives a restart: reused with other parameters it is IdempotencyConflictException', async () => {
  const e = await sdkError(meteringClient(url()).send(meterCommand({ ClientToken: 'restart-token', UsageQuantity: 4 })));
  assert.equal(e.name, 'IdempotencyConflictException');
  assert.equal((await usageRecords(url())).length, 2);
});

test('registration tokens survive a restart, and so does their single use', async () => {
  const client = meteringClient(url());
  const out = await client.send(new ResolveCustomerCommand({ RegistrationToken: before_.freshToken }));
  assert.equal(out.CustomerIdentifier, 'cust-1');
  const e = await sdkError(client.send(new ResolveCustomerCommand({ RegistrationToken: before_.usedToken })));
  assert.equal(e.name, 'ExpiredTokenException');
});

test('the event log survives a restart', async () => {
  const r = await control(url(), 'GET', '/events');
  assert.deepEqual(r.json.events.map((e) => [e.seq, e.action]), [[1, 'entitlement-updated']]);
});

test('the default namespace is still the demo seed after a restart', async () => {
  const r = await control(mock.url, 'GET', '/products');
  assert.deepEqual(r.json.products.map((p) => p.productCode),
    ['demo-ami-product', 'demo-ca-product', 'demo-container-product', 'demo-saas-product']);
});

const keysUrl = () => namespaceUrl(mock, 'persist-keys');

test('signing keys survive a restart: every version, rotated and retired ones included, with the same PEM', async () => {
  assert.deepEqual(before_.keys.keys.map((k) => [k.version, k.status, k.retiredAt]), [[1, 'retired', NOW], [2, 'active', null]]);
  assert.notEqual(before_.pems[1], before_.pems[2]);
  const r = await control(keysUrl(), 'GET', '/keys');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, before_.keys);
  assert.deepEqual(await pems(keysUrl(), [1, 2]), before_.pems);
  assert.deepEqual((await control(keysUrl(), 'GET', '/keys/jwks.json')).json, before_.jwks);
});

test('a signature made before the restart verifies with the key fetched after it, and only with its own version', async () => {
  const after_ = await pems(keysUrl(), [1, 2]);
  for (const version of [1, 2]) {
    const claims = await claimsOf(before_.signatures[version], after_[version]);
    assert.deepEqual([claims.productCode, claims.publicKeyVersion, claims.nonce, claims.iat],
      ['box', version, 'pod-before', epochOf(NOW)]);
  }
  await assert.rejects(claimsOf(before_.signatures[2], after_[1]), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
});

test('the keys keep signing after a restart: version 2 as before, retired version 1 with its rotation timestamp', async () => {
  const after_ = await pems(keysUrl(), [1, 2]);
  const current = await registerUsage(keysUrl(), 2, 'pod-before');
  assert.equal(current.PublicKeyRotationTimestamp, undefined);
  assert.equal((await claimsOf(current.Signature, after_[2])).publicKeyVersion, 2);
  const retired = await registerUsage(keysUrl(), 1, 'pod-before');
  assert.equal(retired.PublicKeyRotationTimestamp?.getTime(), Date.parse(NOW));
  assert.equal((await claimsOf(retired.Signature, after_[1])).publicKeyVersion, 1);
});

test('task registrations survive a restart, and so does a registered task\'s first-call pass', async () => {
  const r = await control(keysUrl(), 'GET', '/registrations');
  assert.deepEqual(r.json, before_.registrations);
  assert.deepEqual(r.json.registrations.map((x) => [x.taskId, x.taskSource, x.caller, x.publicKeyVersion]),
    [['pod-before', 'nonce', CONTAINER_BUYER, 1]]);

  const gone = await control(keysUrl(), 'POST', '/subscriptions',
    { productCode: 'box', customerAWSAccountId: CONTAINER_BUYER, action: 'unsubscribe-success' });
  assert.equal(gone.status, 200, gone.text);
  await registerUsage(keysUrl(), 2, 'pod-before');
  const e = await sdkError(registerUsage(keysUrl(), 2, 'pod-after'));
  assert.equal(e.name, 'CustomerNotEntitledException');
  assert.deepEqual((await control(keysUrl(), 'GET', '/registrations')).json, before_.registrations);
});
