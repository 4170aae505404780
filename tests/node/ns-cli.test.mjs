// The namespace command line (cli/ns.mjs) and the GitHub Action built on it
// (.github/actions/namespace), against a locked wrangler dev mock: create with a seed file,
// the endpoint answering the JS SDK with the issued credentials, names derived from any
// branch, create again (fail, rotate, recreate), delete twice, bad seed files refused with the
// path of the error and nothing left behind, and the action's create and cleanup.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarketplaceMeteringClient, BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { MarketplaceEntitlementServiceClient, GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import { startEphemeralMock } from './harness.mjs';
import { namespaceFor, NAME_PATTERN } from '../../cli/names.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'cli', 'ns.mjs');
const ACTION = join(ROOT, '.github', 'actions', 'namespace', 'run.mjs');
const SEED = join(ROOT, 'examples', 'github', 'metering-mock-seed.json');
const ADMIN_TOKEN = 'ns-cli-test-admin-token-0123456789';

let mock;
let work;

before(async () => {
  mock = await startEphemeralMock({ vars: { ADMIN_TOKEN } });
  work = mkdtempSync(join(tmpdir(), 'ns-cli-'));
});

after(async () => {
  await mock?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a script with the mock's URL and admin token in its environment. */
function run(script, args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH, METERING_MOCK_URL: mock.url, METERING_MOCK_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
  });
}

const ns = (args, env) => run(CLI, args, env);

function readOutputs(file) {
  return Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const i = line.indexOf('=');
    return [line.slice(0, i), line.slice(i + 1)];
  }));
}

function clients(outputs) {
  const credentials = { accessKeyId: outputs['access-key-id'], secretAccessKey: outputs['secret-access-key'] };
  const common = { region: 'us-east-1', endpoint: outputs.endpoint, credentials, maxAttempts: 1 };
  return {
    metering: new MarketplaceMeteringClient(common),
    entitlements: new MarketplaceEntitlementServiceClient(common),
  };
}

async function names() {
  const r = await ns(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).namespaces.map((n) => n.name);
}

const batch = (client, customer = 'cust-acme') => client.send(new BatchMeterUsageCommand({
  ProductCode: 'my-saas',
  UsageRecords: [{ Timestamp: new Date(), CustomerIdentifier: customer, Dimension: 'users', Quantity: 3 }],
}));

test('names derived from branch names are valid, deterministic and distinct', () => {
  const branches = [
    'main', 'refs/heads/main', 'feature/metering', 'Feature/Metering', 'feature-metering',
    'FEATURE_METERING', 'fix/über-größe', 'fix/uber-grosse', '🚀', '🚀🚀', '---', 'a'.repeat(200),
    `${'a'.repeat(200)}b`, 'dependabot/npm_and_yarn/@aws-sdk/client-marketplace-metering-3.1138.0',
    'release/2026.11', 'release/2026-11', 'x'.repeat(40), `${'x'.repeat(40)}/y`,
  ];
  const derived = branches.map((b) => namespaceFor(b, { prefix: 'pr-' }));
  for (const [i, name] of derived.entries()) {
    assert.match(name, NAME_PATTERN, `${branches[i]} → ${name}`);
    assert.ok(name.length <= 64);
    assert.equal(namespaceFor(branches[i], { prefix: 'pr-' }), name, 'the same branch gives the same name');
  }
  assert.equal(new Set(derived).size, branches.length, derived.join('\n'));
  assert.match(namespaceFor('Feature/Über-Cool'), /^feature-uber-cool-[0-9a-f]{8}$/);
  assert.throws(() => namespaceFor(''), /branch name/);
  assert.throws(() => namespaceFor('x', { prefix: 'Bad Prefix' }), /prefix/);
});

test('create with a seed file and --github-output: masked secrets, an endpoint the SDKs can use, delete twice', async () => {
  const outputFile = join(work, 'create-output');
  writeFileSync(outputFile, '');
  const branch = 'Feature/Seeded Namespace';
  const r = await ns(['create', '--branch', branch, '--prefix', 'pr-', '--seed', SEED, '--github-output'], { GITHUB_OUTPUT: outputFile });
  assert.equal(r.code, 0, r.stderr);
  const outputs = readOutputs(outputFile);
  assert.equal(outputs.name, namespaceFor(branch, { prefix: 'pr-' }));
  assert.equal(outputs.endpoint, `${mock.url}/ns/${outputs.name}`);
  assert.match(outputs['access-key-id'], /^AKIA/);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), [`::add-mask::${outputs['secret-access-key']}`, `::add-mask::${outputs['control-token']}`]);
  for (const line of lines.slice(2)) {
    assert.ok(!line.includes(outputs['secret-access-key']) && !line.includes(outputs['control-token']), `a secret printed: ${line}`);
  }

  const { metering, entitlements } = clients(outputs);
  const metered = await batch(metering);
  assert.equal(metered.Results[0].Status, 'Success');
  const got = await entitlements.send(new GetEntitlementsCommand({ ProductCode: 'my-saas', Filter: { CUSTOMER_IDENTIFIER: ['cust-globex'] } }));
  assert.equal(got.Entitlements[0].Value.IntegerValue, 25);
  const settings = await fetch(`${outputs.endpoint}/_mock/settings`, { headers: { authorization: `Bearer ${outputs['control-token']}` } });
  assert.equal((await settings.json()).maxFutureSeconds, 300);

  const first = await ns(['delete', '--branch', branch, '--prefix', 'pr-']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /deleted namespace/);
  const second = await ns(['delete', '--branch', branch, '--prefix', 'pr-']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /does not exist/);
  assert.ok(!(await names()).includes(outputs.name));
  await assert.rejects(batch(metering), (/** @type {any} */ e) => e.name === 'UnrecognizedClientException');
});

test('create again: fail by default, rotate keeps the data with new credentials, recreate starts afresh', async () => {
  const created = await ns(['create', 'again', '--seed', SEED, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const first = JSON.parse(created.stdout);
  const outputsOf = (answer) => ({
    endpoint: answer.endpoint,
    'access-key-id': answer.credentials.accessKeyId,
    'secret-access-key': answer.credentials.secretAccessKey,
  });
  await batch(clients(outputsOf(first)).metering);

  const refused = await ns(['create', 'again']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /exists/);

  const rotated = JSON.parse((await ns(['create', 'again', '--if-exists', 'rotate', '--seed', SEED, '--json'])).stdout);
  assert.notEqual(rotated.credentials.accessKeyId, first.credentials.accessKeyId);
  await assert.rejects(batch(clients(outputsOf(first)).metering), (/** @type {any} */ e) => e.name === 'UnrecognizedClientException');
  const usage = async (answer) => (await (await fetch(`${answer.endpoint}/_mock/usage`, { headers: { authorization: `Bearer ${answer.controlToken}` } })).json()).records;
  assert.equal((await usage(rotated)).length, 1, 'rotation keeps the data');

  const recreated = JSON.parse((await ns(['create', 'again', '--if-exists', 'recreate', '--seed', SEED, '--json'])).stdout);
  assert.equal((await usage(recreated)).length, 0, 'recreation starts afresh');
  assert.equal((await batch(clients(outputsOf(recreated)).metering)).Results[0].Status, 'Success', 'and seeded');
  assert.equal((await ns(['delete', 'again'])).code, 0);
});

test('bad seed files are refused with the path of the error, and leave no namespace behind', async () => {
  const notJson = join(work, 'not-json.json');
  writeFileSync(notJson, '{"products": [');
  const badLicense = join(work, 'bad-license.json');
  writeFileSync(badLicense, JSON.stringify({ products: [{ productCode: 'p', dimensions: ['d'], customers: [{ customerAWSAccountId: '111122223333', licenseArn: 'not-an-arn' }] }] }));
  const badEntitlement = join(work, 'bad-entitlement.json');
  writeFileSync(badEntitlement, JSON.stringify({ products: [{ productCode: 'p', dimensions: ['d'] }, { productCode: 'q', dimensions: ['d'], customers: [{ customerIdentifier: 'c', entitlements: [{ dimension: 'nope', value: { integerValue: 1 } }] }] }] }));
  const array = join(work, 'array.json');
  writeFileSync(array, '[]');
  for (const [file, expected] of /** @type {[string, RegExp][]} */ ([
    [notJson, /not JSON/],
    [join(work, 'missing.json'), /cannot be read/],
    [array, /must be a JSON object/],
    [badLicense, /products\[0\]\.customers\[0\]\.licenseArn: 'not-an-arn' is not a license ARN/],
    [badEntitlement, /products\[1\]: customer 1: entitlement dimension 'nope'/],
  ])) {
    const r = await ns(['create', 'bad-seed', '--seed', file]);
    assert.equal(r.code, 1, `${file}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.ok(!(await names()).includes('bad-seed'), `${file} left a namespace behind`);
  }
});

test('usage errors exit 2; a wrong admin token is refused', async () => {
  assert.equal((await ns([])).code, 2);
  assert.equal((await ns(['create'])).code, 2);
  assert.equal((await ns(['create', 'has space'])).code, 2);
  assert.equal((await ns(['create', 'x', '--if-exists', 'sometimes'])).code, 2);
  assert.equal((await ns(['explode'])).code, 2);
  assert.equal((await ns(['list'], { METERING_MOCK_ADMIN_TOKEN: '' })).code, 2);
  const wrong = await ns(['list'], { METERING_MOCK_ADMIN_TOKEN: 'not-the-admin-token-at-all' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /HTTP 401/);
  assert.equal((await ns(['--help'])).code, 0);
});

test('seed loads a file into an existing namespace with its control token', async () => {
  const created = JSON.parse((await ns(['create', 'seeded-later', '--json'])).stdout);
  const r = await ns(['seed', 'seeded-later', SEED], { METERING_MOCK_CONTROL_TOKEN: created.controlToken });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 products and settings/);
  const wrong = await ns(['seed', 'seeded-later', SEED], { METERING_MOCK_CONTROL_TOKEN: 'mmct_wrong' });
  assert.equal(wrong.code, 1);
  assert.equal((await ns(['delete', 'seeded-later'])).code, 0);
});

test('the GitHub Action creates the pull request\'s namespace from its branch, and cleanup removes it', async () => {
  const outputFile = join(work, 'action-output');
  writeFileSync(outputFile, '');
  const inputs = { INPUT_BRANCH: 'dependabot/npm_and_yarn/Some-Package-1.2.3', INPUT_PREFIX: 'pr-', GITHUB_OUTPUT: outputFile };
  const created = await run(ACTION, [], { ...inputs, INPUT_MODE: 'create', INPUT_SEED_FILE: SEED, INPUT_IF_EXISTS: '' });
  assert.equal(created.code, 0, created.stderr);
  const outputs = readOutputs(outputFile);
  assert.equal(outputs.name, namespaceFor(inputs.INPUT_BRANCH, { prefix: 'pr-' }));
  assert.equal((await batch(clients(outputs).metering)).Results[0].Status, 'Success');
  // A new commit of the pull request: by default a fresh namespace, seeded again.
  writeFileSync(outputFile, '');
  const again = await run(ACTION, [], { ...inputs, INPUT_MODE: 'create', INPUT_SEED_FILE: SEED });
  assert.equal(again.code, 0, again.stderr);
  assert.notEqual(readOutputs(outputFile)['access-key-id'], outputs['access-key-id']);

  const cleaned = await run(ACTION, [], { ...inputs, INPUT_MODE: 'cleanup' });
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.ok(!(await names()).includes(outputs.name));
  assert.equal((await run(ACTION, [], { ...inputs, INPUT_MODE: 'cleanup' })).code, 0, 'cleanup runs twice');
  assert.equal((await run(ACTION, [], { ...inputs, INPUT_MODE: 'sideways' })).code, 1);
});

test('nothing is created that could not be handed over; the admin token never goes out in clear text', async () => {
  const noOutput = await ns(['create', 'lost-outputs', '--github-output'], { GITHUB_OUTPUT: '' });
  assert.equal(noOutput.code, 2);
  assert.ok(!(await names()).includes('lost-outputs'), 'refused before creating');
  assert.equal((await ns(['list', '--url', 'http://mock.example.com'])).code, 2);
  assert.equal((await ns(['list', '--url', `${mock.url}/ns/x`])).code, 2);

  // A rotation whose seed is refused still hands over the new credentials.
  assert.equal((await ns(['create', 'rotated-bad-seed'])).code, 0);
  const badSeed = join(work, 'rotate-bad.json');
  writeFileSync(badSeed, JSON.stringify({ products: [{ productCode: 'p', dimensions: [] }] }));
  const rotated = await ns(['create', 'rotated-bad-seed', '--if-exists', 'rotate', '--seed', badSeed]);
  assert.equal(rotated.code, 1);
  assert.match(rotated.stdout, /export AWS_SECRET_ACCESS_KEY=/);
  assert.match(rotated.stderr, /keeps its data and the new credentials above/);
  assert.equal((await ns(['delete', 'rotated-bad-seed'])).code, 0);
});
