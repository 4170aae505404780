// Where a metering call spends its time: a CPU profile of the worker while it answers one
// kind of request, taken with the V8 inspector of the package runner's workerd (sampling
// every 200 µs). The worker's front door and the namespace's Durable Object run in one
// isolate, so the profile covers both. Rust functions keep their names (the wasm has its
// name section), SQLite shows as the native `exec`.
//
// Usage: node bench/profile.mjs [meter|repeat|batch|register] (npm run bench -- --profile batch)
// Knobs: PROFILE_SECONDS (5), PROFILE_CONCURRENCY (16), PROFILE_TOP (30).
// Prints the share of samples by kind (Rust, SQLite, JS glue, idle) and the functions with
// the largest inclusive share; writes bench/results/<scenario>.cpuprofile, which Chrome's
// DevTools (Performance panel) or speedscope open.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Miniflare } from 'miniflare';
import { Control, miniflareOptions, workerDirectory } from '../lib/index.mjs';
import { authHeaders } from '../tests/node/harness.mjs';
import { loadOrFail } from './load.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCENARIO = process.argv.find((a) => ['meter', 'repeat', 'batch', 'register'].includes(a)) ?? 'batch';
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 16);
const TOP = Number(process.env.PROFILE_TOP ?? 30);
const CUSTOMERS = 1000;
const DIMENSIONS = 25;

const auth = (key) => ({ 'content-type': 'application/x-amz-json-1.1', ...authHeaders({ accessKeyId: key }) });

/** The scenario's next request: always new usage (or a new task), as in bench/run.mjs. */
function requests(ns) {
  let k = 0;
  const start = Math.floor(Date.now() / 1000);
  const post = (operation, key, body) => ({
    url: ns,
    init: {
      method: 'POST',
      headers: { ...auth(key), 'x-amz-target': `AWSMPMeteringService.${operation}` },
      body: JSON.stringify(body),
    },
    check: (status, text) => (status === 200 ? null : `HTTP ${status}: ${text.slice(0, 300)}`),
  });
  return {
    batch: () => {
      const records = [];
      for (let i = 0; i < 25; i++, k++) {
        records.push({
          Timestamp: start - Math.floor(k / (CUSTOMERS * DIMENSIONS)) * 3600,
          CustomerIdentifier: `c${k % CUSTOMERS}`,
          Dimension: `d${Math.floor(k / CUSTOMERS) % DIMENSIONS}`,
          Quantity: 1,
        });
      }
      return post('BatchMeterUsage', 'profile', { ProductCode: 'prod', UsageRecords: records });
    },
    meter: () => {
      const n = k++;
      return post('MeterUsage', `key-${n}`, {
        ProductCode: 'prod', Timestamp: Date.now() / 1000, UsageDimension: `d${n % DIMENSIONS}`, UsageQuantity: 1,
      });
    },
    // One MeterUsage, repeated: a lookup and, with the journal on, one entry per call.
    repeat: () => post('MeterUsage', 'key-repeat', {
      ProductCode: 'prod', Timestamp: start, UsageDimension: 'd0', UsageQuantity: 1,
    }),
    register: () => post('RegisterUsage', '111122223333', {
      ProductCode: 'box', PublicKeyVersion: 1, Nonce: `task-${k++}`,
    }),
  }[SCENARIO];
}

/** Requests per second of `next` with CONCURRENCY in flight for `seconds`. */
const load = (seconds, next) => loadOrFail({ seconds, concurrency: CONCURRENCY, makeRequest: next });

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function inspectorOf(mf) {
  const base = (await mf.getInspectorURL()).href.replace(/^ws/, 'http');
  const targets = await (await fetch(new URL('/json/list', base))).json();
  const ws = new WebSocket(targets.find((t) => t.title?.includes('core:user')).webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  });
  return {
    send: (method, params = {}) => new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

/** Shares of samples: self time by kind, and inclusive time by function. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = new Map();
  for (const s of profile.samples) samples.set(s, (samples.get(s) ?? 0) + 1);
  const name = (f) => (f.functionName || '(anonymous)').replace(/::h[0-9a-f]{16}$/, '').replace(/\[[0-9a-f]{16}\]/g, '');
  const kind = (f) => (f.url.includes('wasm') ? 'Rust (wasm)' : f.url.endsWith('index.js') ? 'JS glue (wasm-bindgen)' : (f.functionName === 'exec' ? 'SQLite (exec)' : f.functionName || '(runtime)'));
  const kinds = new Map();
  const inclusive = new Map();
  for (const [id, count] of samples) {
    const k = kind(byId.get(id).callFrame);
    kinds.set(k, (kinds.get(k) ?? 0) + count);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = name(byId.get(at).callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + count);
    }
  }
  const total = profile.samples.length;
  const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)}%`;
  console.log('self time by kind:');
  for (const [k, c] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${pct(c)}  ${k}`);
  console.log('inclusive time (the metering code, SQLite, serde):');
  const interesting = /metering_mock|^exec$|serde|transactionSync|Response|dlmalloc/;
  for (const [n, c] of [...inclusive].filter(([n]) => interesting.test(n)).sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`  ${pct(c)}  ${n.slice(0, 140)}`);
  }
}

async function main() {
  const dir = workerDirectory();
  const mf = new Miniflare(await miniflareOptions(dir, { host: '127.0.0.1', port: 0, inspectorPort: 0 }));
  try {
    const url = (await mf.ready).origin;
    const ns = `${url}/ns/profile`;
    const control = new Control(ns);
    await control.reset();
    await control.putProduct({
      productCode: 'prod',
      dimensions: Array.from({ length: DIMENSIONS }, (_, i) => `d${i}`),
      customers: Array.from({ length: CUSTOMERS }, (_, i) => ({ customerIdentifier: `c${i}` })),
    });
    await control.putProduct({ productCode: 'box', dimensions: ['vcpu'], customers: [{ customerAWSAccountId: '111122223333' }] });
    await control.request('POST', '/keys');
    const next = requests(ns);
    await load(1, next); // warm-up
    const inspector = await inspectorOf(mf);
    await inspector.send('Profiler.enable');
    await inspector.send('Profiler.setSamplingInterval', { interval: 200 });
    await inspector.send('Profiler.start');
    const rate = await load(SECONDS, next);
    const { profile } = await inspector.send('Profiler.stop');
    inspector.close();
    mkdirSync(join(HERE, 'results'), { recursive: true });
    const file = join(HERE, 'results', `${SCENARIO}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`${SCENARIO}: ${rate.toFixed(0)} req/s while profiled (${CONCURRENCY} in flight, ${SECONDS}s); ${profile.samples.length} samples in ${file}`);
    summarize(profile);
  } finally {
    await mf.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
