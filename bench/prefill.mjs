// Does throughput stay flat as the ledger grows? Under the package's runner (Miniflare's API,
// state on disk in a temporary directory, MAX_USAGE_RECORDS raised so nothing is dropped):
// MeterUsage (a new record per call) and BatchMeterUsage (25 new records per call) measured
// on an empty ledger, then the ledger filled to BENCH_PREFILL records (1,000,000 by default)
// with BatchMeterUsage, then measured again; the workerd process's memory (RSS) is read at
// each step. Usage: source scripts/node.sh && node bench/prefill.mjs.
// Knobs: BENCH_PREFILL, BENCH_SECONDS (10), BENCH_CONCURRENCY (8).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMock } from '../lib/index.mjs';
import { authHeaders } from '../tests/node/harness.mjs';
import { loadOrFail } from './load.mjs';

const PREFILL = Number(process.env.BENCH_PREFILL ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const NOW = Date.parse('2026-03-20T12:00:00Z') / 1000; // frozen: 24 earlier hours in the month
const CUSTOMERS = 1000;
const DIMENSIONS = 25;
const HOURS = 20;
const KEYS_PER_PRODUCT = CUSTOMERS * DIMENSIONS * HOURS;

const dimension = (i) => `d${i}`;
const customer = (i) => `c${i}`;

/** The key-th record of `product`: a distinct (customer, dimension, hour) for every key. */
function record(key) {
  const hour = Math.floor(key / (CUSTOMERS * DIMENSIONS));
  const rest = key % (CUSTOMERS * DIMENSIONS);
  return {
    Timestamp: NOW - hour * 3600,
    CustomerIdentifier: customer(Math.floor(rest / DIMENSIONS)),
    Dimension: dimension(rest % DIMENSIONS),
    Quantity: 1,
  };
}

/** A metering call for the load loop: every answer must be a 200 with every record a Success. */
function call(endpoint, operation, body, key = 'prefill') {
  return {
    url: endpoint,
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSMPMeteringService.${operation}`, ...authHeaders({ accessKeyId: key }) },
      body: JSON.stringify(body),
    },
    check: (status, text) => {
      if (status !== 200) return `${operation}: ${status} ${text.slice(0, 300)}`;
      return JSON.parse(text).Results?.some((x) => x.Status !== 'Success') ? `${operation}: ${text.slice(0, 300)}` : null;
    },
  };
}

/** Requests per second of `make` (null: no more) with CONCURRENCY in flight for `seconds`. */
const load = (seconds, make) => loadOrFail({ seconds, concurrency: CONCURRENCY, makeRequest: make });

/** Resident memory of the workerd processes this process started, in MiB. */
function workerdMemory() {
  try {
    const out = execFileSync('ps', ['-o', 'rss=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.includes('workerd')).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0) / 1024;
  } catch {
    return NaN;
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'metering-mock-prefill-'));
  const mock = await startMock({ persist: dir, vars: { MAX_USAGE_RECORDS: '10000000' } });
  try {
    const ns = mock.namespace('prefill');
    await ns.control.setClock({ frozenAt: new Date(NOW * 1000).toISOString() });
    const products = Math.ceil(PREFILL / KEYS_PER_PRODUCT) + 1;
    for (let p = 0; p < products; p += 1) {
      await ns.control.putProduct({
        productCode: `p${p}`,
        dimensions: Array.from({ length: DIMENSIONS }, (_, i) => dimension(i)),
        customers: Array.from({ length: CUSTOMERS }, (_, i) => ({ customerIdentifier: customer(i) })),
      });
    }
    // Measured calls use product `p{products-1}` (never filled) and fresh callers.
    const measuredProduct = `p${products - 1}`;
    let caller = 0;
    let measuredKey = 0;
    const measure = async (label) => {
      const meter = await load(SECONDS, () => call(ns.endpoint, 'MeterUsage', { ProductCode: measuredProduct, Timestamp: NOW, UsageDimension: 'd0', UsageQuantity: 1 }, `caller${caller++}`));
      const batch = await load(SECONDS, () => {
        if (measuredKey + 25 > KEYS_PER_PRODUCT) return null;
        const first = measuredKey;
        measuredKey += 25;
        return call(ns.endpoint, 'BatchMeterUsage', { ProductCode: measuredProduct, UsageRecords: Array.from({ length: 25 }, (_, i) => record(first + i)) });
      });
      const row = { label, meterUsage: meter, batchRequests: batch, batchRecords: batch * 25, workerdMiB: workerdMemory() };
      console.log(`${label}: MeterUsage ${meter.toFixed(1)} req/s; BatchMeterUsage ${batch.toFixed(1)} req/s (${(batch * 25).toFixed(0)} records/s); workerd RSS ${row.workerdMiB.toFixed(0)} MiB`);
      return row;
    };
    // A warm-up, discarded: the first calls include the runtime's compilation.
    await load(1, () => call(ns.endpoint, 'MeterUsage', { ProductCode: measuredProduct, Timestamp: NOW, UsageDimension: 'd1', UsageQuantity: 1 }, `warm${caller++}`));
    const before = await measure('empty ledger');
    let filled = 0;
    const startedFill = performance.now();
    let lastReport = 0;
    await load(3600, () => {
      if (filled >= PREFILL) return null;
      const first = filled;
      const count = Math.min(25, PREFILL - filled);
      filled += count;
      const product = `p${Math.floor(first / KEYS_PER_PRODUCT)}`;
      const records = Array.from({ length: count }, (_, i) => record((first + i) % KEYS_PER_PRODUCT));
      if (filled - lastReport >= 100_000) {
        lastReport = filled;
        console.log(`  filled ${filled} records (${((performance.now() - startedFill) / 1000).toFixed(0)} s, workerd RSS ${workerdMemory().toFixed(0)} MiB)`);
      }
      return call(ns.endpoint, 'BatchMeterUsage', { ProductCode: product, UsageRecords: records });
    });
    console.log(`prefill: ${filled} records in ${((performance.now() - startedFill) / 1000).toFixed(0)} s`);
    const after = await measure(`after ${filled} records`);
    console.log('');
    console.log('| ledger | MeterUsage req/s | BatchMeterUsage req/s | records/s | workerd RSS MiB |');
    console.log('|---|---|---|---|---|');
    for (const r of [before, after]) {
      console.log(`| ${r.label} | ${r.meterUsage.toFixed(1)} | ${r.batchRequests.toFixed(1)} | ${r.batchRecords.toFixed(0)} | ${r.workerdMiB.toFixed(0)} |`);
    }
    console.log(`after / before: MeterUsage ${(after.meterUsage / before.meterUsage).toFixed(2)}x, BatchMeterUsage ${(after.batchRequests / before.batchRequests).toFixed(2)}x`);
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
