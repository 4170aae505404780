// Injected faults seen through the real JS SDK: its retry logic against throttling and
// internal errors, and UnprocessedRecords that a seller must resend.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchMeterUsageCommand, MarketplaceMeteringClient, MeterUsageCommand,
} from '@aws-sdk/client-marketplace-metering';
import { startEphemeralMock, namespaceUrl, createProduct, control, usageRecords, sdkError } from './harness.mjs';

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

async function world() {
  const url = namespaceUrl(mock, `faults-${++namespaces}`);
  await createProduct(url, {
    productCode: 'prod', dimensions: ['d'], customers: ['c1', 'c2', 'c3'].map((c) => ({ customerIdentifier: c })),
  });
  return url;
}

async function queue(url, fault) {
  const r = await control(url, 'POST', '/faults', fault);
  assert.equal(r.status, 201, r.text);
}

/** An SDK client with the SDK's default retry strategy (3 attempts, short back-off). */
const retryingClient = (url) => new MarketplaceMeteringClient({
  region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'test', secretAccessKey: 'x' },
  maxAttempts: 3,
});

const meter = () => new MeterUsageCommand({
  ProductCode: 'prod', Timestamp: new Date(), UsageDimension: 'd', UsageQuantity: 1,
});

test('the SDK retries through one injected InternalServiceErrorException and records once', async () => {
  const url = await world();
  await queue(url, { operation: 'MeterUsage', error: 'InternalServiceErrorException' });
  const out = await retryingClient(url).send(meter());
  assert.equal(out.$metadata.attempts, 2);
  assert.equal((await usageRecords(url)).length, 1);
});

test('throttling on every attempt surfaces as ThrottlingException (400) after 3 attempts', async () => {
  const url = await world();
  await queue(url, { operation: 'MeterUsage', error: 'ThrottlingException', count: 3 });
  const e = await sdkError(retryingClient(url).send(meter()));
  assert.equal(e.name, 'ThrottlingException');
  assert.equal(e.$metadata.httpStatusCode, 400);
  assert.equal(e.$metadata.attempts, 3);
  assert.equal((await usageRecords(url)).length, 0);
  const faults = await control(url, 'GET', '/faults');
  assert.deepEqual(faults.json.faults, []);
});

test('UnprocessedRecords come back as sent and succeed when resent', async () => {
  const url = await world();
  await queue(url, { operation: 'BatchMeterUsage', unprocessedRecords: 1 });
  const records = ['c1', 'c2', 'c3'].map((c) => ({
    Timestamp: new Date(Math.floor(Date.now() / 1000) * 1000), CustomerIdentifier: c, Dimension: 'd', Quantity: 2,
  }));
  const client = retryingClient(url);
  const first = await client.send(new BatchMeterUsageCommand({ ProductCode: 'prod', UsageRecords: records }));
  assert.equal(first.Results.length, 2);
  assert.equal(first.UnprocessedRecords.length, 1);
  assert.equal(first.UnprocessedRecords[0].CustomerIdentifier, 'c3');
  assert.equal(first.UnprocessedRecords[0].Timestamp.getTime(), records[2].Timestamp.getTime());
  assert.equal((await usageRecords(url)).length, 2);
  const resent = await client.send(new BatchMeterUsageCommand({ ProductCode: 'prod', UsageRecords: first.UnprocessedRecords }));
  assert.deepEqual(resent.Results.map((r) => r.Status), ['Success']);
  assert.equal((await usageRecords(url)).length, 3);
});

test('a fault of an error the operation cannot return is refused', async () => {
  const url = await world();
  const r = await control(url, 'POST', '/faults', { operation: 'MeterUsage', error: 'DisabledApiException' });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /not an error of MeterUsage/);
});
