// GetEntitlements of the Entitlement Service through the real JS SDK (awsJson1_1, as it ships;
// and rpc-v2-cbor, its other protocol) and through raw rpc-v2-cbor requests carrying the bytes
// the Rust SDK sends, decoded with the SDK's own CBOR codec.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetEntitlementsCommand, InvalidParameterException, MarketplaceEntitlementServiceClient, paginateGetEntitlements,
} from '@aws-sdk/client-marketplace-entitlement-service';
import { cbor, SmithyRpcV2CborProtocol } from '@smithy/core/cbor';
import { startEphemeralMock, namespaceUrl, createProduct, control, authHeaders, sdkError } from './harness.mjs';

const CBOR_PATH = '/service/AWSMPEntitlementService/operation/GetEntitlements';
/** What the Rust SDK 1.126.0 sent for GetEntitlements { ProductCode: "p" } (captured). */
const RUST_SDK_REQUEST = Buffer.from('bf6b50726f64756374436f64656170ff', 'hex');
const LICENSE = (n) => `arn:aws:license-manager::111122223333:license:l-000000000000000000000000000000${n}`;
const SHAPE_ID = (name) => `com.amazonaws.marketplaceentitlementservice#${name}`;

let mock;
let url; // a namespace with the products below
before(async () => {
  mock = await startEphemeralMock();
  url = namespaceUrl(mock, 'entitlements');
  const users = (n) => ({ dimension: 'users', value: { integerValue: n } });
  await createProduct(url, {
    productCode: 'contract', dimensions: ['users', 'gb', 'tier', 'sso'], sellerAccountId: '999988887777',
    customers: [
      { customerIdentifier: 'c1', customerAWSAccountId: '111122223333', entitlements: [
        { dimension: 'users', value: { integerValue: 10 }, expirationDate: '2027-01-01T00:00:00Z' },
        { dimension: 'gb', value: { doubleValue: 2.5 } },
        { dimension: 'tier', value: { stringValue: 'gold' } },
        { dimension: 'sso', value: { booleanValue: true } },
      ] },
      { customerIdentifier: 'c2', customerAWSAccountId: '444455556666', entitlements: [
        { dimension: 'users', value: { integerValue: 3 }, expirationDate: '2027-06-30T12:00:00.500Z' },
      ] },
      { customerIdentifier: 'c3', customerAWSAccountId: '555566667777', subscription: 'pending', entitlements: [users(1)] },
      { customerIdentifier: 'c4', customerAWSAccountId: '666677778888', subscription: 'unsubscribe-pending', entitlements: [users(7)] },
      { customerIdentifier: 'c5', customerAWSAccountId: '777788889999', subscription: 'unsubscribed', entitlements: [users(9)] },
    ],
  });
  await createProduct(url, {
    productCode: 'ca-contract', dimensions: ['requests'], integration: 'concurrent-agreements',
    customers: [1, 2].map((n) => ({
      customerAWSAccountId: '111122223333', licenseArn: LICENSE(n),
      entitlements: [{ dimension: 'requests', value: { integerValue: 100 * n } }],
    })),
  });
  await createProduct(url, {
    productCode: 'p', dimensions: ['seats'],
    customers: [{ customerIdentifier: 'cp', customerAWSAccountId: '111122223333', entitlements: [
      { dimension: 'seats', value: { integerValue: 5 }, expirationDate: '2027-01-01T00:00:00Z' },
    ] }],
  });
});
after(async () => { await mock?.stop(); });

/** The SDK client as it ships (awsJson1_1), or with `protocol` swapped in. */
/** @param {{accessKeyId?: string, maxAttempts?: number, protocol?: any}} [options] */
const client = ({ accessKeyId = 'test', maxAttempts = 1, protocol } = {}) => new MarketplaceEntitlementServiceClient({
  region: 'us-east-1', endpoint: url, credentials: { accessKeyId, secretAccessKey: 'test-secret' }, maxAttempts,
  ...(protocol ? { protocol } : {}),
});

const who = (list) => list.map((e) => `${e.CustomerIdentifier ?? e.LicenseArn}/${e.Dimension}`);

/** A raw rpc-v2-cbor POST; the response body decoded with the SDK's CBOR codec. */
async function cborCall(body, { headers = {}, path = CBOR_PATH } = {}) {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor', accept: 'application/cbor',
      ...authHeaders(), ...headers,
    },
    body,
  });
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body: bytes.length ? cbor.deserialize(bytes) : null };
}

test('the SDK lists current entitlements with every value type and ExpirationDate as a Date', async () => {
  const out = await client().send(new GetEntitlementsCommand({ ProductCode: 'contract' }));
  assert.deepEqual(who(out.Entitlements), ['c1/users', 'c1/gb', 'c1/tier', 'c1/sso', 'c2/users', 'c4/users']);
  const [users, gb, tier, sso, c2] = out.Entitlements;
  assert.deepEqual(users.Value, { IntegerValue: 10 });
  assert.deepEqual(gb.Value, { DoubleValue: 2.5 });
  assert.deepEqual(tier.Value, { StringValue: 'gold' });
  assert.deepEqual(sso.Value, { BooleanValue: true });
  assert.ok(users.ExpirationDate instanceof Date);
  assert.equal(users.ExpirationDate.toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(c2.ExpirationDate.toISOString(), '2027-06-30T12:00:00.500Z');
  assert.equal(gb.ExpirationDate, undefined);
  assert.equal(users.CustomerAWSAccountId, '111122223333');
  assert.equal(users.ProductCode, 'contract');
  assert.equal(out.NextToken, undefined);
});

test('the SDK paginator follows NextToken across pages of MaxResults', async () => {
  const pages = [];
  for await (const page of paginateGetEntitlements({ client: client(), pageSize: 2 }, { ProductCode: 'contract' })) {
    pages.push(page.Entitlements);
  }
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 2]);
  assert.deepEqual(who(pages.flat()), ['c1/users', 'c1/gb', 'c1/tier', 'c1/sso', 'c2/users', 'c4/users']);
  const filtered = [];
  const paginator = paginateGetEntitlements(
    { client: client(), pageSize: 1 }, { ProductCode: 'contract', Filter: { DIMENSION: ['users'] } },
  );
  for await (const page of paginator) filtered.push(...page.Entitlements);
  assert.deepEqual(who(filtered), ['c1/users', 'c2/users', 'c4/users']);
});

test('filters union the values of a key and intersect the keys', async () => {
  const c = client();
  const list = async (ProductCode, Filter) => who((await c.send(new GetEntitlementsCommand({ ProductCode, Filter }))).Entitlements);
  assert.deepEqual(await list('contract', { CUSTOMER_IDENTIFIER: ['c2', 'c3', 'c4'] }), ['c2/users', 'c4/users']);
  assert.deepEqual(
    await list('contract', { CUSTOMER_AWS_ACCOUNT_ID: ['111122223333'], DIMENSION: ['gb', 'sso'] }), ['c1/gb', 'c1/sso'],
  );
  assert.deepEqual(await list('ca-contract', { LICENSE_ARN: [LICENSE(2)] }), [`${LICENSE(2)}/requests`]);
  assert.deepEqual(await list('contract', { DIMENSION: ['none'] }), []);
});

test('invalid input is an InvalidParameterException the SDK names', async () => {
  const c = client();
  for (const [input, expected] of /** @type {[any, RegExp][]} */ ([
    [{ ProductCode: 'nope' }, /ProductCode 'nope' is not a product/],
    [{ ProductCode: 'contract', MaxResults: 26 }, /Value '26' at 'maxResults' failed to satisfy constraint/],
    [{ ProductCode: 'contract', NextToken: 'not-issued' }, /NextToken is not valid/],
    [{ ProductCode: 'contract', Filter: { CUSTOMER_IDENTIFIER: ['c1'], CUSTOMER_AWS_ACCOUNT_ID: ['111122223333'] } }, /mutually exclusive/],
  ])) {
    const e = await sdkError(c.send(new GetEntitlementsCommand(input)));
    assert.ok(e instanceof InvalidParameterException, `${JSON.stringify(input)}: ${e.name}`);
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, expected);
  }
  const foreign = await sdkError(client({ accessKeyId: '111122223333' }).send(new GetEntitlementsCommand({ ProductCode: 'contract' })));
  assert.equal(foreign.name, 'InvalidParameterException');
  const seller = await client({ accessKeyId: '999988887777' }).send(new GetEntitlementsCommand({ ProductCode: 'contract' }));
  assert.equal(seller.Entitlements.length, 6);
});

test('the SDK retries an injected ThrottlingException of GetEntitlements', async () => {
  const r = await control(url, 'POST', '/faults', { operation: 'GetEntitlements', error: 'ThrottlingException' });
  assert.equal(r.status, 201, r.text);
  const out = await client({ maxAttempts: 3 }).send(new GetEntitlementsCommand({ ProductCode: 'p' }));
  assert.equal(out.$metadata.attempts, 2);
  assert.equal(out.Entitlements.length, 1);
});

test('the SDK speaks rpc-v2-cbor to the mock when given that protocol', async () => {
  const c = client({ protocol: SmithyRpcV2CborProtocol });
  const sent = [];
  c.middlewareStack.add((next) => async (/** @type {any} */ args) => {
    sent.push({ path: args.request.path, protocol: args.request.headers['smithy-protocol'] });
    return next(args);
  }, { step: 'finalizeRequest' });
  const out = await c.send(new GetEntitlementsCommand({ ProductCode: 'contract', MaxResults: 5 }));
  assert.deepEqual(sent, [{ path: `/ns/entitlements${CBOR_PATH}`, protocol: 'rpc-v2-cbor' }]);
  assert.equal(out.Entitlements.length, 5);
  assert.ok(out.NextToken);
  assert.equal(out.Entitlements[0].ExpirationDate.toISOString(), '2027-01-01T00:00:00.000Z');
  assert.deepEqual(out.Entitlements[1].Value, { DoubleValue: 2.5 });
  const rest = await c.send(new GetEntitlementsCommand({ ProductCode: 'contract', MaxResults: 5, NextToken: out.NextToken }));
  assert.deepEqual(who(rest.Entitlements), ['c4/users']);
  const e = await sdkError(c.send(new GetEntitlementsCommand({ ProductCode: 'nope' })));
  assert.ok(e instanceof InvalidParameterException, e.name);
});

test('the Rust SDK request bytes get a CBOR answer with Smithy-Protocol and a tag-1 ExpirationDate', async () => {
  const r = await cborCall(RUST_SDK_REQUEST);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('smithy-protocol'), 'rpc-v2-cbor');
  assert.equal(r.headers.get('content-type'), 'application/cbor');
  assert.ok(r.headers.get('x-amzn-requestid'));
  const [entitlement] = r.body.Entitlements;
  assert.deepEqual(
    { ...entitlement, ExpirationDate: undefined },
    { ProductCode: 'p', Dimension: 'seats', CustomerIdentifier: 'cp', CustomerAWSAccountId: '111122223333',
      Value: { IntegerValue: 5 }, ExpirationDate: undefined },
  );
  assert.equal(Number(entitlement.ExpirationDate.tag), 1);
  assert.equal(entitlement.ExpirationDate.value, Date.parse('2027-01-01T00:00:00Z') / 1000);
});

test('CBOR errors carry the absolute shape id, Smithy-Protocol and no X-Amzn-ErrorType', async () => {
  const r = await cborCall(cbor.serialize({ ProductCode: 'nope' }));
  assert.equal(r.status, 400);
  assert.equal(r.body.__type, SHAPE_ID('InvalidParameterException'));
  assert.match(r.body.message, /not a product/);
  assert.equal(r.headers.get('smithy-protocol'), 'rpc-v2-cbor');
  assert.equal(r.headers.get('x-amzn-errortype'), null);
  const broken = await cborCall(RUST_SDK_REQUEST.subarray(0, 10));
  assert.equal(broken.status, 400);
  assert.equal(broken.body.__type, SHAPE_ID('SerializationException'));
});

test('rpc-v2-cbor requests with X-Amz-Target or without Smithy-Protocol are refused', async () => {
  const withTarget = await cborCall(RUST_SDK_REQUEST, { headers: { 'x-amz-target': 'AWSMPEntitlementService.GetEntitlements' } });
  assert.equal(withTarget.status, 400);
  assert.equal(withTarget.body.__type, SHAPE_ID('UnknownOperationException'));
  const r = await fetch(`${url}${CBOR_PATH}`, {
    method: 'POST', headers: { 'content-type': 'application/cbor', ...authHeaders() }, body: RUST_SDK_REQUEST,
  });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('smithy-protocol'), 'rpc-v2-cbor');
  const body = cbor.deserialize(new Uint8Array(await r.arrayBuffer()));
  assert.equal(body.__type, SHAPE_ID('UnknownOperationException'));
  const absolute = await cborCall(RUST_SDK_REQUEST, {
    path: '/service/com.amazonaws.marketplaceentitlementservice.AWSMPEntitlementService/operation/GetEntitlements',
  });
  assert.equal(absolute.status, 200);
});

test('the SDK reads back the first and last expiration dates the control API accepts, over both protocols', async () => {
  const edges = namespaceUrl(mock, 'entitlements-edges');
  await createProduct(edges, {
    productCode: 'edges', dimensions: ['first', 'last'],
    customers: [{ customerIdentifier: 'e1', entitlements: [
      { dimension: 'first', value: { integerValue: 1 }, expirationDate: '0001-01-01T00:00:00Z' },
      { dimension: 'last', value: { integerValue: 1 }, expirationDate: '9999-12-31T23:59:59Z' },
    ] }],
  });
  for (const protocol of [undefined, SmithyRpcV2CborProtocol]) {
    const sdk = new MarketplaceEntitlementServiceClient({
      region: 'us-east-1', endpoint: edges, credentials: { accessKeyId: 'test', secretAccessKey: 'x' }, maxAttempts: 1,
      ...(protocol ? { protocol } : {}),
    });
    const out = await sdk.send(new GetEntitlementsCommand({ ProductCode: 'edges' }));
    assert.deepEqual(out.Entitlements.map((e) => e.ExpirationDate.toISOString()).sort(),
      ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.000Z']);
  }
});
