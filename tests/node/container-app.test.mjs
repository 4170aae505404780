// The example paid container (examples/container-app.mjs) run as a child process against the
// mock, configured only through its environment as in the README: an entitled buyer starts
// (exit 0, claims verified), a stranger or a wrong Region stops it (exit 1 with the AWS error),
// a retired key is reported (exit 2), the key of another version fails verification (exit 3),
// a throttle is ridden out by the SDK's own retries, and a bad start is exit 64.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startEphemeralMock, namespaceUrl, createProduct, setClock, control, epochOf, awsClientEnv,
} from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const APP = join(ROOT, 'examples', 'container-app.mjs');
const NOW = '2026-03-10T12:30:00Z';
const BUYER = '111122223333';
const STRANGER = '123412341234';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let mock;
let namespaces = 0;
const keyDir = mkdtempSync(join(tmpdir(), 'container-app-keys-'));
before(async () => { mock = await startEphemeralMock(); });
after(async () => {
  await mock?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

/** A fresh namespace with the container product `box` (us-east-1, eu-west-1; customer BUYER), clock frozen at NOW. */
async function world() {
  const url = namespaceUrl(mock, `container-app-${++namespaces}`);
  await createProduct(url, {
    productCode: 'box', dimensions: ['vcpu'], regions: ['us-east-1', 'eu-west-1'],
    customers: [{ customerAWSAccountId: BUYER }],
  });
  await setClock(url, { frozenAt: NOW });
  return url;
}

/**
 * The container's environment: nothing AWS_* from this process (nor ~/.aws), the mock as the
 * Metering endpoint, the caller and Region, and the example's own variables from `vars`.
 */
/** @param {string} url @param {{accessKeyId?: string, region?: string, [name: string]: string | undefined}} [options] */
function containerEnv(url, { accessKeyId = BUYER, region = 'us-east-1', ...vars } = {}) {
  return awsClientEnv({
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: url,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: region,
    PRODUCT_CODE: 'box',
    ...vars,
  });
}

/** Runs the example (or `command args`); resolves { code, stdout, stderr } whatever the exit code. */
function runApp(env, command = process.execPath, args = [APP]) {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function rotate(url, body) {
  const r = await control(url, 'POST', '/keys/rotate', body);
  assert.equal(r.status, 201, r.text);
}

/** Writes the namespace's PEM of `version` to a file; returns its path. */
async function pemFile(url, version) {
  const r = await fetch(`${url}/_mock/keys/${version}`);
  assert.equal(r.status, 200);
  const path = join(keyDir, `ns${namespaces}-v${version}.pem`);
  writeFileSync(path, await r.text());
  return path;
}

/** Asserts a successful start: exit 0, one JSON line on stdout; returns it. */
function started(r) {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  return JSON.parse(lines[0]);
}

async function registrations(url) {
  const r = await control(url, 'GET', '/registrations');
  assert.equal(r.status, 200, r.text);
  return r.json.registrations;
}

test('an entitled buyer starts: exit 0 and one JSON line of the verified claims, its nonce registered', async () => {
  const url = await world();
  const out = started(await runApp(containerEnv(url)));
  assert.match(out.nonce, UUID_V4);
  assert.deepEqual(out, {
    status: 'registered', productCode: 'box', publicKeyVersion: 1, nonce: out.nonce, issuedAt: new Date(epochOf(NOW) * 1000).toISOString(),
  });
  assert.deepEqual((await registrations(url)).map((r) => [r.taskId, r.taskSource, r.caller, r.region, r.publicKeyVersion]),
    [[out.nonce, 'nonce', BUYER, 'us-east-1', 1]]);

  const again = started(await runApp(containerEnv(url, { region: 'eu-west-1' })));
  assert.notEqual(again.nonce, out.nonce, 'a fresh nonce per start');
});

test('pods are told apart by their role session: a restarted container in its pod starts after the buyer left, a new pod stops', async () => {
  const url = await world();
  const pod = (sessionToken) => containerEnv(url, { AWS_SESSION_TOKEN: sessionToken });
  const first = started(await runApp(pod('pod-1-session')));
  const gone = await control(url, 'POST', '/subscriptions', { productCode: 'box', customerAWSAccountId: BUYER, action: 'unsubscribe-success' });
  assert.equal(gone.status, 200, gone.text);
  // The same pod: a fresh nonce on each restart, no mock-specific header, still its first registration.
  const restarted = started(await runApp(pod('pod-1-session')));
  assert.notEqual(restarted.nonce, first.nonce);
  const newPod = await runApp(pod('pod-2-session'));
  assert.equal(newPod.code, 1, newPod.stderr);
  assert.match(newPod.stderr, /^CustomerNotEntitledException: The customer does not have a valid subscription for the product/m);
  const tasks = await registrations(url);
  assert.deepEqual(tasks.map((r) => [r.taskSource, r.caller]), [['session', BUYER]]);
  assert.match(tasks[0].taskId, /^[0-9a-f]{32}$/);
});

test('npm run container-app runs the example', async () => {
  const url = await world();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = started(await runApp(containerEnv(url), npm, ['run', '--silent', 'container-app']));
  assert.equal(out.status, 'registered');
});

test('a 12-digit account that is not a customer stops it: exit 1, CustomerNotEntitledException', async () => {
  const url = await world();
  const r = await runApp(containerEnv(url, { accessKeyId: STRANGER }));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^CustomerNotEntitledException: .*123412341234/m);
  assert.deepEqual(await registrations(url), []);
});

test('a Region the product is not offered in stops it: exit 1, InvalidRegionException', async () => {
  const url = await world();
  const r = await runApp(containerEnv(url, { region: 'ap-south-1' }));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^InvalidRegionException: .*ap-south-1/m);
});

test('a retired key is reported: exit 2, naming when it was retired', async () => {
  const url = await world();
  await rotate(url, { retirePrevious: true });
  const r = await runApp(containerEnv(url));
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /public key version 1, the one this container holds, was retired at 2026-03-10T12:30:00\.000Z/);
  // The current version starts it.
  assert.equal(started(await runApp(containerEnv(url, { PUBLIC_KEY_VERSION: '2' }))).publicKeyVersion, 2);
});

test('the PEM file of another version fails verification: exit 3', async () => {
  const url = await world();
  await rotate(url);
  const r = await runApp(containerEnv(url, { PUBLIC_KEY_VERSION: '1', PUBLIC_KEY_FILE: await pemFile(url, 2) }));
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /does not verify with public key version 1: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  // The right file starts it, with no request for the key.
  const ok = started(await runApp(containerEnv(url, { PUBLIC_KEY_VERSION: '1', PUBLIC_KEY_FILE: await pemFile(url, 1) })));
  assert.equal(ok.publicKeyVersion, 1);
});

test('throttling is retried by the SDK itself: two queued ThrottlingExceptions, exit 0', async () => {
  const url = await world();
  const queued = await control(url, 'POST', '/faults', { operation: 'RegisterUsage', error: 'ThrottlingException', count: 2 });
  assert.equal(queued.status, 201, queued.text);
  const out = started(await runApp(containerEnv(url)));
  assert.deepEqual((await registrations(url)).map((r) => r.taskId), [out.nonce]);
  assert.deepEqual((await control(url, 'GET', '/faults')).json.faults, []);
});

test('started without PRODUCT_CODE, or with a key file it cannot read, it says so: exit 64, nothing registered', async () => {
  const url = await world();
  const r = await runApp(containerEnv(url, { PRODUCT_CODE: '' }));
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, /PRODUCT_CODE is required/);
  const missing = await runApp(containerEnv(url, { PUBLIC_KEY_FILE: join(keyDir, 'missing.pem') }));
  assert.equal(missing.code, 64, missing.stderr);
  assert.match(missing.stderr, /cannot load public key version 1: ENOENT/);
  assert.deepEqual(await registrations(url), []);
});
