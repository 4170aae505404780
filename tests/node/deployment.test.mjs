// The Marketplace Deployment Service (rest-json) with unmodified clients: the JS SDK v2's
// MarketplaceDeployment (its model has the parameter and tag operations; the v3 client is not
// on the registry this suite installs from) and boto3 loading the repo's model (all eight
// operations, the configuration jobs among them). The agreement a parameter is for is made
// through the Agreement Service's JS SDK, as a buyer would.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AcceptAgreementRequestCommand, CreateAgreementRequestCommand, MarketplaceAgreementClient,
} from '@aws-sdk/client-marketplace-agreement';
import { Control } from '../../lib/index.mjs';
import {
  startEphemeralMock, namespaceUrl, sdkError, awsClientEnv, hasBoto3, missingClient, createProduct, setClock,
} from './harness.mjs';

// The v2 SDK prints a maintenance notice when loaded unless told not to.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const MarketplaceDeployment = createRequire(import.meta.url)('aws-sdk/clients/marketplacedeployment.js');

const SELLER = '999988887777';
const BUYER = '111122223333';
const SECRET = 'sk_live_never-in-an-answer-7731';
const MODELS = new URL('../../models/', import.meta.url).pathname;

let mock;
let dataPath;
before(async () => {
  mock = await startEphemeralMock();
  dataPath = mkdtempSync(join(tmpdir(), 'mm-models-'));
  const dir = join(dataPath, 'marketplace-deployment', '2023-01-25');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(MODELS, 'marketplace-deployment-2023-01-25.service-2.json'), join(dir, 'service-2.json'));
  copyFileSync(join(MODELS, 'marketplace-deployment-2023-01-25.paginators-1.json'), join(dir, 'paginators-1.json'));
});
after(async () => {
  await mock?.stop();
  if (dataPath) rmSync(dataPath, { recursive: true, force: true });
});

/** A namespace with `SELLER`'s concurrent-agreements product `saas` and `BUYER`'s agreement on it. */
async function world(name) {
  const url = namespaceUrl(mock, name);
  await createProduct(url, {
    productCode: 'saas', dimensions: ['users'], prices: { users: '0.25' },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
  });
  await setClock(url, { frozenAt: '2026-03-10T12:30:00Z' });
  const [offer] = await new Control(url).offers('saas');
  const buyer = new MarketplaceAgreementClient({
    endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: BUYER, secretAccessKey: 'test' },
  });
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId,
    requestedTerms: offer.terms.map((term) => ({ id: Object.values(term)[0].id })),
  }));
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  return { url, agreementId };
}

const deploymentClient = (url, accessKeyId = SELLER) => new MarketplaceDeployment({
  endpoint: url, region: 'us-east-1', maxRetries: 0, credentials: { accessKeyId, secretAccessKey: 'test' },
  // The server holds the input to the model; the client's own checks are not what is tested.
  paramValidation: false,
});

test('JS SDK v2: a deployment parameter is put, versioned, retried and tagged; its secret never comes back', async () => {
  const { url, agreementId } = await world('deploy-js');
  const seller = deploymentClient(url);
  const input = {
    catalog: 'AWSMarketplace', productId: 'saas', agreementId,
    deploymentParameter: { name: 'ApiKey', secretString: SECRET },
    tags: { team: 'onboarding' }, clientToken: 'c0ffee00-0000-4000-8000-000000000001',
  };
  const put = await seller.putDeploymentParameter(input).promise();
  assert.equal(put.agreementId, agreementId);
  assert.match(put.deploymentParameterId, /^dp-[0-9a-f]{24}$/);
  assert.equal(put.resourceArn, `arn:aws:aws-marketplace:us-east-1:${SELLER}:AWSMarketplace/DeploymentParameter/${put.deploymentParameterId}`);
  assert.deepEqual(put.tags, { team: 'onboarding' });
  // The same token and input: the same answer; the token with another secret: a conflict.
  assert.deepEqual(await seller.putDeploymentParameter(input).promise(), put);
  const reused = await sdkError(seller.putDeploymentParameter({
    ...input, deploymentParameter: { name: 'ApiKey', secretString: 'another' },
  }).promise());
  assert.equal(reused.code, 'ConflictException');
  assert.equal(reused.statusCode, 409);
  // The SDK's own token (none given): a new version of the same parameter.
  const { clientToken: _, tags: __, ...again } = input;
  const rotated = await seller.putDeploymentParameter({ ...again, deploymentParameter: { name: 'ApiKey', secretString: 'rotated!' } }).promise();
  assert.equal(rotated.deploymentParameterId, put.deploymentParameterId);

  // Tags by ARN: the SDK percent-encodes it into the path; UntagResource's keys go in the query.
  await seller.tagResource({ resourceArn: put.resourceArn, tags: { stage: 'test', owner: 'seller' } }).promise();
  await seller.untagResource({ resourceArn: put.resourceArn, tagKeys: ['team', 'owner'] }).promise();
  const { tags } = await seller.listTagsForResource({ resourceArn: put.resourceArn }).promise();
  assert.deepEqual(tags, { stage: 'test' });

  // The buyer and strangers find nothing; bad input names its field.
  const buyer = await sdkError(deploymentClient(url, BUYER).putDeploymentParameter(input).promise());
  assert.equal(buyer.code, 'ResourceNotFoundException');
  assert.equal(buyer.statusCode, 404);
  const hidden = await sdkError(deploymentClient(url, '444455556666').listTagsForResource({ resourceArn: put.resourceArn }).promise());
  assert.equal(hidden.code, 'ResourceNotFoundException');
  const invalid = await sdkError(seller.putDeploymentParameter({ ...again, deploymentParameter: { name: 'not valid!', secretString: 'x' } }).promise());
  assert.equal(invalid.code, 'ValidationException');
  assert.equal(invalid.statusCode, 400);
  assert.match(invalid.message, /deploymentParameter\.name/);

  // The control API shows names and sizes; nothing anywhere holds a secret.
  const control = new Control(url);
  const { deploymentParameters: [kept] } = await control.agreementActivity({ agreementId });
  assert.equal(kept.name, 'ApiKey');
  assert.equal(kept.versions, 2);
  assert.equal(kept.secretBytes, 'rotated!'.length);
  const journal = JSON.stringify(await control.requests({ limit: 100 }));
  for (const secret of [SECRET, 'rotated!', 'another']) assert.ok(!journal.includes(secret), `${secret} is in the journal`);
});

/** Runs a boto3 script with the repo's Deployment model on AWS_DATA_PATH; returns its printed JSON. */
function boto3(url, script) {
  const env = awsClientEnv({
    AWS_DATA_PATH: dataPath, AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: SELLER, AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1',
  });
  const program = [
    'import json, boto3, botocore.exceptions',
    'def error(call, **kwargs):',
    '    try:',
    '        call(**kwargs)',
    '    except botocore.exceptions.ClientError as e:',
    '        return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "fieldName": e.response.get("fieldName"), "resourceId": e.response.get("resourceId")}',
    '    return None',
    'd = boto3.client("marketplace-deployment")',
    'where = dict(catalog="AWSMarketplace", productId="saas", deliveryOptionType="data-as-a-service")',
    script,
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', program], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

test('boto3: a parameter and its tags, and a configuration job that settles when the clock moves', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const { url, agreementId } = await world('deploy-py');
  const control = new Control(url);
  const started = await boto3(url, [
    `p = d.put_deployment_parameter(catalog="AWSMarketplace", productId="saas", agreementId="${agreementId}", deploymentParameter={"name": "ExternalId", "secretString": "${SECRET}"}, expirationDate="2026-04-01T00:00:00Z")`,
    'd.tag_resource(resourceArn=p["resourceArn"], tags={"a": "1"})',
    'out = {"put": {k: p[k] for k in ("resourceArn", "deploymentParameterId")}, "tags": d.list_tags_for_resource(resourceArn=p["resourceArn"])["tags"]}',
    'out["missing"] = error(d.get_deployment_configuration, **where)',
    'out["http"] = error(d.start_deployment_configuration_job, configuration={"dataAsAService": {"fulfillmentUrl": "http://seller.example.com/"}}, **where)',
    'job = d.start_deployment_configuration_job(configuration={"dataAsAService": {"fulfillmentUrl": "https://seller.example.com/signup"}}, tags={"team": "web"}, **where)',
    'out["job"] = {"id": job["jobId"], "status": job["status"], "createdAt": job["createdAt"].isoformat()}',
    'out["busy"] = error(d.start_deployment_configuration_job, configuration={"dataAsAService": {"fulfillmentUrl": "https://other.example.com/"}}, **where)',
    'print(json.dumps(out))',
  ].join('\n'));
  assert.deepEqual(started.tags, { a: '1' });
  assert.equal(started.missing.code, 'ResourceNotFoundException');
  assert.equal(started.http.code, 'ValidationException');
  assert.equal(started.http.fieldName, 'configuration.dataAsAService.fulfillmentUrl');
  assert.equal(started.job.status, 'IN_PROGRESS');
  assert.equal(started.job.createdAt, '2026-03-10T12:30:00+00:00');
  assert.deepEqual([started.busy.code, started.busy.status, started.busy.resourceId], ['ConflictException', 409, started.job.id]);

  // The job settles after five seconds of the namespace clock; a second one fails by its URL.
  await control.setClock({ frozenAt: '2026-03-10T12:30:05Z' });
  const settled = await boto3(url, [
    `j = d.get_deployment_configuration_job(jobId="${started.job.id}", **where)`,
    'out = {"status": j["status"], "arn": j["configurationArn"], "endedAt": j["endedAt"].isoformat()}',
    'out["active"] = d.get_deployment_configuration(**where)["configuration"]',
    'out["tags"] = d.list_tags_for_resource(resourceArn=j["configurationArn"])["tags"]',
    'bad = d.start_deployment_configuration_job(configuration={"dataAsAService": {"fulfillmentUrl": "https://signup.invalid/"}}, **where)',
    'out["bad"] = bad["jobId"]',
    'print(json.dumps(out))',
  ].join('\n'));
  assert.equal(settled.status, 'SUCCEEDED');
  assert.equal(settled.endedAt, '2026-03-10T12:30:05+00:00');
  assert.match(settled.arn, /DeploymentConfiguration\/prod-[0-9a-f]+\/data-as-a-service$/);
  assert.deepEqual(settled.active, { dataAsAService: { fulfillmentUrl: 'https://seller.example.com/signup' } });
  assert.deepEqual(settled.tags, { team: 'web' });
  await control.setClock({ frozenAt: '2026-03-10T12:31:00Z' });
  const listed = await boto3(url, [
    'pages = d.get_paginator("list_deployment_configuration_jobs").paginate(PaginationConfig={"PageSize": 1}, **where)',
    'jobs = [j for page in pages for j in page["jobs"]]',
    `failed = d.get_deployment_configuration_job(jobId="${settled.bad}", **where)`,
    'print(json.dumps({"jobs": [[j["jobId"], j["status"]] for j in jobs], "errorCode": failed["errorCode"],',
    '                  "active": d.get_deployment_configuration(**where)["configuration"]["dataAsAService"]["fulfillmentUrl"]}))',
  ].join('\n'));
  assert.deepEqual(listed.jobs, [[settled.bad, 'FAILED'], [started.job.id, 'SUCCEEDED']]);
  assert.equal(listed.errorCode, 'FULFILLMENT_URL_UNREACHABLE');
  assert.equal(listed.active, 'https://seller.example.com/signup');

  // The parameter expires by the clock; the control API stops listing it.
  const before = await control.agreementActivity();
  assert.equal(before.deploymentParameters[0].expiresAt, '2026-04-01T00:00:00Z');
  assert.equal(before.deploymentConfigurationJobs.length, 2);
  await control.setClock({ frozenAt: '2026-04-01T00:00:00Z' });
  const gone = await boto3(url, `print(json.dumps(error(d.list_tags_for_resource, resourceArn="${started.put.resourceArn}")))`);
  assert.equal(gone.code, 'ResourceNotFoundException');
  assert.deepEqual((await control.agreementActivity()).deploymentParameters, []);
});
