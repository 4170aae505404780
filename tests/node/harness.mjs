// Test harness: runs the built worker under `wrangler dev` on a free loopback port, with
// its state in a directory of the test's choosing, and gives tests an SDK client and a
// raw awsJson1_1 request helper. Every server binds 127.0.0.1 and is stopped by its PID.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { controlCall } from '../../lib/control.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const READY_TIMEOUT_MS = 90_000;

/** Starts `server` on a free port of 127.0.0.1; resolves with the port. */
export async function listenLocally(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  return /** @type {import('node:net').AddressInfo} */ (server.address()).port;
}

/** The values of settled promises; throws the first rejection's reason if one was rejected. */
export function fulfilledValues(settled) {
  return settled.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

export function tempStateDir() {
  return mkdtempSync(join(tmpdir(), 'metering-mock-state-'));
}

/**
 * Starts the mock. `stateDir` keeps the Durable Object state (pass the same one to a second
 * start to test a restart); `vars` are Worker variables (e.g. `{ ADMIN_TOKEN }` for a locked
 * deployment). Returns { url, port, stateDir, stop, kill, output } (output: what wrangler dev and
 * the worker printed so far).
 */
export async function startMock({ stateDir = tempStateDir(), vars = {} } = {}) {
  const port = await freePort();
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', stateDir,
      '--show-interactive-dev-session=false', '--log-level', 'warn', ...varArgs],
    {
      cwd: ROOT,
      detached: true, // its own process group, so stop() ends workerd too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        METERING_MOCK_SKIP_BUILD: '1',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
      },
    },
  );
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  };

  /** Ends wrangler dev and workerd at once, as a crash would (SIGKILL to the group). */
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    await exited;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}/_mock/ping`);
      if (r.status === 200) return { url, port, stateDir, stop, kill, output: () => output };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready on ${url}:\n${output}`);
}

/**
 * A real SDK client pointed at the mock; `accessKeyId` of 12 digits is that account, and
 * `sessionToken` makes it one instance, task or pod of it.
 */
/** @param {string} url @param {{accessKeyId?: string, region?: string, sessionToken?: string}} [options] */
export function meteringClient(url, { accessKeyId = 'test', region = 'us-east-1', sessionToken } = {}) {
  return new MarketplaceMeteringClient({
    region,
    endpoint: url,
    credentials: { accessKeyId, secretAccessKey: 'test-secret', sessionToken },
    maxAttempts: 1,
  });
}

/** The SigV4-shaped headers the front door reads (signatures are not verified). */
/** @param {{accessKeyId?: string, region?: string}} [options] */
export function authHeaders({ accessKeyId = 'test', region = 'us-east-1' } = {}) {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20261128/${region}/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
    'x-amz-date': '20261128T000000Z',
  };
}

/**
 * A raw awsJson1_1 call: `body` is sent verbatim when it is a string, as JSON otherwise.
 * Returns { status, headers, json, text }.
 */
/** @param {string} url @param {string} operation @param {unknown} body @param {{headers?: Record<string, string>, accessKeyId?: string, region?: string}} [options] */
export async function rawCall(url, operation, body, { headers = {}, accessKeyId, region } = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSMPMeteringService.${operation}`,
      ...authHeaders({ accessKeyId, region }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

/** A control API call under /_mock/ of `url` (a namespace URL). */
export async function control(url, method, path, body) {
  const { status, json, text } = await controlCall(`${url}/_mock${path}`, { method, body });
  return { status, json, text };
}

/** Runs `fn` expecting an SDK error; returns it. */
export async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

/** The current epoch seconds. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The URL of namespace `name` of a running mock (SDK endpoint and control API prefix). */
export const namespaceUrl = (mock, name) => `${mock.url}/ns/${name}`;

/** Epoch seconds of an RFC 3339 instant (fractions kept). */
export const epochOf = (iso) => Date.parse(iso) / 1000;

/** Creates or replaces a product of a namespace; throws unless the control API accepts it. */
export async function createProduct(url, product) {
  const r = await control(url, 'POST', '/products', product);
  if (r.status !== 200 && r.status !== 201) {
    throw new Error(`POST /_mock/products answered ${r.status}: ${r.text}`);
  }
  return r.json.product;
}

/** Sets a namespace clock ({ frozenAt } or { offsetSeconds }); throws unless accepted. */
export async function setClock(url, clock) {
  const r = await control(url, 'PUT', '/clock', clock);
  if (r.status !== 200) throw new Error(`PUT /_mock/clock answered ${r.status}: ${r.text}`);
  return r.json;
}

/** Changes namespace settings; throws unless accepted. */
export async function patchSettings(url, patch) {
  const r = await control(url, 'PATCH', '/settings', patch);
  if (r.status !== 200) throw new Error(`PATCH /_mock/settings answered ${r.status}: ${r.text}`);
  return r.json;
}

/** The recorded usage of a namespace (GET /_mock/usage), optionally filtered. */
export async function usageRecords(url, filters = {}) {
  const query = new URLSearchParams(filters).toString();
  const r = await control(url, 'GET', `/usage${query ? `?${query}` : ''}`);
  if (r.status !== 200) throw new Error(`GET /_mock/usage answered ${r.status}: ${r.text}`);
  return r.json.records;
}

/** A version-4 UUID, the shape of every MeteringRecordId. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** startMock() on a fresh state directory that its stop() deletes (for files that need no restart). */
/** @param {{vars?: Record<string, string>}} [options] */
export async function startEphemeralMock({ vars } = {}) {
  const stateDir = tempStateDir();
  const removeState = () => rmSync(stateDir, { recursive: true, force: true });
  let mock;
  try {
    mock = await startMock({ stateDir, vars });
  } catch (e) {
    removeState();
    throw e;
  }
  return { ...mock, stop: async () => { await mock.stop(); removeState(); } };
}

/**
 * The environment of an AWS client process (the CLI, boto3, an example): this process's
 * without any AWS_* variable and without ~/.aws or instance metadata, plus `vars`.
 */
export function awsClientEnv(vars) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('AWS_')) delete env[key];
  }
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...vars,
  };
}

/** Whether boto3 and the AWS CLI are here (`npm test` installs them with pip when missing). */
export const hasBoto3 = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
export const hasAwsCli = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Skips test `t` when a client is missing (`true`: return from the test), except under
 * METERING_MOCK_REQUIRE_CLIENTS=1 (CI), where a missing client fails the test.
 */
export function missingClient(t, have, what) {
  if (have) return false;
  if (process.env.METERING_MOCK_REQUIRE_CLIENTS === '1') {
    throw new Error(`${what} is required (METERING_MOCK_REQUIRE_CLIENTS=1); npm test installs it with pip`);
  }
  t.skip(`${what} is not installed`);
  return true;
}
