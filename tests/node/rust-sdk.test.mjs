// The real AWS SDK for Rust (aws-sdk-marketplacemetering, built from tests/rust-sdk/) against
// the built worker, as buyer workloads with temporary credentials: EC2 instances and EKS pods
// of one account, each with its own session token. Proves that MeterUsage's once-per-hour
// rule and DryRun, and RegisterUsage's first-call rule, are per credential session (the
// "same instance, task or pod" of AWS's documentation). This file sets the namespace up with
// the control API; the Rust binary makes the SDK calls and prints one JSON line per call.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSPKI, jwtVerify } from 'jose';
import { startMock } from '../../lib/index.mjs';
import { awsClientEnv, UUID_V4 } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRATE = join(ROOT, 'tests', 'rust-sdk');
// Named explicitly so a CARGO_TARGET_DIR of the environment cannot move the binary elsewhere.
const TARGET_DIR = join(CRATE, 'target');
const BINARY = join(TARGET_DIR, 'debug', 'metering-mock-rust-sdk');
// A cold build (dependencies downloaded and compiled) takes about a minute on 2 cores.
const BUILD_TIMEOUT_MS = 10 * 60_000;
const RUN_TIMEOUT_MS = 60_000;

const BUYER = '111122223333';
const CONTAINER_PRODUCT = 'demo-container-product';

const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs a command; resolves { code, stdout, stderr } whatever the exit code. */
function run(command, args, { env = process.env, timeout }) {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal ?? 1) : 0, stdout, stderr });
    });
  });
}

let mock;
let ns;
before(async () => {
  if (!hasCargo) return;
  // Debug profile: a cold debug build is about three times faster than a release one, and the
  // binary makes a dozen calls. --locked: exactly the dependency versions of its Cargo.lock.
  const build = await run('cargo', [
    'build', '--locked', '--quiet', '--manifest-path', join(CRATE, 'Cargo.toml'), '--target-dir', TARGET_DIR,
  ], { timeout: BUILD_TIMEOUT_MS });
  assert.equal(build.code, 0, `cargo build of tests/rust-sdk failed (${build.code}):\n${build.stderr}`);
  mock = await startMock();
  ns = mock.namespace('rust-sdk');
  // The demo seed: demo-ami-product (hosts, vcpu_hours) and demo-container-product (tasks,
  // offered in us-east-1 among others), both with the customer account BUYER.
  await ns.control.reset('demo');
});
after(async () => { await mock?.stop(); });

/**
 * Skips test `t` when cargo is missing (`true`: return from the test), except under
 * METERING_MOCK_REQUIRE_CLIENTS=1 (CI), where the Rust SDK test must run.
 */
function missingCargo(t) {
  if (hasCargo) return false;
  if (process.env.METERING_MOCK_REQUIRE_CLIENTS === '1') {
    throw new Error('cargo is required (METERING_MOCK_REQUIRE_CLIENTS=1) to build the Rust SDK client in tests/rust-sdk');
  }
  t.skip('cargo is not installed: the Rust SDK client cannot be built');
  return true;
}

/** Runs a phase of the Rust binary against the namespace; returns its lines keyed by step. */
async function phase(name) {
  const r = await run(BINARY, [name], {
    env: awsClientEnv({ METERING_MOCK_ENDPOINT: ns.endpoint }),
    timeout: RUN_TIMEOUT_MS,
  });
  assert.equal(r.code, 0, `metering-mock-rust-sdk ${name} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  const steps = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const result = JSON.parse(line);
    steps[result.step] = result;
  }
  return steps;
}

/** Asserts a step succeeded; returns its line. */
function ok(step) {
  assert.equal(step?.outcome, 'ok', `expected success, got ${JSON.stringify(step)}`);
  return step;
}

/** Asserts a step failed with the SDK's typed error `variant`. */
function failedWith(step, variant) {
  assert.equal(step?.outcome, 'error', `expected ${variant}, got ${JSON.stringify(step)}`);
  assert.equal(step.variant, variant, `expected ${variant}, got ${JSON.stringify(step)}`);
  assert.equal(step.code, variant);
}

// The MeterUsage phase runs once; the first three tests assert on different calls of it.
let metered;
const meterPhase = () => { metered ??= phase('meter'); return metered; };

test('Rust SDK: two instances of one account (own session tokens) each meter their hour, and a retry answers its own record', async (t) => {
  if (missingCargo(t)) return;
  const steps = await meterPhase();
  const a = ok(steps['a-first']).meteringRecordId;
  const b = ok(steps['b-first']).meteringRecordId;
  assert.match(a, UUID_V4);
  assert.match(b, UUID_V4);
  assert.notEqual(a, b, 'instances A and B are two sessions: two records');
  // The SDK fills a fresh ClientToken per call: the hour rule of the session answers the retry.
  assert.equal(ok(steps['a-retry']).meteringRecordId, a);
  assert.equal(ok(steps['b-retry']).meteringRecordId, b);
  const records = await ns.control.usage({ product: 'demo-ami-product' });
  assert.deepEqual(records.map((r) => r.meteringRecordId).sort(), [a, b].sort());
  assert.deepEqual(records.map((r) => [r.customerAWSAccountId, r.dimension, r.quantity]), [[BUYER, 'hosts', '1'], [BUYER, 'hosts', '1']]);
});

test('Rust SDK: a MeterUsage DryRun that would succeed answers MeteringRecordId "DryRunOperation"', async (t) => {
  if (missingCargo(t)) return;
  const steps = await meterPhase();
  // Instance A's start-up check, before it recorded anything; the ledger holds only the
  // two records of the previous test.
  assert.equal(ok(steps['a-dry-run']).meteringRecordId, 'DryRunOperation');
  assert.equal((await ns.control.usage({ product: 'demo-ami-product' })).length, 2);
});

test('Rust SDK: a DryRun with another quantity is DuplicateRequestException in the session that metered the hour, DryRunOperation in a new one', async (t) => {
  if (missingCargo(t)) return;
  const steps = await meterPhase();
  failedWith(steps['a-dry-run-other-quantity'], 'DuplicateRequestException');
  assert.equal(ok(steps['c-dry-run-other-quantity']).meteringRecordId, 'DryRunOperation');
  const records = await ns.control.usage({ product: 'demo-ami-product' });
  assert.deepEqual(records.map((r) => r.quantity), ['1', '1'], 'the dry runs recorded nothing');
});

test('Rust SDK: RegisterUsage checks entitlement on a pod session\'s first call only: after the buyer unsubscribes the running pod goes on, a new pod is refused', async (t) => {
  if (missingCargo(t)) return;
  const first = ok((await phase('register-first'))['pod-1-first']);
  // The signature verifies with the namespace's published key of version 1, as a container
  // verifies AWS's.
  const pem = await (await fetch(`${ns.endpoint}/_mock/keys/1`)).text();
  const { payload } = await jwtVerify(first.signature, await importSPKI(pem, 'PS256'), { algorithms: ['PS256'] });
  assert.equal(payload.productCode, CONTAINER_PRODUCT);
  assert.equal(payload.nonce, first.nonce);

  await ns.control.changeSubscription({
    productCode: CONTAINER_PRODUCT, customerAWSAccountId: BUYER, action: 'unsubscribe-success',
  });
  const later = await phase('register-after-unsubscribe');
  // The same session with a fresh nonce is the same pod: no entitlement check.
  const again = ok(later['pod-1-again']);
  assert.notEqual(again.nonce, first.nonce);
  failedWith(later['pod-2-first'], 'CustomerNotEntitledException');

  // One task was registered, named by its session: never by the token itself.
  const registered = await ns.control.registrations({ productCode: CONTAINER_PRODUCT });
  assert.deepEqual(registered.map((r) => [r.taskSource, r.caller]), [['session', BUYER]]);
  assert.doesNotMatch(registered[0].taskId, /pod-1/);
});
