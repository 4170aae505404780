// State kept by an older version survives an update: fixtures/state-0.1.0 is what the 0.1.0
// schema (a `usage` table) kept after a MeterUsage and a BatchMeterUsage of two records, made
// by fixtures/make-state-0.1.0.mjs. This build opens a copy of it, moves the ledger to its
// own schema, and must still know every record: listing them, answering a retry of each
// call with the record it made then, and recording new usage next to them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMock } from '../../lib/index.mjs';
import { tempStateDir } from './harness.mjs';
import { AT, CALLS, meter } from './fixtures/make-state-0.1.0.mjs';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'state-0.1.0');

/** The record ids the 0.1.0 build answered when it made the fixture. */
const RECORDED = {
  MeterUsage: ['dd9ea0b2-8277-4fcb-a2eb-791257600957'],
  BatchMeterUsage: ['8c0e6334-c21f-4174-88df-24aa6755efc0', '3738eee5-e818-4115-95b5-18db40f62347'],
};

const idsOf = (operation, json) => (operation === 'MeterUsage'
  ? [json.MeteringRecordId]
  : json.Results.map((r) => r.MeteringRecordId));

async function ledger(mock) {
  const r = await fetch(`${mock.endpoint}/_mock/usage`);
  assert.equal(r.status, 200);
  return (await r.json()).records.map((x) => x.meteringRecordId).sort();
}

test('a ledger kept by the 0.1.0 schema is moved, and keeps deduplicating', async () => {
  const dir = tempStateDir();
  cpSync(FIXTURE, dir, { recursive: true });
  try {
    let mock = await startMock({ persist: dir });
    try {
      const all = [...RECORDED.MeterUsage, ...RECORDED.BatchMeterUsage].sort();
      assert.deepEqual(await ledger(mock), all, 'the old records are listed');
      for (const [operation, body] of CALLS) {
        const { status, json } = await meter(mock.endpoint, operation, body);
        assert.equal(status, 200, JSON.stringify(json));
        assert.deepEqual(idsOf(operation, json), RECORDED[operation], `a retry of ${operation} answers the old records`);
      }
      assert.deepEqual(await ledger(mock), all, 'the retries recorded nothing');
      // The moved quantities (decimal text in 0.1.0's documents) sum exactly in the bill.
      const bill = await (await fetch(`${mock.endpoint}/_mock/bill?month=2026-03`)).json();
      const metered = bill.customers.flatMap((c) => c.lines.map((l) => `${c.productCode}/${l.dimension}=${l.metered}`)).sort();
      assert.deepEqual(metered, ['demo-ami-product/hosts=3', 'demo-saas-product/storage_gb=7', 'demo-saas-product/users=5']);
      const fresh = await meter(mock.endpoint, 'MeterUsage', {
        ProductCode: 'demo-ami-product', Timestamp: AT - 60, UsageDimension: 'vcpu_hours', UsageQuantity: 1,
      });
      assert.equal(fresh.status, 200, JSON.stringify(fresh.json));
      assert.equal((await ledger(mock)).length, 4);
      await mock.stop();

      // Opened again: nothing is moved twice, and the old records still deduplicate.
      mock = await startMock({ persist: dir });
      assert.equal((await ledger(mock)).length, 4);
      const [operation, body] = CALLS[1];
      const again = await meter(mock.endpoint, operation, body);
      assert.deepEqual(idsOf(operation, again.json), RECORDED[operation]);
    } finally {
      await mock.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
