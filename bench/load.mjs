// The benchmarks' load loop: a fixed number of requests in flight over keep-alive
// connections, bounded in time and count, and what a user of the mock would look at
// afterwards: throughput, the latency percentiles (p50, p90, p99, max), the requests that
// took over a second (a CI suite with a 1-2 s client timeout fails on those) and the dropped
// connections (the socket failed before an answer: SDKs retry those, tests see flakes).

import { performance } from 'node:perf_hooks';

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A request unanswered this long is given up (and counted as timed out), so a run ends. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Whether a failed fetch lost its connection (reset or closed before an answer). */
function droppedConnection(e) {
  const code = e.cause?.code ?? e.code ?? '';
  return /ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED/.test(code)
    || /other side closed/i.test(e.cause?.message ?? '');
}

/**
 * Runs `makeRequest(n)` with `concurrency` in flight until `seconds` have passed,
 * `maxRequests` have been started or `makeRequest` returns null. `makeRequest` returns
 * { url, init, check }: `check(status, text)` returns null when the answer is right, else a
 * reason. `stopOnError`: no request is started after one failed. Returns the measurements.
 */
export async function load({ seconds, maxRequests, concurrency, makeRequest, stopOnError = false }) {
  const latencies = [];
  const errorSamples = [];
  let started = 0;
  let ok = 0;
  let errors = 0;
  let dropped = 0;
  let timedOut = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;

  async function worker() {
    while (started < maxRequests && performance.now() < deadline && !(stopOnError && errors > 0)) {
      const request = makeRequest(started);
      if (!request) return;
      const n = started++;
      const { url, init, check } = request;
      const begin = performance.now();
      let reason;
      try {
        const r = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await r.text();
        reason = check(r.status, text);
      } catch (e) {
        if (e.name === 'TimeoutError') timedOut++;
        else if (droppedConnection(e)) dropped++;
        reason = `fetch failed: ${e.cause?.code ?? e.name ?? e.message}`;
      }
      latencies.push(performance.now() - begin);
      if (reason) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`#${n}: ${reason}`);
      } else {
        ok++;
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: started,
    ok,
    errors,
    dropped,
    timedOut,
    overOneSecond: latencies.filter((l) => l > 1000).length,
    errorSamples,
    concurrency,
    seconds: elapsed,
    reqPerSec: started / elapsed,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.length ? latencies[latencies.length - 1] : null,
  };
}

/** `load`, for a run that must not fail: its requests per second, or an error naming the failures. */
export async function loadOrFail(options) {
  const r = await load({ maxRequests: Number.MAX_SAFE_INTEGER, stopOnError: true, ...options });
  if (r.errors > 0) throw new Error(`${r.errors} of ${r.requests} requests failed: ${r.errorSamples.join('; ')}`);
  return r.reqPerSec;
}

/** A number for a table: `-` when there is none. */
export const fmt = (x, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** Prints rows (arrays of strings) under `header`, the first column left-aligned. */
export function printColumns(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(row(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(row(l));
}
