// State kept by an older version survives an update: fixtures/state-0.1.0 is what the 0.1.0
// schema (a `usage` table) kept after a MeterUsage and a BatchMeterUsage of two records, made
// by fixtures/make-state-0.1.0.mjs. This build opens a copy of it, moves the ledger to its
// own schema, and must still know every record: listing them, answering a retry of each
// call with the record it made then, and recording new usage next to them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { miniflareOptions, startMock, workerDirectory } from '../../lib/index.mjs';
import { rawCall, tempStateDir } from './harness.mjs';
import { AT, CALLS, meter } from './fixtures/make-state-0.1.0.mjs';
import { BUYER, CALLS as LATER_CALLS } from './fixtures/make-state-9044c73.mjs';

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

// fixtures/state-9044c73 is what the build before credential sessions counted kept (made by
// fixtures/make-state-9044c73.mjs): ledger keys, a client token and a nonce-named task
// without a session. Calls signed with long-term keys must find them as before; a session is
// a new instance.
test('state kept before sessions counted keeps deduplicating: hours, client tokens and tasks of long-term keys', async () => {
  const dir = tempStateDir();
  cpSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'state-9044c73'), dir, { recursive: true });
  const recorded = ['0fa6a2c9-d5aa-4304-bd75-6c121faa3a1d', 'e64f1c06-ba5b-4ad6-9e60-a912cf59cff9'];
  const mock = await startMock({ persist: dir });
  try {
    const [hosts, vcpu] = [LATER_CALLS[0][2], LATER_CALLS[1][2]];
    const { ClientToken: _, ...hostsWithoutToken } = hosts;
    const repeat = await rawCall(mock.endpoint, 'MeterUsage', { ...hostsWithoutToken, ClientToken: 'a-fresh-token' }, { accessKeyId: BUYER });
    assert.equal(repeat.json.MeteringRecordId, recorded[0], 'the hour rule still finds the old record');
    const byToken = await rawCall(mock.endpoint, 'MeterUsage', hosts, { accessKeyId: BUYER });
    assert.equal(byToken.json.MeteringRecordId, recorded[0], 'the old client token still answers');
    const conflict = await rawCall(mock.endpoint, 'MeterUsage', { ...hosts, UsageQuantity: 4 }, { accessKeyId: BUYER });
    assert.equal(conflict.json.__type, 'IdempotencyConflictException');
    const other = await rawCall(mock.endpoint, 'MeterUsage', { ...hostsWithoutToken, UsageQuantity: 4 }, { accessKeyId: BUYER });
    assert.equal(other.json.__type, 'DuplicateRequestException');
    assert.equal((await rawCall(mock.endpoint, 'MeterUsage', vcpu, { accessKeyId: 'AKIDUPGRADE' })).json.MeteringRecordId, recorded[1]);
    // An instance signing with a session token is an instance of its own.
    const instance = await rawCall(mock.endpoint, 'MeterUsage', hostsWithoutToken, { accessKeyId: BUYER, headers: { 'x-amz-security-token': 'instance-session' } });
    assert.equal(instance.status, 200, JSON.stringify(instance.json));
    assert.ok(!recorded.includes(instance.json.MeteringRecordId));

    // The nonce-named task is still registered: after the buyer leaves, only it is served.
    await mock.control.changeSubscription({ productCode: 'demo-container-product', customerAWSAccountId: BUYER, action: 'unsubscribe-success' });
    const task = LATER_CALLS[2][2];
    assert.equal((await rawCall(mock.endpoint, 'RegisterUsage', task, { accessKeyId: BUYER })).status, 200);
    const newTask = await rawCall(mock.endpoint, 'RegisterUsage', { ...task, Nonce: 'pod-new' }, { accessKeyId: BUYER });
    assert.equal(newTask.json.__type, 'CustomerNotEntitledException');
    // The same nonce from a pod signing with a session token is that pod's first call.
    const inAPod = await rawCall(mock.endpoint, 'RegisterUsage', task, { accessKeyId: BUYER, headers: { 'x-amz-security-token': 'pod-session' } });
    assert.equal(inAPod.json.__type, 'CustomerNotEntitledException');
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state directory holding both layouts is served from do/ and the older copy is left alone, with a warning', async () => {
  const dir = tempStateDir();
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'state-9044c73');
  cpSync(fixture, dir, { recursive: true });
  cpSync(fixture, join(dir, 'do'), { recursive: true });
  const warnings = [];
  const error = console.error;
  console.error = (...args) => { warnings.push(args.join(' ')); };
  let mock;
  try {
    mock = await startMock({ persist: dir });
  } finally {
    console.error = error;
  }
  try {
    assert.ok(existsSync(join(dir, '-NamespaceObject')), 'the older copy stays where it was');
    assert.ok(warnings.some((w) => /-NamespaceObject .*is left alone/.test(w)), warnings.join('\n'));
    const records = (await mock.control.usage()).length;
    assert.equal(records, 2, 'the copy under do/ is the one served');
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Miniflare 4\'s durableObjectsPersist is refused rather than silently dropped', async () => {
  await assert.rejects(miniflareOptions(workerDirectory(), { durableObjectsPersist: '/tmp/x' }), /resourcePersistencePath/);
});
