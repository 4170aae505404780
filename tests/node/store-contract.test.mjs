// The Durable Object's SQLite store passes the same store contract as the in-memory store
// (the worker runs it on an empty namespace behind POST /_mock/store-contract, in the mock's
// own tests only: TEST_STORAGE_FAULTS=1).

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startEphemeralMock, control, namespaceUrl, createProduct, usageRecords } from './harness.mjs';

let mock;
before(async () => { mock = await startEphemeralMock({ vars: { TEST_STORAGE_FAULTS: '1' } }); });
after(async () => { await mock?.stop(); });

test('the SQLite store passes the store contract on a fresh namespace', async () => {
  const r = await control(namespaceUrl(mock, 'contract-fresh'), 'POST', '/store-contract');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { passed: true, failures: [] });
});

test('the store contract leaves the namespace empty, so it can run again', async () => {
  const url = namespaceUrl(mock, 'contract-twice');
  assert.equal((await control(url, 'POST', '/store-contract')).status, 200);
  assert.deepEqual((await control(url, 'GET', '/products')).json.products, []);
  assert.deepEqual(await usageRecords(url), []);
  const again = await control(url, 'POST', '/store-contract');
  assert.deepEqual(again.json, { passed: true, failures: [] });
});

test('the store contract refuses a namespace with products (409)', async () => {
  const url = namespaceUrl(mock, 'contract-in-use');
  await createProduct(url, { productCode: 'keep-me', dimensions: ['d'] });
  const r = await control(url, 'POST', '/store-contract');
  assert.equal(r.status, 409, r.text);
  assert.equal(typeof r.json.error, 'string');
  assert.equal((await control(url, 'GET', '/products/keep-me')).status, 200);
});

test('the SQLite store keeps the newest entries of every table within small MAX_* bounds', async () => {
  // The retention checks (instead of the contract's others, which fill tables past such
  // bounds): each table filled a few entries past its bound, the oldest dropped by the SQLite
  // store's trimming (ledger, client tokens, journal, events, registrations).
  const small = await startEphemeralMock({
    vars: {
      TEST_STORAGE_FAULTS: '1', MAX_EVENTS: '10', MAX_REGISTRATIONS: '10', MAX_USAGE_RECORDS: '100', MAX_JOURNAL_ENTRIES: '10',
    },
  });
  try {
    const r = await control(namespaceUrl(small, 'retention'), 'POST', '/store-contract', { retention: true });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { passed: true, failures: [] });
  } finally {
    await small.stop();
  }
  // Under the default bounds the checks would insert 200,000 records in one request: refused.
  const big = await control(namespaceUrl(mock, 'retention-big'), 'POST', '/store-contract', { retention: true });
  assert.equal(big.status, 400, big.text);
  assert.match(big.json.error, /MAX_USAGE_RECORDS/);
});

test('a deployment without TEST_STORAGE_FAULTS does not serve the store contract (404)', async () => {
  const plain = await startEphemeralMock();
  try {
    const r = await control(namespaceUrl(plain, 'contract-plain'), 'POST', '/store-contract');
    assert.equal(r.status, 404, r.text);
  } finally {
    await plain.stop();
  }
});

test('the store contract refuses the default namespace with its demo seed (409)', async () => {
  const r = await control(mock.url, 'POST', '/store-contract');
  assert.equal(r.status, 409, r.text);
  assert.equal((await control(mock.url, 'GET', '/products')).json.products.length, 4);
});
