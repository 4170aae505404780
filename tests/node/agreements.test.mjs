// The Agreement Service and Discovery front doors with unmodified clients: the JS SDK's
// @aws-sdk/client-marketplace-agreement (awsJson1_0), and boto3 loading the models this repo
// ships (awsJson1_0, rpc-v2-cbor by a copy of the model that lists only CBOR, and Discovery's
// rest-json). The operations' behaviour is not built yet: each answers, after its model's
// input rules, ValidationException with reason UNSUPPORTED_ACTION (Discovery: its model's
// MALFORMED_REQUEST_PARAMETERS), which every operation's model lists.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeAgreementCommand, MarketplaceAgreementClient, SearchAgreementsCommand } from '@aws-sdk/client-marketplace-agreement';
import { startEphemeralMock, namespaceUrl, sdkError, awsClientEnv, hasBoto3, missingClient, control } from './harness.mjs';

const MODELS = new URL('../../models/', import.meta.url).pathname;

let mock;
let dataPath;
before(async () => {
  mock = await startEphemeralMock();
  // botocore's layout (<service>/<version>/service-2.json), for AWS_DATA_PATH: the models as
  // shipped, and the Agreement model as a CBOR-only service (what the Java, Go and Rust SDKs speak).
  dataPath = mkdtempSync(join(tmpdir(), 'mm-models-'));
  const place = (service, version, file, edit = (m) => m) => {
    mkdirSync(join(dataPath, service, version), { recursive: true });
    const model = edit(JSON.parse(readFileSync(join(MODELS, file), 'utf8')));
    writeFileSync(join(dataPath, service, version, 'service-2.json'), JSON.stringify(model));
  };
  place('marketplace-agreement', '2020-03-01', 'marketplace-agreement-2020-03-01.service-2.json');
  place('marketplace-discovery', '2026-02-05', 'marketplace-discovery-2026-02-05.service-2.json');
  place('marketplace-agreement-cbor', '2020-03-01', 'marketplace-agreement-2020-03-01.service-2.json', (m) => ({
    ...m,
    metadata: { ...m.metadata, protocol: 'smithy-rpc-v2-cbor', protocols: ['smithy-rpc-v2-cbor'], serviceId: 'Marketplace Agreement Cbor', endpointPrefix: 'agreement-marketplace-cbor' },
  }));
  cpSync(join(MODELS, 'marketplace-agreement-2020-03-01.paginators-1.json'), join(dataPath, 'marketplace-agreement', '2020-03-01', 'paginators-1.json'));
});
after(async () => {
  await mock?.stop();
  if (dataPath) rmSync(dataPath, { recursive: true, force: true });
});

const agreementClient = (url) => new MarketplaceAgreementClient({
  endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

test('JS SDK: a broken input rule is ValidationException with its reason and fields', async () => {
  const client = agreementClient(namespaceUrl(mock, 'agreements-js'));
  const e = await sdkError(client.send(new DescribeAgreementCommand({ agreementId: 'not an id' })));
  assert.equal(e.name, 'ValidationException');
  assert.equal(e.$metadata.httpStatusCode, 400);
  assert.equal(e.reason, 'INVALID_AGREEMENT_ID');
  assert.equal(e.fields[0].name, 'agreementId');
  assert.match(e.fields[0].message, /regular expression pattern/);
  assert.equal(e.requestId, e.$metadata.requestId);

  const search = await sdkError(client.send(new SearchAgreementsCommand({ maxResults: 51 })));
  assert.equal(search.reason, 'INVALID_MAX_RESULTS');
});

test('JS SDK: a valid call of an operation without behaviour yet says so, as a modeled error', async () => {
  const client = agreementClient(namespaceUrl(mock, 'agreements-js'));
  const e = await sdkError(client.send(new DescribeAgreementCommand({ agreementId: 'agmt-1234567890123456789012345' })));
  assert.equal(e.name, 'ValidationException');
  assert.equal(e.reason, 'UNSUPPORTED_ACTION');
  assert.match(e.message, /DescribeAgreement is not served by metering-mock yet/);
});

/** Runs a boto3 script with the repo's models on AWS_DATA_PATH; returns its printed JSON. */
function boto3(url, script) {
  const env = awsClientEnv({
    AWS_DATA_PATH: dataPath,
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
  });
  const program = [
    'import json, boto3, botocore.exceptions',
    'def error(call, **kwargs):',
    '    try:',
    '        call(**kwargs)',
    '    except botocore.exceptions.ClientError as e:',
    '        return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "reason": e.response.get("reason"), "fields": e.response.get("fields"), "message": e.response["Error"]["Message"]}',
    '    return None',
    script,
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', program], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

test('boto3 over awsJson1_0 and rpc-v2-cbor reads the same modeled errors', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const out = await boto3(namespaceUrl(mock, 'agreements-py'), [
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    c = boto3.client(name)',
    '    out[name] = [error(c.describe_agreement, agreementId="x" * 65), error(c.describe_agreement, agreementId="agmt-1")]',
    'print(json.dumps(out))',
  ].join('\n'));
  for (const [name, [tooLong, unserved]] of Object.entries(out)) {
    assert.equal(tooLong.code, 'ValidationException', name);
    assert.equal(tooLong.status, 400, name);
    assert.match(tooLong.message, /length less than or equal to 64/, name);
    assert.equal(unserved.code, 'ValidationException', name);
    assert.match(unserved.message, /not served by metering-mock yet/, name);
  }
  // The request journal shows each client spoke its own protocol.
  const { json } = await control(namespaceUrl(mock, 'agreements-py'), 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'DescribeAgreement').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 reaches Discovery over rest-json at the same endpoint', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const out = await boto3(namespaceUrl(mock, 'agreements-py'), [
    'c = boto3.client("marketplace-discovery")',
    'print(json.dumps([error(c.get_offer, offerId="offer 1"), error(c.get_offer, offerId="offer-1")]))',
  ].join('\n'));
  assert.equal(out[0].code, 'ValidationException');
  assert.match(out[0].message, /regular expression pattern|length/);
  assert.equal(out[1].code, 'ValidationException');
  assert.match(out[1].message, /GetOffer is not served by metering-mock yet/);
});
