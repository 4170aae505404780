// The dashboard (/_mock/ui/) in headless Chromium, on the package's runner: real SDK calls
// appear in its usage chart and table, its request journal and its bill preview without a
// reload; each action of the page changes the namespace as the control API then shows; a
// locked mock asks for the namespace's control token and works with it; the usage table
// exports as CSV; axe-core finds no serious or critical accessibility violation in any view;
// and a screenshot of each view is taken (into docs/ with METERING_MOCK_SCREENSHOTS=1, which
// is how the README's pictures are made).
//
// Needs Chromium: CHROMIUM_PATH or /usr/bin/chromium. Without it the tests are skipped, unless
// METERING_MOCK_REQUIRE_BROWSER=1 (CI), where they fail.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BatchMeterUsageCommand, MeterUsageCommand, RegisterUsageCommand,
} from '@aws-sdk/client-marketplace-metering';
import {
  CancelAgreementPaymentRequestCommand, CreateAgreementRequestCommand, MarketplaceAgreementClient, SendAgreementPaymentRequestCommand,
} from '@aws-sdk/client-marketplace-agreement';
import { startMock } from '../../lib/index.mjs';
import { authHeaders, meteringClient, sdkError } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.METERING_MOCK_REQUIRE_BROWSER === '1';
const SKIP = !existsSync(CHROMIUM) && !REQUIRE_BROWSER ? `no Chromium at ${CHROMIUM}; skipped` : false;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const VIEWS = ['overview', 'usage', 'bill', 'requests', 'events', 'agreements', 'containers', 'actions'];
const SHOTS = process.env.METERING_MOCK_SCREENSHOTS === '1' ? join(ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'dashboard-shots-'));
const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const WAIT_MS = 15_000;

let mock;
let browser;

before(async () => {
  if (SKIP) return;
  mock = await startMock();
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await mock?.stop();
  if (process.env.METERING_MOCK_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
});

/** A namespace with a priced product and two customers, one with a 10-user contract. */
async function seller(name) {
  const ns = mock.namespace(name);
  await ns.control.putProduct({
    productCode: 'saas', dimensions: ['users', 'gb'], prices: { users: '0.125', gb: '0.01' },
    customers: [
      { customerIdentifier: 'c1', customerAWSAccountId: '111122223333', entitlements: [{ dimension: 'users', value: { integerValue: 10 } }] },
      { customerIdentifier: 'c2' },
    ],
  });
  return ns;
}

async function openPage(url, { bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, context, errors };
}

const view = (page, name) => page.click(`#tab-${name}`);

/** The live page shows `text` in `selector` (polling, no reload). */
const shows = (page, selector, text) => page.waitForFunction(
  ([s, t]) => document.querySelector(s)?.textContent.includes(t), [selector, text], { timeout: WAIT_MS },
);

test('SDK calls appear in the usage chart and table, the journal and the bill without a reload', { skip: SKIP, timeout: 120_000 }, async () => {
  const ns = await seller('live');
  const { page, context, errors } = await openPage(`${ns.endpoint}/_mock/ui/#usage`);
  try {
    await shows(page, '#usage-chart', 'No usage to chart');
    const client = meteringClient(ns.endpoint);
    const now = new Date();
    const record = (customer, quantity, dimension = 'users') => ({ Timestamp: now, CustomerIdentifier: customer, Dimension: dimension, Quantity: quantity });
    const batch = await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [record('c1', 12), record('c2', 3), record('c2', 250, 'gb')] }));
    const dup = await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [record('c2', 4)] }));
    const metered = await meteringClient(ns.endpoint, { accessKeyId: '111122223333' })
      .send(new MeterUsageCommand({ ProductCode: 'saas', Timestamp: now, UsageDimension: 'gb', UsageQuantity: 7 }));
    assert.equal(dup.Results[0].Status, 'DuplicateRecord');
    const failed = await sdkError(client.send(new MeterUsageCommand({ ProductCode: 'nope', Timestamp: now, UsageDimension: 'users', UsageQuantity: 1 })));
    assert.equal(failed.name, 'InvalidProductCodeException');

    await shows(page, '#usage-table', batch.Results[0].MeteringRecordId);
    await shows(page, '#usage-table', metered.MeteringRecordId);
    await page.waitForSelector('#usage-chart canvas', { timeout: WAIT_MS });
    assert.match(await page.textContent('#usage-chart'), /saas · users/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#usage-csv')]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^meteringRecordId,operation,productCode/);
    for (const r of batch.Results) assert.ok(csv.includes(r.MeteringRecordId), 'every record is in the CSV');

    await view(page, 'requests');
    await shows(page, '#requests-table', 'InvalidProductCodeException');
    await shows(page, '#requests-table', '4 calls match');
    await page.click('#requests-table tbody tr:first-child');
    await shows(page, '#request-detail', '"ProductCode": "nope"');

    await view(page, 'bill');
    // c1: 12 users, 10 covered, 2 × 0.125 = 0.25, and 7 GB by its account's MeterUsage, 0.07;
    // c2: 3 × 0.125 = 0.375 → 0.38, 250 GB × 0.01 = 2.5.
    await shows(page, '#bill-total', '$3.20 ');
    assert.match(await page.textContent('#bill-table'), /0\.375/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('every action of the page changes the namespace as the control API shows', { skip: SKIP, timeout: 120_000 }, async () => {
  const ns = await seller('driven');
  const { page, context, errors } = await openPage(`${ns.endpoint}/_mock/ui/#actions`);
  const result = (text) => shows(page, '#action-result', text);
  try {
    await page.waitForSelector('#action-lifecycle select[name="productCode"] option[value="saas"]', { state: 'attached', timeout: WAIT_MS });
    // Edit: an existing product's document is loaded, changed and saved.
    await page.selectOption('#product-pick', 'saas');
    const loaded = JSON.parse(await page.inputValue('#product-json'));
    assert.equal(loaded.prices.users, '0.125');
    loaded.prices.users = '0.2';
    await page.fill('#product-json', JSON.stringify(loaded));
    await page.click('#action-product button[type="submit"]');
    await result('Saved product saas');
    assert.equal((await ns.control.product('saas')).prices.users, '0.2');
    await page.fill('#product-json', JSON.stringify({ productCode: 'made-here', dimensions: ['seats'], prices: { seats: '2' }, customers: [{ customerIdentifier: 'buyer-1' }] }));
    await page.click('#action-product button[type="submit"]');
    await result('Saved product made-here');
    assert.equal((await ns.control.product('made-here')).prices.seats, '2');

    await page.selectOption('#action-lifecycle select[name="productCode"]', 'saas');
    await page.fill('#action-lifecycle input[name="customer"]', 'c2');
    await page.selectOption('#action-lifecycle select[name="action"]', 'unsubscribe-pending');
    await page.click('#action-lifecycle button[type="submit"]');
    await result('unsubscribe-pending sent');
    const c2 = (await ns.control.product('saas')).customers.find((c) => c.customerIdentifier === 'c2');
    assert.equal(c2.subscription, 'unsubscribe-pending');

    await page.selectOption('#action-entitlements select[name="productCode"]', 'saas');
    await page.fill('#action-entitlements input[name="customer"]', '111122223333');
    await page.fill('#action-entitlements input[name="dimension"]', 'gb');
    await page.fill('#action-entitlements input[name="units"]', '40');
    await page.click('#action-entitlements button[type="submit"]');
    await result('Entitlements of 111122223333 replaced');
    const c1 = (await ns.control.product('saas')).customers.find((c) => c.customerIdentifier === 'c1');
    assert.deepEqual(c1.entitlements.map((e) => [e.dimension, e.value]), [['gb', { integerValue: 40 }]]);

    await page.fill('#action-clock input[name="frozenAt"]', '2026-03-15T10:30');
    await page.click('#action-clock button[type="submit"]');
    await result('frozen');
    assert.deepEqual(await ns.control.clock().then((c) => [c.now, c.frozen]), ['2026-03-15T10:30:00Z', true]);
    await page.click('#clock-real');
    await result('real time again');
    assert.equal((await ns.control.clock()).frozen, false);

    await page.selectOption('#action-fault select[name="operation"]', 'BatchMeterUsage');
    await page.fill('#action-fault input[name="count"]', '2');
    await page.click('#action-fault button[type="submit"]');
    await result('Queued ThrottlingException');
    const faults = await ns.control.faults();
    assert.equal(faults.length, 1);
    assert.equal(faults[0].operation, 'BatchMeterUsage');

    // The sign-up opens the simulated Marketplace page of the product in a new tab.
    await page.selectOption('#action-signup select[name="productCode"]', 'saas');
    const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#action-signup button[type="submit"]')]);
    await popup.waitForLoadState();
    assert.match(popup.url(), /\/_mock\/marketplace\/subscribe\?productCode=saas$/);
    await popup.close();

    // Reset asks first: declined, nothing changes; accepted, the namespace is empty.
    page.once('dialog', (d) => d.dismiss());
    await page.click('#action-reset button[type="submit"]');
    await result('Not reset');
    assert.equal((await ns.control.products()).length, 2);
    page.once('dialog', (d) => d.accept());
    await page.click('#action-reset button[type="submit"]');
    await result('The namespace was reset');
    assert.equal((await ns.control.products()).length, 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a locked mock asks for the control token, refuses a wrong one and works with the right one', { skip: SKIP, timeout: 120_000 }, async () => {
  const adminToken = 'dashboard-admin-token-0123456789';
  const locked = await startMock({ adminToken });
  let context;
  try {
    const created = await fetch(`${locked.url}/_admin/namespaces`, {
      method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'team' }),
    }).then((r) => r.json());
    const opened = await openPage(`${created.endpoint}/_mock/ui/`);
    context = opened.context;
    const { page } = opened;
    await page.waitForSelector('#token-form:not([hidden])', { timeout: WAIT_MS });
    assert.match(await page.textContent('#status'), /locked/);
    await page.fill('#token', 'mmct_wrong');
    await page.click('#token-form button');
    await shows(page, '#status', 'That token was refused');
    await page.fill('#token', created.controlToken);
    await page.click('#token-form button');
    await shows(page, '#namespace', 'namespace team');
    assert.equal(await page.isHidden('#token-form'), true);
    // The token is kept in the tab only, and never shown.
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length]);
    assert.deepEqual(stored, [1, 0]);
    assert.ok(!(await page.content()).includes(created.controlToken));
  } finally {
    await context?.close();
    await locked.stop();
  }
});

test('every view passes axe-core with no serious violation, and is photographed', { skip: SKIP, timeout: 180_000 }, async () => {
  // A namespace with a day's worth of everything, at a frozen time, so the pictures are alike.
  const ns = await seller('a11y');
  const NOW = Date.parse('2026-11-20T12:30:00Z');
  await ns.control.setClock({ frozenAt: new Date(NOW).toISOString() });
  await ns.control.putProduct({ productCode: 'box', dimensions: ['vcpu'], customers: [{ customerAWSAccountId: '444455556666' }] });
  await ns.control.putProduct({
    productCode: 'agreements-saas', dimensions: ['seats'], prices: { seats: '2.50' }, integration: 'concurrent-agreements',
    sellerAccountId: '999988887777', contract: { P12M: { seats: '120' } },
    privateOffers: [{ offerId: 'offer-acmedeal', name: 'Acme deal', buyerAccounts: ['777788889999'], contract: { P12M: { seats: '99' } } }],
    customers: [{
      contract: { duration: 'P12M', quantities: { seats: 4 } }, endsAt: '2027-11-20T12:30:00Z',
      customerAWSAccountId: '777788889999', licenseArn: 'arn:aws:license-manager::999988887777:license:l-0123456789abcdef0123456789abcdef',
      acceptorContact: { firstName: 'Ada', lastName: 'Lovelace', emailAddress: 'ada@example.com', companyName: 'Engines', countryCode: 'GB' },
    }],
  });
  const client = meteringClient(ns.endpoint);
  for (let h = 11; h >= 0; h--) {
    const at = new Date(NOW - h * 3600_000);
    await client.send(new BatchMeterUsageCommand({ ProductCode: 'saas', UsageRecords: [
      { Timestamp: at, CustomerIdentifier: 'c1', Dimension: 'users', Quantity: 4 + ((h * 7) % 5) },
      { Timestamp: at, CustomerIdentifier: 'c2', Dimension: 'users', Quantity: 1 + (h % 3) },
      { Timestamp: at, CustomerIdentifier: 'c2', Dimension: 'gb', Quantity: 10 + ((h * 13) % 9) },
    ] }));
  }
  await sdkError(client.send(new MeterUsageCommand({ ProductCode: 'nope', Timestamp: new Date(NOW), UsageDimension: 'users', UsageQuantity: 1 })));
  const buyer = meteringClient(ns.endpoint, { accessKeyId: '444455556666' });
  for (const nonce of ['task-a', 'task-b']) {
    await buyer.send(new RegisterUsageCommand({ ProductCode: 'box', PublicKeyVersion: 1, Nonce: nonce }));
  }
  await ns.control.request('POST', '/marketplace/subscribe?productCode=saas&format=json&fulfillmentUrl=http://127.0.0.1:9/register', {});
  // A buyer's quote for 2 seats, not accepted yet.
  const [publicOffer] = await ns.control.offers('agreements-saas');
  const agreementClient = new MarketplaceAgreementClient({
    region: 'us-east-1', endpoint: ns.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: '777788889999', secretAccessKey: 'test-secret' },
  });
  await agreementClient.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: publicOffer.agreementProposalId,
    requestedTerms: publicOffer.terms.map((term) => {
      const [kind, body] = Object.entries(term)[0];
      if (kind !== 'configurableUpfrontPricingTerm') return { id: body.id };
      return { id: body.id, configuration: { configurableUpfrontPricingTermConfiguration: {
        selectorValue: 'P12M', dimensions: [{ dimensionKey: 'seats', dimensionValue: 2 }],
      } } };
    }),
  }));
  // axe is injected into the page, which the page's own policy forbids: this context bypasses it.
  const { page, context, errors } = await openPage(`${ns.endpoint}/_mock/ui/`, { bypassCSP: true });
  try {
    for (const name of VIEWS) {
      await view(page, name);
      await shows(page, '#status', 'Updated');
      if (name === 'requests') await page.click('#requests-table tbody tr:first-child');
      const expected = {
        overview: ['c1', 'box', 'AWS calls kept'], usage: ['saas · gb'], bill: ['Total for 2026-11'],
        requests: ['InvalidProductCodeException', 'RegisterUsage'], events: ['subscribe-success', 'License Updated - Manufacturer'],
        agreements: ['ACTIVE', '777788889999', 'Ada Lovelace', 'seats $2.5', 'P12M: 4 seats', 'P12M: seats $120', 'Acme deal: 777788889999', 'APPROVED', '$240.00'],
        containers: ['task-a', 'current'], actions: ['Reset namespace'],
      }[name];
      for (const text of expected) await shows(page, `#view-${name}`, text);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`) });
      if (!(await page.evaluate(() => typeof (/** @type {any} */ (window).axe) === 'object'))) await page.addScriptTag({ content: AXE });
      const found = await page.evaluate(async () => (await (/** @type {any} */ (window).axe).run(document)).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`));
      assert.deepEqual(found, [], `axe in ${name}`);
    }
    // Keyboard: arrows move between the tabs.
    await page.focus('#tab-overview');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-usage');
    assert.equal(await page.isVisible('#view-usage'), true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the Agreements view plays the buyer on a payment request, shows deployment parameters without their secret, and moves the clock to the next deadline', { skip: SKIP, timeout: 120_000 }, async () => {
  const ns = mock.namespace('activity');
  await ns.control.setClock({ frozenAt: '2026-11-20T12:30:00Z' });
  await ns.control.putProduct({
    productCode: 'services', dimensions: ['seats'], integration: 'concurrent-agreements', sellerAccountId: '999988887777',
    privateOffers: [{ offerId: 'offer-services', buyerAccounts: ['777788889999'], variablePayment: { maxTotalChargeAmount: '900.00' } }],
    customers: [{
      customerAWSAccountId: '777788889999', licenseArn: 'arn:aws:license-manager::999988887777:license:l-0123456789abcdef0123456789abcdee',
      agreementId: 'agmt-00000000000000000services', offerIdentifier: 'offer-services',
      variablePayment: { strategy: 'AUTO_APPROVE_ON_EXPIRATION', expiration: 'P3D' },
    }],
  });
  const [offer] = (await ns.control.offers('services')).filter((o) => o.offerId === 'offer-services');
  const termId = Object.values(offer.terms.find((t) => t.variablePaymentTerm))[0].id;
  const seller = new MarketplaceAgreementClient({
    region: 'us-east-1', endpoint: ns.endpoint, maxAttempts: 1, credentials: { accessKeyId: '999988887777', secretAccessKey: 'test-secret' },
  });
  const agreementId = 'agmt-00000000000000000services';
  const send = (name) => seller.send(new SendAgreementPaymentRequestCommand({ agreementId, termId, name, chargeAmount: '100.00' }));
  await send('Onboarding work');
  const later = await send('Training days');
  // A Deployment Service call as a seller's Quick Launch makes it (rest-json).
  const put = await fetch(`${ns.endpoint}/catalogs/AWSMarketplace/products/services/deployment-parameters`, {
    method: 'POST',
    headers: { ...authHeaders({ accessKeyId: '999988887777' }), 'content-type': 'application/json' },
    body: JSON.stringify({ agreementId, deploymentParameter: { name: 'ApiKey', secretString: 'hunter2-secret' }, tags: { env: 'test' } }),
  });
  assert.equal(put.status, 200, await put.text());
  const { page, context, errors } = await openPage(`${ns.endpoint}/_mock/ui/#agreements`);
  try {
    await shows(page, '#payment-requests-table', 'Onboarding work');
    await shows(page, '#deployment-parameters-table', 'ApiKey');
    await shows(page, '#deployment-parameters-table', '14 bytes (not kept)');
    await shows(page, '#deployment-parameters-table', 'env=test');
    assert.ok(!(await page.content()).includes('hunter2-secret'));
    await shows(page, '#next-deadline', '2026-11-23 12:30:00');
    // The buyer approves the first from the dashboard.
    await page.click('#payment-requests-table tbody tr:last-child button:has-text("Approve")');
    await shows(page, '#activity-result', 'Approve: done');
    await shows(page, '#payment-requests-table tbody tr:last-child', 'APPROVED');
    await shows(page, '#invoices-table', '$100.00');
    // The seller withdraws the second; then the clock moves to the next deadline: nothing is
    // left pending, so none is scheduled but the month's invoicing.
    await seller.send(new CancelAgreementPaymentRequestCommand({ agreementId, paymentRequestId: later.paymentRequestId }));
    await view(page, 'overview');
    await view(page, 'agreements');
    await shows(page, '#payment-requests-table tbody tr:first-child', 'CANCELLED');
    await shows(page, '#next-deadline', '2026-12-01 06:00:00');
    await page.click('#next-deadline button');
    await shows(page, '#activity-result', 'Clock moved to the next deadline');
    assert.equal((await ns.control.clock()).now, '2026-12-01T06:00:00Z');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
