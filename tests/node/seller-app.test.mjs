// The README's onboarding walkthrough, end to end, with the example seller application
// (examples/seller-app.mjs) as the seller: a buyer signs up in headless Chromium, lands on
// the seller's registration page, which resolves the token with the unmodified JS SDK; the
// subscription notification arrives at the seller's SNS webhook; the seller reads the
// customer's entitlements and meters the customer.
//
// Needs Chromium like browser.test.mjs (skipped without it unless METERING_MOCK_REQUIRE_BROWSER=1).

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  GetEntitlementsCommand, MarketplaceEntitlementServiceClient,
} from '@aws-sdk/client-marketplace-entitlement-service';
import { startEphemeralMock, meteringClient, control, namespaceUrl, createProduct } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
const REQUIRE_BROWSER = process.env.METERING_MOCK_REQUIRE_BROWSER === '1';
const MISSING = `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`;
const SKIP = !HAVE_BROWSER && !REQUIRE_BROWSER ? `${MISSING}; skipped` : false;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const WAIT_MS = 20_000;
const APP = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'seller-app.mjs');

let mock;
let app;
let browser;

/** Starts the example app on a free port against `mockUrl`; resolves { url, stop }. */
function startApp(mockUrl) {
  const child = spawn(process.execPath, [APP, '--port', '0', '--mock', mockUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the seller app did not start')), WAIT_MS);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`the seller app exited (${code}): ${out}`)));
  });
}

/** Polls `probe` every 100 ms until it returns a truthy value; fails after WAIT_MS. */
async function waitFor(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const seen = async () => (await fetch(`${app.url}/`, { headers: { accept: 'application/json' } })).json();

before(async () => {
  if (!HAVE_BROWSER) return;
  mock = await startEphemeralMock();
  app = await startApp(namespaceUrl(mock, 'walkthrough'));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await mock?.stop();
});

test('a buyer signs up through the browser, the seller app resolves, hears subscribe-success, reads entitlements and meters', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const ns = namespaceUrl(mock, 'walkthrough');
  await createProduct(ns, {
    productCode: 'my-saas', dimensions: ['users'],
    fulfillmentUrl: `${app.url}/register`, webhooks: [{ url: `${app.url}/sns` }],
  });

  const context = await browser.newContext();
  let account;
  try {
    const page = await context.newPage();
    await page.goto(`${ns}/_mock/marketplace/subscribe?productCode=my-saas&offerType=free-trial`, { timeout: WAIT_MS });
    await page.locator('#subscribe').click({ timeout: WAIT_MS });
    await page.waitForURL(`${app.url}/register`, { timeout: WAIT_MS });
    account = await page.locator('#account').textContent({ timeout: WAIT_MS });
    assert.equal(await page.title(), 'Welcome');
    assert.equal(await page.locator('#product').textContent(), 'my-saas');
  } finally {
    await context.close();
  }
  assert.match(account, /^\d{12}$/);

  const { customers, notifications } = await waitFor('subscribe-success at the webhook', async () => {
    const s = await seen();
    return s.notifications.some((n) => n.message.action === 'subscribe-success') ? s : null;
  });
  assert.deepEqual(customers.map((c) => [c.customerAWSAccountId, c.productCode, c.freeTrial]), [[account, 'my-saas', true]]);
  const subscribed = notifications.find((n) => n.message.action === 'subscribe-success');
  assert.equal(subscribed.type, 'Notification');
  assert.match(subscribed.topicArn, /:aws-mp-subscription-notification-my-saas$/);
  assert.equal(subscribed.message.isFreeTrialTermPresent, 'true');

  const put = await control(ns, 'PUT', '/entitlements', {
    productCode: 'my-saas', customerAWSAccountId: account,
    entitlements: [{ dimension: 'users', value: { integerValue: 10 } }],
  });
  assert.equal(put.status, 200, put.text);
  await waitFor('entitlement-updated at the webhook', async () =>
    (await seen()).notifications.some((n) => n.message.action === 'entitlement-updated'));
  const entitlements = await new MarketplaceEntitlementServiceClient({
    endpoint: ns, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  }).send(new GetEntitlementsCommand({ ProductCode: 'my-saas' }));
  assert.deepEqual(entitlements.Entitlements.map((e) => [e.CustomerAWSAccountId, e.Dimension, e.Value.IntegerValue]),
    [[account, 'users', 10]]);

  const metered = await meteringClient(ns).send(new BatchMeterUsageCommand({
    ProductCode: 'my-saas',
    UsageRecords: [{ Timestamp: new Date(), CustomerAWSAccountId: account, Dimension: 'users', Quantity: 3 }],
  }));
  assert.equal(metered.Results[0].Status, 'Success');
});

test('the seller app shows the AWS error when a token is replayed', { skip: SKIP }, async () => {
  const ns = namespaceUrl(mock, 'walkthrough');
  await createProduct(ns, { productCode: 'replayed', dimensions: ['users'], fulfillmentUrl: `${app.url}/register` });
  const form = await control(ns, 'POST', '/marketplace/subscribe?productCode=replayed&format=json');
  assert.equal(form.status, 200, form.text);
  const post = () => fetch(form.json.fulfillmentUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form.json.form).toString(),
  });
  assert.equal((await post()).status, 200);
  const replay = await post();
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /ExpiredTokenException/);
});
