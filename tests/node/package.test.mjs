// The npm package: its JS API and its CLI from this checkout, then the real thing: the package
// packed, installed from the tarball into an empty project with no cargo on PATH, started with
// `npx metering-mock --port 0`, metered through the JS SDK, and used by the README's pytest
// fixture. The time from `npm install <tarball>` to the first answered call is reported.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarketplaceMeteringClient, MeterUsageCommand, BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { startMock, COMPATIBILITY_DATE, MockError } from '../../lib/index.mjs';
import { missingClient } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'cli', 'metering-mock.mjs');
const NOW = Math.floor(Date.now() / 1000);
const hasPytest = spawnSync('python3', ['-c', 'import pytest, boto3'], { stdio: 'ignore' }).status === 0;

let work;
before(() => { work = mkdtempSync(join(tmpdir(), 'package-test-')); });
after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

const client = (endpoint) => new MarketplaceMeteringClient({
  region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
});
const meter = (endpoint, quantity = 1) => client(endpoint).send(new MeterUsageCommand({
  ProductCode: 'demo-ami-product', Timestamp: new Date(NOW * 1000), UsageDimension: 'hosts', UsageQuantity: quantity,
}));

/** Starts the CLI; resolves with its first line's URL, the child and its output so far. */
/** CLIs still running: a test that fails before it stops its CLI leaves it to after(). */
const running = new Set();
after(() => {
  for (const child of running) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

function startCli(args, { cwd = ROOT, env = process.env, command = [process.execPath, CLI] } = {}) {
  // Its own process group: npx does not pass signals on to the mock it starts.
  const child = spawn(command[0], [...command.slice(1), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code) => { running.delete(child); resolve(code); }));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address within 60 s:\n${output}`)), 60_000);
    const read = (d) => {
      output += d;
      const m = output.match(/metering-mock listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', (d) => { output += d; });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`exited ${code} before listening:\n${output}`)); });
  });
  return { child, url, exited, output: () => output };
}

test('the JS API: start, meter with the SDK, drive the control API, namespaces, stop', async () => {
  const mock = await startMock();
  try {
    assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const metered = await meter(mock.endpoint, 3);
    assert.match(metered.MeteringRecordId, /^[0-9a-f-]{36}$/);
    const usage = await mock.control.usage();
    assert.equal(usage.length, 1);
    assert.equal(usage[0].quantity, '3');

    const other = mock.namespace('api-test');
    await other.control.putProduct({ productCode: 'p', dimensions: ['d'], customers: [{ customerIdentifier: 'c' }] });
    await other.control.setClock({ frozenAt: '2026-03-10T12:30:00Z' });
    const batch = await client(other.endpoint).send(new BatchMeterUsageCommand({
      ProductCode: 'p', UsageRecords: [{ Timestamp: new Date('2026-03-10T12:00:00Z'), CustomerIdentifier: 'c', Dimension: 'd', Quantity: 1 }],
    }));
    assert.equal(batch.Results[0].Status, 'Success');
    assert.equal((await other.control.usage()).length, 1);
    assert.equal((await mock.control.usage()).length, 1, 'namespaces are isolated');
    await assert.rejects(other.control.putProduct({ productCode: 'bad code', dimensions: ['d'] }), (e) => e instanceof MockError && e.status === 400 && /productCode/.test(e.message));
    const token = await other.control.mintToken({ productCode: 'p', customerIdentifier: 'c' });
    assert.ok(token.registrationToken);
    await other.control.putProduct({ productCode: 'p', dimensions: ['d'], customers: [{ customerIdentifier: 'c' }], fulfillmentUrl: 'https://seller.example.com/r' });
    const link = await other.control.signupLink({ productCode: 'p' });
    assert.equal(link.url, `${mock.url}/ns/api-test/_mock/marketplace/subscribe?${link.link.split('?')[1]}`);
    const page = await fetch(link.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /https:\/\/seller\.example\.com\/r/);
    await other.control.reset('empty');
    assert.deepEqual(await other.control.products(), []);
  } finally {
    await mock.stop();
    await mock.stop();
  }
});

test('the JS API: a seed gives exactly that state; persist keeps it across a restart; a port in use is a clear error', async () => {
  const dir = join(work, 'state');
  const seed = { products: [{ productCode: 'mine', dimensions: ['d'], customers: [{ customerIdentifier: 'c' }] }], settings: { maxFutureSeconds: 60 } };
  const first = await startMock({ persist: dir, seed });
  const port = first.port;
  try {
    assert.deepEqual((await first.control.products()).map((p) => p.productCode), ['mine']);
    assert.equal((await first.control.settings()).maxFutureSeconds, 60);
    await first.control.putProduct({ productCode: 'added', dimensions: ['d'] });
    await assert.rejects(startMock({ port }), /port \d+ on 127\.0\.0\.1 is in use/);
  } finally {
    await first.stop();
  }
  const second = await startMock({ persist: dir });
  try {
    assert.deepEqual((await second.control.products()).map((p) => p.productCode).sort(), ['added', 'mine']);
  } finally {
    await second.stop();
  }
  await assert.rejects(startMock({ seed: { products: [{ productCode: 'x', dimensions: [] }] } }), /products\[0\]/);
  await assert.rejects(startMock({ seed, adminToken: 'a-locked-admin-token-123456' }), /open mock/);
  const wranglerToml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  assert.match(wranglerToml, new RegExp(`compatibility_date = "${COMPATIBILITY_DATE}"`));
});

test('the CLI keeps its default state directory out of git', async () => {
  const project = mkdtempSync(join(tmpdir(), 'metering-mock-project-'));
  try {
    const run = startCli(['--port', '0'], { cwd: project });
    await run.url;
    assert.equal(readFileSync(join(project, '.metering-mock', '.gitignore'), 'utf8').split('\n').at(-2), '*');
    process.kill(-run.child.pid, 'SIGINT');
    await run.exited;
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});

test('the CLI: banner, --verbose access log, --seed errors with their path, port in use, Ctrl-C', async () => {
  const run = startCli(['--port', '0', '--in-memory', '--verbose']);
  const url = await run.url;
  await meter(url);
  await new Promise((r) => setTimeout(r, 300));
  assert.match(run.output(), /export AWS_ENDPOINT_URL_MARKETPLACE_METERING=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(run.output(), /POST \/ MeterUsage → 200/);
  const port = Number(new URL(url).port);
  const busy = spawnSync(process.execPath, [CLI, '--port', String(port), '--in-memory'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
  // Ctrl-C: the runtime is stopped with it (exit 130, as after any Ctrl-C) and the port is free.
  process.kill(-run.child.pid, 'SIGINT');
  assert.ok([0, 130].includes(await run.exited), run.output());
  // The runtime's process may take a moment to let go of the port after the CLI exits.
  const listens = () => new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(() => resolve(true)));
  });
  let free = await listens();
  for (let tries = 0; !free && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    free = await listens();
  }
  assert.ok(free, `port ${port} still in use 5 s after Ctrl-C`);

  const badSeed = join(work, 'bad-seed.json');
  writeFileSync(badSeed, JSON.stringify({ products: [{ productCode: 'p', dimensions: ['d'], customers: [{ customerAWSAccountId: 'x1' }] }] }));
  const refused = spawnSync(process.execPath, [CLI, '--port', '0', '--in-memory', '--seed', badSeed], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(refused.status, 1, refused.stdout);
  assert.match(refused.stderr, /products\[0\]\.customers\[0\]\.customerAWSAccountId: 'x1' must be digits/);
  assert.equal(spawnSync(process.execPath, [CLI, '--port', 'many'], { encoding: 'utf8' }).status, 2);
  assert.equal(spawnSync(process.execPath, [CLI, '--in-memory', '--persist', 'x'], { encoding: 'utf8' }).status, 2);
});

test('packed, installed into an empty project without cargo, npx metering-mock answers the JS SDK (time to first call)', async (t) => {
  const pack = spawnSync('bash', [join(ROOT, 'scripts', 'package.sh'), work], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, METERING_MOCK_SKIP_BUILD: '1' }, timeout: 300_000,
  });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = pack.stdout.trim().split('\n').pop();
  assert.ok(existsSync(tarball), tarball);
  const project = join(work, 'seller-project');
  cpSync(join(ROOT, 'examples', 'python'), project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'seller-project', private: true }));
  // No Rust anywhere on PATH: the package must not need it.
  const PATH = process.env.PATH.split(delimiter).filter((p) => !p.includes('.cargo')).join(delimiter);
  const env = { ...process.env, PATH, CARGO_HOME: join(work, 'no-cargo'), RUSTUP_HOME: join(work, 'no-rustup') };
  assert.notEqual(spawnSync('sh', ['-c', 'command -v cargo'], { env }).status, 0, 'cargo must not be on PATH');

  const started = Date.now();
  const install = await new Promise((resolve) => {
    execFile('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, env, timeout: 300_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
  });
  assert.equal(install.code, 0, install.stderr);
  const installed = Date.now();
  const run = startCli(['--port', '0', '--in-memory'], { cwd: project, env, command: ['npx', 'metering-mock'] });
  try {
    const url = await run.url;
    const answer = await meter(url);
    const firstCall = Date.now();
    assert.ok(answer.MeteringRecordId);
    t.diagnostic(`npm install of the tarball: ${((installed - started) / 1000).toFixed(1)} s; to the first answered call: ${((firstCall - started) / 1000).toFixed(1)} s`);
    assert.match(readFileSync(join(project, 'node_modules', 'metering-mock', 'package.json'), 'utf8'), /"version"/);
    // The service models the README's AWS CLI and boto3 steps put on botocore's data path.
    for (const model of ['marketplace-agreement-2020-03-01.service-2.json', 'marketplace-discovery-2026-02-05.service-2.json', 'marketplace-deployment-2023-01-25.service-2.json']) {
      assert.ok(existsSync(join(project, 'node_modules', 'metering-mock', 'models', model)), model);
    }
  } finally {
    process.kill(-run.child.pid, 'SIGTERM');
    await run.exited;
  }

  // The README's pytest fixture, in the same project.
  if (missingClient(t, hasPytest, 'pytest and boto3')) return;
  const pytest = spawnSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: project, env, encoding: 'utf8', timeout: 180_000 });
  assert.equal(pytest.status, 0, `${pytest.stdout}\n${pytest.stderr}`);
  assert.match(pytest.stdout, /2 passed/);
  await new Promise((r) => setTimeout(r, 1000));
  const left = spawnSync('pgrep', ['-f', project], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', 'the fixture and npx stopped the mock and its runtime');
});

test('a port is free again after stop', async () => {
  const mock = await startMock();
  const { port } = mock;
  await mock.stop();
  await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(resolve));
  });
});

test('the README\'s node:test and vitest examples pass against the package', () => {
  // Without the outer runner's context, so the inner run reports as it would for a user.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  const nodeTest = spawnSync(process.execPath, ['--test', join(ROOT, 'examples', 'node', 'metering.test.mjs')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(nodeTest.status, 0, `${nodeTest.stdout}\n${nodeTest.stderr}`);
  assert.match(nodeTest.stdout, /# pass 2/);
  const vitest = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', join(ROOT, 'examples', 'vitest')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(vitest.status, 0, `${vitest.stdout}\n${vitest.stderr}`);
  assert.match(vitest.stdout, /1 passed/);
});
