// Sustained concurrent load, as a seller's CI or load test puts on the mock: does every
// request get its answer within a second, and does the tail stay near the median?
//
// Under the package's runner (and with `--runner both` also `wrangler dev`), in a namespace
// first filled with BENCH_SOAK_PREFILL usage records (and so a full request journal), at
// 32 and 64 connections (BENCH_SOAK_CONNECTIONS) for BENCH_SOAK_SECONDS (60) each after a
// 5 s warm-up:
//   object-read   GET /_mock/clock of the namespace: the bare Durable Object round trip
//   meter-new     MeterUsage from 1,000 buyer accounts, each call a new instance (its own
//                 session token), so each records a new instance-hour
//   batch-new     BatchMeterUsage of 25 new records (2,000 customers x 100 dimensions x 24 h)
// With `--compare`, the same MeterUsage and BatchMeterUsage requests against the peers that
// are installed: moto (`moto_server`, from PyPI) and WireMock (its standalone jar, named by
// WIREMOCK_JAR or the npm package `wiremock`, with canned stubs; needs java). Peers that are
// not installed are listed as such. And always the runtime's ceiling (bench/ceiling-worker.mjs:
// a plain JavaScript Durable Object on the same Miniflare storing the same ledger rows and
// journal entry, and nothing else), prefilled and measured like the mock. Every server binds
// 127.0.0.1 and is stopped at the end.
//
// Usage: npm run bench -- --soak [--compare] [--runner package|wrangler|both]
// Results: a table on stdout and bench/results/soak.json (git-ignored).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../lib/control.mjs';
import { COMPATIBILITY_DATE, startMock as startPackageMock } from '../lib/index.mjs';
import { authHeaders, freePort, startMock as startWranglerMock } from '../tests/node/harness.mjs';
import { fmt, load, printColumns } from './load.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const SECONDS = num('BENCH_SOAK_SECONDS', 60);
const WARMUP_SECONDS = num('BENCH_SOAK_WARMUP_SECONDS', 5);
const CONNECTIONS = (process.env.BENCH_SOAK_CONNECTIONS ?? '32,64').split(',').map(Number);
if (!CONNECTIONS.every((c) => Number.isInteger(c) && c > 0)) throw new Error('BENCH_SOAK_CONNECTIONS: whole numbers, e.g. 32,64');
const PREFILL = num('BENCH_SOAK_PREFILL', 100_000);
const MAX_REQUESTS = num('BENCH_SOAK_MAX_REQUESTS', 1_000_000);
const ACCOUNTS = 1000;
const CUSTOMERS = 2000;
const DIMENSIONS = 100;
const HOURS = 24;
const BATCH = 25;
// The namespace clock is frozen mid-month, so 24 earlier hours are always in BatchMeterUsage's window.
const FROZEN_AT = '2026-03-20T12:00:00Z';
const NOW = Date.parse(FROZEN_AT) / 1000;
const PRODUCT = 'soak-product';
const account = (i) => String(100_000_000_000 + (i % ACCOUNTS));
const dimension = (i) => `d${i}`;
const customer = (i) => `c${i}`;

const args = process.argv.slice(2);
const runnerChoice = args.includes('--runner') ? args[args.indexOf('--runner') + 1] : 'package';
if (!['package', 'wrangler', 'both'].includes(runnerChoice)) throw new Error(`--runner: package, wrangler or both, not '${runnerChoice}'`);
const compare = args.includes('--compare');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The key-th record of a batch scenario: a distinct (customer, dimension, hour) per key. */
function record(key) {
  const perHour = CUSTOMERS * DIMENSIONS;
  const rest = key % perHour;
  return {
    Timestamp: NOW - Math.floor(key / perHour) * 3600 - 60,
    CustomerIdentifier: customer(Math.floor(rest / DIMENSIONS)),
    Dimension: dimension(rest % DIMENSIONS),
    Quantity: 1,
  };
}
const KEYS = CUSTOMERS * DIMENSIONS * HOURS;

const awsInit = (operation, accessKeyId, body, extra = {}) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `AWSMPMeteringService.${operation}`,
    ...authHeaders({ accessKeyId }),
    ...extra,
  },
  body: JSON.stringify(body),
});
const status200 = (status, text) => (status === 200 ? null : `HTTP ${status}: ${text.slice(0, 160)}`);

/** What makes an answer right: the mock's is checked whole, a peer's only for its status. */
function answerOf(text) {
  try { return JSON.parse(text); } catch { return {}; }
}
const meterAnswer = (strict) => (status, text) => status200(status, text)
  ?? (!strict || UUID.test(answerOf(text).MeteringRecordId ?? '') ? null : `no MeteringRecordId: ${text.slice(0, 160)}`);
const batchAnswer = (strict) => (status, text) => {
  const bad = status200(status, text);
  if (bad || !strict) return bad;
  const { Results = [], UnprocessedRecords = [] } = answerOf(text);
  const all = Results.length === BATCH && Results.every((r) => r.Status === 'Success') && UnprocessedRecords.length === 0;
  return all ? null : `not ${BATCH} new records: ${text.slice(0, 160)}`;
};

/** The scenarios against `endpoint` (`withObject`: the mock, else a peer); `state` carries
 * the batch keys and the MeterUsage instances across scenarios. */
function scenarios(endpoint, state, { withObject }) {
  const list = [];
  if (withObject) {
    list.push({ name: 'object-read', makeRequest: () => ({ url: `${endpoint}/_mock/clock`, init: { method: 'GET' }, check: status200 }) });
  }
  list.push({
    name: 'meter-new',
    makeRequest: (n) => {
      const i = state.meterCalls++;
      return {
        url: endpoint,
        init: awsInit('MeterUsage', account(i), {
          ProductCode: PRODUCT, Timestamp: NOW - 30, UsageDimension: dimension(i % DIMENSIONS), UsageQuantity: 1,
        }, { 'x-amz-security-token': `soak-instance-${i}-${n}` }),
        check: meterAnswer(withObject),
      };
    },
  });
  list.push({
    name: 'batch-new',
    batch: true,
    makeRequest: () => {
      // A peer keeps no ledger worth keeping fresh (stubs store nothing): its keys wrap around.
      if (state.wrapKeys && state.nextKey + BATCH > KEYS) state.nextKey = 0;
      const first = state.nextKey;
      state.nextKey += BATCH;
      if (state.nextKey > KEYS) throw new Error(`batch-new ran out of fresh keys (${KEYS}): lower BENCH_SOAK_SECONDS or BENCH_SOAK_PREFILL`);
      const records = Array.from({ length: BATCH }, (_, j) => record(first + j));
      return {
        url: endpoint,
        init: awsInit('BatchMeterUsage', 'soak-seller', { ProductCode: PRODUCT, UsageRecords: records }),
        check: batchAnswer(withObject),
      };
    },
  });
  return list;
}

async function control(base, method, path, body) {
  const r = await controlCall(`${base}/_mock${path}`, { method, body, timeoutMs: 600_000 });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/** The namespace: its product, the frozen clock, and PREFILL records (a full journal too). */
async function prepare(endpoint, state) {
  await control(endpoint, 'POST', '/reset');
  await control(endpoint, 'POST', '/products', {
    productCode: PRODUCT,
    dimensions: Array.from({ length: DIMENSIONS }, (_, i) => dimension(i)),
    customers: [
      ...Array.from({ length: ACCOUNTS }, (_, i) => ({ customerAWSAccountId: account(i) })),
      ...Array.from({ length: CUSTOMERS }, (_, i) => ({ customerIdentifier: customer(i) })),
    ],
  });
  await control(endpoint, 'PUT', '/clock', { frozenAt: FROZEN_AT });
  await prefill(endpoint, state);
}

/** PREFILL records through BatchMeterUsage (the mock's journal fills on the way). */
async function prefill(endpoint, state) {
  const batch = scenarios(endpoint, state, { withObject: false }).find((s) => s.name === 'batch-new');
  const started = Date.now();
  const fill = await load({ seconds: 3600, maxRequests: Math.ceil(PREFILL / BATCH), concurrency: 16, makeRequest: batch.makeRequest });
  if (fill.errors > 0) throw new Error(`prefill: ${fill.errors} errors: ${fill.errorSamples.join('; ')}`);
  if (fill.ok * BATCH < PREFILL) throw new Error(`prefill: only ${fill.ok * BATCH} of ${PREFILL} records within an hour`);
  console.error(`  prefilled ${fill.ok * BATCH} records in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function measure(label, endpoint, state, { withObject }) {
  const rows = [];
  for (const connections of CONNECTIONS) {
    for (const s of scenarios(endpoint, state, { withObject })) {
      await load({ seconds: WARMUP_SECONDS, maxRequests: MAX_REQUESTS, concurrency: connections, makeRequest: s.makeRequest });
      const m = await load({ seconds: SECONDS, maxRequests: MAX_REQUESTS, concurrency: connections, makeRequest: s.makeRequest });
      // Records per second only where records are kept: a peer's canned answer records nothing.
      const recordsPerSec = s.batch && withObject ? (m.ok * BATCH) / m.seconds : null;
      rows.push({ target: label, name: s.name, ...m, recordsPerSec });
      console.error(`  ${label} ${s.name} @${connections}: ${m.requests} requests, ${m.errors} errors, p99 ${fmt(m.p99)} ms`);
    }
  }
  return rows;
}

// ------------------------------------------------------------------------------ the peers

/** Waits until `url` answers anything (a peer's start-up), at most `ms`. */
async function reachable(url, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { await fetch(url); return; } catch { await new Promise((r) => setTimeout(r, 250)); }
  }
  throw new Error(`${url} did not come up within ${ms / 1000} s`);
}

/** Everything this run started, stopped on the way out whatever happens (Ctrl-C included). */
const running = new Set();
async function stopAll() {
  await Promise.all([...running].map((stop) => stop()));
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)); });
}

/** A peer's process group: stopped with SIGTERM, then SIGKILL if it lingers; then `cleanup`. */
function spawnPeer(command, argv, cleanup = () => {}) {
  const child = spawn(command, argv, { stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    running.delete(stop);
    try {
      process.kill(-child.pid, 'SIGTERM');
      const late = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(late);
    } catch { /* already gone */ }
    cleanup();
  };
  running.add(stop);
  return { child, stop };
}

const hasCommand = (name) => {
  try { execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }); return true; } catch { return false; }
};

/** moto's server mode (moto[server] from PyPI), if installed. */
async function startMoto() {
  if (!hasCommand('moto_server')) return { missing: 'moto_server not found (pip install "moto[server]")' };
  const port = await freePort();
  const peer = spawnPeer('moto_server', ['-H', '127.0.0.1', '-p', String(port)]);
  try {
    await reachable(`http://127.0.0.1:${port}/moto-api/`);
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}`, stop: peer.stop };
}

/** WireMock's standalone jar with canned Metering answers, if installed. */
async function startWireMock() {
  let jar = process.env.WIREMOCK_JAR;
  if (!jar) {
    try {
      const pkg = createRequire(import.meta.url).resolve('wiremock/package.json');
      const dir = join(dirname(pkg), 'build');
      jar = existsSync(dir) ? readdirSync(dir).filter((f) => /^wiremock-standalone.*\.jar$/.test(f)).map((f) => join(dir, f))[0] : undefined;
    } catch { /* not installed */ }
  }
  if (!jar || !existsSync(jar)) return { missing: 'no WireMock jar (set WIREMOCK_JAR, or npm install wiremock)' };
  if (!hasCommand('java')) return { missing: 'java not found' };
  const port = await freePort();
  // Its mappings/ and __files/ go to a directory of its own, not the working directory.
  const root = mkdtempSync(join(tmpdir(), 'soak-wiremock-'));
  const peer = spawnPeer('java', ['-jar', jar, '--bind-address', '127.0.0.1', '--port', String(port), '--no-request-journal', '--root-dir', root],
    () => rmSync(root, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await reachable(`${url}/__admin/health`);
    await stubMetering(url);
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return { url, stop: peer.stop };
}

/** WireMock's canned answers: what a stub-based mock of the Metering Service serves. */
async function stubMetering(url) {
  const stub = (operation, body) => fetch(`${url}/__admin/mappings`, {
    method: 'POST',
    body: JSON.stringify({
      request: { method: 'POST', url: '/', headers: { 'X-Amz-Target': { equalTo: `AWSMPMeteringService.${operation}` } } },
      response: { status: 200, headers: { 'Content-Type': 'application/x-amz-json-1.1' }, jsonBody: body },
    }),
  });
  await stub('MeterUsage', { MeteringRecordId: '11111111-2222-3333-4444-555555555555' });
  await stub('BatchMeterUsage', { Results: [], UnprocessedRecords: [] });
}

/** The runtime's ceiling: bench/ceiling-worker.mjs on the Miniflare the package runner uses. */
async function startCeiling() {
  const { Miniflare, convertV4MiniflareOptions } = await import('miniflare');
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: true,
    scriptPath: join(HERE, 'ceiling-worker.mjs'),
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { CEILING: { className: 'Ceiling', useSQLite: true } },
    host: '127.0.0.1',
    port: 0,
  }));
  const stop = async () => { running.delete(stop); await mf.dispose(); };
  running.add(stop);
  const url = await mf.ready;
  return { url: url.origin, stop };
}

// ------------------------------------------------------------------------------ the run

async function main() {
  console.log(`metering-mock soak: ${SECONDS} s per scenario after ${WARMUP_SECONDS} s of warm-up, connections ${CONNECTIONS.join(', ')}, ` +
    `${PREFILL} records prefilled; ${cpus().length} CPUs, Node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);
  const runners = runnerChoice === 'both' ? ['package', 'wrangler'] : [runnerChoice];
  const rows = [];
  for (const runner of runners) {
    const vars = { MAX_USAGE_RECORDS: String(10_000_000), MAX_CUSTOMERS_PER_PRODUCT: String(ACCOUNTS + CUSTOMERS) };
    const mock = runner === 'package' ? await startPackageMock({ vars }) : await startWranglerMock({ vars });
    const stopMock = async () => {
      running.delete(stopMock);
      await mock.stop();
      if (mock.stateDir) rmSync(mock.stateDir, { recursive: true, force: true });
    };
    running.add(stopMock);
    try {
      const endpoint = `${mock.url}/ns/soak`;
      const state = { nextKey: 0, meterCalls: 0 };
      await prepare(endpoint, state);
      rows.push(...await measure(runner, endpoint, state, { withObject: true }));
    } finally {
      await stopMock();
    }
  }
  const peers = [];
  if (compare) {
    const ceiling = await startCeiling();
    try {
      const endpoint = `${ceiling.url}/ns/soak`;
      const state = { nextKey: 0, meterCalls: 0 };
      await prefill(endpoint, state);
      rows.push(...await measure('ceiling (JS)', endpoint, state, { withObject: true }));
    } finally {
      await ceiling.stop();
    }
    /** @type {[string, () => Promise<any>][]} */
    const candidates = [['wiremock', startWireMock], ['moto', startMoto]];
    for (const [name, start] of candidates) {
      const peer = await start();
      if (peer.missing) { peers.push({ name, missing: peer.missing }); continue; }
      try {
        // A peer is checked for its status only: canned or partial answers still count as served.
        const state = { nextKey: 0, meterCalls: 0, wrapKeys: true };
        rows.push(...await measure(name, peer.url, state, { withObject: false }));
        peers.push({ name });
      } finally {
        await peer.stop();
      }
    }
  }

  console.log('');
  printColumns(
    ['target', 'scenario', 'conns', 'requests', 'errors', 'dropped', 'timed out', '>1 s', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p99/p50', 'records/s'],
    rows.map((r) => [r.target, r.name, String(r.concurrency), String(r.requests), String(r.errors), String(r.dropped), String(r.timedOut),
      String(r.overOneSecond), fmt(r.reqPerSec), fmt(r.p50), fmt(r.p90), fmt(r.p99), fmt(r.max), `${fmt(r.p99 / r.p50, 1)}x`,
      r.recordsPerSec === null ? '-' : fmt(r.recordsPerSec, 0)]),
  );
  for (const p of peers.filter((x) => x.missing)) console.log(`peer ${p.name}: not measured, ${p.missing}`);
  const find = (target, name, c) => rows.find((r) => r.target === target && r.name === name && r.concurrency === c);
  console.log('');
  const targets = [...runners, ...(compare ? ['ceiling (JS)'] : [])];
  for (const target of targets) {
    for (const c of CONNECTIONS) {
      const meter = find(target, 'meter-new', c);
      const batch = find(target, 'batch-new', c);
      const object = find(target, 'object-read', c);
      const wire = find('wiremock', 'meter-new', c);
      const ceiling = target === 'ceiling (JS)' ? undefined : find('ceiling (JS)', 'meter-new', c);
      const ratios = [`MeterUsage ${fmt(meter.reqPerSec / object.reqPerSec, 2)}x the object round trip`];
      if (wire) ratios.push(`${fmt(meter.reqPerSec / wire.reqPerSec, 2)}x WireMock's stubs`);
      if (ceiling) ratios.push(`${fmt(meter.reqPerSec / ceiling.reqPerSec, 2)}x the ceiling's`);
      const records = [`BatchMeterUsage ${fmt(batch.recordsPerSec, 0)} records/s`];
      if (ceiling) records.push(`${fmt(batch.recordsPerSec / find('ceiling (JS)', 'batch-new', c).recordsPerSec, 2)}x the ceiling's`);
      console.log(`${target} @${c}: ${ratios.join(', ')}; ${records.join(', ')}`);
    }
  }
  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'soak.json'), `${JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, prefill: PREFILL, rows, peers }, null, 2)}\n`);
  console.log(`written: ${join('bench', 'results', 'soak.json')}`);
}

main().catch(async (e) => {
  console.error(e);
  await stopAll();
  process.exitCode = 1;
});
