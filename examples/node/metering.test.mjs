// A seller's test with node:test: the mock starts once for the file, each test resets it.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMock } from 'metering-mock';
import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';

let mock;
let metering;
before(async () => {
  mock = await startMock(); // a free port, state kept until stop()
  metering = new MarketplaceMeteringClient({
    region: 'us-east-1',
    endpoint: mock.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
after(() => mock.stop());
beforeEach(() => mock.control.reset());

test('an hour of usage is recorded once', async () => {
  const usage = { ProductCode: 'demo-ami-product', Timestamp: new Date(), UsageDimension: 'hosts', UsageQuantity: 2 };
  const first = await metering.send(new MeterUsageCommand(usage));
  const again = await metering.send(new MeterUsageCommand(usage));
  assert.equal(again.MeteringRecordId, first.MeteringRecordId);
  assert.equal((await mock.control.usage()).length, 1);
  // The request journal: both calls, one record written.
  const calls = await mock.control.requests({ operation: 'MeterUsage' });
  assert.equal(calls.total, 2);
  assert.deepEqual(calls.requests.flatMap((c) => c.recordsWritten), [first.MeteringRecordId]);
});

test('an unknown dimension is refused as AWS refuses it', async () => {
  await assert.rejects(
    metering.send(new MeterUsageCommand({ ProductCode: 'demo-ami-product', Timestamp: new Date(), UsageDimension: 'nope', UsageQuantity: 1 })),
    { name: 'InvalidUsageDimensionException' },
  );
});
