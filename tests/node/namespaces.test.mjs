// Namespaces are isolated worlds: products, usage, settings and the clock of /ns/a are
// invisible in /ns/b and in default.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, meteringClient, control, sdkError, namespaceUrl, createProduct, setClock, patchSettings, usageRecords,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';

let mock;
let pairs = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

/** Two fresh namespaces a and b. */
function pair() {
  const n = ++pairs;
  return [namespaceUrl(mock, `a${n}`), namespaceUrl(mock, `b${n}`)];
}

function meter(url, input = {}) {
  return meteringClient(url).send(new MeterUsageCommand({
    ProductCode: 'only-a', Timestamp: new Date(NOW), UsageDimension: 'd', UsageQuantity: 1, ...input,
  }));
}

test('a namespace other than default starts empty', async () => {
  const [a] = pair();
  assert.deepEqual((await control(a, 'GET', '/products')).json.products, []);
  assert.deepEqual(await usageRecords(a), []);
});

/** Every file under `dir` with its size. */
function files(dir, found = new Map()) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isDirectory()) files(path, found);
    else found.set(path, stat.size);
  }
  return found;
}

/** The SQLite pages (4 KiB) in the Durable Object files `fn` adds under the state
 * directory: the database past its header page and the write-ahead log's frames. */
async function pagesWrittenBy(fn) {
  const before = files(mock.stateDir);
  await fn();
  let bytes = 0;
  for (const [path, size] of files(mock.stateDir)) {
    if (before.has(path) || !path.includes('NamespaceObject')) continue;
    if (path.endsWith('.sqlite')) bytes += Math.max(0, size - 4096);
    if (path.endsWith('.sqlite-wal')) bytes += Math.max(0, size - 32);
  }
  return Math.round(bytes / (4096 + 24));
}

test('reading a namespace that was never written writes nothing (no GET changes state)', async () => {
  const read = await pagesWrittenBy(async () => {
    for (const path of ['/products', '/settings', '/clock', '/usage', '/health', '/requests', '/ui/']) {
      assert.equal((await fetch(`${namespaceUrl(mock, 'only-read')}/_mock${path}`)).status, 200, path);
    }
    assert.deepEqual((await control(namespaceUrl(mock, 'only-read'), 'GET', '/products')).json.products, []);
  });
  // At most the runtime's own record of the object's name (wrangler dev keeps one: 2 pages).
  assert.ok(read <= 2, `a read wrote ${read} pages: tables or rows`);
  // The measure sees a write: the first one makes the namespace's tables.
  const written = await pagesWrittenBy(() => control(namespaceUrl(mock, 'written'), 'PUT', '/clock', { frozenAt: NOW }));
  assert.ok(written > 10, `a write left ${written} pages`);
});

test('a product of /ns/a is invisible in /ns/b and in default', async () => {
  const [a, b] = pair();
  await createProduct(a, { productCode: 'only-a', dimensions: ['d'] });
  assert.equal((await control(a, 'GET', '/products/only-a')).status, 200);
  for (const other of [b, mock.url]) {
    assert.equal((await control(other, 'GET', '/products/only-a')).status, 404);
    const codes = (await control(other, 'GET', '/products')).json.products.map((p) => p.productCode);
    assert.ok(!codes.includes('only-a'), codes.join());
  }
});

test('a product of /ns/a cannot be metered through /ns/b', async () => {
  const [a, b] = pair();
  await createProduct(a, { productCode: 'only-a', dimensions: ['d'] });
  const e = await sdkError(meter(b));
  assert.equal(e.name, 'InvalidProductCodeException');
});

test('usage recorded in /ns/a is invisible in /ns/b and in default', async () => {
  const [a, b] = pair();
  for (const url of [a, b]) {
    await createProduct(url, { productCode: 'only-a', dimensions: ['d'] });
    await setClock(url, { frozenAt: NOW });
  }
  const { MeteringRecordId } = await meter(a);
  assert.deepEqual((await usageRecords(a)).map((r) => r.meteringRecordId), [MeteringRecordId]);
  assert.deepEqual(await usageRecords(b), []);
  assert.deepEqual(await usageRecords(mock.url, { product: 'only-a' }), []);
});

test('the same usage in two namespaces is two independent records', async () => {
  const [a, b] = pair();
  for (const url of [a, b]) {
    await createProduct(url, { productCode: 'only-a', dimensions: ['d'] });
    await setClock(url, { frozenAt: NOW });
  }
  const inA = await meter(a, { UsageQuantity: 1 });
  const inB = await meter(b, { UsageQuantity: 2 }); // no DuplicateRequestException: another world
  assert.notEqual(inA.MeteringRecordId, inB.MeteringRecordId);
  assert.deepEqual((await usageRecords(b)).map((r) => r.quantity), ['2']);
});

test('settings of /ns/a do not change /ns/b or default', async () => {
  const [a, b] = pair();
  await patchSettings(a, { maxFutureSeconds: 7, unknownCustomer: 'invalid-customer-identifier' });
  assert.equal((await control(a, 'GET', '/settings')).json.maxFutureSeconds, 7);
  for (const other of [b, mock.url]) {
    const s = (await control(other, 'GET', '/settings')).json;
    assert.equal(s.maxFutureSeconds, 300);
    assert.equal(s.unknownCustomer, 'customer-not-subscribed');
  }
});

test('the clock of /ns/a does not move /ns/b or default', async () => {
  const [a, b] = pair();
  await setClock(a, { frozenAt: '2020-01-01T00:00:00Z' });
  assert.equal((await control(a, 'GET', '/clock')).json.now, '2020-01-01T00:00:00Z');
  for (const other of [b, mock.url]) {
    const c = (await control(other, 'GET', '/clock')).json;
    assert.equal(c.frozen, false);
    assert.ok(Math.abs(c.nowEpochSeconds - Date.now() / 1000) < 60);
  }
});

test('the same product code can exist in two namespaces with different dimensions', async () => {
  const [a, b] = pair();
  await createProduct(a, { productCode: 'shared', dimensions: ['alpha'] });
  await createProduct(b, { productCode: 'shared', dimensions: ['beta'] });
  assert.deepEqual((await control(a, 'GET', '/products/shared')).json.product.dimensions, ['alpha']);
  assert.deepEqual((await control(b, 'GET', '/products/shared')).json.product.dimensions, ['beta']);
  await meter(a, { ProductCode: 'shared', UsageDimension: 'alpha', Timestamp: new Date() });
  const e = await sdkError(meter(b, { ProductCode: 'shared', UsageDimension: 'alpha', Timestamp: new Date() }));
  assert.equal(e.name, 'InvalidUsageDimensionException');
  await meter(b, { ProductCode: 'shared', UsageDimension: 'beta', Timestamp: new Date() });
});

test('reset of /ns/a leaves /ns/b untouched', async () => {
  const [a, b] = pair();
  for (const url of [a, b]) {
    await createProduct(url, { productCode: 'only-a', dimensions: ['d'] });
    await setClock(url, { frozenAt: NOW });
    await meter(url);
  }
  await patchSettings(b, { maxFutureSeconds: 9 });
  assert.equal((await control(a, 'POST', '/reset')).status, 200);
  assert.deepEqual((await control(a, 'GET', '/products')).json.products, []);
  assert.deepEqual(await usageRecords(a), []);
  assert.equal((await control(b, 'GET', '/products')).json.products.length, 1);
  assert.equal((await usageRecords(b)).length, 1);
  assert.equal((await control(b, 'GET', '/settings')).json.maxFutureSeconds, 9);
  assert.equal((await control(b, 'GET', '/clock')).json.now, NOW);
});

test('reset of /ns/a leaves default and its demo seed untouched', async () => {
  const [a] = pair();
  await createProduct(a, { productCode: 'only-a', dimensions: ['d'] });
  await control(a, 'POST', '/reset');
  const codes = (await control(mock.url, 'GET', '/products')).json.products.map((p) => p.productCode);
  assert.deepEqual(codes, ['demo-ami-product', 'demo-ca-product', 'demo-container-product', 'demo-saas-product']);
});
