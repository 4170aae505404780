// A minimal SaaS seller application, to click through the onboarding flow against the mock
// without writing one first. It is what a seller's integration does, nothing more:
//   POST /register  the fulfillment URL: reads the form field x-amzn-marketplace-token,
//                   resolves it with the unmodified JS SDK (ResolveCustomer) and greets the
//                   customer, or shows the error AWS would give (InvalidTokenException, …)
//   POST /sns       an SNS HTTP(S) subscription: keeps each notification (envelope and Message)
//   GET  /          what it has seen: registered customers and notifications
//
// Usage: node examples/seller-app.mjs [--port 3000] [--mock http://127.0.0.1:8787]
// (--mock is the endpoint the SDK calls, e.g. http://127.0.0.1:8787/ns/onboarding.)
// It binds 127.0.0.1 only and prints "listening on <url>" when ready.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { MarketplaceMeteringClient, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    mock: { type: 'string', default: 'http://127.0.0.1:8787' },
  },
});

const metering = new MarketplaceMeteringClient({
  endpoint: values.mock,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});

const customers = [];
const notifications = [];
const MAX_KEPT = 1000;
const MAX_BODY = 64 * 1024;

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>${body}<p><a href="/">Everything this seller has seen</a></p></body></html>`;
}

function keep(list, item) {
  list.push(item);
  if (list.length > MAX_KEPT) list.shift();
}

async function register(body, res) {
  const fields = new URLSearchParams(body);
  const token = fields.get('x-amzn-marketplace-token');
  if (!token) {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('No registration token', '<p>POST the form field x-amzn-marketplace-token.</p>'));
    return;
  }
  try {
    const out = await metering.send(new ResolveCustomerCommand({ RegistrationToken: token }));
    const customer = {
      customerIdentifier: out.CustomerIdentifier,
      customerAWSAccountId: out.CustomerAWSAccountId,
      productCode: out.ProductCode,
      licenseArn: out.LicenseArn,
      freeTrial: fields.get('x-amzn-marketplace-offer-type') === 'free-trial',
    };
    keep(customers, customer);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Welcome', `<p>Account <code id="account">${escapeHtml(customer.customerAWSAccountId ?? '')}</code>
is registered for <code id="product">${escapeHtml(customer.productCode ?? '')}</code>${customer.freeTrial ? ' (free trial)' : ''}.</p>`));
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Registration failed', `<p id="error">${escapeHtml(e.name)}: ${escapeHtml(e.message)}</p>`));
  }
}

function sns(body, headers, res) {
  try {
    const envelope = JSON.parse(body);
    keep(notifications, {
      type: headers['x-amz-sns-message-type'],
      topicArn: envelope.TopicArn,
      message: JSON.parse(envelope.Message),
    });
    res.writeHead(200).end();
  } catch {
    res.writeHead(400).end();
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (req.method === 'POST' && path === '/register') return void register(body, res);
    if (req.method === 'POST' && path === '/sns') return sns(body, req.headers, res);
    if (req.method === 'GET' && path === '/') {
      if ((req.headers.accept ?? '').includes('application/json')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ customers, notifications }));
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page('Seller app', `<h2>Customers</h2><pre>${escapeHtml(JSON.stringify(customers, null, 2))}</pre>
<h2>Notifications</h2><pre>${escapeHtml(JSON.stringify(notifications, null, 2))}</pre>`));
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port} (resolving tokens at ${values.mock})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
