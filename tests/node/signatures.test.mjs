// Signature verification with real signers: once a namespace configures credentials
// (settings.signatureCredentials), the JS SDK and boto3 get through only with the right
// secret; a wrong secret is InvalidSignatureException and an unknown key
// UnrecognizedClientException, both 403. Without credentials any key is accepted.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  startEphemeralMock, namespaceUrl, createProduct, patchSettings, usageRecords, sdkError, hasBoto3, missingClient,
} from './harness.mjs';

let mock;
let namespaces = 0;
before(async () => { mock = await startEphemeralMock(); });
after(async () => { await mock?.stop(); });

const KEY = 'AKIDTEAMEXAMPLE';
const SECRET = 'team-secret/with+odd=chars';

/** A fresh namespace with product `prod`, verifying signatures of KEY/SECRET. */
async function world({ verify = true } = {}) {
  const url = namespaceUrl(mock, `signatures-${++namespaces}`);
  await createProduct(url, { productCode: 'prod', dimensions: ['d'] });
  if (verify) await patchSettings(url, { signatureCredentials: { [KEY]: SECRET } });
  return url;
}

const client = (url, accessKeyId, secretAccessKey) => new MarketplaceMeteringClient({
  region: 'eu-west-1', endpoint: url, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1,
});

const meter = (c) => c.send(new MeterUsageCommand({
  ProductCode: 'prod', Timestamp: new Date(), UsageDimension: 'd', UsageQuantity: 1,
}));

test('the JS SDK with the configured key and secret is admitted', async () => {
  const url = await world();
  const out = await meter(client(url, KEY, SECRET));
  assert.ok(out.MeteringRecordId);
  assert.equal((await usageRecords(url)).length, 1);
});

test('a wrong secret is InvalidSignatureException (403) and records nothing', async () => {
  const url = await world();
  const e = await sdkError(meter(client(url, KEY, 'not-the-secret')));
  assert.equal(e.name, 'InvalidSignatureException');
  assert.equal(e.$metadata.httpStatusCode, 403);
  assert.equal((await usageRecords(url)).length, 0);
});

test('a key the namespace does not know is UnrecognizedClientException (403)', async () => {
  const url = await world();
  const e = await sdkError(meter(client(url, 'AKIDSTRANGER', SECRET)));
  assert.equal(e.name, 'UnrecognizedClientException');
  assert.equal(e.$metadata.httpStatusCode, 403);
});

test('without configured credentials any key and secret are accepted', async () => {
  const url = await world({ verify: false });
  const out = await meter(client(url, 'anything', 'whatever'));
  assert.ok(out.MeteringRecordId);
});


/** Runs a boto3 MeterUsage with the given secret; returns 'ok' or the error code. */
function boto3Meter(url, secret) {
  const script = `
import boto3, datetime, sys
c = boto3.client("meteringmarketplace", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
try:
    c.meter_usage(ProductCode="prod", Timestamp=datetime.datetime.now(datetime.timezone.utc),
                  UsageDimension="d", UsageQuantity=1)
    print("ok")
except c.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
`;
  const r = spawnSync('python3', ['-c', script, url, KEY, secret], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('boto3 signatures verify too, and a wrong secret is refused', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world();
  assert.equal(boto3Meter(url, SECRET), 'ok');
  assert.equal(boto3Meter(url, 'wrong'), 'InvalidSignatureException 403');
});

test('a signature that does not cover X-Amz-Target (which names the operation) is refused', async () => {
  const url = await world();
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { createHash, createHmac } = await import('node:crypto');
  // A minimal Sha256 for the signer (what @aws-crypto gives the SDK).
  class Sha256 {
    constructor(secret) { this.h = secret ? createHmac('sha256', secret) : createHash('sha256'); }
    update(data) { this.h.update(data); }
    async digest() { return new Uint8Array(this.h.digest()); }
  }
  const target = new URL(url);
  const sign = async (unsignable) => {
    const signer = new SignatureV4({
      service: 'aws-marketplace', region: 'eu-west-1', sha256: Sha256,
      credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    });
    const body = JSON.stringify({ ProductCode: 'prod', Timestamp: Math.floor(Date.now() / 1000), UsageDimension: 'd', UsageQuantity: 1 });
    const request = await signer.sign({
      method: 'POST', protocol: target.protocol, hostname: target.hostname, port: Number(target.port), path: target.pathname,
      headers: { host: target.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSMPMeteringService.MeterUsage' },
      body,
    }, { unsignableHeaders: new Set(unsignable) });
    const r = await fetch(url, { method: 'POST', headers: request.headers, body });
    return { status: r.status, type: r.headers.get('x-amzn-errortype'), body: await r.json() };
  };
  assert.equal((await sign([])).status, 200);
  const unsigned = await sign(['x-amz-target']);
  assert.deepEqual([unsigned.status, unsigned.type], [400, 'IncompleteSignatureException']);
  assert.match(unsigned.body.message, /X-Amz-Target/);
  assert.equal((await usageRecords(url)).length, 1);
});
