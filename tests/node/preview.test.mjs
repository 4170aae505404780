// The preview script (scripts/preview.mjs) against a fake wrangler on PATH that records its
// arguments and plays Cloudflare's answers, failures included; the "deployed" Worker is a
// locked wrangler dev mock, so seeding really happens. Idempotent up, up --fresh, down twice,
// failures that propagate with a clear message and leave nothing half-created, --dry-run
// offline, and the real wrangler's offline dry-run of a preview's bundle.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEphemeralMock, freePort } from './harness.mjs';
import { workerName, adminToken } from '../../scripts/preview.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PREVIEW = join(ROOT, 'scripts', 'preview.mjs');
const SECRET = 'preview-secret-for-the-tests-0123456789';
const BRANCH = 'feature/Preview Environments';

let mock;
let bin;
let stateFile;

before(async () => {
  // The preview's Worker stands in as a locked local mock with the token `up` derives.
  mock = await startEphemeralMock({ vars: { ADMIN_TOKEN: adminToken(workerName(BRANCH), SECRET) } });
  bin = mkdtempSync(join(tmpdir(), 'fake-wrangler-'));
  copyFileSync(join(ROOT, 'tests', 'node', 'fakes', 'wrangler.mjs'), join(bin, 'wrangler'));
  chmodSync(join(bin, 'wrangler'), 0o755);
  stateFile = join(bin, 'state.json');
});

after(async () => {
  await mock?.stop();
  if (bin) rmSync(bin, { recursive: true, force: true });
});

function preview(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [PREVIEW, ...args], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        PREVIEW_SECRET: SECRET,
        FAKE_WRANGLER_STATE: stateFile,
        PREVIEW_URL_OVERRIDE: mock.url,
        PREVIEW_READY_TIMEOUT_MS: '3000',
        ...env,
      },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
  });
}

const state = () => (existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : { workers: {} });
const calls = () => (existsSync(`${stateFile}.calls`) ? readFileSync(`${stateFile}.calls`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
const resetCalls = () => writeFileSync(`${stateFile}.calls`, '');

async function demoNamespace() {
  const r = await fetch(`${mock.url}/_admin/namespaces`, { headers: { authorization: `Bearer ${adminToken(workerName(BRANCH), SECRET)}` } });
  return (await r.json()).namespaces.find((n) => n.name === 'demo');
}

test('worker names fit a workers.dev label for any branch; tokens are derived, not stored', () => {
  for (const branch of ['main', 'a'.repeat(300), 'Ünïcödé/🚀', 'dependabot/npm_and_yarn/x-1.2.3']) {
    const name = workerName(branch);
    assert.match(name, /^metering-mock-[a-z0-9-]+$/);
    assert.ok(name.length <= 63, name);
  }
  assert.equal(adminToken('w', SECRET), adminToken('w', SECRET));
  assert.notEqual(adminToken('w', SECRET), adminToken('v', SECRET));
  assert.throws(() => adminToken('w', 'short'), /PREVIEW_SECRET/);
});

test('--dry-run prints the plan offline and runs nothing, even without PREVIEW_SECRET', async () => {
  resetCalls();
  const r = await preview(['up', BRANCH, '--dry-run', '--fresh'], { PREVIEW_SECRET: '', CLOUDFLARE_WORKERS_SUBDOMAIN: 'acme' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`https://${workerName(BRANCH)}\\.acme\\.workers\\.dev`));
  assert.match(r.stdout, /wrangler deploy --name metering-mock-/);
  assert.match(r.stdout, /wrangler delete --name/);
  const down = await preview(['down', BRANCH, '--dry-run']);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(calls(), []);
});

test('up deploys with the token as a secret of the deployment, seeds demo, and is idempotent; --fresh starts over', async () => {
  resetCalls();
  const outputFile = join(bin, 'github-output');
  writeFileSync(outputFile, '');
  const first = await preview(['up', BRANCH, '--github-output'], { GITHUB_OUTPUT: outputFile });
  assert.equal(first.code, 0, first.stderr);
  const name = workerName(BRANCH);
  assert.deepEqual(state().workers[name].secrets, { ADMIN_TOKEN: adminToken(name, SECRET) });
  const made = calls();
  assert.deepEqual(made[0], ['deployments', 'status', '--name', name, '--json']);
  assert.deepEqual(made[1].slice(0, 4), ['deploy', '--name', name, '--secrets-file']);
  assert.ok(!existsSync(made[1][4]), 'the secrets file is removed after the deploy');
  assert.ok(!first.stdout.includes(adminToken(name, SECRET)), 'the admin token is never printed by up');
  const outputs = readFileSync(outputFile, 'utf8');
  assert.match(outputs, new RegExp(`^url=${mock.url}$`, 'm'));
  assert.match(outputs, /^secret-access-key=/m);
  const demo = await demoNamespace();
  assert.ok(demo, 'up provisions the demo namespace');

  const again = await preview(['up', BRANCH]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /namespace demo exists \(kept\)/);
  // Without GITHUB_OUTPUT, --github-output is refused before anything is deployed.
  const deploysBefore = state().workers[name].deploys;
  const noOutput = await preview(['up', BRANCH, '--github-output'], { GITHUB_OUTPUT: '' });
  assert.equal(noOutput.code, 2, noOutput.stdout);
  assert.match(noOutput.stderr, /--github-output needs GITHUB_OUTPUT/);
  assert.equal(state().workers[name].deploys, deploysBefore);
  assert.equal(state().workers[name].deploys, 2);
  assert.equal((await demoNamespace()).accessKeyId, demo.accessKeyId, 'a redeploy keeps the preview\'s state');

  resetCalls();
  const fresh = await preview(['up', BRANCH, '--fresh']);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.deepEqual(calls().map((c) => c.slice(0, 2)), [['deployments', 'status'], ['delete', '--name'], ['deploy', '--name']]);
  assert.equal(state().workers[name].deploys, 1);
});

test('a failed deploy or seeding propagates with a clear message and leaves no half-made worker', async () => {
  const other = 'feature/broken';
  const name = workerName(other);
  for (const [env, expected] of /** @type {[Record<string, string>, RegExp][]} */ ([
    [{ FAKE_WRANGLER_FAIL: 'deploy' }, /deploying worker .* failed:\n.*Internal error \[code: 10013\]/],
    [{ FAKE_WRANGLER_FAIL: 'deploy-partial' }, /deploying worker .* failed/],
    [{ PREVIEW_URL_OVERRIDE: `http://127.0.0.1:${await freePort()}` }, /did not answer \/_mock\/ping/],
    [{ PREVIEW_URL_OVERRIDE: '', FAKE_WRANGLER_NO_URL: '1' }, /printed no URL/],
    [{}, /seeding the demo namespace failed|HTTP 401/], // the local mock's token is another branch's
  ])) {
    const r = await preview(['up', other], env);
    assert.equal(r.code, 1, `${JSON.stringify(env)}: ${r.stdout}`);
    assert.match(r.stderr, expected);
    assert.equal(state().workers[name], undefined, `${JSON.stringify(env)} left worker ${name} behind`);
  }
  const status = await preview(['up', other], { FAKE_WRANGLER_FAIL: 'status' });
  assert.equal(status.code, 1);
  assert.match(status.stderr, /could not tell whether worker .* exists:\n.*Authentication error/);
  // An existing preview whose redeploy fails is kept as it was.
  assert.equal((await preview(['up', BRANCH])).code, 0);
  const failed = await preview(['up', BRANCH], { FAKE_WRANGLER_FAIL: 'deploy' });
  assert.equal(failed.code, 1);
  assert.ok(state().workers[workerName(BRANCH)], 'the existing preview stays');
});

test('down removes the worker and may run twice; a failing delete is an error', async () => {
  assert.equal((await preview(['up', BRANCH])).code, 0);
  const failing = await preview(['down', BRANCH], { FAKE_WRANGLER_FAIL: 'delete' });
  assert.equal(failing.code, 1);
  assert.match(failing.stderr, /deleting worker .* failed:\n.*Authentication error/);
  const first = await preview(['down', BRANCH]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /deleted worker/);
  assert.equal(state().workers[workerName(BRANCH)], undefined);
  const second = await preview(['down', BRANCH]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /does not exist/);
});

test('url and token; usage errors exit 2', async () => {
  const url = await preview(['url', BRANCH], { CLOUDFLARE_WORKERS_SUBDOMAIN: 'acme' });
  assert.equal(url.stdout.trim(), `https://${workerName(BRANCH)}.acme.workers.dev`);
  assert.equal((await preview(['url', BRANCH])).code, 2);
  const token = await preview(['token', BRANCH]);
  assert.equal(token.stdout.trim(), adminToken(workerName(BRANCH), SECRET));
  const byWorker = await preview(['token', '--worker', workerName(BRANCH)]);
  assert.equal(byWorker.stdout.trim(), token.stdout.trim());
  assert.equal((await preview(['token', '--worker', "x'; rm -rf ~"])).code, 2);
  assert.equal((await preview(['token', BRANCH], { PREVIEW_SECRET: '' })).code, 2);
  assert.equal((await preview(['up'])).code, 2);
  assert.equal((await preview(['sideways', BRANCH])).code, 2);
});

test('the real wrangler bundles a preview\'s Worker offline (deploy --dry-run --name)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'preview-bundle-'));
  try {
    const r = await new Promise((resolve) => {
      execFile(process.execPath, [join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'deploy', '--dry-run', '--outdir', out, '--name', workerName(BRANCH)], {
        cwd: ROOT,
        env: { ...process.env, METERING_MOCK_SKIP_BUILD: '1', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
        timeout: 120_000,
      }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(`${r.stdout}${r.stderr}`, /--dry-run: exiting now/);
    assert.ok(existsSync(join(out, 'index.js')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
