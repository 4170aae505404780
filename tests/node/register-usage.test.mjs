// RegisterUsage through the real JS SDK, with every Signature verified by `jose` the way a
// paid container verifies AWS's: against the PEM of the version it asked for and against the
// published JWKS. Covers the claims and header, key rotation and retirement, every modeled
// error, the first-call rule (tasks named by Nonce or by the X-Mock-Task-Id header, added by
// an SDK middleware), the registrations it records, concurrent calls of one task and an
// injected throttle that the SDK retries. Every test works in a fresh namespace whose clock
// is frozen at NOW.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { MarketplaceMeteringClient, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, importSPKI, jwtVerify,
} from 'jose';
import {
  startEphemeralMock, meteringClient, control, sdkError, namespaceUrl, epochOf, createProduct,
  setClock, patchSettings,
  fulfilledValues,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const SELLER = '999988887777';
const BUYER = '111122223333';
const OTHER_BUYER = '444455556666';
const STRANGER = '123412341234';
const REGIONS = ['us-east-1', 'eu-west-1'];

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/**
 * A fresh namespace with the container product `box` (seller SELLER, Regions REGIONS,
 * customers BUYER and OTHER_BUYER), clock frozen at NOW. Its keys are not touched: version 1
 * is made by whatever needs it first.
 */
async function world() {
  const url = namespaceUrl(mock, `register-${++namespaces}`);
  await createProduct(url, {
    productCode: 'box',
    dimensions: ['vcpu'],
    sellerAccountId: SELLER,
    regions: REGIONS,
    customers: [{ customerAWSAccountId: BUYER }, { customerAWSAccountId: OTHER_BUYER }],
  });
  await setClock(url, { frozenAt: NOW });
  return url;
}

/**
 * An SDK client calling as `accessKeyId` from `region`; with `taskId`, a build-step middleware
 * adds the X-Mock-Task-Id header to every request (before SigV4 signs it).
 */
/** @param {string} url @param {{accessKeyId?: string, region?: string, taskId?: string, maxAttempts?: number}} [options] */
function client(url, { accessKeyId = BUYER, region = 'us-east-1', taskId, maxAttempts } = {}) {
  const c = maxAttempts === undefined
    ? meteringClient(url, { accessKeyId, region })
    : new MarketplaceMeteringClient({
      region, endpoint: url, credentials: { accessKeyId, secretAccessKey: 'test-secret' }, maxAttempts,
    });
  if (taskId !== undefined) {
    c.middlewareStack.add((next) => (/** @type {any} */ args) => {
      args.request.headers['x-mock-task-id'] = taskId;
      return next(args);
    }, { step: 'build', name: 'mockTaskIdHeader' });
  }
  return c;
}

/** RegisterUsage of `box` with key version `version` (and `nonce` unless null). */
/** @param {string} url @param {{nonce?: string | null, version?: number, productCode?: string, accessKeyId?: string, region?: string, taskId?: string, maxAttempts?: number}} [options] */
function register(url, { nonce = null, version = 1, productCode = 'box', ...who } = {}) {
  const input = { ProductCode: productCode, PublicKeyVersion: version };
  if (nonce !== null) input.Nonce = nonce;
  return client(url, who).send(new RegisterUsageCommand(input));
}

/** Asserts an SDK error by its name (HTTP 400); returns it. */
async function assertSdkError(promise, name) {
  const e = await sdkError(promise);
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  assert.equal(e.$metadata?.httpStatusCode, 400);
  return e;
}

/** GET /_mock/keys/<v> (or another suffix): the PEM text; asserts 200 and the PEM media type. */
async function pemOf(url, version) {
  const r = await fetch(`${url}/_mock/keys/${version}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.match(r.headers.get('content-type'), /^application\/x-pem-file/);
  return text;
}

/** Verifies a Signature PS256 against a PEM (SubjectPublicKeyInfo); resolves jose's result. */
async function verifyWithPem(signature, pem) {
  return jwtVerify(signature, await importSPKI(pem, 'PS256'), { algorithms: ['PS256'] });
}

const jwksUrl = (url) => new URL(`${url}/_mock/keys/jwks.json`);

/**
 * A JWKS key resolver that picks the entry of `version`: the Signature carries no `kid` (the
 * container named the version in its request), so with several keys in the set jose cannot
 * choose one by itself; this supplies the version as the kid to look up.
 */
const jwksOfVersion = (jwks, version) => (header, token) => jwks({ ...header, kid: String(version) }, token);

/** The claims a signature over this request must carry (nonce only when it was sent). */
/** @param {{version?: number, nonce?: string | null, productCode?: string}} [options] */
function expectedClaims({ version = 1, nonce = null, productCode = 'box' } = {}) {
  return {
    productCode,
    publicKeyVersion: version,
    ProductCode: productCode,
    PublicKeyVersion: version,
    ...(nonce === null ? {} : { nonce, Nonce: nonce }),
    iat: epochOf(NOW),
  };
}

/** GET /_mock/registrations (with `query`); asserts 200 and returns the list. */
async function registrations(url, query = '') {
  const r = await control(url, 'GET', `/registrations${query}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.count, r.json.registrations.length);
  return r.json.registrations;
}

async function keys(url) {
  const r = await control(url, 'GET', '/keys');
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function rotate(url, body) {
  const r = await control(url, 'POST', '/keys/rotate', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function unsubscribe(url, account) {
  const r = await control(url, 'POST', '/subscriptions',
    { productCode: 'box', customerAWSAccountId: account, action: 'unsubscribe-success' });
  assert.equal(r.status, 200, r.text);
}

/** `iso` moved by whole `seconds`, as RFC 3339 in the mock's own form (no fraction). */
const plus = (iso, seconds) => new Date(Date.parse(iso) + seconds * 1000).toISOString().replace('.000Z', 'Z');

// --------------------------------------------------------------------------- the signature

test('the Signature is a PS256 JWT without kid whose claims echo the request, verified with the PEM of version 1', async () => {
  const url = await world();
  const out = await register(url, { nonce: 'task-1' });
  assert.equal(typeof out.Signature, 'string');
  assert.equal(out.PublicKeyRotationTimestamp, undefined);

  const [rawHeader] = out.Signature.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(rawHeader, 'base64url').toString('utf8')), { typ: 'JWT', alg: 'PS256' });
  assert.deepEqual(decodeProtectedHeader(out.Signature), { typ: 'JWT', alg: 'PS256' });

  const pem = await pemOf(url, 1);
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
  const { payload, protectedHeader } = await verifyWithPem(out.Signature, pem);
  assert.deepEqual(protectedHeader, { typ: 'JWT', alg: 'PS256' });
  assert.deepEqual(payload, expectedClaims({ nonce: 'task-1' }));
  assert.equal(payload.iat, Date.parse(NOW) / 1000, 'iat is the namespace clock, not the wall clock');
});

test('without a Nonce the signature carries no nonce claim', async () => {
  const url = await world();
  const out = await register(url);
  const { payload } = await verifyWithPem(out.Signature, await pemOf(url, 1));
  assert.deepEqual(payload, expectedClaims());
  assert.equal('nonce' in payload || 'Nonce' in payload, false);
});

test('reading keys makes none; POST /_mock/keys makes version 1 once', async () => {
  const url = await world();
  assert.deepEqual(await keys(url), { currentVersion: 0, keys: [] });
  assert.equal((await fetch(`${url}/_mock/keys/1`)).status, 404);
  assert.deepEqual((await control(url, 'GET', '/keys/jwks.json')).json, { keys: [] });
  assert.equal((await control(url, 'POST', '/keys')).status, 201);
  assert.equal((await control(url, 'POST', '/keys')).status, 200);
  assert.equal((await keys(url)).keys.length, 1);
});

test('the PEM is published three ways and is a 2048-bit RSA key', async () => {
  const url = await world();
  assert.equal((await control(url, 'POST', '/keys')).status, 201);
  const pem = await pemOf(url, 1);
  assert.equal(await pemOf(url, '1.pem'), pem);
  const ring = await keys(url);
  assert.equal(ring.currentVersion, 1);
  assert.equal(ring.keys.length, 1);
  const [key] = ring.keys;
  assert.deepEqual({ ...key, publicKeyPem: undefined }, {
    version: 1, status: 'active', createdAt: NOW, retiredAt: null, kid: '1', algorithm: 'PS256', publicKeyPem: undefined,
  });
  assert.equal(key.publicKeyPem, pem);
  const imported = await importSPKI(pem, 'PS256', { extractable: true });
  assert.equal(imported.algorithm.name, 'RSA-PSS');
  assert.equal(/** @type {RsaHashedKeyAlgorithm} */ (imported.algorithm).modulusLength, 2048);
  assert.equal((await control(url, 'GET', '/keys/2')).status, 404);
});

test('createRemoteJWKSet verifies a kid-less signature while the set holds one key, and by version once it holds several', async () => {
  const url = await world();
  const first = await register(url, { nonce: 'n-1' });
  const one = createRemoteJWKSet(jwksUrl(url));
  const { payload } = await jwtVerify(first.Signature, one, { algorithms: ['PS256'] });
  assert.deepEqual(payload, expectedClaims({ nonce: 'n-1' }));

  await rotate(url);
  const second = await register(url, { nonce: 'n-2', version: 2 });
  const jwks = createRemoteJWKSet(jwksUrl(url));
  const set = await (await fetch(jwksUrl(url))).json();
  assert.deepEqual(set.keys.map(({ kty, use, alg, kid, e }) => ({ kty, use, alg, kid, e })), [
    { kty: 'RSA', use: 'sig', alg: 'PS256', kid: '1', e: 'AQAB' },
    { kty: 'RSA', use: 'sig', alg: 'PS256', kid: '2', e: 'AQAB' },
  ]);

  // Without a kid every PS256 key of the set matches: jose refuses to guess…
  await assert.rejects(jwtVerify(second.Signature, jwks, { algorithms: ['PS256'] }),
    (e) => e instanceof joseErrors.JWKSMultipleMatchingKeys && e.code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS');
  // …so the container looks up the version it asked for,
  const verified = await jwtVerify(second.Signature, jwksOfVersion(jwks, 2), { algorithms: ['PS256'] });
  assert.deepEqual(verified.payload, expectedClaims({ nonce: 'n-2', version: 2 }));
  await assert.rejects(jwtVerify(second.Signature, jwksOfVersion(jwks, 1), { algorithms: ['PS256'] }),
    (/** @type {any} */ e) => e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  assert.deepEqual((await jwtVerify(first.Signature, jwksOfVersion(jwks, 1))).payload, expectedClaims({ nonce: 'n-1' }));

  // …or tries each candidate, which jose's JWKSMultipleMatchingKeys error iterates over.
  let tried = 0;
  let found = null;
  try {
    await jwtVerify(second.Signature, jwks, { algorithms: ['PS256'] });
  } catch (e) {
    assert.ok(e instanceof joseErrors.JWKSMultipleMatchingKeys);
    for await (const key of e) {
      tried += 1;
      try {
        found = await jwtVerify(second.Signature, key, { algorithms: ['PS256'] });
        break;
      } catch (inner) {
        if (inner.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
      }
    }
  }
  assert.equal(tried, 2, 'version 1 fails, version 2 verifies');
  assert.equal(found.payload.publicKeyVersion, 2);
});

// -------------------------------------------------------------------- rotation and retirement

test('after a rotation each version signs with its own key: version 2 does not verify with version 1', async () => {
  const url = await world();
  await assertSdkError(register(url, { version: 2 }), 'InvalidPublicKeyVersionException');
  const pem1 = await pemOf(url, 1);
  const ring = await rotate(url);
  assert.equal(ring.currentVersion, 2);
  assert.deepEqual(ring.keys.map((k) => [k.version, k.status, k.kid]), [[1, 'active', '1'], [2, 'active', '2']]);
  assert.equal(ring.keys[0].publicKeyPem, pem1, 'a rotation keeps the older versions');
  const pem2 = await pemOf(url, 2);
  assert.notEqual(pem2, pem1);
  assert.equal(ring.keys[1].publicKeyPem, pem2);

  const two = await register(url, { version: 2, nonce: 'v2' });
  const one = await register(url, { version: 1, nonce: 'v1' });
  assert.equal(two.PublicKeyRotationTimestamp, undefined, 'version 1 was not retired');
  assert.equal(one.PublicKeyRotationTimestamp, undefined);
  assert.deepEqual((await verifyWithPem(two.Signature, pem2)).payload, expectedClaims({ version: 2, nonce: 'v2' }));
  assert.deepEqual((await verifyWithPem(one.Signature, pem1)).payload, expectedClaims({ version: 1, nonce: 'v1' }));
  await assert.rejects(verifyWithPem(two.Signature, pem1), joseErrors.JWSSignatureVerificationFailed);
  await assert.rejects(verifyWithPem(one.Signature, pem2), joseErrors.JWSSignatureVerificationFailed);
});

test('a retired version still signs with its own key and answers PublicKeyRotationTimestamp as a Date', async () => {
  const url = await world();
  assert.equal((await control(url, 'POST', '/keys')).status, 201);
  const pem1 = await pemOf(url, 1);
  const ring = await rotate(url, { retirePrevious: true });
  assert.deepEqual(ring.keys.map((k) => [k.version, k.status, k.retiredAt]), [[1, 'retired', NOW], [2, 'active', null]]);

  const old = await register(url, { version: 1, nonce: 'old-key' });
  assert.ok(old.PublicKeyRotationTimestamp instanceof Date, String(old.PublicKeyRotationTimestamp));
  assert.equal(old.PublicKeyRotationTimestamp.getTime(), Date.parse(NOW));
  assert.deepEqual((await verifyWithPem(old.Signature, pem1)).payload, expectedClaims({ nonce: 'old-key' }));

  const current = await register(url, { version: 2, nonce: 'new-key' });
  assert.equal(current.PublicKeyRotationTimestamp, undefined);
  assert.deepEqual((await verifyWithPem(current.Signature, await pemOf(url, 2))).payload,
    expectedClaims({ version: 2, nonce: 'new-key' }));
});

test('with retiredPublicKeyVersion "invalid-public-key-version" a retired version is InvalidPublicKeyVersionException', async () => {
  const url = await world();
  await rotate(url, { retirePrevious: true });
  await patchSettings(url, { retiredPublicKeyVersion: 'invalid-public-key-version' });
  await assertSdkError(register(url, { version: 1, nonce: 'refused' }), 'InvalidPublicKeyVersionException');
  assert.equal((await register(url, { version: 2, nonce: 'current' })).PublicKeyRotationTimestamp, undefined);
  assert.deepEqual(await registrations(url, '?productCode=box').then((list) => list.map((r) => r.publicKeyVersion)), [2],
    'the refused call registered nothing');

  const back = await control(url, 'POST', '/keys/1/reinstate');
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.keys[0].status, 'active');
  const again = await register(url, { version: 1 });
  assert.equal(again.PublicKeyRotationTimestamp, undefined);
  await verifyWithPem(again.Signature, await pemOf(url, 1));
});

test('a retirement scheduled for later takes effect on the namespace clock', async () => {
  const url = await world();
  const at = plus(NOW, 3600);
  const scheduled = await control(url, 'POST', '/keys/1/retire', { at });
  assert.equal(scheduled.status, 200, scheduled.text);
  assert.deepEqual([scheduled.json.keys[0].status, scheduled.json.keys[0].retiredAt], ['active', at]);
  assert.equal((await register(url)).PublicKeyRotationTimestamp, undefined);

  await setClock(url, { frozenAt: plus(NOW, 7200) });
  const late = await register(url, { nonce: 'late' });
  assert.equal(late.PublicKeyRotationTimestamp?.getTime(), Date.parse(at));
  const { payload } = await verifyWithPem(late.Signature, await pemOf(url, 1));
  assert.equal(payload.iat, epochOf(NOW) + 7200);
  assert.equal((await keys(url)).keys[0].status, 'retired');
});

// ------------------------------------------------------------------------------------ errors

test('an unknown product is InvalidProductCodeException', async () => {
  const url = await world();
  await assertSdkError(register(url, { productCode: 'no-such-product' }), 'InvalidProductCodeException');
  assert.deepEqual(await registrations(url), []);
});

test('a key version the namespace does not have is InvalidPublicKeyVersionException: a new namespace has only version 1', async () => {
  const url = await world();
  const e = await assertSdkError(register(url, { version: 2 }), 'InvalidPublicKeyVersionException');
  assert.match(e.message, /current version is 1/);
  await assertSdkError(register(url, { version: 99 }), 'InvalidPublicKeyVersionException');
  assert.deepEqual(await registrations(url), []);
});

test('a Region the product is not offered in is InvalidRegionException, on every call of a task', async () => {
  const url = await world();
  const e = await assertSdkError(register(url, { region: 'ap-south-1', nonce: 'pod' }), 'InvalidRegionException');
  assert.match(e.message, /us-east-1, eu-west-1/);
  const eu = await register(url, { region: 'eu-west-1', nonce: 'pod' });
  await verifyWithPem(eu.Signature, await pemOf(url, 1));
  await assertSdkError(register(url, { region: 'ap-south-1', nonce: 'pod' }), 'InvalidRegionException');
  assert.deepEqual((await registrations(url)).map((r) => [r.taskId, r.region]), [['pod', 'eu-west-1']]);
});

test('a 12-digit account that is not a customer is CustomerNotEntitledException; the seller and the wildcard caller are admitted', async () => {
  const url = await world();
  const e = await assertSdkError(register(url, { accessKeyId: STRANGER }), 'CustomerNotEntitledException');
  assert.match(e.message, new RegExp(STRANGER));
  for (const accessKeyId of [BUYER, OTHER_BUYER, SELLER, 'test', 'AKIDEXAMPLE']) {
    const out = await register(url, { accessKeyId, nonce: 'pod' });
    await verifyWithPem(out.Signature, await pemOf(url, 1));
  }
  // A wildcard caller's tasks are its access key's.
  assert.deepEqual((await registrations(url)).map((r) => r.caller), [BUYER, OTHER_BUYER, SELLER, 'test', 'AKIDEXAMPLE']);
});

test('containerPlatform ec2 or other is PlatformNotSupportedException; ecs, eks and fargate are supported', async () => {
  const url = await world();
  for (const platform of ['ec2', 'other']) {
    await patchSettings(url, { containerPlatform: platform });
    await assertSdkError(register(url, { nonce: `on-${platform}` }), 'PlatformNotSupportedException');
  }
  for (const platform of ['ecs', 'eks', 'fargate']) {
    await patchSettings(url, { containerPlatform: platform });
    await register(url, { nonce: `on-${platform}` });
  }
  assert.deepEqual((await registrations(url)).map((r) => r.taskId), ['on-ecs', 'on-eks', 'on-fargate']);
});

test('disabledOperations ["RegisterUsage"] is DisabledApiException, until re-enabled', async () => {
  const url = await world();
  await patchSettings(url, { disabledOperations: ['RegisterUsage'] });
  await assertSdkError(register(url, { nonce: 'off' }), 'DisabledApiException');
  await assertSdkError(register(url, { accessKeyId: 'test' }), 'DisabledApiException');
  await patchSettings(url, { disabledOperations: [] });
  await register(url, { nonce: 'on' });
  assert.deepEqual((await registrations(url)).map((r) => r.taskId), ['on']);
});

test('missing members, PublicKeyVersion 0, a 256-character Nonce or X-Mock-Task-Id are ValidationException', async () => {
  const url = await world();
  const send = (input, who) => client(url, who).send(new RegisterUsageCommand(input));
  const missingProduct = await assertSdkError(send({ PublicKeyVersion: 1 }), 'ValidationException');
  assert.match(missingProduct.message, /productCode.*must not be null/);
  const missingVersion = await assertSdkError(send({ ProductCode: 'box' }), 'ValidationException');
  assert.match(missingVersion.message, /publicKeyVersion.*must not be null/);
  const zero = await assertSdkError(send({ ProductCode: 'box', PublicKeyVersion: 0 }), 'ValidationException');
  assert.match(zero.message, /greater than or equal to 1/);
  const long = await assertSdkError(send({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: 'n'.repeat(256) }),
    'ValidationException');
  assert.match(long.message, /length less than or equal to 255/);
  await assertSdkError(send({ ProductCode: 'box', PublicKeyVersion: 1 }, { taskId: 't'.repeat(256) }), 'ValidationException');
  assert.deepEqual(await registrations(url), []);

  // The limits themselves are fine.
  await send({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: 'n'.repeat(255) });
  await send({ ProductCode: 'box', PublicKeyVersion: 1 }, { taskId: 't'.repeat(255) });
  assert.deepEqual((await registrations(url)).map((r) => [r.taskSource, r.taskId.length]), [['nonce', 255], ['header', 255]]);
});

// -------------------------------------------------------------------------- the first-call rule

test('a task named by its Nonce passes entitlement and platform once: later calls succeed after the buyer unsubscribed and the platform changed', async () => {
  const url = await world();
  await register(url, { accessKeyId: OTHER_BUYER, nonce: 'pod-a' });

  await unsubscribe(url, OTHER_BUYER);
  await patchSettings(url, { containerPlatform: 'ec2' });
  const again = await register(url, { accessKeyId: OTHER_BUYER, nonce: 'pod-a' });
  assert.deepEqual((await verifyWithPem(again.Signature, await pemOf(url, 1))).payload, expectedClaims({ nonce: 'pod-a' }));

  // A new task is checked: the platform first, then the entitlement.
  await assertSdkError(register(url, { accessKeyId: OTHER_BUYER, nonce: 'pod-b' }), 'PlatformNotSupportedException');
  await patchSettings(url, { containerPlatform: 'fargate' });
  await assertSdkError(register(url, { accessKeyId: OTHER_BUYER, nonce: 'pod-b' }), 'CustomerNotEntitledException');
  await assertSdkError(register(url, { accessKeyId: OTHER_BUYER }), 'CustomerNotEntitledException');
  // Tasks belong to their caller: another account cannot borrow pod-a.
  await assertSdkError(register(url, { accessKeyId: STRANGER, nonce: 'pod-a' }), 'CustomerNotEntitledException');

  const list = await registrations(url);
  assert.deepEqual(list.map((r) => [r.taskId, r.taskSource, r.caller]), [['pod-a', 'nonce', OTHER_BUYER]]);
});

test('a task named by the X-Mock-Task-Id header (an SDK middleware) keeps its pass while its Nonce changes on every call', async () => {
  const url = await world();
  const pod = { accessKeyId: OTHER_BUYER, taskId: 'task-1' };
  const firstNonce = crypto.randomUUID();
  await register(url, { ...pod, nonce: firstNonce });

  await unsubscribe(url, OTHER_BUYER);
  const nextNonce = crypto.randomUUID();
  const later = await register(url, { ...pod, nonce: nextNonce });
  const { payload } = await verifyWithPem(later.Signature, await pemOf(url, 1));
  assert.deepEqual(payload, expectedClaims({ nonce: nextNonce }), 'the signature covers this call\'s nonce');
  await register(url, pod); // no nonce at all: still task-1

  await assertSdkError(register(url, { ...pod, taskId: 'task-2', nonce: firstNonce }), 'CustomerNotEntitledException');
  // Without the header the same nonce names another task (the nonce itself), which is new.
  await assertSdkError(register(url, { accessKeyId: OTHER_BUYER, nonce: firstNonce }), 'CustomerNotEntitledException');

  const list = await registrations(url);
  assert.equal(list.length, 1);
  assert.deepEqual({ ...list[0], requestId: undefined }, {
    taskId: 'task-1', taskSource: 'header', productCode: 'box', caller: OTHER_BUYER, region: 'us-east-1',
    publicKeyVersion: 1, nonce: firstNonce, registeredAt: NOW, requestId: undefined,
  });
});

test('each named task is registered once, with the request that registered it; calls with neither header nor Nonce are only counted', async () => {
  const url = await world();
  const firstOfPod = await register(url, { nonce: 'pod-a' });
  await register(url, { nonce: 'pod-a' });
  await register(url, { nonce: 'pod-a', region: 'eu-west-1' });
  await register(url, { taskId: 'task-7' });
  await register(url, { taskId: 'task-7', nonce: 'anything' });
  await register(url);
  await register(url);
  await register(url, { accessKeyId: OTHER_BUYER, nonce: 'pod-a' }); // another caller's pod-a

  const list = await registrations(url, '?productCode=box');
  assert.deepEqual(list.map((r) => [r.taskId, r.taskSource, r.caller]), [
    ['pod-a', 'nonce', BUYER], ['task-7', 'header', BUYER], ['pod-a', 'nonce', OTHER_BUYER],
  ]);
  assert.equal((await control(url, 'GET', '/registrations')).json.unnamedTasks, 2);
  assert.equal('nonce' in list[1], false, 'task-7 registered without a nonce');
  assert.equal(list[0].requestId, firstOfPod.$metadata.requestId);
  assert.equal(list[0].registeredAt, NOW);
  assert.equal(list[0].region, 'us-east-1');
  assert.equal('taskKey' in list[0], false);

  assert.equal((await registrations(url, '?limit=2')).length, 2);
  assert.deepEqual(await registrations(url, '?productCode=other'), []);
  assert.equal((await control(url, 'GET', '/registrations?limit=0')).status, 400);
  assert.equal((await control(url, 'GET', '/registrations?bogus=1')).status, 400);
});

test('a reset forgets the registrations but keeps the keys', async () => {
  const url = await world();
  await rotate(url);
  const before = await keys(url);
  const signature = (await register(url, { version: 2, nonce: 't' })).Signature;
  assert.equal((await control(url, 'POST', '/reset')).status, 200);
  assert.deepEqual(await keys(url), before);
  assert.deepEqual(await registrations(url), []);
  await verifyWithPem(signature, await pemOf(url, 2));
});

// ------------------------------------------------------------------- concurrency and faults

test('20 concurrent RegisterUsage calls of one task all succeed, verify and register it once', async () => {
  const url = await world(); // no key yet: the first of these calls makes version 1
  const c = client(url, { accessKeyId: OTHER_BUYER });
  const settled = await Promise.allSettled(Array.from({ length: 20 },
    () => c.send(new RegisterUsageCommand({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: 'pod-x' }))));
  assert.deepEqual(settled.filter((s) => s.status === 'rejected').map((s) => `${s.reason.name}: ${s.reason.message}`), []);

  const ring = await keys(url);
  assert.equal(ring.currentVersion, 1, 'racing first calls made one key');
  const key = await importSPKI(ring.keys[0].publicKeyPem, 'PS256');
  for (const value of fulfilledValues(settled)) {
    const { payload } = await jwtVerify(value.Signature, key, { algorithms: ['PS256'] });
    assert.deepEqual(payload, expectedClaims({ nonce: 'pod-x' }));
  }
  const list = await registrations(url);
  assert.deepEqual(list.map((r) => [r.taskId, r.taskSource, r.caller]), [['pod-x', 'nonce', OTHER_BUYER]]);
  const requestIds = new Set(fulfilledValues(settled).map((v) => v.$metadata.requestId));
  assert.equal(requestIds.size, 20);
  assert.ok(requestIds.has(list[0].requestId), 'the registration names one of the 20 requests');
});

test('20 concurrent RegisterUsage calls without Nonce are 20 tasks, each counted once and none registered', async () => {
  const url = await world();
  const c = client(url);
  const settled = await Promise.allSettled(Array.from({ length: 20 },
    () => c.send(new RegisterUsageCommand({ ProductCode: 'box', PublicKeyVersion: 1 }))));
  assert.deepEqual(settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name), []);
  assert.deepEqual(await registrations(url), []);
  assert.equal((await control(url, 'GET', '/registrations')).json.unnamedTasks, 20);
});

test('a queued ThrottlingException is retried by the SDK transparently and the task registered once', async () => {
  const url = await world();
  const queued = await control(url, 'POST', '/faults', { operation: 'RegisterUsage', error: 'ThrottlingException', count: 1 });
  assert.equal(queued.status, 201, queued.text);
  const out = await register(url, { nonce: 'throttled', maxAttempts: 3 });
  assert.equal(out.$metadata.attempts, 2);
  assert.deepEqual((await verifyWithPem(out.Signature, await pemOf(url, 1))).payload, expectedClaims({ nonce: 'throttled' }));
  assert.deepEqual((await registrations(url)).map((r) => r.taskId), ['throttled']);
  assert.deepEqual((await control(url, 'GET', '/faults')).json.faults, []);

  // With retries off the same fault surfaces as the error.
  await control(url, 'POST', '/faults', { operation: 'RegisterUsage', error: 'ThrottlingException', count: 1 });
  await assertSdkError(register(url, { nonce: 'throttled' }), 'ThrottlingException');
});
