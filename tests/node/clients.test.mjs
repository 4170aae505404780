// Other real clients, unmodified, pointed at the mock with the standard per-service endpoint
// variable: the AWS CLI and boto3, for Metering (RegisterUsage signatures verified here with
// jose) and the Entitlement Service. Each test works in a fresh namespace with a frozen clock.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { importSPKI, jwtVerify } from 'jose';
import {
  startEphemeralMock, namespaceUrl, createProduct, setClock, usageRecords, control, epochOf, UUID_V4, awsClientEnv,
  hasBoto3, hasAwsCli, missingClient,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/** A fresh namespace with product `prod` (hosts, users; customer cust-1), clock frozen at NOW. */
async function world() {
  const url = namespaceUrl(mock, `clients-${++namespaces}`);
  await createProduct(url, {
    productCode: 'prod', dimensions: ['hosts', 'users'], customers: [{ customerIdentifier: 'cust-1' }],
  });
  await setClock(url, { frozenAt: NOW });
  return url;
}

/** The environment of a client process: the mock as the Metering endpoint, nothing from ~/.aws. */
function clientEnv(url) {
  return awsClientEnv({
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: url,
    AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE: url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  });
}

/** Runs a command; resolves { code, stdout, stderr } whatever the exit code. */
function run(command, args, url) {
  return new Promise((resolve) => {
    execFile(command, args, { env: clientEnv(url), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const aws = (url, ...args) => run('aws', ['meteringmarketplace', ...args, '--output', 'json'], url);

const meterUsageArgs = (quantity) => [
  'meter-usage', '--product-code', 'prod', '--timestamp', NOW, '--usage-dimension', 'hosts',
  '--usage-quantity', String(quantity),
];

/** Runs a boto3 script (python3 -c) that prints one JSON document; returns it. */
async function boto3(url, script) {
  const prelude = [
    'import datetime, json, boto3',
    'client = boto3.client("meteringmarketplace")',
    'ts = datetime.datetime(2026, 3, 10, 12, 30, tzinfo=datetime.timezone.utc)',
  ].join('\n');
  const r = await run('python3', ['-c', `${prelude}\n${script}`], url);
  assert.equal(r.code, 0, `python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('aws meteringmarketplace meter-usage prints a MeteringRecordId', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  const r = await aws(url, ...meterUsageArgs(1));
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.MeteringRecordId, UUID_V4);
  assert.deepEqual((await usageRecords(url)).map((e) => e.meteringRecordId), [out.MeteringRecordId]);
});

test('aws meteringmarketplace batch-meter-usage records the usage and prints the results', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  const records = JSON.stringify([
    { Timestamp: NOW, CustomerIdentifier: 'cust-1', Dimension: 'users', Quantity: 2 },
    { Timestamp: NOW, CustomerIdentifier: 'nobody', Dimension: 'users', Quantity: 2 },
  ]);
  const r = await aws(url, 'batch-meter-usage', '--product-code', 'prod', '--usage-records', records);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.Results.map((x) => x.Status), ['Success', 'CustomerNotSubscribed']);
  assert.match(out.Results[0].MeteringRecordId, UUID_V4);
  assert.equal(out.Results[0].UsageRecord.CustomerIdentifier, 'cust-1');
  // CLI v1 prints timestamps as received (epoch seconds), v2 as ISO 8601 text.
  const echoed = out.Results[0].UsageRecord.Timestamp;
  assert.equal(typeof echoed === 'number' ? echoed * 1000 : Date.parse(echoed), Date.parse(NOW), String(echoed));
  assert.deepEqual((await usageRecords(url)).map((e) => e.meteringRecordId), [out.Results[0].MeteringRecordId]);
});

test('the AWS CLI exits non-zero on a modeled error and names it on stderr', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  assert.equal((await aws(url, ...meterUsageArgs(1))).code, 0);
  const r = await aws(url, ...meterUsageArgs(2));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /DuplicateRequestException/);
  assert.equal((await usageRecords(url)).length, 1);
});

test('boto3 meter_usage returns a MeteringRecordId, the same one for an identical repeat', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const out = await boto3(url, [
    'call = lambda: client.meter_usage(ProductCode="prod", Timestamp=ts, UsageDimension="hosts", UsageQuantity=1)',
    'print(json.dumps([call()["MeteringRecordId"], call()["MeteringRecordId"]]))',
  ].join('\n'));
  assert.match(out[0], UUID_V4);
  assert.equal(out[1], out[0]);
  assert.deepEqual((await usageRecords(url)).map((e) => e.meteringRecordId), [out[0]]);
});

test('boto3 batch_meter_usage returns per-record statuses and ids', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const out = await boto3(url, [
    'r = client.batch_meter_usage(ProductCode="prod", UsageRecords=[',
    '    {"Timestamp": ts, "CustomerIdentifier": "cust-1", "Dimension": "users", "Quantity": 3},',
    '    {"Timestamp": ts, "CustomerIdentifier": "nobody", "Dimension": "users", "Quantity": 3}])',
    'print(json.dumps([[x["Status"], x.get("MeteringRecordId"), x["UsageRecord"]["Timestamp"].isoformat()]',
    '                  for x in r["Results"]]))',
  ].join('\n'));
  assert.equal(out[0][0], 'Success');
  assert.match(out[0][1], UUID_V4);
  assert.equal(Date.parse(out[0][2]), Date.parse(NOW));
  assert.deepEqual(out[1].slice(0, 2), ['CustomerNotSubscribed', null]);
  assert.deepEqual((await usageRecords(url)).map((e) => e.quantity), ['3']);
});

test('boto3 catches DuplicateRequestException by its class', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const out = await boto3(url, [
    'call = lambda q: client.meter_usage(ProductCode="prod", Timestamp=ts, UsageDimension="hosts", UsageQuantity=q)',
    'call(1)',
    'try:',
    '    call(2)',
    '    print(json.dumps("no error"))',
    'except client.exceptions.DuplicateRequestException as e:',
    '    print(json.dumps([type(e).__name__, e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]))',
  ].join('\n'));
  assert.deepEqual(out, ['DuplicateRequestException', 'DuplicateRequestException', 400]);
});

test('boto3: a DryRun that would succeed returns MeteringRecordId "DryRunOperation", as an AMI role check reads it', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const out = await boto3(url, [
    'r = client.meter_usage(ProductCode="prod", Timestamp=ts, UsageDimension="hosts", UsageQuantity=1, DryRun=True)',
    'print(json.dumps([r["ResponseMetadata"]["HTTPStatusCode"], r["MeteringRecordId"] == "DryRunOperation"]))',
  ].join('\n'));
  assert.deepEqual(out, [200, true]);
  assert.deepEqual(await usageRecords(url), []);
});

/** A namespace where account 111122223333 buys AMI product `ami` and container product `box`. */
async function instancesWorld() {
  const url = namespaceUrl(mock, `clients-${++namespaces}`);
  for (const productCode of ['ami', 'box']) {
    await createProduct(url, { productCode, dimensions: ['hosts'], customers: [{ customerAWSAccountId: '111122223333' }] });
  }
  await setClock(url, { frozenAt: NOW });
  return url;
}

test('boto3 with session tokens: two instances of one account each record their hour, retries are idempotent, a dry run keeps its own hour', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await instancesWorld();
  const out = await boto3(url, [
    'def instance(token):',
    '    return boto3.client("meteringmarketplace", aws_access_key_id="111122223333", aws_secret_access_key="x", aws_session_token=token)',
    'a, b = instance("instance-a-session"), instance("instance-b-session")',
    'meter = lambda c, q=1, **kw: c.meter_usage(ProductCode="ami", Timestamp=ts, UsageDimension="hosts", UsageQuantity=q, **kw)',
    'ids = [meter(a)["MeteringRecordId"], meter(b)["MeteringRecordId"]]',
    'retries = [meter(a)["MeteringRecordId"], meter(b)["MeteringRecordId"]]',
    'try:',
    '    meter(a, 2, DryRun=True)',
    '    dry = "no error"',
    'except a.exceptions.DuplicateRequestException as e:',
    '    dry = type(e).__name__',
    'fresh = meter(instance("instance-a-restarted"), 2, DryRun=True)["MeteringRecordId"]',
    'try:',
    '    a.meter_usage(ProductCode="ami", Timestamp=ts, UsageDimension="cpus", UsageQuantity=1)',
    'except a.exceptions.InvalidUsageDimensionException as e:',
    '    message = e.response["Error"]["Message"]',
    'print(json.dumps([ids, retries, dry, fresh, message]))',
  ].join('\n'));
  const [ids, retries, dry, fresh, message] = out;
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual(retries, ids);
  assert.equal(dry, 'DuplicateRequestException');
  assert.equal(fresh, 'DryRunOperation');
  assert.match(message, /^UsageDimension cpus is invalid for ProductCode ami/);
  assert.equal((await usageRecords(url)).length, 2);
});

test('boto3 with session tokens: a pod\'s later RegisterUsage calls with fresh nonces succeed after the buyer unsubscribed; a new pod\'s first call is refused', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await instancesWorld();
  // Each call as a container drawing a fresh nonce, in the pod whose role session is `token`.
  const pods = [
    'import uuid',
    'def pod(token):',
    '    return boto3.client("meteringmarketplace", aws_access_key_id="111122223333", aws_secret_access_key="x", aws_session_token=token)',
    'register = lambda c: c.register_usage(ProductCode="box", PublicKeyVersion=1, Nonce=str(uuid.uuid4()))["Signature"]',
  ].join('\n');
  const first = await boto3(url, `${pods}\nprint(json.dumps(register(pod("pod-1-session"))))`);
  assert.equal(first.split('.').length, 3, first);
  const gone = await control(url, 'POST', '/subscriptions', { productCode: 'box', customerAWSAccountId: '111122223333', action: 'unsubscribe-success' });
  assert.equal(gone.status, 200, gone.text);
  const out = await boto3(url, [
    pods,
    'later = [register(pod("pod-1-session")) for _ in range(3)]',
    'new_pod = pod("pod-2-session")',
    'try:',
    '    register(new_pod)',
    '    refused = "no error"',
    'except new_pod.exceptions.CustomerNotEntitledException as e:',
    '    refused = type(e).__name__',
    'print(json.dumps([len(later), refused]))',
  ].join('\n'));
  assert.deepEqual(out, [3, 'CustomerNotEntitledException']);
});

test('boto3 surfaces DryRunOperation as a ClientError with that code (dryRunResponse "error")', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  await control(url, 'PATCH', '/settings', { dryRunResponse: 'error' });
  const out = await boto3(url, [
    'from botocore.exceptions import ClientError',
    'try:',
    '    client.meter_usage(ProductCode="prod", Timestamp=ts, UsageDimension="hosts", UsageQuantity=1, DryRun=True)',
    '    print(json.dumps("no error"))',
    'except ClientError as e:',
    '    print(json.dumps(e.response["Error"]["Code"]))',
  ].join('\n'));
  assert.equal(out, 'DryRunOperation');
  assert.deepEqual(await usageRecords(url), []);
});

/** Mints a registration token for cust-1 of `prod`. */
async function mint(url) {
  const r = await control(url, 'POST', '/registration-tokens', { productCode: 'prod', customerIdentifier: 'cust-1' });
  assert.equal(r.status, 201, r.text);
  return r.json.registrationToken;
}

/** Gives cust-1 of `prod` entitlements for both dimensions. */
async function entitle(url) {
  const r = await control(url, 'PUT', '/entitlements', {
    productCode: 'prod', customerIdentifier: 'cust-1',
    entitlements: [
      { dimension: 'hosts', value: { integerValue: 4 } },
      { dimension: 'users', value: { booleanValue: true }, expirationDate: '2027-01-01T00:00:00Z' },
    ],
  });
  assert.equal(r.status, 200, r.text);
}

test('boto3 resolve_customer resolves a token once, then raises ExpiredTokenException by its class', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const token = await mint(url);
  const out = await boto3(url, [
    `r = client.resolve_customer(RegistrationToken=${JSON.stringify(token)})`,
    'try:',
    `    client.resolve_customer(RegistrationToken=${JSON.stringify(token)})`,
    '    again = "no error"',
    'except client.exceptions.ExpiredTokenException as e:',
    '    again = type(e).__name__',
    'print(json.dumps([r["CustomerIdentifier"], r["ProductCode"], again]))',
  ].join('\n'));
  assert.deepEqual(out, ['cust-1', 'prod', 'ExpiredTokenException']);
});

test('aws meteringmarketplace resolve-customer prints the customer', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  const r = await aws(url, 'resolve-customer', '--registration-token', await mint(url));
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.CustomerIdentifier, 'cust-1');
  assert.equal(out.ProductCode, 'prod');
});

test('aws marketplace-entitlement get-entitlements lists, filters and paginates', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  await entitle(url);
  const r = await run('aws', ['marketplace-entitlement', 'get-entitlements', '--product-code', 'prod',
    '--filter', 'DIMENSION=users', '--output', 'json'], url);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.Entitlements.map((e) => [e.CustomerIdentifier, e.Dimension, e.Value]), [['cust-1', 'users', { BooleanValue: true }]]);
  const paged = await run('aws', ['marketplace-entitlement', 'get-entitlements', '--product-code', 'prod',
    '--page-size', '1', '--output', 'json'], url);
  assert.equal(paged.code, 0, paged.stderr);
  assert.deepEqual(JSON.parse(paged.stdout).Entitlements.map((e) => e.Dimension), ['hosts', 'users']);
});

test('boto3 get_entitlements pages with its paginator and reads ExpirationDate as a datetime', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  await entitle(url);
  const out = await boto3(url, [
    'ent = boto3.client("marketplace-entitlement")',
    'pages = list(ent.get_paginator("get_entitlements").paginate(ProductCode="prod", PaginationConfig={"PageSize": 1}))',
    'items = [e for p in pages for e in p["Entitlements"]]',
    'print(json.dumps([len(pages), [e["Dimension"] for e in items], items[1]["ExpirationDate"].isoformat()]))',
  ].join('\n'));
  assert.equal(out[0] >= 2, true, JSON.stringify(out));
  assert.deepEqual(out[1], ['hosts', 'users']);
  assert.equal(Date.parse(out[2]), Date.parse('2027-01-01T00:00:00Z'));
});

/** Verifies a RegisterUsage Signature (PS256) with the namespace's PEM of `version`; returns its claims. */
async function verifiedClaims(url, signature, version = 1) {
  const r = await fetch(`${url}/_mock/keys/${version}`);
  assert.equal(r.status, 200);
  const key = await importSPKI(await r.text(), 'PS256');
  return (await jwtVerify(signature, key, { algorithms: ['PS256'] })).payload;
}

/** The claims of a RegisterUsage of `prod` with key version 1 and `nonce`, signed at NOW. */
const registerClaims = (nonce) => ({
  productCode: 'prod', publicKeyVersion: 1, ProductCode: 'prod', PublicKeyVersion: 1, nonce, Nonce: nonce, iat: epochOf(NOW),
});

test('aws meteringmarketplace register-usage prints a Signature that verifies with the published key', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  const r = await aws(url, 'register-usage', '--product-code', 'prod', '--public-key-version', '1', '--nonce', 'cli-task-1');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['Signature']);
  assert.deepEqual(await verifiedClaims(url, out.Signature), registerClaims('cli-task-1'));
  const listed = await control(url, 'GET', '/registrations');
  assert.deepEqual(listed.json.registrations.map((x) => [x.taskId, x.taskSource, x.caller]), [['cli-task-1', 'nonce', 'test']]);
});

test('the AWS CLI names InvalidPublicKeyVersionException from register-usage on stderr', async (t) => {
  if (missingClient(t, hasAwsCli, 'the AWS CLI')) return;
  const url = await world();
  const r = await aws(url, 'register-usage', '--product-code', 'prod', '--public-key-version', '2');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /InvalidPublicKeyVersionException/);
});

test('boto3 register_usage returns a Signature that verifies with the published key', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const out = await boto3(url, [
    'r = client.register_usage(ProductCode="prod", PublicKeyVersion=1, Nonce="boto-task-1")',
    'print(json.dumps([r["Signature"], "PublicKeyRotationTimestamp" in r]))',
  ].join('\n'));
  assert.equal(out[1], false);
  assert.deepEqual(await verifiedClaims(url, out[0]), registerClaims('boto-task-1'));
});

test('boto3 reads a retired key\'s PublicKeyRotationTimestamp as a datetime and catches CustomerNotEntitledException by its class', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const rotated = await control(url, 'POST', '/keys/rotate', { retirePrevious: true });
  assert.equal(rotated.status, 201, rotated.text);
  const out = await boto3(url, [
    'r = client.register_usage(ProductCode="prod", PublicKeyVersion=1, Nonce="boto-retired")',
    'buyer = boto3.client("meteringmarketplace", aws_access_key_id="123412341234", aws_secret_access_key="x")',
    'try:',
    '    buyer.register_usage(ProductCode="prod", PublicKeyVersion=2)',
    '    refused = "no error"',
    'except buyer.exceptions.CustomerNotEntitledException as e:',
    '    refused = type(e).__name__',
    'print(json.dumps([r["Signature"], r["PublicKeyRotationTimestamp"].isoformat(), refused]))',
  ].join('\n'));
  assert.deepEqual(await verifiedClaims(url, out[0], 1), registerClaims('boto-retired'));
  assert.equal(Date.parse(out[1]), Date.parse(NOW));
  assert.equal(out[2], 'CustomerNotEntitledException');
});

test('boto3 reads back the first and last expiration dates the control API accepts (years 0001 and 9999)', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  const r = await control(url, 'PUT', '/entitlements', {
    productCode: 'prod', customerIdentifier: 'cust-1',
    entitlements: [
      { dimension: 'hosts', value: { integerValue: 1 }, expirationDate: '0001-01-01T00:00:00Z' },
      { dimension: 'users', value: { integerValue: 1 }, expirationDate: '9999-12-31T23:59:59Z' },
    ],
  });
  assert.equal(r.status, 200, r.text);
  const out = await boto3(url, [
    'e = boto3.client("marketplace-entitlement")',
    'r = e.get_entitlements(ProductCode="prod")',
    'print(json.dumps(sorted(x["ExpirationDate"].isoformat() for x in r["Entitlements"])))',
  ].join('\n'));
  assert.deepEqual(out, ['0001-01-01T00:00:00+00:00', '9999-12-31T23:59:59+00:00']);
});
