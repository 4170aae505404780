#!/usr/bin/env node
// A stand-in for wrangler in the preview script's tests: it records every call and plays
// Cloudflare's answers from a state file (which Workers exist, with which secrets), failing
// where FAKE_WRANGLER_FAIL says (deploy, deploy-partial, status, delete).

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const STATE = process.env.FAKE_WRANGLER_STATE;
const state = existsSync(STATE) ? JSON.parse(readFileSync(STATE, 'utf8')) : { workers: {} };
const save = () => writeFileSync(STATE, JSON.stringify(state, null, 2));
const args = process.argv.slice(2);
appendFileSync(`${STATE}.calls`, `${JSON.stringify(args)}\n`);
const failing = (process.env.FAKE_WRANGLER_FAIL ?? '').split(',');
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const name = flag('--name');
const notFound = () => {
  console.error(`✘ [ERROR] This Worker does not exist on your account. [code: 10007]`);
  process.exit(1);
};

if (args[0] === 'deploy') {
  const secretsFile = flag('--secrets-file');
  const secrets = secretsFile ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {};
  if (failing.includes('deploy-partial')) {
    state.workers[name] = { secrets, deploys: 0 };
    save();
  }
  if (failing.includes('deploy') || failing.includes('deploy-partial')) {
    console.error('✘ [ERROR] A request to the Cloudflare API (/accounts/x/workers/scripts/y) failed. Internal error [code: 10013]');
    process.exit(1);
  }
  const worker = state.workers[name] ?? { deploys: 0 };
  worker.secrets = { ...worker.secrets, ...secrets };
  worker.deploys += 1;
  state.workers[name] = worker;
  save();
  const url = process.env.FAKE_WRANGLER_NO_URL ? '' : `\n  https://${name}.example.workers.dev`;
  console.log(`Uploaded ${name} (1.23 sec)\nDeployed ${name} triggers (0.31 sec)${url}\nCurrent Version ID: 00000000-0000-4000-8000-000000000000\nDocs: https://developers.cloudflare.com/workers/`);
} else if (args[0] === 'deployments' && args[1] === 'status') {
  if (failing.includes('status')) {
    console.error('✘ [ERROR] Authentication error [code: 10000]');
    process.exit(1);
  }
  if (!state.workers[name]) notFound();
  console.log(JSON.stringify({ id: 'x', versions: [{ version_id: 'v', percentage: 100 }] }));
} else if (args[0] === 'delete') {
  if (failing.includes('delete')) {
    console.error('✘ [ERROR] Authentication error [code: 10000]');
    process.exit(1);
  }
  if (!state.workers[name]) notFound();
  delete state.workers[name];
  save();
  console.log(`Successfully deleted ${name}`);
} else {
  console.error(`fake wrangler: unexpected command ${args.join(' ')}`);
  process.exit(3);
}
