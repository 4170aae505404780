// `npm start` (scripts/dev.mjs): the package's runner for people changing the Rust code. It
// must serve the worker, keep state where `wrangler dev` does (so the two share it), take
// wrangler's --var, stop on Ctrl-C, and rebuild and restart when a source file changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawCall, startMock, tempStateDir, usageRecords, nowSeconds } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Starts scripts/dev.mjs; resolves once it printed its address. */
async function startDev(args) {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'dev.mjs'), '--port', '0', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = [];
  const onData = (d) => {
    output += d;
    for (const w of [...waiters]) if (w.pattern.test(output)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern, ms) => new Promise((resolve, reject) => {
    if (pattern.test(output)) return resolve();
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${output}`)), ms);
    waiters.push({ pattern, resolve: () => { clearTimeout(timer); resolve(); } });
  });
  try {
    await Promise.race([
      waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 30_000),
      exited.then(({ code }) => { throw new Error(`dev.mjs exited ${code}:\n${output}`); }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)[1];
  return {
    url,
    waitFor,
    output: () => output,
    /** Ctrl-C; resolves with how it exited. */
    async interrupt() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}

const meter = (url, quantity) => rawCall(url, 'MeterUsage', {
  ProductCode: 'demo-ami-product', Timestamp: nowSeconds(), UsageDimension: 'hosts', UsageQuantity: quantity,
});

test('npm start serves the worker with state where wrangler dev keeps it, and takes --var', async () => {
  const stateDir = tempStateDir();
  try {
    const dev = await startDev(['--persist-to', stateDir, '--no-watch']);
    let recorded;
    try {
      const r = await meter(dev.url, 4);
      assert.equal(r.status, 200, r.text);
      recorded = r.json.MeteringRecordId;
    } finally {
      assert.equal((await dev.interrupt()).code, 130, 'Ctrl-C stops it as a shell expects (128 + SIGINT)');
    }
    // wrangler dev on the same directory sees the record.
    const wrangler = await startMock({ stateDir });
    try {
      const records = await usageRecords(wrangler.url);
      assert.deepEqual(records.map((x) => x.meteringRecordId), [recorded]);
    } finally {
      await wrangler.stop();
    }
    // --var as wrangler's: ADMIN_TOKEN locks the deployment.
    const locked = await startDev(['--persist-to', stateDir, '--no-watch', '--var', 'ADMIN_TOKEN:dev-test-token-0123456789']);
    try {
      assert.equal((await fetch(`${locked.url}/_mock/usage`)).status, 401);
      const admin = await fetch(`${locked.url}/_admin/namespaces`, { headers: { authorization: 'Bearer dev-test-token-0123456789' } });
      assert.equal(admin.status, 200);
    } finally {
      await locked.interrupt();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('npm start rebuilds and restarts on the same port when the Rust code changes', async () => {
  const stateDir = tempStateDir();
  const dev = await startDev(['--persist-to', stateDir]);
  try {
    const first = await meter(dev.url, 1);
    assert.equal(first.status, 200, first.text);
    const now = new Date();
    utimesSync(join(ROOT, 'src', 'lib.rs'), now, now); // a change cargo sees; the content stays
    await dev.waitFor(/rebuilt and restarted on http:\/\/127\.0\.0\.1:\d+/, 600_000);
    assert.match(dev.output(), new RegExp(`rebuilt and restarted on ${dev.url.replace(/\./g, '\\.')}`));
    const again = await meter(dev.url, 1);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.MeteringRecordId, first.json.MeteringRecordId, 'the state outlives the restart');
  } finally {
    await dev.interrupt();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
