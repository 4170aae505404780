// A locked deployment (ADMIN_TOKEN set) under wrangler dev, as a hosted shared mock runs:
// the provisioning lifecycle through /_admin/, every route of the router's own table refusing
// wrong credentials, AWS calls through the JS SDK and boto3 signed with issued credentials,
// names that were never provisioned creating nothing, no secret in any answer, webhook
// targets, body limits, the per-namespace rate limit with the SDK's retries, idle expiry, and
// a restart.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, startMock, tempStateDir, rawCall, awsClientEnv, UUID_V4, hasBoto3, missingClient,
} from './harness.mjs';

const ADMIN_TOKEN = 'admin-token-for-the-locked-tests';

let mock;
let stateDir;
/** Every secret issued in this file, to look for in answers that must not carry one. */
const secrets = new Set([ADMIN_TOKEN]);

before(async () => {
  stateDir = tempStateDir();
  mock = await startMock({ stateDir, vars: { ADMIN_TOKEN, RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' } });
});
after(async () => { await mock?.stop(); });

/**
 * A call with a bearer token (`null`: none); JSON bodies are sent as JSON.
 * @param {string} method @param {string} path
 * @param {{token?: string | null, body?: any, headers?: Record<string, string>}} [options]
 */
async function call(method, path, { token = null, body, headers = {} } = {}) {
  const r = await fetch(`${mock.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

const admin = (method, path, body) => call(method, `/_admin${path}`, { token: ADMIN_TOKEN, body });

/** Provisions `name`; returns the creation answer and remembers its secrets. */
async function provision(name, extra = {}) {
  const r = await admin('POST', '/namespaces', { name, ...extra });
  assert.equal(r.status, 201, r.text);
  // The answer carries secrets: no cache may keep it.
  assert.equal(r.headers.get('cache-control'), 'no-store');
  secrets.add(r.json.controlToken);
  secrets.add(r.json.credentials.secretAccessKey);
  return r.json;
}

function sdk(endpoint, credentials, extra = {}) {
  return new MarketplaceMeteringClient({
    region: 'us-east-1', endpoint, credentials, maxAttempts: 1, ...extra,
  });
}

const meter = (client, quantity = 1) => client.send(new MeterUsageCommand({
  ProductCode: 'prod', Timestamp: new Date(), UsageDimension: 'hosts', UsageQuantity: quantity,
}));

async function withProduct(ns, product = { productCode: 'prod', dimensions: ['hosts'] }) {
  const r = await call('POST', `/ns/${ns.name}/_mock/products`, { token: ns.controlToken, body: product });
  assert.equal(r.status, 201, r.text);
}

/** The example path of a route under namespace `name`. */
const routePath = (route, name) => (route.access === 'admin' || name === 'default'
  ? route.example : `/ns/${name}${route.example}`);

async function routeTable() {
  const r = await admin('GET', '/routes');
  assert.equal(r.status, 200, r.text);
  return r.json.routes;
}

test('provisioning: create, list, rotate, delete, and a second creation of a name is 409', async () => {
  const created = await provision('team-a', { idleDays: 3 });
  assert.equal(created.name, 'team-a');
  assert.equal(created.endpoint, `${mock.url}/ns/team-a`);
  assert.match(created.controlToken, /^mmct_[A-Za-z0-9_-]{43}$/);
  assert.match(created.credentials.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assert.equal(created.credentials.secretAccessKey.length, 40);
  assert.equal((await admin('POST', '/namespaces', { name: 'team-a' })).status, 409);
  // Names are unique without regard to case.
  const alike = await admin('POST', '/namespaces', { name: 'Team-A' });
  assert.equal(alike.status, 409);
  assert.match(alike.json.error, /'team-a' exists: names are unique without regard to case/);
  assert.equal((await admin('POST', '/namespaces', { name: 'bad.name' })).status, 400);

  const listed = await admin('GET', '/namespaces');
  assert.equal(listed.status, 200);
  const entry = listed.json.namespaces.find((n) => n.name === 'team-a');
  assert.equal(entry.idleDays, 3);
  assert.equal(entry.accessKeyId, created.credentials.accessKeyId);
  for (const key of ['createdAt', 'lastActivityAt', 'expiresAt']) assert.ok(Date.parse(entry[key]), key);

  await withProduct(created);
  const old = sdk(created.endpoint, created.credentials);
  assert.match((await meter(old)).MeteringRecordId, UUID_V4);

  const rotated = await admin('POST', '/namespaces/team-a/rotate');
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal(rotated.headers.get('cache-control'), 'no-store');
  secrets.add(rotated.json.controlToken);
  secrets.add(rotated.json.credentials.secretAccessKey);
  assert.notEqual(rotated.json.controlToken, created.controlToken);
  // The old token and credentials stop working at once; the data stays.
  assert.equal((await call('GET', '/ns/team-a/_mock/usage', { token: created.controlToken })).status, 401);
  await assert.rejects(meter(old, 2), { name: 'UnrecognizedClientException' });
  const usage = await call('GET', '/ns/team-a/_mock/usage', { token: rotated.json.controlToken });
  assert.equal(usage.json.count, 1);
  assert.match((await meter(sdk(created.endpoint, rotated.json.credentials), 1)).MeteringRecordId, UUID_V4);

  assert.equal((await admin('DELETE', '/namespaces/team-a')).status, 204);
  assert.equal((await admin('DELETE', '/namespaces/team-a')).status, 404);
  assert.ok(!(await admin('GET', '/namespaces')).json.namespaces.some((n) => n.name === 'team-a'));
  assert.equal((await call('GET', '/ns/team-a/_mock/usage', { token: rotated.json.controlToken })).status, 404);
  assert.equal((await call('GET', '/ns/team-a/_mock/usage', { token: ADMIN_TOKEN })).status, 404);
  await assert.rejects(meter(sdk(created.endpoint, rotated.json.credentials)), { name: 'UnrecognizedClientException' });

  // A new namespace of the same name starts empty.
  const again = await provision('team-a');
  const fresh = await call('GET', '/ns/team-a/_mock/usage', { token: again.controlToken });
  assert.deepEqual([fresh.status, fresh.json.count], [200, 0]);
});

test('a rotation removes what a leaked control token planted, unless the admin keeps it', async () => {
  const ns = await provision('planted');
  const hook = 'https://hooks.example.com/exfiltrate';
  const signup = 'https://signup.example.com/tokens';
  /** What the holder of a control token plants: its own signing key and a webhook. */
  const plant = async (token) => {
    const product = await call('POST', '/ns/planted/_mock/products', {
      token, body: { productCode: 'prod', dimensions: ['hosts'], webhooks: [{ url: hook }], fulfillmentUrl: `${signup}?session=s3cret` },
    });
    assert.ok([200, 201].includes(product.status), product.text);
    const settings = await call('PATCH', '/ns/planted/_mock/settings', {
      token, body: { signatureCredentials: { AKIDPLANTED: 'planted-secret-value-1' } },
    });
    assert.equal(settings.status, 200, settings.text);
  };
  const planted = sdk(ns.endpoint, { accessKeyId: 'AKIDPLANTED', secretAccessKey: 'planted-secret-value-1' });
  await plant(ns.controlToken);
  assert.match((await meter(planted)).MeteringRecordId, UUID_V4);

  assert.equal((await admin('POST', '/namespaces/planted/rotate', { keep: ['everything'] })).status, 400);
  const rotated = await admin('POST', '/namespaces/planted/rotate');
  assert.equal(rotated.status, 200, rotated.text);
  secrets.add(rotated.json.controlToken);
  secrets.add(rotated.json.credentials.secretAccessKey);
  assert.deepEqual(rotated.json.removed, {
    signatureCredentials: ['AKIDPLANTED'],
    webhooks: [{ productCode: 'prod', url: hook }],
    fulfillmentUrls: [{ productCode: 'prod', url: signup }],
    pendingDeliveries: 0,
    signupLinks: 0,
  });
  for (const secret of ['planted-secret-value-1', 's3cret']) assert.ok(!rotated.text.includes(secret), secret);
  await assert.rejects(meter(planted, 2), { name: 'UnrecognizedClientException' });
  const products = await call('GET', '/ns/planted/_mock/products', { token: rotated.json.controlToken });
  assert.deepEqual(products.json.products.map((p) => [p.webhooks ?? [], p.fulfillmentUrl ?? null]), [[[], null]]);
  // The data stays, and the new credentials work.
  assert.match((await meter(sdk(ns.endpoint, rotated.json.credentials), 3)).MeteringRecordId, UUID_V4);

  // Kept when the admin says so.
  await plant(rotated.json.controlToken);
  const kept = await admin('POST', '/namespaces/planted/rotate', { keep: ['signatureCredentials', 'webhooks', 'fulfillmentUrls'] });
  assert.equal(kept.status, 200, kept.text);
  secrets.add(kept.json.controlToken);
  secrets.add(kept.json.credentials.secretAccessKey);
  assert.deepEqual(kept.json.removed, { signatureCredentials: [], webhooks: [], fulfillmentUrls: [], pendingDeliveries: 0, signupLinks: 0 });
  // Accepted again (the same record as its first call: one per caller, hour and dimension).
  assert.match((await meter(planted, 1)).MeteringRecordId, UUID_V4);
  assert.equal((await admin('DELETE', '/namespaces/planted')).status, 204);
});

test('concurrent creations of one name: exactly one wins', async () => {
  const answers = await Promise.all(Array.from({ length: 12 }, () => admin('POST', '/namespaces', { name: 'race' })));
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [201, ...Array(11).fill(409)]);
  const winner = answers.find((a) => a.status === 201).json;
  secrets.add(winner.controlToken);
  secrets.add(winner.credentials.secretAccessKey);
  assert.equal((await call('GET', '/ns/race/_mock/health', { token: winner.controlToken })).status, 200);
});

test('every route of the table refuses no token and a foreign token; admin routes refuse namespace tokens', async () => {
  const mine = await provision('walk-mine');
  const theirs = await provision('walk-theirs');
  const routes = await routeTable();
  assert.ok(routes.length > 30);
  const checked = { namespace: 0, admin: 0 };
  for (const route of routes) {
    const path = routePath(route, 'walk-mine');
    const send = (token) => call(route.method, path, {
      token, headers: route.method === 'GET' ? {} : { 'content-type': 'application/json' },
    });
    if (route.access === 'namespace') {
      checked.namespace += 1;
      for (const token of [null, theirs.controlToken, 'mmct_guess']) {
        const r = await send(token);
        assert.equal(r.status, 401, `${route.method} ${path} with ${token}: ${r.status} ${r.text}`);
        assert.ok(r.json?.error, r.text);
      }
      const own = await send(mine.controlToken);
      assert.ok(![401, 403].includes(own.status), `${route.method} ${path}: ${own.status} ${own.text}`);
    } else if (route.access === 'admin') {
      checked.admin += 1;
      for (const token of [null, mine.controlToken, 'not-the-admin-token']) {
        const r = await send(token);
        assert.equal(r.status, 401, `${route.method} ${path} with ${token}: ${r.status}`);
      }
    } else if (route.access === 'aws') {
      const r = await send(null);
      assert.equal(r.status, 400, `${route.method} ${path}: ${r.status}`);
      if (route.path === '/') assert.equal(r.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    }
  }
  assert.ok(checked.namespace >= 25 && checked.admin >= 4, JSON.stringify(checked));
  // The store contract (last route walked) cleared walk-mine; it is still provisioned.
  assert.equal((await call('GET', '/ns/walk-mine/_mock/health', { token: mine.controlToken })).status, 200);
});

test('AWS calls: issued credentials work; wrong secret, unknown key and unsigned calls get the AWS errors', async () => {
  const ns = await provision('aws-calls');
  await withProduct(ns);
  assert.match((await meter(sdk(ns.endpoint, ns.credentials))).MeteringRecordId, UUID_V4);
  await assert.rejects(
    meter(sdk(ns.endpoint, { ...ns.credentials, secretAccessKey: 'wrong' }), 2),
    (/** @type {any} */ e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403,
  );
  await assert.rejects(
    meter(sdk(ns.endpoint, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }), 2),
    { name: 'UnrecognizedClientException' },
  );
  const other = await provision('aws-calls-other');
  await assert.rejects(meter(sdk(ns.endpoint, other.credentials), 2), { name: 'UnrecognizedClientException' });
  const unsigned = await fetch(ns.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.MeterUsage' },
    body: '{}',
  });
  assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  // An account-bound key configured in the settings signs as that account.
  const settings = await call('PATCH', '/ns/aws-calls/_mock/settings', {
    token: ns.controlToken, body: { signatureCredentials: { 111122223333: 'buyer-secret-in-settings' } },
  });
  assert.equal(settings.status, 200, settings.text);
  secrets.add('buyer-secret-in-settings');
  await assert.rejects(
    meter(sdk(ns.endpoint, { accessKeyId: '111122223333', secretAccessKey: 'buyer-secret-in-settings' }), 3),
    { name: 'CustomerNotEntitledException' },
  );
});

test('boto3 signs with issued credentials and gets the AWS errors with wrong ones', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const ns = await provision('boto3-calls');
  await withProduct(ns);
  const script = [
    'import datetime, json, boto3, botocore',
    'client = boto3.client("meteringmarketplace")',
    'try:',
    '    r = client.meter_usage(ProductCode="prod", Timestamp=datetime.datetime.now(datetime.timezone.utc), UsageDimension="hosts", UsageQuantity=1)',
    '    print(json.dumps({"id": r["MeteringRecordId"]}))',
    'except botocore.exceptions.ClientError as e:',
    '    print(json.dumps({"error": e.response["Error"]["Code"]}))',
  ].join('\n');
  const run = (credentials) => new Promise((resolve, reject) => {
    execFile('python3', ['-c', script], {
      timeout: 60_000,
      env: awsClientEnv({
        AWS_ENDPOINT_URL_MARKETPLACE_METERING: ns.endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '1',
      }),
    }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout))));
  });
  assert.match((await run(ns.credentials)).id, UUID_V4);
  assert.deepEqual(await run({ ...ns.credentials, secretAccessKey: 'wrong' }), { error: 'InvalidSignatureException' });
  assert.deepEqual(await run({ accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' }), { error: 'UnrecognizedClientException' });
});

/** Files of the namespaces' Durable Object storage that hold anything of the mock's. */
function namespacesWithData() {
  const dir = join(stateDir, 'v3', 'do', 'metering-mock-NamespaceObject');
  const ids = new Set(readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite/.test(f)).map((f) => f.slice(0, 64)));
  return [...ids].filter((id) => {
    const bytes = readdirSync(dir).filter((f) => f.startsWith(id)).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    // Miniflare's own table of the object's name is there for every object it met.
    return /CREATE TABLE (?!__miniflare_do_name)/.test(bytes);
  }).sort();
}

test('a name that was never provisioned answers 404 or UnrecognizedClient and creates no storage', async () => {
  await provision('someone'); // so the folder exists
  const before = namespacesWithData();
  for (const name of ['never-1', 'never-2', 'default']) {
    const base = name === 'default' ? '' : `/ns/${name}`;
    assert.equal((await call('GET', `${base}/_mock/health`, { token: ADMIN_TOKEN })).status, 404);
    assert.equal((await call('POST', `${base}/_mock/reset`, { token: 'mmct_anything', body: {} })).status, 404);
    await assert.rejects(
      meter(sdk(`${mock.url}${base}`, { accessKeyId: 'AKIAANY', secretAccessKey: 'x' })),
      { name: 'UnrecognizedClientException' },
    );
  }
  assert.deepEqual(namespacesWithData(), before);
});

test('the registry\'s own calls to a namespace cannot be sent from outside', async () => {
  const forged = {
    name: 'forged', controlTokenSha256: '0'.repeat(64), accessKeyId: 'AKIAFORGED', secretAccessKey: 'x',
    idleDays: 7, createdAt: 0,
  };
  for (const path of ['/_registry/provision', '/ns/forged/_registry/provision', '/_registry/expired/someone']) {
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const r = await call(method, path, { token: ADMIN_TOKEN, body: forged });
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    }
  }
  assert.equal((await call('GET', '/ns/forged/_mock/health', { token: ADMIN_TOKEN })).status, 404);
  assert.ok((await admin('GET', '/namespaces')).json.namespaces.some((n) => n.name === 'someone'));
});

test('the bare URL is the default namespace once provisioned', async () => {
  const ns = await provision('default');
  assert.equal(ns.endpoint, mock.url);
  const health = await call('GET', '/_mock/health', { token: ns.controlToken });
  assert.deepEqual([health.status, health.json.products], [200, 4], health.text);
  const client = sdk(mock.url, ns.credentials);
  const r = await client.send(new MeterUsageCommand({
    ProductCode: 'demo-ami-product', Timestamp: new Date(), UsageDimension: 'hosts', UsageQuantity: 1,
  }));
  assert.match(r.MeteringRecordId, UUID_V4);
});

test('webhook URLs to private or plain-http targets are refused', async () => {
  const ns = await provision('hooks');
  for (const url of ['https://127.0.0.1/h', 'https://10.0.0.1/h', 'https://169.254.169.254/latest/meta-data',
    'https://[::1]/h', 'http://hooks.example.com/h', 'https://localhost/h', 'https://2130706433/']) {
    const r = await call('POST', '/ns/hooks/_mock/products', {
      token: ns.controlToken, body: { productCode: 'p', dimensions: ['d'], webhooks: [{ url }] },
    });
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.match(r.json.error, /refused/);
  }
  const ok = await call('POST', '/ns/hooks/_mock/products', {
    token: ns.controlToken, body: { productCode: 'p', dimensions: ['d'], webhooks: [{ url: 'https://hooks.example.com/h' }] },
  });
  assert.equal(ok.status, 201, ok.text);
  const raise = await call('PATCH', '/ns/hooks/_mock/settings', { token: ns.controlToken, body: { webhookMaxAttempts: 50 } });
  assert.equal(raise.status, 400, raise.text);
});

test('oversized bodies get 413 or the AWS error, never a 500', async () => {
  const ns = await provision('sizes');
  const big = 'x'.repeat(1024 * 1024 + 10);
  const control = await call('POST', '/ns/sizes/_mock/products', {
    token: ns.controlToken, headers: { 'content-type': 'application/json' }, body: { productCode: big },
  });
  assert.equal(control.status, 413, control.text);
  const aws = await fetch(ns.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.MeterUsage',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIAX/20261130/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00',
      'x-amz-date': '20261130T000000Z',
    },
    body: big,
  });
  assert.deepEqual([aws.status, aws.headers.get('x-amzn-errortype')], [400, 'ValidationException']);
  // A body streamed without a length is read only up to the limit.
  const chunks = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 20; i += 1) controller.enqueue(new TextEncoder().encode('y'.repeat(128 * 1024)));
      controller.close();
    },
  });
  const streamed = await fetch(`${mock.url}/ns/sizes/_mock/products`, /** @type {RequestInit} */ ({
    method: 'POST', duplex: 'half', body: chunks,
    headers: { authorization: `Bearer ${ns.controlToken}`, 'content-type': 'application/json' },
  }));
  assert.equal(streamed.status, 413);
  const admin = await call('POST', '/_admin/namespaces', { token: ADMIN_TOKEN, body: { name: 'x'.repeat(100 * 1024) } });
  assert.equal(admin.status, 413);
});

test('no answer to a namespace route carries a secret', async () => {
  const ns = await provision('no-secrets');
  await call('PATCH', '/ns/no-secrets/_mock/settings', {
    token: ns.controlToken, body: { signatureCredentials: { AKIDEXTRA: 'extra-secret-value-1' } },
  });
  secrets.add('extra-secret-value-1');
  const bodies = [];
  for (const route of await routeTable()) {
    if (route.method !== 'GET') continue;
    const token = route.access === 'admin' ? ADMIN_TOKEN : ns.controlToken;
    bodies.push((await call('GET', routePath(route, 'no-secrets'), { token })).text);
  }
  bodies.push((await admin('GET', '/namespaces')).text);
  for (const body of bodies) {
    for (const secret of secrets) assert.ok(!body.includes(secret), `an answer holds a secret: ${body.slice(0, 200)}`);
  }
});

test('over the rate, control calls get 429 and AWS calls ThrottlingException; the JS SDK retries recover', async () => {
  const limited = await startEphemeralMock({ vars: { ADMIN_TOKEN, RATE_LIMIT_PER_SECOND: '4', RATE_LIMIT_BURST: '4' } });
  try {
    const created = await fetch(`${limited.url}/_admin/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'busy' }),
    });
    const ns = await created.json();
    const headers = { authorization: `Bearer ${ns.controlToken}` };
    const statuses = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await fetch(`${ns.endpoint}/_mock/health`, { headers })).status);
    assert.ok(statuses.includes(429), statuses.join());
    const r429 = await fetch(`${ns.endpoint}/_mock/health`, { headers });
    if (r429.status === 429) assert.ok(Number(r429.headers.get('retry-after')) >= 1);
    await new Promise((r) => setTimeout(r, 1500));
    await fetch(`${ns.endpoint}/_mock/products`, {
      method: 'POST', headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ productCode: 'prod', dimensions: ['hosts'] }),
    });
    const raw = await Promise.all(Array.from({ length: 8 }, () => rawCall(ns.endpoint, 'MeterUsage', {}, {
      accessKeyId: ns.credentials.accessKeyId,
    })));
    // Unverified signatures fail before the rate is taken; signed calls are throttled:
    assert.ok(raw.every((r) => r.headers.get('x-amzn-errortype') === 'InvalidSignatureException'));
    const client = sdk(ns.endpoint, ns.credentials, { maxAttempts: 8 });
    const single = sdk(ns.endpoint, ns.credentials);
    const burst = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => single.send(new MeterUsageCommand({
      ProductCode: 'prod', Timestamp: new Date(), UsageDimension: 'hosts', UsageQuantity: 1, ClientToken: `burst-${i}`,
    }))));
    assert.ok(burst.some((r) => r.status === 'rejected' && r.reason.name === 'ThrottlingException'),
      burst.map((r) => (r.status === 'rejected' ? r.reason.name : 'ok')).join());
    const results = await Promise.all(Array.from({ length: 6 }, () => meter(client)));
    assert.ok(results.every((r) => UUID_V4.test(r.MeteringRecordId)));
    assert.ok(results.some((r) => r.$metadata.attempts > 1), 'some calls were retried');
  } finally {
    await limited.stop();
  }
});

test('a namespace idle for idleDays is wiped and leaves the registry', async () => {
  const idle = await startEphemeralMock({ vars: { ADMIN_TOKEN, IDLE_DAY_SECONDS: '2' } });
  try {
    const post = (name) => fetch(`${idle.url}/_admin/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, idleDays: 1 }),
    }).then((r) => r.json());
    const ns = await post('short-lived');
    const headers = { authorization: `Bearer ${ns.controlToken}`, 'content-type': 'application/json' };
    const minted = await fetch(`${ns.endpoint}/_mock/products`, {
      method: 'POST', headers, body: JSON.stringify({ productCode: 'p', dimensions: ['d'], customers: [{ customerIdentifier: 'c' }] }),
    });
    assert.equal(minted.status, 201);
    const token = await fetch(`${ns.endpoint}/_mock/registration-tokens`, {
      method: 'POST', headers, body: JSON.stringify({ productCode: 'p', customerIdentifier: 'c' }),
    }).then((r) => r.json());
    const list = () => fetch(`${idle.url}/_admin/namespaces`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());
    assert.ok((await list()).namespaces.some((n) => n.name === 'short-lived'));
    const deadline = Date.now() + 20_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      // A stranger's calls (no valid credential) do not keep the namespace alive.
      await fetch(ns.endpoint, { method: 'POST', headers: { authorization: 'x' }, body: '{}' });
      await fetch(`${ns.endpoint}/_mock/health`, { headers: { authorization: 'Bearer mmct_stranger' } });
      gone = !(await list()).namespaces.some((n) => n.name === 'short-lived');
    }
    assert.ok(gone, 'the namespace left the registry');
    assert.equal((await fetch(`${ns.endpoint}/_mock/health`, { headers })).status, 404);
    // Re-created, it is empty and the old registration token no longer resolves.
    const again = await post('short-lived');
    const client = sdk(again.endpoint, again.credentials);
    const { ResolveCustomerCommand } = await import('@aws-sdk/client-marketplace-metering');
    await assert.rejects(client.send(new ResolveCustomerCommand({ RegistrationToken: token.registrationToken })),
      { name: 'InvalidTokenException' });
  } finally {
    await idle.stop();
  }
});

test('provisioned namespaces, their credentials and their data survive a restart', async () => {
  const dir = tempStateDir();
  const vars = { ADMIN_TOKEN };
  const first = await startMock({ stateDir: dir, vars });
  let ns;
  let recordId;
  try {
    ns = await fetch(`${first.url}/_admin/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept' }),
    }).then((r) => r.json());
    const created = await fetch(`${ns.endpoint}/_mock/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ns.controlToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ productCode: 'prod', dimensions: ['hosts'] }),
    });
    assert.equal(created.status, 201);
    recordId = (await meter(sdk(ns.endpoint, ns.credentials))).MeteringRecordId;
  } finally {
    await first.stop();
  }
  const second = await startMock({ stateDir: dir, vars });
  try {
    const endpoint = `${second.url}/ns/kept`;
    const usage = await fetch(`${endpoint}/_mock/usage`, { headers: { authorization: `Bearer ${ns.controlToken}` } });
    assert.equal(usage.status, 200);
    assert.deepEqual((await usage.json()).records.map((r) => r.meteringRecordId), [recordId]);
    const again = await meter(sdk(endpoint, ns.credentials));
    assert.equal(again.MeteringRecordId, recordId, 'the same hour and quantity: the same record');
    const listed = await fetch(`${second.url}/_admin/namespaces`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.deepEqual((await listed.json()).namespaces.map((n) => n.name), ['kept']);
  } finally {
    await second.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('provisioning a name discards what an open deployment left under it', async () => {
  const dir = tempStateDir();
  const open = await startMock({ stateDir: dir });
  try {
    const planted = await fetch(`${open.url}/ns/inherited/_mock/settings`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signatureCredentials: { 111122223333: 'planted-secret' } }),
    });
    assert.equal(planted.status, 200);
    await fetch(`${open.url}/ns/inherited/_mock/products`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productCode: 'planted', dimensions: ['d'] }),
    });
  } finally {
    await open.stop();
  }
  const locked = await startMock({ stateDir: dir, vars: { ADMIN_TOKEN } });
  try {
    const ns = await fetch(`${locked.url}/_admin/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'inherited' }),
    }).then((r) => r.json());
    const products = await fetch(`${ns.endpoint}/_mock/products`, { headers: { authorization: `Bearer ${ns.controlToken}` } });
    assert.deepEqual((await products.json()).products, []);
    await assert.rejects(
      meter(sdk(ns.endpoint, { accessKeyId: '111122223333', secretAccessKey: 'planted-secret' })),
      { name: 'UnrecognizedClientException' },
    );
  } finally {
    await locked.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wrong admin tokens are throttled per client: after 30 in a minute, every admin call of that client gets 429', async () => {
  const dir = tempStateDir();
  const own = await startMock({ stateDir: dir, vars: { ADMIN_TOKEN } });
  try {
    const list = (token, client) => fetch(`${own.url}/_admin/namespaces`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': client },
    });
    const guesses = [];
    for (let i = 0; i < 30; i++) guesses.push((await list(`wrong-guess-${i}`, '203.0.113.7')).status);
    assert.deepEqual([...new Set(guesses)], [401]);
    // Now even the right token gets 429 from that client, so a guess says nothing.
    const throttled = await list(ADMIN_TOKEN, '203.0.113.7');
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.headers.get('retry-after')) > 0);
    // Another client is not held back.
    assert.equal((await list(ADMIN_TOKEN, '198.51.100.9')).status, 200);
    // A namespace's control API, which the admin token opens too, counts the same guesses;
    // a missing token or one in the control-token form is no admin guess.
    const created = await fetch(`${own.url}/_admin/namespaces`, {
      method: 'POST', body: JSON.stringify({ name: 'guessed' }),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'cf-connecting-ip': '198.51.100.9' },
    });
    assert.equal(created.status, 201);
    const products = (headers) => fetch(`${own.url}/ns/guessed/_mock/products`, { headers: { 'cf-connecting-ip': '192.0.2.44', ...headers } });
    for (let i = 0; i < 40; i++) {
      assert.equal((await products({})).status, 401);
      assert.equal((await products({ authorization: `Bearer mmct_${i}` })).status, 401);
    }
    assert.equal((await list(ADMIN_TOKEN, '192.0.2.44')).status, 200);
    const statuses = [];
    for (let i = 0; i < 31; i++) statuses.push((await products({ authorization: `Bearer guess-${i}` })).status);
    assert.deepEqual(statuses, [...Array(30).fill(401), 429]);
    assert.equal((await list(ADMIN_TOKEN, '192.0.2.44')).status, 429);
  } finally {
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
