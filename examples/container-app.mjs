// A minimal paid-container start-up, to run against the mock: what a container product does
// when its task or pod starts, nothing more. It calls RegisterUsage with the unmodified JS SDK
// and a fresh nonce, verifies the Signature (a PS256 JWT) with jose against the public key of
// the version it asked for, and checks the claims against its request.
//
// Environment:
//   PRODUCT_CODE                          the product code (required)
//   PUBLIC_KEY_VERSION                    the key version it holds (default 1)
//   PUBLIC_KEY_FILE                       that version's public key, a PEM file: in production
//                                         the PEM ships with the container; without it the
//                                         example fetches <endpoint>/_mock/keys/<version>
//                                         from the mock (a convenience only a mock can offer)
//   AWS_REGION                            the Region the task runs in (required)
//   AWS_ENDPOINT_URL_MARKETPLACE_METERING the mock, e.g. http://127.0.0.1:8787 or …/ns/<name>
//                                         (the SDK reads it itself)
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  the caller: 12 digits = that buyer account
//   AWS_SESSION_TOKEN                     optional: the task's or pod's role session, which
//                                         the mock takes as the task (one value, one pod)
//
// Exit status: 0 registered and verified (prints one JSON line on stdout); 1 RegisterUsage
// failed (an AWS error: the container must stop; its name and message on stderr); 2 the key
// version it holds was retired (PublicKeyRotationTimestamp); 3 the signature or a claim does
// not check out; 64 it was started wrongly (a missing variable, an unreadable key).
//
// Usage: PRODUCT_CODE=demo-container-product AWS_REGION=us-east-1 \
//          AWS_ENDPOINT_URL_MARKETPLACE_METERING=http://127.0.0.1:8787 \
//          AWS_ACCESS_KEY_ID=111122223333 AWS_SECRET_ACCESS_KEY=test node examples/container-app.mjs

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { MarketplaceMeteringClient, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { importSPKI, jwtVerify } from 'jose';

const EXIT = { ok: 0, awsError: 1, keyRetired: 2, notVerified: 3, usage: 64 };

/** Prints the message and exits with the code. @param {number} code @param {string} message @returns {never} */
function fail(code, message) {
  console.error(message);
  process.exit(code);
}

const productCode = process.env.PRODUCT_CODE;
const versionText = process.env.PUBLIC_KEY_VERSION || '1';
const publicKeyVersion = Number(versionText);
const region = process.env.AWS_REGION;
if (!productCode) fail(EXIT.usage, 'PRODUCT_CODE is required');
if (!/^[0-9]+$/.test(versionText) || !(publicKeyVersion >= 1)) {
  fail(EXIT.usage, `PUBLIC_KEY_VERSION must be a whole number of at least 1, not '${versionText}'`);
}
if (!region) fail(EXIT.usage, 'AWS_REGION is required: RegisterUsage is called in the Region the task runs in');

/** The public key of `publicKeyVersion` from `loadPem()`, imported for PS256; exits 64 if it cannot be. */
async function publicKey(loadPem) {
  try {
    return await importSPKI(await loadPem(), 'PS256');
  } catch (e) {
    return fail(EXIT.usage, `cannot load public key version ${publicKeyVersion}: ${e.message}`);
  }
}

const readKeyFile = () => readFile(process.env.PUBLIC_KEY_FILE, 'utf8');

/**
 * NOT FOR PRODUCTION. In production the public key's PEM ships with the container image (AWS
 * Marketplace gives it to the seller): a container must never fetch, from the service whose
 * answer it is checking, the key it checks that answer with. Against the mock, without
 * PUBLIC_KEY_FILE, the example fetches it from the mock's control API for convenience.
 */
async function fetchKeyFromMock() {
  const endpoint = process.env.AWS_ENDPOINT_URL_MARKETPLACE_METERING;
  if (!endpoint) throw new Error('set PUBLIC_KEY_FILE, or AWS_ENDPOINT_URL_MARKETPLACE_METERING to fetch the key from the mock');
  const url = `${endpoint.replace(/\/+$/, '')}/_mock/keys/${publicKeyVersion}`;
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}: ${await r.text()}`);
  return r.text();
}

// The key it ships with is loaded first: a container that cannot verify must not register.
const shippedKey = process.env.PUBLIC_KEY_FILE ? await publicKey(readKeyFile) : null;

// The SDK retries throttling and internal errors by itself; a few more attempts than its
// default 3 ride out a short burst.
const metering = new MarketplaceMeteringClient({ region, maxAttempts: 5 });
const nonce = randomUUID();

let answer;
try {
  answer = await metering.send(new RegisterUsageCommand({
    ProductCode: productCode, PublicKeyVersion: publicKeyVersion, Nonce: nonce,
  }));
} catch (e) {
  fail(EXIT.awsError, `${e.name}: ${e.message}`);
}

// Fetched only now, so that a version the service does not know is its
// InvalidPublicKeyVersionException above rather than a failed download.
const key = shippedKey ?? await publicKey(fetchKeyFromMock);

let claims;
try {
  ({ payload: claims } = await jwtVerify(answer.Signature, key, { algorithms: ['PS256'], typ: 'JWT' }));
} catch (e) {
  fail(EXIT.notVerified, `the signature does not verify with public key version ${publicKeyVersion}: ${e.code ?? e.name}: ${e.message}`);
}
const expected = { productCode, publicKeyVersion, nonce };
for (const [claim, value] of Object.entries(expected)) {
  if (claims[claim] !== value) {
    fail(EXIT.notVerified, `claim ${claim} is ${JSON.stringify(claims[claim])}, expected ${JSON.stringify(value)}`);
  }
}

if (answer.PublicKeyRotationTimestamp) {
  fail(EXIT.keyRetired, `public key version ${publicKeyVersion}, the one this container holds, was retired at ` +
    `${answer.PublicKeyRotationTimestamp.toISOString()}: ship the current key with the container`);
}

console.log(JSON.stringify({
  status: 'registered', productCode, publicKeyVersion, nonce, issuedAt: new Date(claims.iat * 1000).toISOString(),
}));
