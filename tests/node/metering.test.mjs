// MeterUsage and BatchMeterUsage through the real JS SDK (and raw awsJson1_1 calls for the
// decimal members the SDK does not know yet). Every test works in a fresh namespace with a
// frozen clock, so windows and hours are deterministic.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { BatchMeterUsageCommand, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, meteringClient, rawCall, sdkError, nowSeconds, namespaceUrl, epochOf,
  createProduct, setClock, patchSettings, usageRecords, UUID_V4,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const LICENSE_1 = 'arn:aws:license-manager::111122223333:license:l-0000000000000000000000000000001';
const LICENSE_2 = 'arn:aws:license-manager::444455556666:license:l-0000000000000000000000000000002';

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/** A fresh namespace with one legacy product `prod` (or `product`), its clock frozen at `frozenAt`. */
async function world({ product = {}, frozenAt = NOW } = {}) {
  const url = namespaceUrl(mock, `metering-${++namespaces}`);
  await createProduct(url, {
    productCode: 'prod',
    dimensions: ['hosts', 'users'],
    customers: [
      { customerIdentifier: 'cust-1', customerAWSAccountId: '111122223333' },
      { customerIdentifier: 'cust-2', customerAWSAccountId: '444455556666' },
    ],
    ...product,
  });
  await setClock(url, { frozenAt });
  return url;
}

/** A fresh namespace with the concurrent-agreements product `ca-prod`. */
const caWorld = () => world({
  product: {
    productCode: 'ca-prod',
    dimensions: ['requests'],
    integration: 'concurrent-agreements',
    customers: [
      { customerAWSAccountId: '111122223333', licenseArn: LICENSE_1 },
      { customerAWSAccountId: '444455556666', licenseArn: LICENSE_2 },
    ],
  },
});

const at = (iso) => new Date(iso);

function meter(url, input = {}, clientOptions = {}) {
  return meteringClient(url, clientOptions).send(new MeterUsageCommand({
    ProductCode: 'prod', Timestamp: at(NOW), UsageDimension: 'hosts', UsageQuantity: 1, ...input,
  }));
}

/** BatchMeterUsage of `prod` (or `productCode`; null sends none). */
/** @param {string} url @param {any[]} records @param {{productCode?: string, accessKeyId?: string, region?: string}} [options] */
function batch(url, records, { productCode = 'prod', ...clientOptions } = {}) {
  return meteringClient(url, clientOptions).send(new BatchMeterUsageCommand({
    ProductCode: productCode ?? undefined, UsageRecords: records,
  }));
}

const record = (input = {}) => ({
  Timestamp: at(NOW), CustomerIdentifier: 'cust-1', Dimension: 'users', Quantity: 1, ...input,
});

/** Asserts an SDK error by its name and HTTP status; returns it. */
async function assertSdkError(promise, name, status = 400) {
  const e = await sdkError(promise);
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  assert.equal(e.$metadata?.httpStatusCode, status);
  return e;
}

async function assertRecordCount(url, n) {
  const records = await usageRecords(url);
  assert.equal(records.length, n, `expected ${n} usage records, got ${JSON.stringify(records)}`);
  return records;
}

// ---------------------------------------------------------------------------------- MeterUsage

test('MeterUsage works out of the box against the default namespace demo seed', async () => {
  const out = await meter(mock.url, {
    ProductCode: 'demo-ami-product', Timestamp: new Date(nowSeconds() * 1000), UsageDimension: 'hosts',
  });
  assert.match(out.MeteringRecordId, UUID_V4);
  assert.ok(out.$metadata.requestId);
});

test('MeterUsage success returns a UUID MeteringRecordId and records the usage', async () => {
  const url = await world();
  const out = await meter(url, { UsageQuantity: 7 });
  assert.match(out.MeteringRecordId, UUID_V4);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.meteringRecordId, out.MeteringRecordId);
  assert.equal(entry.operation, 'MeterUsage');
  assert.equal(entry.productCode, 'prod');
  assert.equal(entry.dimension, 'hosts');
  assert.equal(entry.quantity, '7');
  assert.equal(entry.hour, '2026-03-10T12:00:00Z');
});

test('MeterUsage repeated in the same hour with the same quantity returns the same id and records once', async () => {
  const url = await world();
  const first = await meter(url, { Timestamp: at('2026-03-10T12:05:00Z'), UsageQuantity: 3 });
  const again = await meter(url, { Timestamp: at('2026-03-10T12:29:59Z'), UsageQuantity: 3 });
  assert.equal(again.MeteringRecordId, first.MeteringRecordId);
  await assertRecordCount(url, 1);
});

test('MeterUsage with another quantity in the same hour is DuplicateRequestException (400)', async () => {
  const url = await world();
  await meter(url, { Timestamp: at('2026-03-10T12:05:00Z'), UsageQuantity: 3 });
  await assertSdkError(meter(url, { Timestamp: at('2026-03-10T12:10:00Z'), UsageQuantity: 4 }),
    'DuplicateRequestException');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '3');
});

test('MeterUsage in the next hour is a new record', async () => {
  const url = await world();
  const a = await meter(url, { Timestamp: at('2026-03-10T11:59:59Z') });
  const b = await meter(url, { Timestamp: at('2026-03-10T12:00:00Z') });
  assert.notEqual(a.MeteringRecordId, b.MeteringRecordId);
  await assertRecordCount(url, 2);
});

test('MeterUsage ClientToken reused with the same parameters returns the same id', async () => {
  const url = await world();
  const first = await meter(url, { ClientToken: 'token-1', UsageQuantity: 2 });
  const again = await meter(url, { ClientToken: 'token-1', UsageQuantity: 2 });
  assert.equal(again.MeteringRecordId, first.MeteringRecordId);
  await assertRecordCount(url, 1);
});

test('MeterUsage ClientToken reused with other parameters is IdempotencyConflictException', async () => {
  const url = await world();
  await meter(url, { ClientToken: 'token-1', UsageQuantity: 2 });
  await assertSdkError(meter(url, { ClientToken: 'token-1', UsageQuantity: 5 }), 'IdempotencyConflictException');
  await assertRecordCount(url, 1);
});

test('MeterUsage of an unknown product is InvalidProductCodeException', async () => {
  const url = await world();
  await assertSdkError(meter(url, { ProductCode: 'no-such-product' }), 'InvalidProductCodeException');
  await assertRecordCount(url, 0);
});

test('MeterUsage of an unknown dimension is InvalidUsageDimensionException', async () => {
  const url = await world();
  await assertSdkError(meter(url, { UsageDimension: 'no-such-dimension' }), 'InvalidUsageDimensionException');
  await assertRecordCount(url, 0);
});

test('MeterUsage from a 12-digit account that is not a customer is CustomerNotEntitledException', async () => {
  const url = await world();
  await assertSdkError(meter(url, {}, { accessKeyId: '999999999999' }), 'CustomerNotEntitledException');
  await assertRecordCount(url, 0);
});

test('MeterUsage from a customer account succeeds and is recorded for that account', async () => {
  const url = await world();
  const out = await meter(url, {}, { accessKeyId: '444455556666' });
  assert.match(out.MeteringRecordId, UUID_V4);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.customerAWSAccountId, '444455556666');
  assert.equal(entry.caller, '444455556666');
});

test('MeterUsage in a Region the product does not run in is InvalidEndpointRegionException', async () => {
  const url = await world({ product: { regions: ['eu-west-1'] } });
  await assertSdkError(meter(url, {}, { region: 'us-east-1' }), 'InvalidEndpointRegionException');
  await assertRecordCount(url, 0);
  const out = await meter(url, {}, { region: 'eu-west-1' });
  assert.match(out.MeteringRecordId, UUID_V4);
});

test('MeterUsage accepts a timestamp exactly 6 h old and rejects one 6 h 1 s old', async () => {
  const url = await world({ frozenAt: '2026-03-10T12:00:00Z' });
  await meter(url, { Timestamp: at('2026-03-10T06:00:00Z') });
  await assertSdkError(meter(url, { Timestamp: at('2026-03-10T05:59:59Z') }), 'TimestampOutOfBoundsException');
  await assertRecordCount(url, 1);
});

test('MeterUsage accepts a timestamp 5 min ahead and rejects one 5 min 1 s ahead', async () => {
  const url = await world({ frozenAt: '2026-03-10T12:00:00Z' });
  await meter(url, { Timestamp: at('2026-03-10T12:05:00Z') });
  await assertSdkError(meter(url, { Timestamp: at('2026-03-10T12:05:01Z'), UsageDimension: 'users' }),
    'TimestampOutOfBoundsException');
  await assertRecordCount(url, 1);
});

test('MeterUsage DryRun that would succeed answers 200 with MeteringRecordId "DryRunOperation" and records nothing', async () => {
  const url = await world();
  const out = await meter(url, { DryRun: true });
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(out.MeteringRecordId, 'DryRunOperation');
  await assertRecordCount(url, 0);
  await patchSettings(url, { dryRunResponse: 'empty' });
  assert.equal((await meter(url, { DryRun: true })).MeteringRecordId, undefined, 'the older answer, by setting');
});

test('MeterUsage DryRun that would fail answers the real error, the hour rule of its own session included', async () => {
  const url = await world();
  const instance = { accessKeyId: '111122223333', sessionToken: 'instance-a' };
  await assertSdkError(meter(url, { DryRun: true, UsageDimension: 'nope' }, instance), 'InvalidUsageDimensionException');
  await meter(url, { UsageQuantity: 1 }, instance);
  assert.equal((await meter(url, { DryRun: true, UsageQuantity: 1 }, instance)).MeteringRecordId, 'DryRunOperation');
  await assertSdkError(meter(url, { DryRun: true, UsageQuantity: 2 }, instance), 'DuplicateRequestException');
  // A container restarted in a new task or pod has a new session: its dry run starts cleanly.
  const restarted = { ...instance, sessionToken: 'instance-a-restarted' };
  assert.equal((await meter(url, { DryRun: true, UsageQuantity: 2 }, restarted)).MeteringRecordId, 'DryRunOperation');
  await assertRecordCount(url, 1);
});

test('MeterUsage from several instances of one account (session tokens) records each instance-hour; each retry is idempotent', async () => {
  const url = await world();
  const pods = ['pod-a', 'pod-b', 'pod-c', 'pod-d'].map((sessionToken) => ({ accessKeyId: '111122223333', sessionToken }));
  const first = [];
  for (const pod of pods) first.push((await meter(url, {}, pod)).MeteringRecordId);
  assert.equal(new Set(first).size, 4, 'four pods, four records');
  for (const [i, pod] of pods.entries()) {
    assert.equal((await meter(url, {}, pod)).MeteringRecordId, first[i], 'a retry answers its own record');
    await assertSdkError(meter(url, { UsageQuantity: 9 }, pod), 'DuplicateRequestException');
  }
  const records = await assertRecordCount(url, 4);
  assert.ok(records.every((r) => r.caller === '111122223333' && /^[0-9a-f]{32}$/.test(r.session)), JSON.stringify(records));
  assert.ok(!JSON.stringify(records).includes('pod-'), 'no session token is kept');
});

test('MeterUsage allocations that do not add up are InvalidUsageAllocationsException', async () => {
  const url = await world();
  await assertSdkError(meter(url, {
    UsageQuantity: 5,
    UsageAllocations: [
      { AllocatedUsageQuantity: 2, Tags: [{ Key: 'team', Value: 'a' }] },
      { AllocatedUsageQuantity: 2, Tags: [{ Key: 'team', Value: 'b' }] },
    ],
  }), 'InvalidUsageAllocationsException');
  await assertRecordCount(url, 0);
});

test('MeterUsage allocations repeating a tag set are InvalidUsageAllocationsException', async () => {
  const url = await world();
  await assertSdkError(meter(url, {
    UsageQuantity: 2,
    UsageAllocations: [
      { AllocatedUsageQuantity: 1, Tags: [{ Key: 'team', Value: 'a' }, { Key: 'env', Value: 'prod' }] },
      { AllocatedUsageQuantity: 1, Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'a' }] },
    ],
  }), 'InvalidUsageAllocationsException');
  await assertRecordCount(url, 0);
});

test('MeterUsage allocation with 6 tags is InvalidTagException', async () => {
  const url = await world();
  const tags = [1, 2, 3, 4, 5, 6].map((i) => ({ Key: `k${i}`, Value: 'v' }));
  await assertSdkError(meter(url, {
    UsageQuantity: 1, UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: tags }],
  }), 'InvalidTagException');
  await assertRecordCount(url, 0);
});

test("MeterUsage tag with the character '!' is InvalidTagException", async () => {
  const url = await world();
  await assertSdkError(meter(url, {
    UsageQuantity: 1, UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'team!', Value: 'a' }] }],
  }), 'InvalidTagException');
  await assertRecordCount(url, 0);
});

test('MeterUsage valid allocations are recorded and visible in /_mock/usage', async () => {
  const url = await world();
  await meter(url, {
    UsageQuantity: 5,
    UsageAllocations: [
      { AllocatedUsageQuantity: 2, Tags: [{ Key: 'team', Value: 'a' }] },
      { AllocatedUsageQuantity: 3, Tags: [{ Key: 'team', Value: 'b' }, { Key: 'env', Value: 'prod:eu/1' }] },
    ],
  });
  const [entry] = await assertRecordCount(url, 1);
  assert.deepEqual(entry.allocations, [
    { quantity: '2', tags: [{ key: 'team', value: 'a' }] },
    { quantity: '3', tags: [{ key: 'team', value: 'b' }, { key: 'env', value: 'prod:eu/1' }] },
  ]);
});

test('MeterUsage with UsageQuantityAsDecimal (raw call) records the exact decimal', async () => {
  const url = await world();
  const r = await rawCall(url, 'MeterUsage', {
    ProductCode: 'prod', Timestamp: epochOf(NOW), UsageDimension: 'hosts', UsageQuantityAsDecimal: '0.75',
  });
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.MeteringRecordId, UUID_V4);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '0.75');
  assert.equal(entry.meteringRecordId, r.json.MeteringRecordId);
});

// ----------------------------------------------------------------------------- BatchMeterUsage

test('BatchMeterUsage Success echoes the usage record and returns a MeteringRecordId', async () => {
  const url = await world();
  const sent = record({ Timestamp: at('2026-03-10T12:10:00.250Z'), Quantity: 3 });
  const out = await batch(url, [sent]);
  assert.equal(out.Results.length, 1);
  assert.deepEqual(out.UnprocessedRecords ?? [], []);
  const [result] = out.Results;
  assert.equal(result.Status, 'Success');
  assert.match(result.MeteringRecordId, UUID_V4);
  assert.equal(result.UsageRecord.Dimension, 'users');
  assert.equal(result.UsageRecord.Quantity, 3);
  assert.equal(result.UsageRecord.CustomerIdentifier, 'cust-1');
  assert.equal(result.UsageRecord.Timestamp.getTime(), sent.Timestamp.getTime());
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.meteringRecordId, result.MeteringRecordId);
  assert.equal(entry.customerIdentifier, 'cust-1');
  assert.equal(entry.operation, 'BatchMeterUsage');
});

test('BatchMeterUsage echoes integer and fractional timestamps as the same numbers (raw call)', async () => {
  const url = await world();
  const r = await rawCall(url, 'BatchMeterUsage', {
    ProductCode: 'prod',
    UsageRecords: [
      { Timestamp: 1773145800.125, CustomerIdentifier: 'cust-1', Dimension: 'users', Quantity: 1 },
      { Timestamp: 1773145800, CustomerIdentifier: 'cust-2', Dimension: 'users', Quantity: 1 },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /"Timestamp":1773145800\.125[,}]/);
  assert.match(r.text, /"Timestamp":1773145800[,}]/);
  assert.deepEqual(r.json.Results.map((x) => x.Status), ['Success', 'Success']);
});

test('BatchMeterUsage for an unknown customer is CustomerNotSubscribed with no id', async () => {
  const url = await world();
  const out = await batch(url, [record({ CustomerIdentifier: 'nobody' }), record({ CustomerIdentifier: 'cust-2' })]);
  assert.equal(out.Results[0].Status, 'CustomerNotSubscribed');
  assert.equal(out.Results[0].MeteringRecordId, undefined);
  assert.equal(out.Results[1].Status, 'Success');
  await assertRecordCount(url, 1);
});

test('BatchMeterUsage retry of the whole batch and of a subset returns the same ids and records nothing new', async () => {
  const url = await world();
  const records = [
    record({ CustomerIdentifier: 'cust-1', Dimension: 'users' }),
    record({ CustomerIdentifier: 'cust-1', Dimension: 'hosts' }),
    record({ CustomerIdentifier: 'cust-2', Dimension: 'users', Quantity: 4 }),
  ];
  const first = await batch(url, records);
  const ids = first.Results.map((r) => r.MeteringRecordId);
  assert.equal(new Set(ids).size, 3);
  const whole = await batch(url, records);
  assert.deepEqual(whole.Results.map((r) => [r.Status, r.MeteringRecordId]), ids.map((id) => ['Success', id]));
  const subset = await batch(url, [records[2], records[0]]);
  assert.deepEqual(subset.Results.map((r) => [r.Status, r.MeteringRecordId]),
    [['Success', ids[2]], ['Success', ids[0]]]);
  await assertRecordCount(url, 3);
});

test('BatchMeterUsage with another quantity for a recorded key is DuplicateRecord with the original id', async () => {
  const url = await world();
  const first = await batch(url, [record({ Quantity: 5 })]);
  const again = await batch(url, [record({ Quantity: 6, Timestamp: at('2026-03-10T12:01:00Z') })]);
  assert.equal(again.Results[0].Status, 'DuplicateRecord');
  assert.equal(again.Results[0].MeteringRecordId, first.Results[0].MeteringRecordId);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '5');
});

test('BatchMeterUsage with two records for one key in one request: the first wins', async () => {
  const url = await world();
  const out = await batch(url, [record({ Quantity: 2 }), record({ Quantity: 9 })]);
  assert.equal(out.Results[0].Status, 'Success');
  assert.equal(out.Results[1].Status, 'DuplicateRecord');
  assert.equal(out.Results[1].MeteringRecordId, out.Results[0].MeteringRecordId);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '2');
});

test('BatchMeterUsage with no records is a valid request with empty Results', async () => {
  const url = await world();
  const out = await batch(url, []);
  assert.deepEqual(out.Results, []);
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage of an unknown product is InvalidProductCodeException', async () => {
  const url = await world();
  await assertSdkError(batch(url, [record()], { productCode: 'no-such-product' }), 'InvalidProductCodeException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage with one unknown dimension rejects the whole batch with InvalidUsageDimensionException', async () => {
  const url = await world();
  await assertSdkError(batch(url, [record(), record({ Dimension: 'nope' })]), 'InvalidUsageDimensionException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage with 26 records is ValidationException', async () => {
  const url = await world();
  const records = Array.from({ length: 26 }, (_, i) => record({ CustomerIdentifier: `c-${i}` }));
  const e = await assertSdkError(batch(url, records), 'ValidationException');
  assert.match(e.message, /usageRecords/);
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage record with CustomerIdentifier and CustomerAWSAccountId is InvalidCustomerIdentifierException', async () => {
  const url = await world();
  await assertSdkError(batch(url, [record({ CustomerAWSAccountId: '111122223333' })]),
    'InvalidCustomerIdentifierException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage by CustomerAWSAccountId records for that customer', async () => {
  const url = await world();
  const out = await batch(url, [record({ CustomerIdentifier: undefined, CustomerAWSAccountId: '444455556666' })]);
  assert.equal(out.Results[0].Status, 'Success');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.customerAWSAccountId, '444455556666');
});

test('BatchMeterUsage empty CustomerIdentifier with CustomerAWSAccountId (as the Rust SDK sends it) is treated as absent', async () => {
  const url = await world();
  const r = await rawCall(url, 'BatchMeterUsage', {
    ProductCode: 'prod',
    UsageRecords: [{
      Timestamp: epochOf(NOW), CustomerIdentifier: '', CustomerAWSAccountId: '111122223333', Dimension: 'users', Quantity: 1,
    }],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.Results[0].Status, 'Success');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.customerAWSAccountId, '111122223333');
});

test('BatchMeterUsage on a concurrent-agreements product works with CustomerAWSAccountId + LicenseArn and no ProductCode', async () => {
  const url = await caWorld();
  const out = await batch(url, [{
    Timestamp: at(NOW), CustomerAWSAccountId: '111122223333', LicenseArn: LICENSE_1, Dimension: 'requests', Quantity: 10,
  }], { productCode: null });
  assert.equal(out.Results[0].Status, 'Success');
  assert.equal(out.Results[0].UsageRecord.LicenseArn, LICENSE_1);
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.productCode, 'ca-prod');
  assert.equal(entry.licenseArn, LICENSE_1);
});

test('BatchMeterUsage with an empty ProductCode "" (as the Rust SDK sends it) takes the product from the licenses', async () => {
  const url = await caWorld();
  const r = await rawCall(url, 'BatchMeterUsage', {
    ProductCode: '',
    UsageRecords: [{
      Timestamp: epochOf(NOW), CustomerIdentifier: '', CustomerAWSAccountId: '444455556666', LicenseArn: LICENSE_2, Dimension: 'requests', Quantity: 2,
    }],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.Results[0].Status, 'Success');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.productCode, 'ca-prod');
  assert.equal(entry.licenseArn, LICENSE_2);
});

test('BatchMeterUsage with CustomerIdentifier on a concurrent-agreements product is InvalidCustomerIdentifierException', async () => {
  const url = await caWorld();
  await assertSdkError(batch(url, [{
    Timestamp: at(NOW), CustomerIdentifier: 'cust-1', Dimension: 'requests', Quantity: 1,
  }], { productCode: 'ca-prod' }), 'InvalidCustomerIdentifierException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage with a license of another account is InvalidLicenseException', async () => {
  const url = await caWorld();
  await assertSdkError(batch(url, [{
    Timestamp: at(NOW), CustomerAWSAccountId: '444455556666', LicenseArn: LICENSE_1, Dimension: 'requests', Quantity: 1,
  }], { productCode: 'ca-prod' }), 'InvalidLicenseException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage without LicenseArn on a concurrent-agreements product is InvalidLicenseException', async () => {
  const url = await caWorld();
  await assertSdkError(batch(url, [{
    Timestamp: at(NOW), CustomerAWSAccountId: '111122223333', Dimension: 'requests', Quantity: 1,
  }], { productCode: 'ca-prod' }), 'InvalidLicenseException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage with one record 24 h old rejects the whole batch with TimestampOutOfBoundsException', async () => {
  const url = await world({ frozenAt: '2026-03-10T12:00:00Z' });
  const e = await assertSdkError(batch(url, [
    record({ Timestamp: at('2026-03-10T11:00:00Z') }),
    record({ Timestamp: at('2026-03-09T12:00:00Z'), CustomerIdentifier: 'cust-2' }),
  ]), 'TimestampOutOfBoundsException');
  assert.match(e.message, /usageRecords\.2\.member/);
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage accepts a record just under 24 h old', async () => {
  const url = await world({ frozenAt: '2026-03-10T12:00:00Z' });
  const out = await batch(url, [record({ Timestamp: at('2026-03-09T12:00:01Z') })]);
  assert.equal(out.Results[0].Status, 'Success');
});

test("BatchMeterUsage accepts last month's usage until 05:59:59 on the 1st and rejects it at 06:00:00", async () => {
  const url = await world({ frozenAt: '2026-04-01T05:59:59Z' });
  const usage = record({ Timestamp: at('2026-03-31T23:00:00Z') });
  const accepted = await batch(url, [usage]);
  assert.equal(accepted.Results[0].Status, 'Success');
  await setClock(url, { frozenAt: '2026-04-01T06:00:00Z' });
  await assertSdkError(batch(url, [record({ Timestamp: at('2026-03-31T23:00:00Z'), CustomerIdentifier: 'cust-2' })]),
    'TimestampOutOfBoundsException');
  await assertRecordCount(url, 1);
});

test("BatchMeterUsage from a 12-digit account that is not the product's seller is InvalidProductCodeException", async () => {
  const url = await world({ product: { sellerAccountId: '999988887777' } });
  await assertSdkError(batch(url, [record()], { accessKeyId: '123412341234' }), 'InvalidProductCodeException');
  await assertRecordCount(url, 0);
});

test("BatchMeterUsage from the product's seller account succeeds", async () => {
  const url = await world({ product: { sellerAccountId: '999988887777' } });
  const out = await batch(url, [record()], { accessKeyId: '999988887777' });
  assert.equal(out.Results[0].Status, 'Success');
  await assertRecordCount(url, 1);
});

test('BatchMeterUsage with setting unknownCustomer "invalid-customer-identifier" fails the whole request with InvalidCustomerIdentifierException', async () => {
  const url = await world();
  await patchSettings(url, { unknownCustomer: 'invalid-customer-identifier' });
  await assertSdkError(batch(url, [record(), record({ CustomerIdentifier: 'nobody', Dimension: 'hosts' })]),
    'InvalidCustomerIdentifierException');
  await assertRecordCount(url, 0);
});

// --------------------------------------------------------------- decimal quantities (raw calls)

/** A raw BatchMeterUsage of `prod` with records at NOW for cust-1 / users. */
function rawBatch(url, ...records) {
  return rawCall(url, 'BatchMeterUsage', {
    ProductCode: 'prod',
    UsageRecords: records.map((r) => ({ Timestamp: epochOf(NOW), CustomerIdentifier: 'cust-1', Dimension: 'users', ...r })),
  });
}

test('BatchMeterUsage QuantityAsDecimal "2.5" is recorded as "2.5"', async () => {
  const url = await world();
  const r = await rawBatch(url, { QuantityAsDecimal: '2.5' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.Results[0].Status, 'Success');
  assert.equal(r.json.Results[0].UsageRecord.QuantityAsDecimal, '2.5');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '2.5');
});

test('BatchMeterUsage QuantityAsDecimal "3" then "3.000" for the same key is the same quantity', async () => {
  const url = await world();
  const first = await rawBatch(url, { QuantityAsDecimal: '3' });
  const again = await rawBatch(url, { QuantityAsDecimal: '3.000' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.Results[0].Status, 'Success');
  assert.equal(again.json.Results[0].MeteringRecordId, first.json.Results[0].MeteringRecordId);
  await assertRecordCount(url, 1);
});

test('BatchMeterUsage integer Quantity 3 then QuantityAsDecimal "3.0" for the same key is the same quantity', async () => {
  const url = await world();
  const first = await rawBatch(url, { Quantity: 3 });
  const again = await rawBatch(url, { QuantityAsDecimal: '3.0' });
  assert.equal(again.json.Results[0].Status, 'Success');
  assert.equal(again.json.Results[0].MeteringRecordId, first.json.Results[0].MeteringRecordId);
  await assertRecordCount(url, 1);
});

test('BatchMeterUsage record with both Quantity and QuantityAsDecimal is ValidationException', async () => {
  const url = await world();
  const r = await rawBatch(url, { Quantity: 1, QuantityAsDecimal: '1' });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'ValidationException');
  await assertRecordCount(url, 0);
});

test("BatchMeterUsage QuantityAsDecimal \"1.1234567\" is ValidationException naming 'usageRecords.1.member.quantityAsDecimal'", async () => {
  const url = await world();
  const r = await rawBatch(url, { QuantityAsDecimal: '1.1234567' });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'ValidationException');
  assert.ok(r.json.message.includes("'usageRecords.1.member.quantityAsDecimal'"), r.json.message);
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage decimal allocations that sum exactly (0.1 + 0.2 = 0.3) are accepted', async () => {
  const url = await world();
  const r = await rawBatch(url, {
    QuantityAsDecimal: '0.3',
    UsageAllocations: [
      { AllocatedUsageQuantityAsDecimal: '0.1', Tags: [{ Key: 'team', Value: 'a' }] },
      { AllocatedUsageQuantityAsDecimal: '0.2', Tags: [{ Key: 'team', Value: 'b' }] },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.Results[0].Status, 'Success');
  const [entry] = await assertRecordCount(url, 1);
  assert.equal(entry.quantity, '0.3');
  assert.deepEqual(entry.allocations.map((a) => a.quantity), ['0.1', '0.2']);
});

test('BatchMeterUsage integer record quantity with decimal allocations is InvalidUsageAllocationsException', async () => {
  const url = await world();
  const r = await rawBatch(url, {
    Quantity: 1, UsageAllocations: [{ AllocatedUsageQuantityAsDecimal: '1', Tags: [{ Key: 'team', Value: 'a' }] }],
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'InvalidUsageAllocationsException');
  await assertRecordCount(url, 0);
});

test('BatchMeterUsage decimal record quantity with integer allocations is InvalidUsageAllocationsException', async () => {
  const url = await world();
  const r = await rawBatch(url, {
    QuantityAsDecimal: '1', UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'team', Value: 'a' }] }],
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'InvalidUsageAllocationsException');
  await assertRecordCount(url, 0);
});
