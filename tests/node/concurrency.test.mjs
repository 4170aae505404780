// Parallel calls: the namespace's Durable Object is its single writer, so concurrent repeats
// and conflicts must resolve exactly as sequential ones would. Every count here is fixed.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { BatchMeterUsageCommand, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { startEphemeralMock, meteringClient, namespaceUrl, createProduct, setClock, usageRecords, UUID_V4, fulfilledValues } from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const CUSTOMERS = ['c0', 'c1', 'c2', 'c3', 'c4'];
const DIMENSIONS = ['d0', 'd1', 'd2', 'd3', 'd4'];

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/** A fresh namespace (or the named one) with product `prod`: 5 dimensions, 5 customers, frozen clock. */
async function world(name = `concurrency-${++namespaces}`) {
  const url = namespaceUrl(mock, name);
  await createProduct(url, {
    productCode: 'prod', dimensions: DIMENSIONS, customers: CUSTOMERS.map((c) => ({ customerIdentifier: c })),
  });
  await setClock(url, { frozenAt: NOW });
  return url;
}

const meterCommand = (quantity) => new MeterUsageCommand({
  ProductCode: 'prod', Timestamp: new Date(NOW), UsageDimension: 'd0', UsageQuantity: quantity,
});

/** Sends `count` commands at once; returns the settled results in order. */
function inParallel(client, count, commandOf) {
  return Promise.allSettled(Array.from({ length: count }, (_, i) => client.send(commandOf(i))));
}

test('50 parallel identical MeterUsage calls all succeed with one id and one record', async () => {
  const url = await world();
  const settled = await inParallel(meteringClient(url), 50, () => meterCommand(1));
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name);
  assert.deepEqual(failures, []);
  const ids = new Set(fulfilledValues(settled).map((v) => v.MeteringRecordId));
  assert.equal(ids.size, 1);
  const [id] = ids;
  assert.match(id, UUID_V4);
  const records = await usageRecords(url);
  assert.equal(records.length, 1);
  assert.equal(records[0].meteringRecordId, id);
});

test('40 parallel conflicting MeterUsage calls: one succeeds, the rest are DuplicateRequestException, one record of the winner', async () => {
  const url = await world();
  const settled = await inParallel(meteringClient(url), 40, (i) => meterCommand(i + 1));
  const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ quantity: i + 1, id: s.value.MeteringRecordId }] : []));
  assert.equal(winners.length, 1, `expected exactly one success, got ${winners.length}`);
  const errors = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name);
  assert.deepEqual(errors, Array(39).fill('DuplicateRequestException'));
  const records = await usageRecords(url);
  assert.equal(records.length, 1);
  assert.equal(records[0].quantity, String(winners[0].quantity));
  assert.equal(records[0].meteringRecordId, winners[0].id);
});

test('30 parallel identical BatchMeterUsage calls of 25 records all return the same 25 ids and record 25', async () => {
  const url = await world();
  const usageRecordsSent = CUSTOMERS.flatMap((c) => DIMENSIONS.map((d) => ({
    Timestamp: new Date(NOW), CustomerIdentifier: c, Dimension: d, Quantity: 2,
  })));
  assert.equal(usageRecordsSent.length, 25);
  const command = () => new BatchMeterUsageCommand({ ProductCode: 'prod', UsageRecords: usageRecordsSent });
  const settled = await inParallel(meteringClient(url), 30, command);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name);
  assert.deepEqual(failures, []);
  const reference = fulfilledValues(settled)[0].Results.map((r) => r.MeteringRecordId);
  assert.equal(new Set(reference).size, 25);
  for (const value of fulfilledValues(settled)) {
    assert.deepEqual(value.Results.map((r) => r.Status), Array(25).fill('Success'));
    assert.deepEqual(value.Results.map((r) => r.MeteringRecordId), reference);
  }
  const records = await usageRecords(url);
  assert.equal(records.length, 25);
  assert.deepEqual(new Set(records.map((r) => r.meteringRecordId)), new Set(reference));
});

test('parallel calls to two namespaces do not interfere', async () => {
  const [a, b] = await Promise.all([world(`concurrency-a-${++namespaces}`), world(`concurrency-b-${namespaces}`)]);
  const [clientA, clientB] = [meteringClient(a), meteringClient(b)];
  const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 === 0
    ? clientA.send(meterCommand(1))
    : clientB.send(meterCommand(2)))));
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name);
  assert.deepEqual(failures, []);
  const idsA = new Set(fulfilledValues(settled).filter((_, i) => i % 2 === 0).map((v) => v.MeteringRecordId));
  const idsB = new Set(fulfilledValues(settled).filter((_, i) => i % 2 === 1).map((v) => v.MeteringRecordId));
  assert.equal(idsA.size, 1);
  assert.equal(idsB.size, 1);
  assert.notDeepEqual(idsA, idsB);
  const [recordsA, recordsB] = await Promise.all([usageRecords(a), usageRecords(b)]);
  assert.deepEqual(recordsA.map((r) => [r.meteringRecordId, r.quantity]), [[[...idsA][0], '1']]);
  assert.deepEqual(recordsB.map((r) => [r.meteringRecordId, r.quantity]), [[[...idsB][0], '2']]);
});
