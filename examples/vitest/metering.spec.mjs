// A seller's test with vitest: the same as the node:test example.
import { beforeAll, afterAll, beforeEach, test, expect } from 'vitest';
import { startMock } from 'metering-mock';
import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';

let mock;
let metering;
beforeAll(async () => {
  mock = await startMock();
  metering = new MarketplaceMeteringClient({
    region: 'us-east-1',
    endpoint: mock.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(() => mock.stop());
beforeEach(() => mock.control.reset());

test('an hour of usage is recorded once', async () => {
  const usage = { ProductCode: 'demo-ami-product', Timestamp: new Date(), UsageDimension: 'hosts', UsageQuantity: 2 };
  const first = await metering.send(new MeterUsageCommand(usage));
  const again = await metering.send(new MeterUsageCommand(usage));
  expect(again.MeteringRecordId).toBe(first.MeteringRecordId);
  expect(await mock.control.usage()).toHaveLength(1);
});
