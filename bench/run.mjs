// Benchmark of the metering mock: how much a metering call costs compared with the cheapest
// request the same worker can answer.
//
// Why: every Metering call goes through the worker's front door to the namespace's single
// SQLite Durable Object, is decided there synchronously and, when new, written to the ledger.
// The interesting number is not an absolute req/s (that depends on the machine) but the ratio
// to GET /_mock/ping, which the worker answers itself (no Durable Object, no core): the same
// server, the same client, the same run, so the ratio says what the Durable Object hop and the
// metering logic add.
//
// What it measures, in one run, under each runner (`--runner wrangler|package|both`, or
// BENCH_RUNNER; both by default): `wrangler dev` started through the test harness, and the npm
// package's runner (the built worker on Miniflare's API, no dev proxy); 127.0.0.1 only,
// stopped in a finally. A Markdown table puts the runners side by side at the end:
//   1. ping          GET /_mock/ping (the baseline)
//   1b. object-ping  GET /ns/bench/_mock/clock: the Durable Object hop alone, so the table
//                    also shows what the metering logic adds on top of that hop
//   1c. object-write PUT /ns/bench/_mock/clock {}: the hop with one committed write, the
//                    ceiling of every call that records something
//   2. meter-new     MeterUsage, each request a new ledger record (a unique access key id per
//                    request, so the once-per-hour key product|caller|dimension|hour is fresh)
//   3. batch-new     BatchMeterUsage, 25 records per request, each record new (a distinct
//                    customer x dimension of the current hour; once all of those are used,
//                    of the hours before it, which BatchMeterUsage also accepts)
//   4. meter-repeat  MeterUsage repeating one identical request (the idempotent path: a read,
//                    no write)
//   5. resolve       ResolveCustomer of one registration token, repeated (the namespace
//                    allows repeatable resolution): the token's record read in the
//                    Durable Object's synchronous step
//   6. register      RegisterUsage, each request a new task (a fresh Nonce): a registration
//                    written and a PS256 signature made with the namespace's 2048-bit RSA key
//                    (generated before the run, so key generation is not measured)
// Requests are raw fetch calls with prebuilt SigV4-shaped headers (no SDK, so client-side
// signing is not measured), a fixed number in flight, a warm-up, and per-scenario bounds on
// both time and count. A response other than 200 (or a 200 whose body says a record was not
// processed) is an error; a run with errors is reported INVALID and exits 1. At the end the
// ledger (GET /ns/bench/_mock/usage, per dimension) must hold exactly the records the
// successful new-record calls made.
//
// Then the same worker again as a LOCKED deployment (ADMIN_TOKEN set, rate limit out of the
// way), one provisioned namespace, requests signed for real by the JS SDK's SigV4 signer
// (ahead of the run, so signing is not measured) and verified by the mock:
//   7. ping-locked         GET /_mock/ping of the locked deployment (its baseline)
//   8. meter-repeat-locked one signed MeterUsage replayed (admission + signature check + lookup)
//   9. meter-new-locked    MeterUsage, each request a new record, signed by one of
//                          LOCKED_KEYS keys of the namespace's signatureCredentials
// Its ledger must hold exactly what the successful meter-new-locked calls made, plus one.
//
// Results: a table on stdout and JSON in bench/results/latest.json (git-ignored).
// Knobs (env): BENCH_SECONDS (10), BENCH_CONCURRENCY (16), BENCH_MAX_REQUESTS (20000),
// BENCH_WARMUP_SECONDS (1), BENCH_CUSTOMERS (1000), BENCH_DIMENSIONS (25), BENCH_ONLY (a
// comma-separated list of scenario names; the ping baselines always run).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { authHeaders, createProduct, control, startMock } from '../tests/node/harness.mjs';
import { fmt, load, printColumns } from './load.mjs';
import { controlCall } from '../lib/control.mjs';
import { startMock as startPackageMock } from '../lib/index.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

function envNumber(name, fallback, { min = 1, integer = true } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${raw}'`);
  }
  return n;
}

const SECONDS = envNumber('BENCH_SECONDS', 10, { min: 0.1, integer: false });
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 16);
const MAX_REQUESTS = envNumber('BENCH_MAX_REQUESTS', 20_000);
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 1, { min: 0, integer: false });
const WARMUP_MAX_REQUESTS = Math.max(CONCURRENCY, Math.min(500, MAX_REQUESTS));
const CUSTOMERS = envNumber('BENCH_CUSTOMERS', 1000);
const DIMENSIONS = envNumber('BENCH_DIMENSIONS', 25);
const BATCH_SIZE = 25; // the service maximum
// BENCH_ONLY=meter-new,batch-new: only these scenarios (each table keeps its ping baseline).
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const chosen = (s) => ONLY.length === 0 || s.name.startsWith('ping') || ONLY.includes(s.name);
const USAGE_LIMIT = 10_000; // the control API's maximum page

const NAMESPACE = 'bench';
const PRODUCT = 'bench-product';
const dimensionName = (i) => `dim-${String(i).padStart(2, '0')}`;
const customerName = (i) => `bench-customer-${String(i).padStart(5, '0')}`;
const JSON_HEADERS = (operation) => ({
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-target': `AWSMPMeteringService.${operation}`,
});

// ---------------------------------------------------------------------------------------
// The scenarios: each makes request n of its phase (warm-up or measured) from a counter that
// never repeats within the run, so "new" requests stay new across warm-up and measurement.

function expectStatus200(status, text) {
  return status === 200 ? null : `HTTP ${status}: ${text.slice(0, 200)}`;
}

function pingScenario(url) {
  const init = { method: 'GET' };
  return {
    name: 'ping',
    what: 'GET /_mock/ping (worker only, no Durable Object)',
    makeRequest: () => ({ url: `${url}/_mock/ping`, init, check: expectStatus200 }),
  };
}

/** GET /_mock/clock of the bench namespace: the Durable Object hop with next to no work. */
function objectPingScenario(nsUrl) {
  const init = { method: 'GET' };
  return {
    name: 'object-ping',
    what: 'GET /ns/bench/_mock/clock (one Durable Object round trip, a cached read)',
    makeRequest: () => ({ url: `${nsUrl}/_mock/clock`, init, check: expectStatus200 }),
  };
}

/** The cheapest write: one small document saved in its own transaction (the clock, left at real time). */
function objectWriteScenario(nsUrl) {
  const init = { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' };
  return {
    name: 'object-write',
    what: 'PUT /ns/bench/_mock/clock {} (one Durable Object round trip with one committed write)',
    makeRequest: () => ({ url: `${nsUrl}/_mock/clock`, init, check: expectStatus200 }),
  };
}

/** MeterUsage with a fresh caller per request: always a new ledger record. */
function meterNewScenario(nsUrl, counters) {
  let next = 0;
  const headersFor = (n) => ({ ...JSON_HEADERS('MeterUsage'), ...authHeaders({ accessKeyId: `bench-${n}` }) });
  return {
    name: 'meter-new',
    what: 'MeterUsage, each request a new record',
    makeRequest: () => {
      const n = next++;
      const dimension = n % DIMENSIONS;
      const body = JSON.stringify({
        ProductCode: PRODUCT,
        Timestamp: Date.now() / 1000,
        UsageDimension: dimensionName(dimension),
        UsageQuantity: 1,
      });
      return {
        url: nsUrl,
        init: { method: 'POST', headers: headersFor(n), body },
        check: (status, text) => {
          const bad = expectStatus200(status, text);
          if (bad) return bad;
          if (!text.includes('"MeteringRecordId"')) return `no MeteringRecordId: ${text.slice(0, 200)}`;
          counters.meterNew[dimension]++;
          return null;
        },
      };
    },
  };
}

/**
 * BatchMeterUsage of 25 new records: record k (k counts records across the run) is customer
 * k mod C and dimension floor(k / C) mod D, so the C x D records of an hour are all distinct
 * keys. With 1000 customers that is only 1000 batches, a few seconds of load, so once the
 * current hour is used up the records go to earlier hours (BatchMeterUsage accepts 24 hours
 * back; only hours of the current UTC month, so the month-end rule never applies): hour
 * floor(k / (C x D)) back from the run's start, a fixed instant so that a run crossing an
 * hour boundary cannot make two records share a key. `budget` is how many batches that
 * allows (warm-up included).
 */
function batchNewScenario(nsUrl, counters) {
  let nextRecord = 0;
  const headers = { ...JSON_HEADERS('BatchMeterUsage'), ...authHeaders({ accessKeyId: 'bench-seller' }) };
  const start = Math.floor(Date.now() / 1000);
  const now = new Date(start * 1000);
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000;
  const hours = Math.min(23, Math.floor((start - monthStart) / 3600)) + 1;
  const perHour = CUSTOMERS * DIMENSIONS;
  return {
    name: 'batch-new',
    what: `BatchMeterUsage, ${BATCH_SIZE} new records per request`,
    hours,
    budget: Math.floor((perHour * hours) / BATCH_SIZE),
    notes: () => `records spread over ${Math.ceil(nextRecord / perHour)} of ${hours} usable hours`,
    makeRequest: () => {
      const dims = [];
      const records = [];
      for (let i = 0; i < BATCH_SIZE; i++) {
        const k = nextRecord++;
        const dimension = Math.floor(k / CUSTOMERS) % DIMENSIONS;
        dims.push(dimension);
        records.push({
          Timestamp: start - Math.floor(k / perHour) * 3600,
          CustomerIdentifier: customerName(k % CUSTOMERS),
          Dimension: dimensionName(dimension),
          Quantity: 1,
        });
      }
      const body = JSON.stringify({ ProductCode: PRODUCT, UsageRecords: records });
      return {
        url: nsUrl,
        init: { method: 'POST', headers, body },
        check: (status, text) => {
          const bad = expectStatus200(status, text);
          if (bad) return bad;
          let answer;
          try { answer = JSON.parse(text); } catch { return `not JSON: ${text.slice(0, 200)}`; }
          const results = answer.Results ?? [];
          if (results.length !== BATCH_SIZE || (answer.UnprocessedRecords ?? []).length !== 0) {
            return `${results.length} results, ${(answer.UnprocessedRecords ?? []).length} unprocessed`;
          }
          const notOk = results.find((r) => r.Status !== 'Success' || !r.MeteringRecordId);
          if (notOk) return `a record answered ${notOk.Status}`;
          for (const d of dims) counters.batchNew[d]++;
          return null;
        },
      };
    },
  };
}

/** One identical MeterUsage request, repeated: after the first, the idempotent path. */
function meterRepeatScenario(nsUrl, counters) {
  const dimension = 0;
  const body = JSON.stringify({
    ProductCode: PRODUCT,
    Timestamp: Math.floor(Date.now() / 1000),
    UsageDimension: dimensionName(dimension),
    UsageQuantity: 1,
  });
  const init = {
    method: 'POST',
    headers: { ...JSON_HEADERS('MeterUsage'), ...authHeaders({ accessKeyId: 'bench-repeat' }) },
    body,
  };
  let recordId = null;
  return {
    name: 'meter-repeat',
    what: 'MeterUsage, one identical request repeated (idempotent)',
    makeRequest: () => ({
      url: nsUrl,
      init,
      check: (status, text) => {
        const bad = expectStatus200(status, text);
        if (bad) return bad;
        const id = /"MeteringRecordId"\s*:\s*"([^"]+)"/.exec(text)?.[1];
        if (!id) return `no MeteringRecordId: ${text.slice(0, 200)}`;
        if (recordId === null) {
          recordId = id;
          counters.meterRepeatRecords[dimension] = 1; // the one record all repeats share
        } else if (id !== recordId) {
          return `a repeat got another MeteringRecordId (${id}, first ${recordId})`;
        }
        return null;
      },
    }),
  };
}

/** ResolveCustomer of the token minted in setUp, over and over (repeatable resolution). */
function resolveScenario(nsUrl, token) {
  const init = {
    method: 'POST',
    headers: { ...JSON_HEADERS('ResolveCustomer'), ...authHeaders({ accessKeyId: 'bench-seller' }) },
    body: JSON.stringify({ RegistrationToken: token }),
  };
  const expected = `"CustomerIdentifier":"${customerName(0)}"`;
  return {
    name: 'resolve',
    what: 'ResolveCustomer of one token, repeated',
    makeRequest: () => ({
      url: nsUrl,
      init,
      check: (status, text) => expectStatus200(status, text) ?? (text.includes(expected) ? null : `unexpected answer: ${text.slice(0, 200)}`),
    }),
  };
}

/** RegisterUsage with a fresh Nonce per request: a new task registered and signed each time. */
function registerScenario(nsUrl, counters) {
  const headers = { ...JSON_HEADERS('RegisterUsage'), ...authHeaders({ accessKeyId: 'bench-container' }) };
  let n = 0;
  return {
    name: 'register',
    what: 'RegisterUsage, each request a new task (registration + RSA-PSS signature)',
    makeRequest: () => {
      const nonce = `bench-task-${++n}`;
      return {
        url: nsUrl,
        init: { method: 'POST', headers, body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: nonce }) },
        check: (status, text) => {
          const bad = expectStatus200(status, text);
          if (bad) return bad;
          if (!/"Signature"\s*:\s*"[\w-]+\.[\w-]+\.[\w-]+"/.test(text)) return `no compact JWS: ${text.slice(0, 200)}`;
          counters.registered += 1;
          return null;
        },
      };
    },
  };
}

/** The registrations of the bench product: each successful new-task call made exactly one. */
async function verifyRegistrations(nsUrl, counters) {
  const r = await control(nsUrl, 'GET', `/registrations?productCode=${PRODUCT}&limit=${USAGE_LIMIT}`);
  if (r.status !== 200) throw new Error(`GET /_mock/registrations answered ${r.status}: ${r.text}`);
  const found = r.json.count;
  const saturated = found >= USAGE_LIMIT;
  return { passed: !saturated && found === counters.registered, saturated, found, expected: counters.registered };
}

// ---------------------------------------------------------------------------------------
// The locked deployment: real SigV4 signatures made ahead of the run by the JS SDK

const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const LOCKED_KEYS = 40;
const LOCKED_HOURS = 6; // MeterUsage accepts 6 hours back

/**
 * Signs MeterUsage inputs with the JS SDK exactly as it would send them, without sending:
 * its request handler keeps the signed request. Returns { url, init } for fetch.
 */
async function signMeterUsage(endpoint, credentials, inputs) {
  /** @type {any} the request the SDK signed */
  let captured;
  const client = new MarketplaceMeteringClient({
    region: 'us-east-1', endpoint, credentials, maxAttempts: 1,
    requestHandler: { handle: async (request) => { captured = request; throw new Error('signed, not sent'); } },
  });
  const inits = [];
  for (const input of inputs) {
    await client.send(new MeterUsageCommand(input)).catch(() => {});
    const { host, 'content-length': length, ...headers } = captured.headers;
    const url = `${captured.protocol}//${captured.hostname}:${captured.port}${captured.path}`;
    inits.push({ url, init: { method: 'POST', headers, body: captured.body } });
  }
  return inits;
}

async function lockedControl(url, token, method, path, body) {
  const r = await controlCall(`${url}${path}`, { method, body, token });
  if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${r.text}`);
  return r.json;
}

/** Provisions the bench namespace of the locked mock and pre-signs its requests. */
async function setUpLocked(mock, requestsPerScenario) {
  const ns = await lockedControl(mock.url, ADMIN_TOKEN, 'POST', '/_admin/namespaces', { name: NAMESPACE });
  const keys = Array.from({ length: LOCKED_KEYS }, (_, i) => [`AKIDBENCH${String(i).padStart(4, '0')}`, `bench-secret-${i}`]);
  await lockedControl(ns.endpoint, ns.controlToken, 'POST', '/_mock/products', {
    productCode: PRODUCT, dimensions: Array.from({ length: DIMENSIONS }, (_, i) => dimensionName(i)),
  });
  await lockedControl(ns.endpoint, ns.controlToken, 'PATCH', '/_mock/settings', {
    signatureCredentials: Object.fromEntries(keys),
  });
  const now = Math.floor(Date.now() / 1000);
  const fresh = Math.min(requestsPerScenario, LOCKED_KEYS * DIMENSIONS * LOCKED_HOURS);
  const byKey = keys.map(() => []);
  for (let n = 0; n < fresh; n++) {
    const key = n % LOCKED_KEYS;
    const rest = Math.floor(n / LOCKED_KEYS);
    byKey[key].push({
      ProductCode: PRODUCT,
      Timestamp: new Date((now - (Math.floor(rest / DIMENSIONS) % LOCKED_HOURS) * 3600) * 1000),
      UsageDimension: dimensionName(rest % DIMENSIONS),
      UsageQuantity: 1,
    });
  }
  const signedByKey = [];
  for (const [i, [accessKeyId, secretAccessKey]] of keys.entries()) {
    signedByKey.push(await signMeterUsage(ns.endpoint, { accessKeyId, secretAccessKey }, byKey[i]));
  }
  const fresh_ = [];
  for (let n = 0; n < fresh; n++) fresh_.push(signedByKey[n % LOCKED_KEYS][Math.floor(n / LOCKED_KEYS)]);
  const [repeat] = await signMeterUsage(ns.endpoint, ns.credentials, [{
    ProductCode: PRODUCT, Timestamp: new Date(now * 1000), UsageDimension: dimensionName(0), UsageQuantity: 1,
  }]);
  return { ns, fresh: fresh_, repeat };
}

function lockedRepeatScenario(repeat) {
  return {
    name: 'meter-repeat-locked',
    what: 'MeterUsage, one signed request replayed (locked: admission, SigV4 check, provisioning)',
    makeRequest: () => ({
      ...repeat,
      check: (status, text) => expectStatus200(status, text) ?? (text.includes('"MeteringRecordId"') ? null : text.slice(0, 200)),
    }),
  };
}

function lockedNewScenario(signed, counters) {
  let next = 0;
  return {
    name: 'meter-new-locked',
    what: `MeterUsage, each request a new record, signed (locked, ${LOCKED_KEYS} keys)`,
    budget: signed.length,
    makeRequest: () => ({
      ...signed[next++],
      check: (status, text) => {
        const bad = expectStatus200(status, text);
        if (bad) return bad;
        counters.lockedNew++;
        return null;
      },
    }),
  };
}

// ---------------------------------------------------------------------------------------
// Set-up, verification, report

async function setUp(nsUrl) {
  const reset = await control(nsUrl, 'POST', '/reset');
  if (reset.status !== 200) throw new Error(`POST /_mock/reset answered ${reset.status}: ${reset.text}`);
  await createProduct(nsUrl, {
    productCode: PRODUCT,
    dimensions: Array.from({ length: DIMENSIONS }, (_, i) => dimensionName(i)),
    customers: Array.from({ length: CUSTOMERS }, (_, i) => ({ customerIdentifier: customerName(i) })),
  });
  const settings = await control(nsUrl, 'PATCH', '/settings', { repeatableTokenResolution: true });
  if (settings.status !== 200) throw new Error(`PATCH /_mock/settings answered ${settings.status}: ${settings.text}`);
  const minted = await control(nsUrl, 'POST', '/registration-tokens', {
    productCode: PRODUCT, customerIdentifier: customerName(0), ttlSeconds: 86_400,
  });
  if (minted.status !== 201) throw new Error(`POST /_mock/registration-tokens answered ${minted.status}: ${minted.text}`);
  // Make the signing key now, so the run measures signing only.
  const keys = await control(nsUrl, 'POST', '/keys');
  if (keys.status !== 201) throw new Error(`POST /_mock/keys answered ${keys.status}: ${keys.text}`);
  return minted.json.registrationToken;
}

/** The ledger records matching `filters` (fewer than a full page, else `null`). */
async function usagePage(nsUrl, filters) {
  const q = new URLSearchParams({ ...filters, limit: String(USAGE_LIMIT) });
  const r = await control(nsUrl, 'GET', `/usage?${q}`);
  if (r.status !== 200) throw new Error(`GET /_mock/usage answered ${r.status}: ${r.text}`);
  return r.json.records.length < USAGE_LIMIT ? r.json.records : null;
}

/**
 * Counts the ledger per dimension and operation and compares with what the successful calls
 * recorded. A dimension whose records fill a page (10000) is counted hour by hour instead.
 */
async function verifyLedger(nsUrl, counters, { fromHour, toHour }) {
  const perDimension = [];
  let saturated = false;
  const totals = { MeterUsage: 0, BatchMeterUsage: 0 };
  for (let d = 0; d < DIMENSIONS; d++) {
    const filters = { product: PRODUCT, dimension: dimensionName(d) };
    let records = await usagePage(nsUrl, filters);
    if (records === null) {
      records = [];
      for (let h = fromHour; h < toHour && !saturated; h += 3600) {
        const page = await usagePage(nsUrl, { ...filters, from: String(h), to: String(h + 3600) });
        if (page === null) saturated = true;
        else records.push(...page);
      }
    }
    const found = { MeterUsage: 0, BatchMeterUsage: 0 };
    for (const rec of records) found[rec.operation] = (found[rec.operation] ?? 0) + 1;
    const expected = {
      MeterUsage: counters.meterNew[d] + counters.meterRepeatRecords[d],
      BatchMeterUsage: counters.batchNew[d],
    };
    totals.MeterUsage += found.MeterUsage;
    totals.BatchMeterUsage += found.BatchMeterUsage;
    perDimension.push({ dimension: dimensionName(d), found, expected });
  }
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const expected = {
    MeterUsage: sum(counters.meterNew) + sum(counters.meterRepeatRecords),
    BatchMeterUsage: sum(counters.batchNew),
  };
  const mismatches = perDimension.filter(
    (p) => p.found.MeterUsage !== p.expected.MeterUsage || p.found.BatchMeterUsage !== p.expected.BatchMeterUsage,
  );
  return {
    passed: !saturated && mismatches.length === 0,
    saturated,
    expected,
    found: totals,
    expectedTotal: expected.MeterUsage + expected.BatchMeterUsage,
    foundTotal: totals.MeterUsage + totals.BatchMeterUsage,
    mismatches,
  };
}

function printTable(rows) {
  const header = ['scenario', 'requests', 'errors', 'dropped', 'timed out', '>1 s', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms',
    'req/s vs ping', 'p50 vs ping', 'records/s'];
  printColumns(header, rows.map((r) => [
    r.name,
    String(r.requests),
    String(r.errors),
    String(r.dropped),
    String(r.timedOut),
    String(r.overOneSecond),
    fmt(r.reqPerSec),
    fmt(r.p50, 2),
    fmt(r.p90, 2),
    fmt(r.p99, 2),
    fmt(r.max, 1),
    `${fmt(r.reqPerSecRatio, 3)}x`,
    `${fmt(r.p50Ratio, 2)}x`,
    r.recordsPerSec === null ? '-' : fmt(r.recordsPerSec),
  ]));
}

/** Runs scenarios one after the other: a warm-up, then the measured load. */
async function runScenarios(scenarios) {
  const results = [];
  for (const s of scenarios.filter(chosen)) {
    let budget = s.budget ?? Infinity;
    const warmMax = Math.min(WARMUP_MAX_REQUESTS, budget);
    const concurrency = CONCURRENCY;
    const warm = await load({ seconds: WARMUP_SECONDS, maxRequests: warmMax, concurrency, makeRequest: s.makeRequest });
    budget -= warm.requests;
    const maxRequests = Math.min(MAX_REQUESTS, budget);
    const m = await load({ seconds: SECONDS, maxRequests, concurrency, makeRequest: s.makeRequest });
    const stoppedBy = m.requests >= maxRequests
      ? (maxRequests < MAX_REQUESTS ? 'fresh-key budget' : 'count')
      : 'time';
    results.push({
      name: s.name,
      what: s.what,
      warmup: { requests: warm.requests, errors: warm.errors, errorSamples: warm.errorSamples },
      ...m,
      stoppedBy,
      notes: s.notes?.(),
      recordsPerSec: s.name === 'batch-new' ? (m.ok * BATCH_SIZE) / m.seconds : null,
    });
    console.error(`  ${s.name}: ${m.requests} requests in ${m.seconds.toFixed(2)}s (stopped by ${stoppedBy}), ${m.errors} errors`);
  }
  return results;
}

/** Ratios of each result to the first (the run's ping). */
function withRatios(results) {
  const [ping] = results;
  for (const r of results) {
    r.reqPerSecRatio = r.reqPerSec / ping.reqPerSec;
    r.p50Ratio = r.p50 / ping.p50;
  }
  return results;
}

/** The runners a run measures: wrangler dev (the harness) and the package's (Miniflare's API). */
const RUNNERS = {
  wrangler: { label: 'wrangler dev', start: (options) => startMock(options) },
  package: {
    label: 'package runner (Miniflare API)',
    /** @param {{vars?: Record<string, string>}} [options] */
    start: async ({ vars } = {}) => {
      const mock = await startPackageMock({ vars });
      return { url: mock.url, stop: () => mock.stop() };
    },
  },
};

function chosenRunners() {
  const i = process.argv.indexOf('--runner');
  const choice = (i >= 0 ? process.argv[i + 1] : undefined) ?? process.env.BENCH_RUNNER ?? 'both';
  if (choice === 'both') return ['wrangler', 'package'];
  if (!RUNNERS[choice]) throw new Error(`--runner must be wrangler, package or both, not '${choice}'`);
  return [choice];
}

/** Every scenario on one runner: the open deployment, then a locked one. */
async function measure(runner) {
  const mock = await runner.start();
  /** @type {any} */
  let outcome;
  try {
    const nsUrl = `${mock.url}/ns/${NAMESPACE}`;
    const token = await setUp(nsUrl);
    const runStart = Date.now() / 1000;
    const counters = {
      meterNew: new Array(DIMENSIONS).fill(0),
      batchNew: new Array(DIMENSIONS).fill(0),
      meterRepeatRecords: new Array(DIMENSIONS).fill(0),
      registered: 0,
    };
    const results = withRatios(await runScenarios([
      pingScenario(mock.url),
      objectPingScenario(nsUrl),
      objectWriteScenario(nsUrl),
      meterNewScenario(nsUrl, counters),
      batchNewScenario(nsUrl, counters),
      meterRepeatScenario(nsUrl, counters),
      resolveScenario(nsUrl, token),
      registerScenario(nsUrl, counters),
    ]));
    const hourOf = (t) => Math.floor(t / 3600) * 3600;
    const verification = await verifyLedger(nsUrl, counters, {
      fromHour: hourOf(runStart) - 24 * 3600,
      toHour: hourOf(Date.now() / 1000) + 2 * 3600,
    });
    const registrations = await verifyRegistrations(nsUrl, counters);
    outcome = { results, verification, registrations, counters };
  } finally {
    await mock.stop();
  }
  outcome.locked = await runLocked(runner, outcome.counters);
  return outcome;
}

function report(label, m) {
  console.log('');
  console.log(`${label}:`);
  printTable(m.results);
  console.log('');
  if (m.locked.results.length > 0) {
    console.log(`${label}, locked deployment (ADMIN_TOKEN set; ratios against its own ping):`);
    printTable(m.locked.results);
  }
  const byName = Object.fromEntries([...m.results, ...m.locked.results].map((r) => [r.name, r]));
  for (const [lockedName, openName] of [['meter-repeat-locked', 'meter-repeat'], ['meter-new-locked', 'meter-new']]) {
    if (!byName[lockedName] || !byName[openName]) continue;
    const ratio = byName[lockedName].reqPerSecRatio / byName[openName].reqPerSecRatio;
    console.log(`locked vs open: ${lockedName} / ${openName} = ${fmt(ratio, 3)}x (each against its own server's ping)`);
  }
  for (const r of [...m.results, ...m.locked.results]) {
    if (r.notes) console.log(`note: ${r.name}: ${r.notes}`);
    if (r.stoppedBy !== 'time') console.log(`note: ${r.name} stopped by its ${r.stoppedBy} after ${r.seconds.toFixed(2)}s`);
    for (const e of [...r.warmup.errorSamples, ...r.errorSamples]) console.log(`error in ${r.name}: ${e}`);
  }
  const v = m.verification;
  console.log(
    `ledger check: ${v.foundTotal} records found, expected ${v.expectedTotal} ` +
      `(MeterUsage ${v.found.MeterUsage}/${v.expected.MeterUsage}, ` +
      `BatchMeterUsage ${v.found.BatchMeterUsage}/${v.expected.BatchMeterUsage} = 25 x ${v.expected.BatchMeterUsage / BATCH_SIZE} batches)` +
      `${v.saturated ? ' — an hour of a dimension reached the 10000-record page limit, cannot verify' : ''}: ` +
      `${v.passed ? 'OK' : 'MISMATCH'}`,
  );
  for (const x of v.mismatches.slice(0, 5)) {
    console.log(`  ${x.dimension}: found ${JSON.stringify(x.found)}, expected ${JSON.stringify(x.expected)}`);
  }
  const g = m.registrations;
  console.log(
    `registration check: ${g.found} tasks registered, expected ${g.expected}` +
      `${g.saturated ? ' — reached the 10000 page limit, cannot verify' : ''}: ${g.passed ? 'OK' : 'MISMATCH'}`,
  );
  console.log(
    `locked ledger check: ${m.locked.verification.found} MeterUsage records, expected ${m.locked.verification.expected}: ` +
      `${m.locked.verification.passed ? 'OK' : 'MISMATCH'}`,
  );
}

/** One Markdown table of every runner side by side, to paste into an issue or a note. */
function pasteTable(measured) {
  const names = measured[0].m.results.map((r) => r.name).concat(measured[0].m.locked.results.map((r) => r.name));
  const find = (m, name) => [...m.results, ...m.locked.results].find((r) => r.name === name);
  const head = ['scenario', ...measured.flatMap(({ label }) => [`${label} req/s`, 'vs ping', 'p50 / p90 / p99 / max ms', 'dropped, timed out, >1 s'])];
  if (measured.length === 2) head.push(`${measured[1].key} / ${measured[0].key}`);
  const rows = names.map((name) => {
    const cells = [name];
    for (const { m } of measured) {
      const r = find(m, name);
      cells.push(fmt(r.reqPerSec), `${fmt(r.reqPerSecRatio, 3)}x`,
        [r.p50, r.p90, r.p99, r.max].map((x) => fmt(x, 1)).join(' / '), `${r.dropped}, ${r.timedOut}, ${r.overOneSecond}`);
    }
    if (measured.length === 2) cells.push(`${fmt(find(measured[1].m, name).reqPerSec / find(measured[0].m, name).reqPerSec, 2)}x`);
    return cells;
  });
  console.log('');
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  const batch = measured.map(({ label, m }) => `${label}: ${fmt(find(m, 'batch-new').recordsPerSec, 0)} records/s`).join('; ');
  console.log(`\nBatchMeterUsage records: ${batch}`);
}

async function main() {
  const runners = chosenRunners();
  console.log(
    `metering-mock bench: ${SECONDS}s or ${MAX_REQUESTS} requests per scenario, ${CONCURRENCY} in flight, ` +
      `warm-up ${WARMUP_SECONDS}s/${WARMUP_MAX_REQUESTS} requests; ${DIMENSIONS} dimensions, ${CUSTOMERS} customers; ` +
      `runners: ${runners.join(', ')}; ${cpus().length} CPUs, Node ${process.version}; load average ${loadavg()[0].toFixed(2)} ` +
      '(other work on the machine skews every number)',
  );
  const loadBefore = loadavg()[0];
  const measured = [];
  for (const key of runners) {
    console.error(`runner: ${RUNNERS[key].label}`);
    measured.push({ key, label: RUNNERS[key].label, m: await measure(RUNNERS[key]) });
  }
  let valid = true;
  for (const { label, m } of measured) {
    report(label, m);
    const errors = [...m.results, ...m.locked.results].reduce((n, r) => n + r.errors + r.warmup.errors, 0);
    valid &&= errors === 0 && m.verification.passed && m.registrations.passed && m.locked.verification.passed;
  }
  pasteTable(measured);
  console.log('(ratios are against ping: req/s ratio < 1 means slower)');
  console.log(valid ? 'result: valid' : 'result: INVALID (errors, ledger or registration mismatch)');
  const out = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version,
      loadAverage1mBefore: loadBefore, loadAverage1mAfter: loadavg()[0],
    },
    config: {
      seconds: SECONDS, concurrency: CONCURRENCY, maxRequests: MAX_REQUESTS,
      warmupSeconds: WARMUP_SECONDS, warmupMaxRequests: WARMUP_MAX_REQUESTS,
      customers: CUSTOMERS, dimensions: DIMENSIONS, batchSize: BATCH_SIZE,
    },
    runners: Object.fromEntries(measured.map(({ key, m }) => [key, {
      scenarios: m.results, locked: m.locked.results, lockedVerification: m.locked.verification,
      verification: m.verification, registrations: m.registrations,
    }])),
    valid,
  };
  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`written: ${join('bench', 'results', 'latest.json')}`);
  if (!valid) process.exitCode = 1;
}

/** The locked deployment's scenarios, on a mock of its own (the open one is stopped by then). */
async function runLocked(runner, counters) {
  if (ONLY.length > 0 && !ONLY.some((name) => name.endsWith('-locked'))) {
    return { results: [], verification: { passed: true, found: 0, expected: 0 } };
  }
  const mock = await runner.start({
    vars: { ADMIN_TOKEN, RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' },
  });
  try {
    const perScenario = MAX_REQUESTS + WARMUP_MAX_REQUESTS;
    const { ns, fresh, repeat } = await setUpLocked(mock, perScenario);
    counters.lockedNew = 0;
    const results = withRatios(await runScenarios([
      { ...pingScenario(mock.url), name: 'ping-locked' },
      lockedRepeatScenario(repeat),
      lockedNewScenario(fresh, counters),
    ]));
    const usage = await lockedControl(ns.endpoint, ns.controlToken, 'GET', `/_mock/usage?limit=${USAGE_LIMIT}`);
    const expected = counters.lockedNew + 1;
    const found = usage.count;
    return { results, verification: { passed: found === expected && found < USAGE_LIMIT, found, expected } };
  } finally {
    await mock.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
