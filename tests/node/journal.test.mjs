// The request journal under the Workers runtime, driven by the real JS SDK: every call is
// kept (failures too) with what it wrote, filters answer a test's questions, a RegisterUsage
// entry carries the signature the caller got (signed after the step), and the journal is
// emptied. Runs on the package's runner (lib/index.mjs), whose control helpers it also uses.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchMeterUsageCommand, MeterUsageCommand, RegisterUsageCommand,
} from '@aws-sdk/client-marketplace-metering';
import { startMock, MockError } from '../../lib/index.mjs';
import { meteringClient, sdkError } from './harness.mjs';

let mock;
let ns;

before(async () => {
  mock = await startMock();
  ns = mock.namespace('journal');
  await ns.control.putProduct({
    productCode: 'saas', dimensions: ['users'],
    customers: [{ customerIdentifier: 'c1' }, { customerIdentifier: 'c2' }],
  });
  await ns.control.putProduct({
    productCode: 'box', dimensions: ['vcpu'], customers: [{ customerAWSAccountId: '111122223333' }],
  });
});

after(async () => {
  await mock?.stop();
});

test('calls of the JS SDK are kept, with what they wrote, newest first', async () => {
  const client = meteringClient(ns.endpoint);
  const now = new Date();
  const record = (customer, quantity) => ({ Timestamp: now, CustomerIdentifier: customer, Dimension: 'users', Quantity: quantity });
  const first = await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [record('c1', 3)] }));
  const second = await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [record('c1', 4), record('c2', 1)] }));
  assert.equal(second.Results[0].Status, 'DuplicateRecord');
  const failure = await sdkError(client.send(new MeterUsageCommand({
    ProductCode: 'nope', Timestamp: now, UsageDimension: 'users', UsageQuantity: 1,
  })));
  assert.equal(failure.name, 'InvalidProductCodeException');

  const page = await ns.control.requests();
  assert.equal(page.total, 3);
  const [failed, dup, batch] = page.requests;
  assert.deepEqual(page.requests.map((r) => r.operation), ['MeterUsage', 'BatchMeterUsage', 'BatchMeterUsage']);
  assert.equal(failed.status, 400);
  assert.equal(failed.error.code, 'InvalidProductCodeException');
  assert.equal(failed.request.ProductCode, 'nope');
  assert.deepEqual(batch.recordsWritten, [first.Results[0].MeteringRecordId]);
  assert.deepEqual(dup.recordsWritten, [second.Results[1].MeteringRecordId], 'the duplicate wrote nothing');
  assert.equal(dup.response.Results[0].Status, 'DuplicateRecord');
  assert.deepEqual(dup.customers, ['c1', 'c2']);
  assert.equal(batch.caller.region, 'us-east-1');
  assert.equal(batch.protocol, 'awsJson1_1');

  // "Exactly 2 BatchMeterUsage calls for customer c1 since the test began."
  const since = new Date(now.getTime() - 60_000).toISOString();
  const c1 = await ns.control.requests({ operation: 'BatchMeterUsage', customer: 'c1', from: since });
  assert.equal(c1.total, 2);
  assert.equal((await ns.control.requests({ status: 'error' })).total, 1);
  assert.equal((await ns.control.requests({ customer: 'c2' })).total, 1);
  const paged = await ns.control.requests({ limit: 2 });
  assert.equal(paged.count, 2);
  const rest = await ns.control.requests({ limit: 2, before: paged.nextCursor });
  assert.deepEqual(rest.requests.map((r) => r.seq), [batch.seq]);
  await assert.rejects(ns.control.requests({ status: 'maybe' }), (e) => e instanceof MockError && e.status === 400);
});

test('a RegisterUsage entry carries the signature its caller got', async () => {
  const client = meteringClient(ns.endpoint, { accessKeyId: '111122223333' });
  const answer = await client.send(new RegisterUsageCommand({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: 'task-1' }));
  const [entry] = (await ns.control.requests({ operation: 'RegisterUsage' })).requests;
  assert.equal(entry.status, 200);
  assert.equal(entry.response.Signature, answer.Signature);
  assert.doesNotMatch(JSON.stringify(entry), /pending-signature/);
});

test('the bill preview prices what the SDK metered, entitlements covering part of it', async () => {
  const billed = mock.namespace('bill');
  await billed.control.putProduct({
    productCode: 'priced', dimensions: ['users'], prices: { users: '0.125' },
    customers: [
      { customerIdentifier: 'c1', entitlements: [{ dimension: 'users', value: { integerValue: 10 } }] },
      { customerIdentifier: 'c2' },
    ],
  });
  const client = meteringClient(billed.endpoint);
  const now = new Date();
  const hourAgo = new Date(now.getTime() - 3600_000);
  const records = [
    { Timestamp: now, CustomerIdentifier: 'c1', Dimension: 'users', Quantity: 7 },
    { Timestamp: hourAgo, CustomerIdentifier: 'c1', Dimension: 'users', Quantity: 5 },
    { Timestamp: now, CustomerIdentifier: 'c2', Dimension: 'users', Quantity: 3 },
  ].filter((r) => r.Timestamp.getUTCMonth() === now.getUTCMonth());
  await client.send(new BatchMeterUsageCommand({ ProductCode: 'priced', UsageRecords: records }));
  await client.send(new BatchMeterUsageCommand({ ProductCode: 'priced', UsageRecords: records })); // a retry
  const month = now.toISOString().slice(0, 7);
  const bill = await billed.control.bill({ month });
  const c2 = bill.customers.find((c) => c.customerIdentifier === 'c2');
  assert.deepEqual(
    { metered: c2.lines[0].metered, amount: c2.lines[0].amount, charge: c2.lines[0].charge },
    { metered: '3', amount: '0.375', charge: '0.38' },
  );
  const c1 = bill.customers.find((c) => c.customerIdentifier === 'c1');
  // Just after midnight on the first, the record of an hour ago is last month's.
  const c1Metered = records.filter((r) => r.CustomerIdentifier === 'c1').length === 2 ? '12' : '7';
  assert.equal(c1.lines[0].metered, c1Metered);
  assert.equal(c1.lines[0].covered, c1Metered === '12' ? '10' : '7', 'the contract covers 10 users');
  const listed = await billed.control.request('GET', c1.lines[0].usage.replace('/_mock', ''));
  assert.equal(listed.count, c1.lines[0].records);
});

test('the journal is emptied, and can be switched off', async () => {
  const { deleted } = await ns.control.clearRequests();
  assert.ok(deleted >= 4, `deleted ${deleted}`);
  assert.equal((await ns.control.requests()).total, 0);
  await ns.control.patchSettings({ requestJournal: false });
  const client = meteringClient(ns.endpoint);
  await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [] }));
  assert.equal((await ns.control.requests()).total, 0);
  await ns.control.patchSettings({ requestJournal: true });
});
