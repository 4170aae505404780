// Webhook delivery from the namespace's Durable Object alarm to a real local HTTP server:
// SNS HTTP(S)-subscription requests, EventBridge API-destination requests, retries of a
// webhook that answers 500 and of one nobody listens on, up to webhookMaxAttempts.
// Each test uses its own namespace and its own paths on the one recording server.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  startEphemeralMock, control, namespaceUrl, createProduct, patchSettings, freePort, epochOf, UUID_V4,
  listenLocally,
} from './harness.mjs';

const SELLER = '999988887777';
const BUYER = '111122223333';
const WAIT_MS = 20_000;

let mock;
let hooks; // the recording server
let namespaces = 0;

/**
 * A node:http server on 127.0.0.1 that records every request ({ method, path, headers,
 * body, at }) and answers the status its path asks for: paths ending in /500 get 500,
 * /202 get 202, /redirect a 307 to …/redirected, /hang never get an answer, everything
 * else 200.
 */
async function startRecorder() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method, path: req.url, headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'), at: Date.now(),
      });
      if (req.url.endsWith('/hang')) return; // closeAllConnections() ends it
      if (req.url.endsWith('/redirect')) {
        res.writeHead(307, { location: req.url.replace(/redirect$/, 'redirected') });
        res.end();
        return;
      }
      const status = req.url.endsWith('/500') ? 500 : req.url.endsWith('/202') ? 202 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 500 ? 'boom' : 'ok');
    });
  });
  const url = `http://127.0.0.1:${await listenLocally(server)}`;
  return {
    url,
    requests,
    /** The requests received on `path`. */
    on: (path) => requests.filter((r) => r.path === path),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

before(async () => {
  hooks = await startRecorder();
  mock = await startEphemeralMock();
});
after(async () => {
  await mock?.stop();
  await hooks?.close();
});

/**
 * A fresh namespace whose product `hooked` (seller SELLER) has the webhooks `webhooks(hook)`
 * lists, where `hook(suffix)` is a URL of the recorder under the namespace's own prefix, and
 * the customer c1 (account BUYER, `subscription`); retries every second, up to `maxAttempts`.
 * Returns { url, path }, `path(suffix)` being the recorder path of `hook(suffix)`.
 */
async function world({ webhooks, subscription = 'subscribed', maxAttempts = 3, settings = {} }) {
  const name = `webhooks-${++namespaces}`;
  const url = namespaceUrl(mock, name);
  const path = (suffix) => `/${name}/${suffix}`;
  const hook = (suffix) => `${hooks.url}${path(suffix)}`;
  await patchSettings(url, { webhookRetryDelaySeconds: 1, webhookMaxAttempts: maxAttempts, ...settings });
  await createProduct(url, {
    productCode: 'hooked',
    dimensions: ['users'],
    sellerAccountId: SELLER,
    webhooks: webhooks(hook),
    customers: [{
      customerIdentifier: 'c1', customerAWSAccountId: BUYER, subscription,
      agreementId: 'agmt-0123456789abcdefghijklmno', offerIdentifier: 'offer-abcdefghijklm',
    }],
  });
  return { url, path };
}

async function act(url, action) {
  const r = await control(url, 'POST', '/subscriptions', { productCode: 'hooked', customerIdentifier: 'c1', action });
  assert.equal(r.status, 200, r.text);
  return r.json.event;
}

/** The event `seq` of the namespace's log. */
async function eventOf(url, seq) {
  const r = await control(url, 'GET', `/events?after=${seq - 1}&limit=1`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.events[0]?.seq, seq, r.text);
  return r.json.events[0];
}

/** Polls `probe` every 100 ms until it returns a truthy value; fails after WAIT_MS. */
async function waitFor(what, probe, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits until no delivery of event `seq` is pending; returns the event. */
function settled(url, seq) {
  return waitFor(`the deliveries of event ${seq} to settle`, async () => {
    const event = await eventOf(url, seq);
    return event.deliveries.every((d) => d.status !== 'pending') ? event : null;
  });
}

// ------------------------------------------------------------------------------------------ SNS

test('an SNS webhook receives the envelope as text/plain with the x-amz-sns headers, and is delivered', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('sns') }] });
  const logged = await act(url, 'unsubscribe-pending');
  assert.deepEqual(logged.deliveries.map((d) => [d.format, d.status, d.attempts]), [['sns', 'pending', 0]]);

  const event = await settled(url, logged.seq);
  const [delivery] = event.deliveries;
  assert.equal(delivery.status, 'delivered', JSON.stringify(delivery));
  assert.equal(delivery.attempts, 1);
  assert.equal(delivery.lastStatus, 200);
  assert.equal(delivery.lastError, undefined);
  assert.equal(delivery.nextAttemptAt, undefined);

  const received = hooks.on(path('sns'));
  assert.equal(received.length, 1);
  const [req] = received;
  assert.equal(req.method, 'POST');
  assert.equal(req.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(req.headers['x-amz-sns-message-type'], 'Notification');
  assert.equal(req.headers['x-amz-sns-message-id'], event.sns.MessageId);
  assert.equal(req.headers['x-amz-sns-topic-arn'], event.sns.TopicArn);
  assert.equal(req.headers['x-amz-sns-topic-arn'], 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-hooked');

  const envelope = JSON.parse(req.body);
  assert.deepEqual(envelope, event.sns);
  assert.equal(envelope.Type, 'Notification');
  assert.match(envelope.MessageId, UUID_V4);
  assert.equal(epochOf(envelope.Timestamp), epochOf(event.time));
  const message = JSON.parse(envelope.Message);
  assert.deepEqual(message, {
    action: 'unsubscribe-pending',
    'customer-identifier': 'c1',
    'product-code': 'hooked',
    isFreeTrialTermPresent: 'false',
  });
});

test('an SNS delivery of subscribe-success names the offer; a 202 answer counts as delivered', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('202'), format: 'sns' }], subscription: 'pending' });
  const logged = await act(url, 'subscribe-success');
  const event = await settled(url, logged.seq);
  assert.deepEqual(event.deliveries.map((d) => [d.status, d.attempts, d.lastStatus]), [['delivered', 1, 202]]);
  const [req] = hooks.on(path('202'));
  const message = JSON.parse(JSON.parse(req.body).Message);
  assert.equal(message.action, 'subscribe-success');
  assert.equal(message['offer-identifier'], 'offer-abcdefghijklm');
});

// ----------------------------------------------------------------------------------- EventBridge

test('an EventBridge webhook receives the event as JSON from source aws.agreement-marketplace', async () => {
  // With License Deprovisioned after the final hour, the cancellation has one event.
  const { url, path } = await world({
    webhooks: (hook) => [{ url: hook('sns') }, { url: hook('eb'), format: 'eventbridge' }],
    settings: { licenseDeprovisionedAt: 'final-hour-end' },
  });
  const logged = await act(url, 'unsubscribe-pending');
  assert.deepEqual(logged.deliveries.map((d) => d.format), ['sns', 'eventbridge']);
  const event = await settled(url, logged.seq);
  assert.deepEqual(event.deliveries.map((d) => d.status), ['delivered', 'delivered']);
  assert.equal(event.eventBridge.length, 1);

  const received = hooks.on(path('eb'));
  assert.equal(received.length, 1);
  const [req] = received;
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'], /^application\/json\b/);
  assert.equal(req.headers['x-amz-sns-message-type'], undefined);
  const body = JSON.parse(req.body);
  assert.deepEqual(body, event.eventBridge[0]);
  assert.equal(body.version, '0');
  assert.match(body.id, UUID_V4);
  assert.equal(body['detail-type'], 'Purchase Agreement Ended - Proposer');
  assert.equal(body.source, 'aws.agreement-marketplace');
  assert.equal(body.account, SELLER);
  assert.equal(body.region, 'us-east-1');
  assert.equal(epochOf(body.time), Math.floor(epochOf(event.time)));
  assert.deepEqual(body.resources, ['arn:aws:aws-marketplace::aws:agreement:agmt-0123456789abcdefghijklmno']);
  assert.equal(body.detail.agreement.id, 'agmt-0123456789abcdefghijklmno');
  assert.equal(body.detail.agreement.status, 'CANCELLED');
  assert.equal(body.detail.acceptor.accountId, BUYER);
  assert.equal(body.detail.proposer.accountId, SELLER);

  // The SNS webhook got the same moment's envelope.
  assert.deepEqual(JSON.parse(hooks.on(path('sns'))[0].body), event.sns);
});

test('subscribe-success sends each of its EventBridge events to an EventBridge webhook, one delivery per event', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('eb'), format: 'eventbridge' }], subscription: 'pending' });
  const logged = await act(url, 'subscribe-success');
  const event = await settled(url, logged.seq);
  assert.deepEqual(event.eventBridge.map((e) => e['detail-type']),
    ['Purchase Agreement Created - Proposer', 'License Updated - Manufacturer']);
  assert.deepEqual(event.deliveries.map((d) => [d.format, d.eventIndex, d.status]),
    [['eventbridge', 0, 'delivered'], ['eventbridge', 1, 'delivered']]);
  const bodies = hooks.on(path('eb')).map((r) => JSON.parse(r.body));
  assert.equal(bodies.length, 2);
  const byType = Object.fromEntries(bodies.map((b) => [b['detail-type'], b]));
  assert.deepEqual(byType['Purchase Agreement Created - Proposer'], event.eventBridge[0]);
  assert.deepEqual(byType['License Updated - Manufacturer'], event.eventBridge[1]);
  assert.equal(event.eventBridge[0].detail.agreement.intent, 'NEW');
  assert.equal(event.eventBridge[0].detail.agreement.status, 'ACTIVE');
  assert.equal(event.eventBridge[0].detail.offer.id, 'offer-abcdefghijklm');
  assert.equal(event.eventBridge[1].detail.product.code, 'hooked');
});

test('a cancellation sends Ended, then License Deprovisioned after licenseDeprovisionedDelaySeconds', async () => {
  const { url, path } = await world({
    webhooks: (hook) => [{ url: hook('eb'), format: 'eventbridge' }],
    settings: { licenseDeprovisionedDelaySeconds: 2 },
  });
  const logged = await act(url, 'unsubscribe-pending');
  assert.deepEqual(logged.eventBridge.map((e) => e['detail-type']),
    ['Purchase Agreement Ended - Proposer', 'License Deprovisioned - Manufacturer']);
  const [ended, deprovisioned] = logged.deliveries.map((d) => Date.parse(d.nextAttemptAt));
  assert.equal(deprovisioned - ended, 2000);
  await settled(url, logged.seq);
  const received = hooks.on(path('eb'));
  assert.deepEqual(received.map((r) => JSON.parse(r.body)['detail-type']),
    ['Purchase Agreement Ended - Proposer', 'License Deprovisioned - Manufacturer']);
  assert.ok(received[1].at - received[0].at >= 1500, `${received[1].at - received[0].at} ms apart`);
  // The event's own time is when it was sent: two seconds after the cancellation.
  assert.equal(Date.parse(logged.eventBridge[1].time) - Date.parse(logged.eventBridge[0].time), 2000);
});

test('duplicateEventDeliveries delivers every message a second time, after the first ones', async () => {
  const { url, path } = await world({
    webhooks: (hook) => [{ url: hook('sns') }, { url: hook('eb'), format: 'eventbridge' }],
    subscription: 'pending',
    settings: { duplicateEventDeliveries: true },
  });
  const logged = await act(url, 'subscribe-success');
  assert.deepEqual(logged.deliveries.map((d) => [d.format, d.eventIndex ?? null, d.duplicate ?? false]), [
    ['sns', null, false], ['eventbridge', 0, false], ['eventbridge', 1, false],
    ['sns', null, true], ['eventbridge', 0, true], ['eventbridge', 1, true],
  ]);
  const event = await settled(url, logged.seq);
  assert.deepEqual(event.deliveries.map((d) => d.status), Array(6).fill('delivered'));
  const sns = hooks.on(path('sns'));
  assert.equal(sns.length, 2);
  assert.equal(sns[0].body, sns[1].body);
  assert.equal(sns[0].headers['x-amz-sns-message-id'], sns[1].headers['x-amz-sns-message-id']);
  const eb = hooks.on(path('eb')).map((r) => JSON.parse(r.body));
  assert.deepEqual(eb.map((b) => b.id), [0, 1, 0, 1].map((i) => event.eventBridge[i].id));
});

test('a running clock reaching a contract\'s 30-day notice sends Purchase Agreement Ending from the alarm', async () => {
  const name = `webhooks-${++namespaces}`;
  const url = namespaceUrl(mock, name);
  const path = `/${name}/eb`;
  const day = 86_400_000;
  const now = Date.now();
  // Accepted yesterday, ending in 30 days and 3 seconds: the 30-day notice is due in 3 s.
  const iso = (ms) => new Date(ms).toISOString();
  await createProduct(url, {
    productCode: 'yearly', dimensions: ['users'], contract: { P1M: { users: '10' } },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
    webhooks: [{ url: `${hooks.url}${path}`, format: 'eventbridge' }, { url: `${hooks.url}${path}-sns` }],
    customers: [{
      customerAWSAccountId: BUYER, licenseArn: `arn:aws:license-manager::${SELLER}:license:l-0123456789abcdef0123456789abcdef`,
      contract: { duration: 'P1M', quantities: { users: 2 } }, acceptedAt: iso(now - day), endsAt: iso(now + 30 * day + 3_000),
    }],
  });
  const received = await waitFor('the Ending event at the webhook', () => hooks.on(path)[0]);
  const body = JSON.parse(received.body);
  assert.equal(body['detail-type'], 'Purchase Agreement Ending - Proposer');
  assert.equal(body.detail.agreement.daysBeforeEndTime, 30);
  assert.ok(received.at >= now + 2_900, `sent ${received.at - now} ms after the product was put`);
  // No SNS message for it.
  assert.equal(hooks.on(`${path}-sns`).length, 0);
  const { json } = await control(url, 'GET', '/events');
  assert.deepEqual(json.events.map((e) => e.action), ['agreement-ending']);
  assert.equal(json.events[0].sns, null);
});

test('subscribe-fail has no EventBridge event: only the SNS webhook is delivered to', async () => {
  const { url, path } = await world({
    webhooks: (hook) => [{ url: hook('sns') }, { url: hook('eb'), format: 'eventbridge' }],
    subscription: 'pending',
  });
  const logged = await act(url, 'subscribe-fail');
  assert.deepEqual(logged.eventBridge, []);
  assert.deepEqual(logged.deliveries.map((d) => d.format), ['sns']);
  const event = await settled(url, logged.seq);
  assert.deepEqual(event.deliveries.map((d) => d.status), ['delivered']);
  assert.equal(JSON.parse(JSON.parse(hooks.on(path('sns'))[0].body).Message).action, 'subscribe-fail');
  assert.equal(hooks.on(path('eb')).length, 0);
});

// -------------------------------------------------------------------------------------- retries

test('a webhook answering 500 is retried every webhookRetryDelaySeconds up to webhookMaxAttempts, then failed', async () => {
  const { url, path } = await world({
    webhooks: (hook) => [{ url: hook('500') }, { url: hook('ok') }],
    maxAttempts: 3,
  });
  const logged = await act(url, 'unsubscribe-success');
  const event = await settled(url, logged.seq);
  const [failing, fine] = event.deliveries;
  assert.equal(failing.status, 'failed', JSON.stringify(failing));
  assert.equal(failing.attempts, 3);
  assert.equal(failing.lastStatus, 500);
  assert.match(failing.lastError, /500/);
  assert.equal(failing.nextAttemptAt, undefined);
  assert.deepEqual([fine.status, fine.attempts], ['delivered', 1]);

  const attempts = hooks.on(path('500'));
  assert.equal(attempts.length, 3);
  for (const a of attempts) {
    assert.equal(a.headers['x-amz-sns-message-id'], event.sns.MessageId);
    assert.deepEqual(JSON.parse(a.body), event.sns);
  }
  // One second apart (webhookRetryDelaySeconds: 1), less a little for timer granularity.
  for (let i = 1; i < attempts.length; i++) {
    assert.ok(attempts[i].at - attempts[i - 1].at >= 900, `attempt ${i + 1} came ${attempts[i].at - attempts[i - 1].at} ms after the one before`);
  }
  // Failed is final: no attempt follows.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(hooks.on(path('500')).length, 3);
  assert.equal(hooks.on(path('ok')).length, 1);
});

test('while a webhook is being retried its delivery is pending with a nextAttemptAt and lastError', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('500') }], maxAttempts: 2 });
  await patchSettings(url, { webhookRetryDelaySeconds: 30 });
  const logged = await act(url, 'unsubscribe-pending');
  const event = await waitFor('the first attempt', async () => {
    const e = await eventOf(url, logged.seq);
    return e.deliveries[0].attempts >= 1 ? e : null;
  });
  const [delivery] = event.deliveries;
  assert.equal(delivery.status, 'pending', JSON.stringify(delivery));
  assert.equal(delivery.attempts, 1);
  assert.equal(delivery.lastStatus, 500);
  assert.match(delivery.lastError, /500/);
  const wait = epochOf(delivery.nextAttemptAt) - hooks.on(path('500'))[0].at / 1000;
  assert.ok(wait > 25 && wait <= 31, `next attempt in ${wait} s`);
});

test('a webhook on a closed port ends failed with a network error after webhookMaxAttempts', async () => {
  const closed = await freePort();
  const target = `http://127.0.0.1:${closed}/nobody-listens`;
  const { url } = await world({ webhooks: () => [{ url: target }], maxAttempts: 2 });
  const logged = await act(url, 'unsubscribe-pending');
  const event = await settled(url, logged.seq);
  const [delivery] = event.deliveries;
  assert.equal(delivery.status, 'failed', JSON.stringify(delivery));
  assert.equal(delivery.attempts, 2);
  assert.equal(delivery.lastStatus, undefined);
  assert.equal(typeof delivery.lastError, 'string');
  assert.ok(delivery.lastError.includes(target), delivery.lastError);
  assert.doesNotMatch(delivery.lastError, /HTTP \d{3}/);
});

test('a webhook that does not answer within 10 s is a failed attempt with a timeout error, and does not hold back the others', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('hang') }, { url: hook('ok') }], maxAttempts: 1 });
  const logged = await act(url, 'unsubscribe-pending');
  const started = Date.now();
  const early = await waitFor('the other webhook to be delivered', async () => {
    const e = await eventOf(url, logged.seq);
    return e.deliveries[1].status === 'delivered' ? e : null;
  });
  assert.ok(Date.now() - started < 5_000, `the other webhook was delivered after ${Date.now() - started} ms`);
  assert.equal(early.deliveries[0].status, 'pending');
  const event = await settled(url, logged.seq);
  const [delivery] = event.deliveries;
  assert.equal(delivery.status, 'failed', JSON.stringify(delivery));
  assert.equal(delivery.attempts, 1);
  assert.equal(delivery.lastStatus, undefined);
  assert.match(delivery.lastError, /timeout/i);
  assert.ok(delivery.lastError.includes(path('hang')), delivery.lastError);
  assert.equal(hooks.on(path('hang')).length, 1);
  assert.ok(Date.now() - started >= 8_000, `failed after ${Date.now() - started} ms, before the 10 s timeout`);
});

test('a webhook that redirects is not followed: the 3xx is its answer, retried until attempts run out', async () => {
  const { url, path } = await world({ webhooks: (hook) => [{ url: hook('redirect') }], maxAttempts: 2 });
  const logged = await act(url, 'unsubscribe-pending');
  const event = await settled(url, logged.seq);
  const [delivery] = event.deliveries;
  assert.deepEqual([delivery.status, delivery.attempts, delivery.lastStatus], ['failed', 2, 307], JSON.stringify(delivery));
  assert.equal(hooks.on(path('redirect')).length, 2);
  assert.equal(hooks.on(path('redirected')).length, 0);
});
