// Buyer onboarding through the real JS SDK: registration tokens minted by the control API and
// resolved with ResolveCustomer, the subscription lifecycle and how BatchMeterUsage and
// MeterUsage honour it, concurrent-agreements tokens, entitlements and the notification log.
// Every test works in a fresh namespace; clocks are frozen unless a test is about the TTL.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchMeterUsageCommand, MeterUsageCommand, ResolveCustomerCommand,
} from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, meteringClient, rawCall, control, sdkError, namespaceUrl, epochOf,
  createProduct, setClock, patchSettings, UUID_V4,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const SELLER = '999988887777';
const BUYER = '210987654321';
const OTHER_BUYER = '444455556666';
const LICENSE_1 = 'arn:aws:license-manager::111122223333:license:l-0000000000000000000000000000001';
const LICENSE_2 = 'arn:aws:license-manager::111122223333:license:l-0000000000000000000000000000002';
const AGREEMENT_ID = /^agmt-[0-9a-z]{25}$/;

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/**
 * A fresh namespace with the SaaS product `saas` (seller SELLER): `buyer-1` (account BUYER,
 * subscription `buyerSubscription`) and `buyer-2` (OTHER_BUYER, subscribed), and the
 * concurrent-agreements product `ca` whose account 111122223333 holds two licenses.
 * The clock is frozen at `frozenAt` (null leaves it running).
 */
async function world({ buyerSubscription = 'subscribed', frozenAt = NOW } = {}) {
  const url = namespaceUrl(mock, `onboarding-${++namespaces}`);
  await createProduct(url, {
    productCode: 'saas',
    dimensions: ['users', 'gb'],
    sellerAccountId: SELLER,
    customers: [
      { customerIdentifier: 'buyer-1', customerAWSAccountId: BUYER, subscription: buyerSubscription },
      { customerIdentifier: 'buyer-2', customerAWSAccountId: OTHER_BUYER },
    ],
  });
  await createProduct(url, {
    productCode: 'ca',
    dimensions: ['requests'],
    integration: 'concurrent-agreements',
    customers: [
      { customerAWSAccountId: '111122223333', licenseArn: LICENSE_1 },
      { customerAWSAccountId: '111122223333', licenseArn: LICENSE_2 },
    ],
  });
  if (frozenAt) await setClock(url, { frozenAt });
  return url;
}

/** POST /_mock/registration-tokens; asserts 201 and returns the body. */
async function mint(url, body) {
  const r = await control(url, 'POST', '/registration-tokens', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/** ResolveCustomer through the SDK, as the seller account (or `accessKeyId`). */
/** @param {string} url @param {string} token @param {{accessKeyId?: string}} [options] */
function resolve(url, token, { accessKeyId = SELLER } = {}) {
  return meteringClient(url, { accessKeyId }).send(new ResolveCustomerCommand({ RegistrationToken: token }));
}

/** POST /_mock/subscriptions for buyer-1 of `saas` (or `selector`); returns the raw answer. */
function lifecycle(url, action, selector = { productCode: 'saas', customerIdentifier: 'buyer-1' }) {
  return control(url, 'POST', '/subscriptions', { ...selector, action });
}

async function lifecycleOk(url, action, selector) {
  const r = await lifecycle(url, action, selector);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** BatchMeterUsage of one `users` record of BUYER at `at`; returns that record's result. */
async function batchResult(url, at, { account = BUYER, quantity = 1 } = {}) {
  const out = await meteringClient(url).send(new BatchMeterUsageCommand({
    ProductCode: 'saas',
    UsageRecords: [{ CustomerAWSAccountId: account, Dimension: 'users', Quantity: quantity, Timestamp: new Date(at) }],
  }));
  assert.equal(out.Results.length, 1, JSON.stringify(out));
  assert.deepEqual(out.UnprocessedRecords ?? [], []);
  return out.Results[0];
}

/** `iso` moved by `seconds`, as RFC 3339. */
const plus = (iso, seconds) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Asserts an SDK error by its name and HTTP status; returns it. */
async function assertSdkError(promise, name, status = 400) {
  const e = await sdkError(promise);
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  assert.equal(e.$metadata?.httpStatusCode, status);
  return e;
}

async function events(url, query = '') {
  const r = await control(url, 'GET', `/events${query}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.count, r.json.events.length);
  return r.json.events;
}

const snsMessage = (event) => JSON.parse(event.sns.Message);

// ------------------------------------------------------------------------------- the whole flow

test('a new buyer is onboarded end to end: mint, resolve, subscribe-success, metered, unsubscribed, refused', async () => {
  const url = await world({ buyerSubscription: 'pending' });

  const minted = await mint(url, { productCode: 'saas', customerAWSAccountId: BUYER });
  assert.equal(minted.productCode, 'saas');
  assert.equal(minted.customer.customerIdentifier, 'buyer-1');
  assert.equal(minted.customer.subscription, 'pending');
  assert.match(minted.customer.agreementId, AGREEMENT_ID);

  const resolved = await resolve(url, minted.registrationToken);
  assert.equal(resolved.CustomerIdentifier, 'buyer-1');
  assert.equal(resolved.CustomerAWSAccountId, BUYER);
  assert.equal(resolved.ProductCode, 'saas');
  assert.equal(resolved.LicenseArn, undefined);

  // Resolved but not yet subscribed: no usage.
  assert.equal((await batchResult(url, NOW)).Status, 'CustomerNotSubscribed');

  const subscribed = await lifecycleOk(url, 'subscribe-success');
  assert.equal(subscribed.customer.subscription, 'subscribed');
  assert.equal(subscribed.event.action, 'subscribe-success');
  const success = await batchResult(url, NOW);
  assert.equal(success.Status, 'Success');
  assert.match(success.MeteringRecordId, UUID_V4);

  assert.equal((await lifecycleOk(url, 'unsubscribe-pending')).customer.subscription, 'unsubscribe-pending');
  assert.equal((await lifecycleOk(url, 'unsubscribe-success')).customer.subscription, 'unsubscribed');
  const refused = await batchResult(url, plus(NOW, -3600));
  assert.equal(refused.Status, 'CustomerNotSubscribed');
  assert.equal(refused.MeteringRecordId, undefined);

  // The other customer of the product is unaffected.
  assert.equal((await batchResult(url, NOW, { account: OTHER_BUYER })).Status, 'Success');

  const log = await events(url, '?productCode=saas');
  assert.deepEqual(log.map((e) => e.action), ['subscribe-success', 'unsubscribe-pending', 'unsubscribe-success']);
  assert.deepEqual(log.map((e) => e.seq), [1, 2, 3]);
  for (const e of log) assert.equal(snsMessage(e)['customer-identifier'], 'buyer-1');
});

test('ResolveCustomer answers Metadata.AgreementId, the agreement the minted customer got (raw call)', async () => {
  // The JS SDK's model has no Metadata member, so the SDK drops it: read the raw answer.
  const url = await world();
  const minted = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-2' });
  const r = await rawCall(url, 'ResolveCustomer', { RegistrationToken: minted.registrationToken });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.CustomerIdentifier, 'buyer-2');
  assert.equal(r.json.CustomerAWSAccountId, OTHER_BUYER);
  assert.equal(r.json.Metadata.AgreementId, minted.customer.agreementId);
  const product = (await control(url, 'GET', '/products/saas')).json.product;
  assert.equal(product.customers[1].agreementId, minted.customer.agreementId);
});

// ------------------------------------------------------------------------- the subscription lifecycle

test('unsubscribe-pending leaves one final hour of usage on the namespace clock, then CustomerNotSubscribed', async () => {
  const url = await world();
  await lifecycleOk(url, 'unsubscribe-pending');
  assert.equal((await batchResult(url, NOW)).Status, 'Success');
  await setClock(url, { frozenAt: plus(NOW, 3599) });
  assert.equal((await batchResult(url, plus(NOW, 3599))).Status, 'Success');
  await setClock(url, { frozenAt: plus(NOW, 3600) });
  assert.equal((await batchResult(url, plus(NOW, 3600))).Status, 'CustomerNotSubscribed');
});

test('unsubscribe-pending keeps the final hour with a clock offset too (offsetSeconds)', async () => {
  const url = await world({ frozenAt: null });
  await lifecycleOk(url, 'unsubscribe-pending');
  const at = () => new Date().toISOString();
  await setClock(url, { offsetSeconds: 3000 });
  assert.equal((await batchResult(url, at())).Status, 'Success');
  await setClock(url, { offsetSeconds: 3601 });
  assert.equal((await batchResult(url, at())).Status, 'CustomerNotSubscribed');
});

test('pending and subscribe-failed customers are CustomerNotSubscribed until subscribe-success', async () => {
  const url = await world({ buyerSubscription: 'pending' });
  assert.equal((await batchResult(url, NOW)).Status, 'CustomerNotSubscribed');
  assert.equal((await lifecycleOk(url, 'subscribe-fail')).customer.subscription, 'subscribe-failed');
  assert.equal((await batchResult(url, NOW)).Status, 'CustomerNotSubscribed');
  await lifecycleOk(url, 'subscribe-success');
  assert.equal((await batchResult(url, NOW)).Status, 'Success');
});

test('MeterUsage from a 12-digit caller account that is not subscribed is CustomerNotEntitledException', async () => {
  const url = await world();
  const meter = () => meteringClient(url, { accessKeyId: BUYER }).send(new MeterUsageCommand({
    ProductCode: 'saas', Timestamp: new Date(NOW), UsageDimension: 'users', UsageQuantity: 1,
  }));
  const first = await meter();
  assert.match(first.MeteringRecordId, UUID_V4);
  await lifecycleOk(url, 'unsubscribe-success');
  await assertSdkError(meter(), 'CustomerNotEntitledException');
});

test('re-subscribing restores metering; impossible transitions are 409 and unknown actions 400', async () => {
  const url = await world();
  const twice = await lifecycle(url, 'subscribe-success');
  assert.equal(twice.status, 409, twice.text);
  assert.match(twice.json.error, /subscribe-success/);
  assert.equal((await lifecycle(url, 'subscribe-fail')).status, 409);
  await lifecycleOk(url, 'unsubscribe-success');
  assert.equal((await lifecycle(url, 'unsubscribe-success')).status, 409);
  assert.equal((await lifecycle(url, 'unsubscribe-pending')).status, 409);
  assert.equal((await batchResult(url, NOW)).Status, 'CustomerNotSubscribed');
  await lifecycleOk(url, 'subscribe-success');
  assert.equal((await batchResult(url, NOW)).Status, 'Success');

  assert.equal((await lifecycle(url, 'cancel')).status, 400);
  assert.equal((await lifecycle(url, 'subscribe-success', { productCode: 'saas', customerIdentifier: 'nobody' })).status, 400);
  assert.equal((await lifecycle(url, 'subscribe-success', { productCode: 'nope', customerIdentifier: 'buyer-1' })).status, 400);
  // Refused requests log nothing: unsubscribe-success and subscribe-success only.
  assert.deepEqual((await events(url)).map((e) => e.action), ['unsubscribe-success', 'subscribe-success']);
});

// ------------------------------------------------------------------------- registration tokens

test('POST /_mock/registration-tokens answers 201 with the token, its expiry and the customer', async () => {
  const url = await world();
  const minted = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1', ttlSeconds: 90 });
  assert.equal(typeof minted.registrationToken, 'string');
  assert.ok(minted.registrationToken.length >= 40, minted.registrationToken);
  assert.equal(epochOf(minted.expiresAt), epochOf(NOW) + 90);
  assert.equal(minted.productCode, 'saas');
  assert.equal(minted.customer.customerAWSAccountId, BUYER);
  // The default lifetime is the setting registrationTokenTtlSeconds (3600 s).
  const again = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  assert.equal(epochOf(again.expiresAt), epochOf(NOW) + 3600);
  assert.notEqual(again.registrationToken, minted.registrationToken);
});

test('minting for an unknown product or customer, or with bad options, is 400', async () => {
  const url = await world();
  for (const body of [
    { productCode: 'nope', customerIdentifier: 'buyer-1' },
    { productCode: 'saas', customerIdentifier: 'nobody' },
    { productCode: 'saas', customerAWSAccountId: '000000000000' },
    { productCode: 'saas' },
    { customerIdentifier: 'buyer-1' },
    { productCode: 'saas', customerIdentifier: 'buyer-1', offerType: 'gratis' },
    { productCode: 'saas', customerIdentifier: 'buyer-1', ttlSeconds: 0 },
  ]) {
    const r = await control(url, 'POST', '/registration-tokens', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(typeof r.json?.error, 'string', r.text);
  }
});

test('a registration token resolves once; resolving it again is ExpiredTokenException', async () => {
  const url = await world();
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  assert.equal((await resolve(url, registrationToken)).CustomerIdentifier, 'buyer-1');
  const e = await assertSdkError(resolve(url, registrationToken), 'ExpiredTokenException');
  assert.match(e.message, /already resolved/);
});

test('with repeatableTokenResolution a token resolves to the same answer until it expires', async () => {
  const url = await world();
  await patchSettings(url, { repeatableTokenResolution: true });
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-2', ttlSeconds: 60 });
  const first = await resolve(url, registrationToken);
  const second = await resolve(url, registrationToken);
  const { $metadata: _a, ...firstAnswer } = first;
  const { $metadata: _b, ...secondAnswer } = second;
  assert.deepEqual(secondAnswer, firstAnswer);
  assert.equal(first.CustomerIdentifier, 'buyer-2');
  await setClock(url, { frozenAt: plus(NOW, 60) });
  const e = await assertSdkError(resolve(url, registrationToken), 'ExpiredTokenException');
  assert.match(e.message, /expired at/);
});

test('a token past its TTL on the namespace clock (offsetSeconds) is ExpiredTokenException', async () => {
  const url = await world({ frozenAt: null });
  const early = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1', ttlSeconds: 60 });
  const late = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1', ttlSeconds: 60 });
  await setClock(url, { offsetSeconds: 30 });
  assert.equal((await resolve(url, early.registrationToken)).CustomerIdentifier, 'buyer-1');
  await setClock(url, { offsetSeconds: 60 });
  const e = await assertSdkError(resolve(url, late.registrationToken), 'ExpiredTokenException');
  assert.match(e.message, /expired at/);
});

test('unknown, garbled and truncated tokens are InvalidTokenException', async () => {
  const url = await world();
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  const urlEncoded = encodeURIComponent(registrationToken);
  assert.notEqual(urlEncoded, registrationToken, 'the token has characters a form would encode');
  for (const bad of [
    'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=',
    'not-a-token',
    urlEncoded,
    registrationToken.slice(0, 40),
  ]) {
    const e = await sdkError(resolve(url, bad));
    assert.equal(e.name, 'InvalidTokenException', `${bad}: ${e.name}: ${e.message}`);
    assert.equal(e.$metadata?.httpStatusCode, 400);
  }
  // None of those used the real token up.
  assert.equal((await resolve(url, registrationToken)).CustomerIdentifier, 'buyer-1');
});

test('a token is InvalidTokenException in another namespace', async () => {
  const url = await world();
  const other = await world();
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  await assertSdkError(resolve(other, registrationToken), 'InvalidTokenException');
  assert.equal((await resolve(url, registrationToken)).CustomerIdentifier, 'buyer-1');
});

test('a reset voids every earlier token: InvalidTokenException even for the same catalogue', async () => {
  const url = await world();
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  const r = await control(url, 'POST', '/reset');
  assert.equal(r.status, 200, r.text);
  await assertSdkError(resolve(url, registrationToken), 'InvalidTokenException');
  // The same products again, as before the reset: the old token is still void.
  await createProduct(url, {
    productCode: 'saas', dimensions: ['users'], sellerAccountId: SELLER,
    customers: [{ customerIdentifier: 'buyer-1', customerAWSAccountId: BUYER }],
  });
  await assertSdkError(resolve(url, registrationToken), 'InvalidTokenException');
  const fresh = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  assert.equal((await resolve(url, fresh.registrationToken)).CustomerIdentifier, 'buyer-1');
});

test('only the product\'s seller account resolves its tokens; another 12-digit caller is InvalidTokenException', async () => {
  const url = await world();
  const { registrationToken } = await mint(url, { productCode: 'saas', customerIdentifier: 'buyer-1' });
  const e = await assertSdkError(resolve(url, registrationToken, { accessKeyId: BUYER }), 'InvalidTokenException');
  // The message names no other party's data: neither the seller nor the product.
  assert.doesNotMatch(e.message, new RegExp(`${SELLER}|saas`));
  assert.equal((await resolve(url, registrationToken)).CustomerIdentifier, 'buyer-1');
});

test('ResolveCustomer without a token is ValidationException', async () => {
  const url = await world();
  await assertSdkError(resolve(url, ''), 'ValidationException');
});

// --------------------------------------------------------------------------- concurrent agreements

test('a concurrent-agreements token resolves to its license and account, with no CustomerIdentifier', async () => {
  const url = await world();
  const minted = await mint(url, { productCode: 'ca', licenseArn: LICENSE_2 });
  assert.equal(minted.customer.licenseArn, LICENSE_2);
  const resolved = await resolve(url, minted.registrationToken);
  assert.equal(resolved.LicenseArn, LICENSE_2);
  assert.equal(resolved.CustomerAWSAccountId, '111122223333');
  assert.equal(resolved.ProductCode, 'ca');
  assert.equal(resolved.CustomerIdentifier, undefined);
  const raw = await rawCall(url, 'ResolveCustomer', {
    RegistrationToken: (await mint(url, { productCode: 'ca', licenseArn: LICENSE_1 })).registrationToken,
  });
  assert.equal(raw.status, 200, raw.text);
  assert.equal('CustomerIdentifier' in raw.json, false, raw.text);
  assert.match(raw.json.Metadata.AgreementId, AGREEMENT_ID);
});

test('minting for a concurrent-agreements account that holds two licenses needs the licenseArn (400)', async () => {
  const url = await world();
  const r = await control(url, 'POST', '/registration-tokens', { productCode: 'ca', customerAWSAccountId: '111122223333' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error, /licenseArn/);
});

// -------------------------------------------------------------------------------- entitlements

test('PUT /_mock/entitlements stores the entitlements and logs an entitlement-updated notification', async () => {
  const url = await world();
  const entitlements = [
    { dimension: 'users', value: { integerValue: 10 } },
    { dimension: 'gb', value: { doubleValue: 2.5 }, expirationDate: '2027-01-01T00:00:00Z' },
  ];
  const r = await control(url, 'PUT', '/entitlements', { productCode: 'saas', customerIdentifier: 'buyer-1', entitlements });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.customer.entitlements.length, 2);
  assert.equal(r.json.customer.entitlements[0].dimension, 'users');
  assert.deepEqual(r.json.customer.entitlements[0].value, { integerValue: 10 });
  assert.equal(r.json.customer.subscription, 'subscribed');
  assert.equal(r.json.event.action, 'entitlement-updated');

  const stored = (await control(url, 'GET', '/products/saas')).json.product.customers[0];
  assert.deepEqual(stored.entitlements, r.json.customer.entitlements);

  const [event] = await events(url, '?action=entitlement-updated');
  assert.equal(event.seq, r.json.event.seq);
  assert.equal(event.productCode, 'saas');
  assert.equal(event.sns.Type, 'Notification');
  assert.equal(event.sns.TopicArn, 'arn:aws:sns:us-east-1:287250355862:aws-mp-entitlement-notification-saas');
  const message = snsMessage(event);
  assert.equal(message.action, 'entitlement-updated');
  assert.equal(message['customer-identifier'], 'buyer-1');
  assert.equal(message['product-code'], 'saas');
  // As AWS sends it: the entitlement topic's message has no free-trial flag.
  assert.equal('isFreeTrialTermPresent' in message, false, event.sns.Message);
  // Metering is unchanged by an entitlement update.
  assert.equal((await batchResult(url, NOW)).Status, 'Success');
});

test('entitlements that do not fit the product are 400 and log nothing', async () => {
  const url = await world();
  for (const entitlements of [
    [{ dimension: 'nope', value: { integerValue: 1 } }],
    [{ dimension: 'users', value: { integerValue: 1, booleanValue: true } }],
    'users',
  ]) {
    const r = await control(url, 'PUT', '/entitlements', { productCode: 'saas', customerIdentifier: 'buyer-1', entitlements });
    assert.equal(r.status, 400, `${JSON.stringify(entitlements)}: ${r.text}`);
  }
  assert.deepEqual(await events(url), []);
});

test('the entitlement-updated action logs the notification without changing the subscription', async () => {
  const url = await world();
  const out = await lifecycleOk(url, 'entitlement-updated');
  assert.equal(out.customer.subscription, 'subscribed');
  assert.equal(out.event.action, 'entitlement-updated');
  assert.match(out.event.sns.TopicArn, /aws-mp-entitlement-notification-saas$/);
});

// ------------------------------------------------------------------------------- the sign-up step

test('the sign-up endpoint (POST JSON, format=json) leaves a new account pending and unmetered until subscribe-success', async () => {
  const url = await world();
  const r = await control(url, 'POST', '/marketplace/subscribe', {
    productCode: 'saas', customerAWSAccountId: '222233334444', outcome: 'pending',
    fulfillmentUrl: 'http://127.0.0.1:9/register', format: 'json',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.fulfillmentUrl, 'http://127.0.0.1:9/register');
  assert.equal(r.json.customer.customerAWSAccountId, '222233334444');
  assert.equal(r.json.customer.subscription, 'pending');
  assert.equal(r.json.event, null);
  assert.deepEqual(Object.keys(r.json.form), ['x-amzn-marketplace-token']);
  assert.equal(r.json.form['x-amzn-marketplace-token'], r.json.registrationToken);

  const resolved = await resolve(url, r.json.registrationToken);
  assert.equal(resolved.CustomerAWSAccountId, '222233334444');
  assert.equal(resolved.CustomerIdentifier, r.json.customer.customerIdentifier);
  const selector = { productCode: 'saas', customerAWSAccountId: '222233334444' };
  assert.equal((await batchResult(url, NOW, { account: '222233334444' })).Status, 'CustomerNotSubscribed');
  await lifecycleOk(url, 'subscribe-success', selector);
  assert.equal((await batchResult(url, NOW, { account: '222233334444' })).Status, 'Success');
});

test('the sign-up endpoint needs a fulfillment URL (400) and an http(s) one', async () => {
  const url = await world();
  const none = await control(url, 'GET', '/marketplace/subscribe?productCode=saas');
  assert.equal(none.status, 400, none.text);
  assert.match(none.json.error, /fulfillmentUrl/);
  assert.equal((await control(url, 'GET', '/marketplace/subscribe?productCode=saas&fulfillmentUrl=ftp://x')).status, 400);
  assert.equal((await control(url, 'GET', '/marketplace/subscribe?productCode=nope&fulfillmentUrl=http://127.0.0.1:9/')).status, 400);
  assert.deepEqual(await events(url), []);
});

// --------------------------------------------------------------------------- the notification log

test('every lifecycle change is logged with an SNS envelope on the subscription topic', async () => {
  const url = await world({ buyerSubscription: 'pending' });
  const out = await lifecycleOk(url, 'subscribe-success');
  const [event] = await events(url);
  assert.deepEqual(event, out.event);
  assert.equal(event.seq, 1);
  assert.equal(event.action, 'subscribe-success');
  assert.equal(event.productCode, 'saas');
  assert.equal(epochOf(event.time), epochOf(NOW));
  assert.equal(event.sns.Type, 'Notification');
  assert.match(event.sns.MessageId, UUID_V4);
  assert.equal(event.sns.TopicArn, 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-saas');
  assert.equal(epochOf(event.sns.Timestamp), epochOf(NOW));
  const message = snsMessage(event);
  assert.deepEqual(
    { action: message.action, customer: message['customer-identifier'], product: message['product-code'] },
    { action: 'subscribe-success', customer: 'buyer-1', product: 'saas' },
  );
  assert.equal(message.isFreeTrialTermPresent, 'false');
  assert.equal('offer-identifier' in message, false, event.sns.Message);
  // No webhooks on the product: nothing to deliver.
  assert.deepEqual(event.deliveries, []);
});

test('a customer\'s offer is named on subscribe-success only, and its free trial on every lifecycle message', async () => {
  const url = await world();
  await createProduct(url, {
    productCode: 'trial', dimensions: ['users'],
    customers: [{
      customerIdentifier: 'trier', customerAWSAccountId: BUYER, subscription: 'pending',
      offerIdentifier: 'offer-abcdefghijklm', freeTrial: true,
    }],
  });
  const selector = { productCode: 'trial', customerIdentifier: 'trier' };
  await lifecycleOk(url, 'subscribe-success', selector);
  await lifecycleOk(url, 'unsubscribe-pending', selector);
  const [subscribed, pending] = (await events(url, '?productCode=trial')).map(snsMessage);
  assert.equal(subscribed.action, 'subscribe-success');
  assert.equal(subscribed['offer-identifier'], 'offer-abcdefghijklm');
  assert.equal(subscribed.isFreeTrialTermPresent, 'true');
  assert.equal(pending.action, 'unsubscribe-pending');
  assert.equal('offer-identifier' in pending, false, JSON.stringify(pending));
  assert.equal(pending.isFreeTrialTermPresent, 'true');
});

test('GET /_mock/events pages with after and limit and filters by productCode and action', async () => {
  const url = await world();
  await lifecycleOk(url, 'unsubscribe-pending');
  await lifecycleOk(url, 'entitlement-updated', { productCode: 'ca', licenseArn: LICENSE_1 });
  await lifecycleOk(url, 'unsubscribe-success');
  await lifecycleOk(url, 'entitlement-updated');
  assert.deepEqual((await events(url)).map((e) => e.seq), [1, 2, 3, 4]);
  assert.deepEqual((await events(url, '?after=2')).map((e) => e.seq), [3, 4]);
  assert.deepEqual((await events(url, '?limit=2')).map((e) => e.seq), [1, 2]);
  assert.deepEqual((await events(url, '?after=1&limit=2')).map((e) => e.seq), [2, 3]);
  assert.deepEqual((await events(url, '?productCode=ca')).map((e) => e.seq), [2]);
  assert.deepEqual((await events(url, '?action=entitlement-updated')).map((e) => e.seq), [2, 4]);
  assert.deepEqual((await events(url, '?productCode=saas&action=entitlement-updated')).map((e) => e.seq), [4]);
  for (const bad of ['?since=1', '?limit=0', '?after=x']) {
    assert.equal((await control(url, 'GET', `/events${bad}`)).status, 400, bad);
  }
});
