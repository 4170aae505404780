// A crash mid-load loses nothing acknowledged and counts nothing twice: concurrent MeterUsage
// and BatchMeterUsage calls under wrangler dev, the whole process group SIGKILLed while they
// run, a restart on the same state; every acknowledged record is there with its id and
// quantity, no usage key is recorded twice, and the retry of every call that got no answer
// leaves exactly one record for it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startMock, tempStateDir, rawCall, createProduct, setClock, usageRecords } from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const NOW_SECONDS = Date.parse(NOW) / 1000;
const CUSTOMERS = Array.from({ length: 40 }, (_, i) => `c${i}`);
const DIMENSIONS = ['d0', 'd1', 'd2', 'd3', 'd4'];
const IN_FLIGHT = 8;
const KILL_AFTER_MS = 1500;

/**
 * The calls of the load, each of its own usage keys: MeterUsage as caller `crash-<n>`, or a
 * BatchMeterUsage of 5 records, one per dimension, of customer `c<n>`.
 */
function calls() {
  const list = [];
  // More calls than 8 streams finish in KILL_AFTER_MS, so some are in flight at the kill.
  for (let n = 0; n < 5000; n += 1) {
    list.push({
      operation: 'MeterUsage',
      accessKeyId: `crash-${n}`,
      body: { ProductCode: 'prod', Timestamp: NOW_SECONDS, UsageDimension: DIMENSIONS[n % 5], UsageQuantity: (n % 7) + 1 },
    });
    if (n < CUSTOMERS.length) {
      list.push({
        operation: 'BatchMeterUsage',
        accessKeyId: 'crash-seller',
        body: {
          ProductCode: 'prod',
          UsageRecords: DIMENSIONS.map((d, i) => ({ Timestamp: NOW_SECONDS, CustomerIdentifier: CUSTOMERS[n], Dimension: d, Quantity: i + 1 })),
        },
      });
    }
  }
  return list;
}

/** The records a call made, from its answer: [{ id, key, quantity }]. */
function recordsOf(call, json) {
  if (call.operation === 'MeterUsage') {
    return [{ id: json.MeteringRecordId, key: `${call.accessKeyId}|${call.body.UsageDimension}`, quantity: String(call.body.UsageQuantity) }];
  }
  assert.equal(json.UnprocessedRecords?.length ?? 0, 0);
  return json.Results.map((r) => {
    assert.equal(r.Status, 'Success', JSON.stringify(r));
    return { id: r.MeteringRecordId, key: `${r.UsageRecord.CustomerIdentifier}|${r.UsageRecord.Dimension}`, quantity: String(r.UsageRecord.Quantity) };
  });
}

const keyOf = (record) => `${record.customerIdentifier ?? record.caller}|${record.dimension}`;

test('SIGKILL mid-load, restart: acknowledged records kept, nothing twice, retries make exactly one record', async (t) => {
  const stateDir = tempStateDir();
  const url = (mock) => `${mock.url}/ns/crash`;
  let mock = await startMock({ stateDir });
  const acknowledged = [];
  const unanswered = [];
  try {
    await createProduct(url(mock), {
      productCode: 'prod', dimensions: DIMENSIONS, customers: CUSTOMERS.map((c) => ({ customerIdentifier: c })),
    });
    await setClock(url(mock), { frozenAt: NOW });
    const queue = calls();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < queue.length) {
        const call = queue[next++];
        try {
          const r = await rawCall(url(mock), call.operation, call.body, { accessKeyId: call.accessKeyId });
          assert.equal(r.status, 200, r.text);
          acknowledged.push(...recordsOf(call, r.json));
        } catch (e) {
          if (!killed) throw e;
          unanswered.push(call);
        }
      }
    };
    const load = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
    killed = true;
    await mock.kill();
    await load;
    assert.ok(acknowledged.length > 20, `the load got going before the kill (${acknowledged.length} records)`);
    assert.ok(unanswered.length > 0, 'calls were in flight when the process died');
    t.diagnostic(`${acknowledged.length} records acknowledged, ${unanswered.length} calls unanswered at the kill`);

    mock = await startMock({ stateDir });
    const stored = await usageRecords(url(mock), { limit: 10000 });
    const byId = new Map(stored.map((r) => [r.meteringRecordId, r]));
    for (const a of acknowledged) {
      const record = byId.get(a.id);
      assert.ok(record, `acknowledged record ${a.id} (${a.key}) was lost`);
      assert.equal(keyOf(record), a.key);
      assert.equal(record.quantity, a.quantity);
    }
    const keys = stored.map(keyOf);
    assert.equal(new Set(keys).size, keys.length, 'a usage key was recorded twice');
    // A batch that got no answer was applied whole or not at all, never in part.
    const storedKeys = new Set(keys);
    for (const call of unanswered.filter((c) => c.operation === 'BatchMeterUsage')) {
      const customer = call.body.UsageRecords[0].CustomerIdentifier;
      const present = DIMENSIONS.filter((d) => storedKeys.has(`${customer}|${d}`)).length;
      assert.ok(present === 0 || present === DIMENSIONS.length, `batch of ${customer} half applied: ${present} of 5`);
    }

    // The calls that got no answer are retried, as an SDK would: each ends with one record.
    for (const call of unanswered) {
      const r = await rawCall(url(mock), call.operation, call.body, { accessKeyId: call.accessKeyId });
      assert.equal(r.status, 200, r.text);
      acknowledged.push(...recordsOf(call, r.json));
    }
    const after = await usageRecords(url(mock), { limit: 10000 });
    const afterKeys = after.map(keyOf);
    assert.equal(new Set(afterKeys).size, afterKeys.length, 'a retry recorded a key twice');
    assert.equal(after.length, new Set(acknowledged.map((a) => a.key)).size);
    const afterIds = new Set(after.map((r) => r.meteringRecordId));
    for (const a of acknowledged) assert.ok(afterIds.has(a.id), `${a.id} (${a.key}) missing after the retries`);
  } finally {
    await mock.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
