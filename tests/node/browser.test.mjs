// In a real headless browser: the simulated AWS Marketplace sign-up (its page asks, its
// button POSTs back to the mock, and the answer auto-POSTs the registration token, a
// urlencoded form, to the product's fulfillment URL, here a small local page; the token the
// page received is then resolved with the real JS SDK), and pages on other origins that try
// to change a local open mock's state with form POSTs and no-cors fetches.
//
// Needs Chromium: CHROMIUM_PATH or /usr/bin/chromium (Debian: apt-get install chromium).
// Without it the tests are skipped, unless METERING_MOCK_REQUIRE_BROWSER=1 (CI), where they fail.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, meteringClient, control, namespaceUrl, createProduct,
  listenLocally,
} from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
const REQUIRE_BROWSER = process.env.METERING_MOCK_REQUIRE_BROWSER === '1';
const MISSING = `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`;
const SKIP = !HAVE_BROWSER && !REQUIRE_BROWSER ? `${MISSING}; skipped` : false;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const NAVIGATION_MS = 20_000;
const SELLER = '999988887777';

let mock;
let browser;
let fulfillment;
let namespaces = 0;

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The seller's registration page on 127.0.0.1: POST /register records the request
 * ({ method, url, contentType, body, fields }) and renders the token it got; anything else is 404.
 */
async function startFulfillment() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url, 'http://127.0.0.1').pathname;
      if (path !== '/register') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const fields = Object.fromEntries(new URLSearchParams(body));
      received.push({
        method: req.method, url: req.url, contentType: req.headers['content-type'], authorization: req.headers.authorization, body, fields,
      });
      const token = fields['x-amzn-marketplace-token'] ?? '';
      const offerType = fields['x-amzn-marketplace-offer-type'] ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Registered</title></head><body>
<h1>Welcome</h1>
<p>Token: <code id="token">${escapeHtml(token)}</code></p>
<p>Offer type: <span id="offer-type">${escapeHtml(offerType)}</span></p>
</body></html>`);
    });
  });
  const port = await listenLocally(server);
  return {
    url: `http://127.0.0.1:${port}/register`,
    received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

before(async () => {
  if (!HAVE_BROWSER) return;
  fulfillment = await startFulfillment();
  mock = await startEphemeralMock();
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await mock?.stop();
  await fulfillment?.close();
});

/** A fresh namespace with product `signup` (seller SELLER) sending buyers to the fulfillment page. */
async function world(customers = []) {
  const url = namespaceUrl(mock, `browser-${++namespaces}`);
  await createProduct(url, {
    productCode: 'signup', dimensions: ['users'], sellerAccountId: SELLER,
    fulfillmentUrl: fulfillment.url, customers,
  });
  return url;
}

/** Opens `pageUrl` in a new browser page and waits until it lands on the fulfillment page. */
async function signUpInBrowser(pageUrl, landing = fulfillment.url) {
  const before = fulfillment.received.length;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl, { timeout: NAVIGATION_MS });
    // The page only asks; the buyer's click POSTs it back to the mock, which subscribes.
    await page.locator('#subscribe').click({ timeout: NAVIGATION_MS });
    await page.waitForURL(landing, { timeout: NAVIGATION_MS });
    await page.locator('#token').waitFor({ timeout: NAVIGATION_MS });
    const shown = {
      token: await page.locator('#token').textContent(),
      offerType: await page.locator('#offer-type').textContent(),
      title: await page.title(),
    };
    const posts = fulfillment.received.slice(before);
    return { shown, posts };
  } finally {
    await context.close();
  }
}

function resolve(url, token) {
  return meteringClient(url, { accessKeyId: SELLER }).send(new ResolveCustomerCommand({ RegistrationToken: token }));
}

test('the sign-up page makes the browser POST a urlencoded token to the fulfillment URL, which resolves to the new buyer', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const url = await world();
  const { shown, posts } = await signUpInBrowser(`${url}/_mock/marketplace/subscribe?productCode=signup&offerType=free-trial`);

  assert.equal(posts.length, 1, JSON.stringify(posts));
  const [post] = posts;
  assert.equal(post.method, 'POST');
  assert.equal(post.url, '/register');
  assert.equal(post.contentType, 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.keys(post.fields).sort(), ['x-amzn-marketplace-offer-type', 'x-amzn-marketplace-token']);
  assert.equal(post.fields['x-amzn-marketplace-offer-type'], 'free-trial');
  const token = post.fields['x-amzn-marketplace-token'];
  assert.ok(token.length >= 40, token);
  assert.equal(shown.title, 'Registered');
  assert.equal(shown.token, token);
  assert.equal(shown.offerType, 'free-trial');

  // The new buyer: a random 12-digit account, subscribed, on a free trial.
  const product = (await control(url, 'GET', '/products/signup')).json.product;
  assert.equal(product.customers.length, 1);
  const [buyer] = product.customers;
  assert.match(buyer.customerAWSAccountId, /^\d{12}$/);
  assert.equal(typeof buyer.customerIdentifier, 'string');
  assert.equal(buyer.subscription, 'subscribed');
  assert.equal(buyer.freeTrial, true);

  const resolved = await resolve(url, token);
  assert.equal(resolved.CustomerIdentifier, buyer.customerIdentifier);
  assert.equal(resolved.CustomerAWSAccountId, buyer.customerAWSAccountId);
  assert.equal(resolved.ProductCode, 'signup');

  const { events } = (await control(url, 'GET', '/events')).json;
  assert.deepEqual(events.map((e) => e.action), ['subscribe-success']);
  const message = JSON.parse(events[0].sns.Message);
  assert.equal(message['customer-identifier'], buyer.customerIdentifier);
  assert.equal(message.isFreeTrialTermPresent, 'true');
});

test('the sign-up page for a known account posts to the fulfillmentUrl given, query kept, a token naming that customer and no offer type', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const url = await world([
    { customerIdentifier: 'known-1', customerAWSAccountId: '111122223333', subscription: 'pending' },
  ]);
  // A query with & and a quote: the page must escape it into the form's action.
  const target = `${fulfillment.url}?seller=acme&plan="pro"`;
  const query = new URLSearchParams({ productCode: 'signup', customerAWSAccountId: '111122223333', fulfillmentUrl: target });
  const { shown, posts } = await signUpInBrowser(
    `${url}/_mock/marketplace/subscribe?${query}`,
    (landed) => landed.pathname === '/register',
  );
  assert.equal(posts.length, 1, JSON.stringify(posts));
  const [post] = posts;
  assert.equal(post.method, 'POST');
  assert.deepEqual(Object.fromEntries(new URL(post.url, 'http://127.0.0.1').searchParams), { seller: 'acme', plan: '"pro"' });
  assert.equal(post.contentType, 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.keys(post.fields), ['x-amzn-marketplace-token']);
  assert.equal(shown.offerType, '');

  const resolved = await resolve(url, post.fields['x-amzn-marketplace-token']);
  assert.equal(resolved.CustomerIdentifier, 'known-1');
  assert.equal(resolved.CustomerAWSAccountId, '111122223333');
  const product = (await control(url, 'GET', '/products/signup')).json.product;
  assert.equal(product.customers.length, 1);
  assert.equal(product.customers[0].subscription, 'subscribed');
  assert.equal(product.customers[0].freeTrial ?? false, false);
});

/** A page on `host` (another origin than the mock) that tries to change the mock's state. */
async function startAttacker(host, target) {
  const page = `<!doctype html><html><head><title>attacking</title></head><body>
<iframe name="sink"></iframe>
<form id="reset" method="POST" action="${target}/_mock/reset" target="sink"><input name="x" value="1"></form>
<form id="create" method="POST" action="${target}/_mock/products" target="sink" enctype="text/plain"><input name='{"productCode":"evil-form","dimensions":["d"],"x":"' value='"}'></form>
<script>
(async () => {
  // The Deployment Service's rest-json path, its credential in a presigned query (no header).
  const presigned = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20261128%2Fus-east-1%2Faws-marketplace%2Faws4_request&X-Amz-Date=20261128T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00';
  for (const [path, body] of [['/_mock/reset', '{}'],
    ['/_mock/products', JSON.stringify({ productCode: 'evil-fetch', dimensions: ['d'] })],
    ['/catalogs/AWSMarketplace/products/kept/deployment-parameters' + presigned,
      JSON.stringify({ agreementId: 'agmt-1', deploymentParameter: { name: 'n', secretString: 's' } })]]) {
    try { await fetch(${JSON.stringify(target)} + path, { method: 'POST', mode: 'no-cors', body }); } catch { /* refused */ }
  }
  let loads = 0;
  document.querySelector('iframe').addEventListener('load', () => {
    loads += 1;
    if (loads === 1) document.getElementById('create').submit();
    else document.title = 'done';
  });
  document.getElementById('reset').submit();
})();
</script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const port = await listenLocally(server);
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

for (const host of ['localhost', '127.0.0.1']) {
  test(`a page on another origin (${host}, another port) cannot reset the mock, create a product or put a deployment parameter, by form POST or no-cors fetch`, { skip: SKIP }, async () => {
    assert.ok(HAVE_BROWSER, MISSING);
    const target = namespaceUrl(mock, `victim-${host.replace(/\./g, '-')}`);
    await createProduct(target, { productCode: 'kept', dimensions: ['d'] });
    const attacker = await startAttacker(host, target);
    const context = await browser.newContext();
    const refused = [];
    try {
      const page = await context.newPage();
      page.on('response', (r) => {
        if (r.url().startsWith(target)) refused.push([new URL(r.url()).pathname, r.status()]);
      });
      await page.goto(attacker.url, { timeout: NAVIGATION_MS });
      await page.waitForFunction(() => document.title === 'done', null, { timeout: NAVIGATION_MS });
    } finally {
      await context.close();
      await attacker.close();
    }
    // Every attempt reached the mock and was refused there (403: foreign origin).
    const paths = refused.map(([path]) => path.replace(/^\/ns\/[^/]+/, '')).sort();
    assert.deepEqual(paths, ['/_mock/products', '/_mock/products', '/_mock/reset', '/_mock/reset', '/catalogs/AWSMarketplace/products/kept/deployment-parameters'], JSON.stringify(refused));
    assert.ok(refused.every(([, status]) => status === 403), JSON.stringify(refused));
    const products = (await control(target, 'GET', '/products')).json.products.map((p) => p.productCode);
    assert.deepEqual(products, ['kept']);
  });
}

/** A dashboard on its own origin: its page reads the products of the namespace named by its
 * `?target=` and creates one with `fetch` (JSON: a preflight first), and shows what happened
 * in its title. */
async function startDashboard() {
  const page = `<!doctype html><html><head><title>working</title></head><body><script>
(async () => {
  const target = new URLSearchParams(location.search).get('target');
  const outcome = [];
  try {
    const r = await fetch(target + '/_mock/products');
    outcome.push('read ' + r.status + ' ' + (await r.json()).products.length + (r.headers.get('x-amzn-requestid') ? ' with its request id' : ''));
  } catch (e) { outcome.push('read refused'); }
  try {
    const r = await fetch(target + '/_mock/products', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productCode: 'from-dashboard', dimensions: ['d'] }),
    });
    outcome.push('create ' + r.status);
  } catch (e) { outcome.push('create refused'); }
  document.title = outcome.join(', ');
})();
</script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const port = await listenLocally(server);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    /** Opens the page against `target`; its title once it is done. */
    async open(target) {
      const context = await browser.newContext();
      try {
        const tab = await context.newPage();
        await tab.goto(`${origin}/?target=${encodeURIComponent(target)}`, { timeout: NAVIGATION_MS });
        await tab.waitForFunction(() => document.title !== 'working', null, { timeout: NAVIGATION_MS });
        return await tab.title();
      } finally {
        await context.close();
      }
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

test('a dashboard on an ALLOWED_ORIGINS origin reads and changes the mock through CORS; one on another origin can do neither', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const listed = await startDashboard();
  const other = await startDashboard();
  const allowing = await startEphemeralMock({ vars: { ALLOWED_ORIGINS: listed.origin } });
  try {
    const target = namespaceUrl(allowing, 'cors');
    await createProduct(target, { productCode: 'kept', dimensions: ['d'] });
    assert.equal(await other.open(target), 'read refused, create refused');
    assert.deepEqual((await control(target, 'GET', '/products')).json.products.map((p) => p.productCode), ['kept']);
    assert.equal(await listed.open(target), 'read 200 1 with its request id, create 201');
    assert.deepEqual((await control(target, 'GET', '/products')).json.products.map((p) => p.productCode).sort(), ['from-dashboard', 'kept']);
  } finally {
    await allowing.stop();
    await listed.close();
    await other.close();
  }
});

test('a locked mock\'s sign-up link opens the page with no control token in the browser, once', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const ADMIN_TOKEN = 'admin-token-for-the-sign-up-link';
  const locked = await startEphemeralMock({ vars: { ADMIN_TOKEN } });
  try {
    const json = { 'content-type': 'application/json' };
    const ns = await (await fetch(`${locked.url}/_admin/namespaces`, {
      method: 'POST', headers: { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ name: 'shop' }),
    })).json();
    const asOwner = { ...json, authorization: `Bearer ${ns.controlToken}` };
    const product = await fetch(`${ns.endpoint}/_mock/products`, {
      method: 'POST', headers: asOwner, body: JSON.stringify({ productCode: 'signup', dimensions: ['users'], fulfillmentUrl: fulfillment.url }),
    });
    assert.equal(product.status, 201, await product.text());
    const made = await fetch(`${ns.endpoint}/_mock/marketplace/signup-links`, {
      method: 'POST', headers: asOwner, body: JSON.stringify({ productCode: 'signup' }),
    });
    assert.equal(made.status, 201);
    const { link } = await made.json();
    // The browser has nothing but the link: no token, no header.
    const { shown, posts } = await signUpInBrowser(`${locked.url}${link}`);
    assert.equal(posts.length, 1);
    assert.equal(posts[0].authorization, undefined);
    assert.equal(shown.token, posts[0].fields['x-amzn-marketplace-token']);
    const listed = await (await fetch(`${ns.endpoint}/_mock/products/signup`, { headers: asOwner })).json();
    assert.equal(listed.product.customers.length, 1);
    // Used: the same link opens nothing any more.
    assert.equal((await fetch(`${locked.url}${link}`)).status, 404);
  } finally {
    await locked.stop();
  }
});

test('opening the sign-up page changes nothing until the buyer clicks', { skip: SKIP }, async () => {
  assert.ok(HAVE_BROWSER, MISSING);
  const url = await world();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${url}/_mock/marketplace/subscribe?productCode=signup`, { timeout: NAVIGATION_MS });
    await page.locator('#subscribe').waitFor({ timeout: NAVIGATION_MS });
  } finally {
    await context.close();
  }
  assert.equal((await control(url, 'GET', '/events')).json.count, 0);
  assert.deepEqual((await control(url, 'GET', '/products/signup')).json.product.customers, []);
});
