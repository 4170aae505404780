#!/usr/bin/env node
// Namespaces of a hosted (locked) metering-mock, from a terminal or a CI job: create one
// (seeded, its credentials printed or written as GitHub step outputs), delete it, list them,
// seed one, or derive a name from a branch. Talks to the deployment's /_admin/ API with its
// admin token; needs Node 20 or later and nothing else (no Rust, no npm packages).

import { appendFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { namespaceFor, NAME_PATTERN } from './names.mjs';
// The mock checks the rest of a seed file and names the path of a problem.
import { controlCall } from '../lib/control.mjs';
import { readSeedFile as readSeed } from '../lib/index.mjs';

const USAGE = `Usage: npx metering-mock ns <command> [options]   (in this repository: npm run ns -- <command> …)

Commands:
  create [<name>]   provision a namespace; prints its endpoint and credentials
  delete [<name>]   remove a namespace and all its data (done if it is already gone)
  list              the deployment's namespaces (no secrets)
  seed <name> <file.json>
                    load a seed file into a namespace (needs its control token)
  name <branch>     print the namespace name derived from a branch name

Options:
  --url <url>             the mock's URL (or METERING_MOCK_URL)
  --branch <branch>       derive the name from this branch (create, delete)
  --prefix <p>            put <p> before a derived name (e.g. pr-)
  --seed <file.json>      create: load this seed file ({"products": […], "settings": {…}})
  --idle-days <n>         create: remove the namespace after n days without use
  --if-exists <what>      create, when the name is taken: fail (default), rotate (new
                          credentials, data kept but for signing keys, webhooks and
                          fulfillment URLs the old token could have added, seed loaded
                          again) or recreate (deleted and created afresh)
  --github-output         write name, endpoint, access-key-id, secret-access-key and
                          control-token to $GITHUB_OUTPUT, masking the secrets in the log
  --json                  print the mock's answer as JSON
  -h, --help              this text

Secrets come from the environment, never from arguments: METERING_MOCK_ADMIN_TOKEN (the
deployment's ADMIN_TOKEN) and, for seed, METERING_MOCK_CONTROL_TOKEN.`;

class UsageError extends Error {}

function fail(message) {
  throw new UsageError(message);
}

function options(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      branch: { type: 'string' },
      prefix: { type: 'string' },
      seed: { type: 'string' },
      'idle-days': { type: 'string' },
      'if-exists': { type: 'string' },
      'github-output': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return { values, positionals };
}

/** The mock's base URL, without a trailing slash. */
function baseUrl(values, env) {
  const url = values.url ?? env.METERING_MOCK_URL;
  if (!url) fail('the mock\'s URL is needed: --url <url> or METERING_MOCK_URL');
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    fail(`'${url}' is not a URL`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol)) fail(`'${url}' must be an http:// or https:// URL`);
  // The admin token must not cross a network in clear text.
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol === 'http:' && !local) fail(`'${url}' must be https:// (http:// only for localhost)`);
  if (parsed.pathname !== '/' || parsed.search) fail(`'${url}' must be the mock's origin, without a path`);
  return parsed.origin;
}

function adminToken(env) {
  const token = env.METERING_MOCK_ADMIN_TOKEN;
  if (!token) fail('METERING_MOCK_ADMIN_TOKEN must hold the deployment\'s admin token');
  return token;
}

/** The namespace a command is about: the name given, or the one derived from --branch. */
function targetName(values, positionals) {
  const [given] = positionals;
  if (given && values.branch) fail('give a name or --branch, not both');
  let name = given;
  if (name === undefined && values.branch !== undefined) {
    try {
      name = namespaceFor(values.branch, { prefix: values.prefix });
    } catch (e) {
      fail(e.message);
    }
  }
  if (!name) fail('name the namespace, or give --branch <branch>');
  if (!NAME_PATTERN.test(name)) fail(`'${name}' is not a namespace name: 1-64 letters, digits, '-' and '_'`);
  return name;
}

function call(fetchFn, method, url, token, body) {
  return controlCall(url, { method, body, token, fetchFn });
}

function refused(what, r) {
  const reason = r.json?.error ?? (r.text.trim() || `HTTP ${r.status}`);
  return new Error(`${what}: ${reason} (HTTP ${r.status})`);
}

/** The lines of a created namespace for a person: names, endpoint and credentials. */
function describe(created, { secrets }) {
  const lines = [
    `namespace  ${created.name}`,
    `endpoint   ${created.endpoint}`,
  ];
  if (secrets) {
    lines.push(
      '',
      `export AWS_ENDPOINT_URL_MARKETPLACE_METERING=${created.endpoint}`,
      `export AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE=${created.endpoint}`,
      `export AWS_ACCESS_KEY_ID=${created.credentials.accessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${created.credentials.secretAccessKey}`,
      'export AWS_SESSION_TOKEN=',
      `export METERING_MOCK_CONTROL_TOKEN=${created.controlToken}`,
      '',
      'The secret access key and the control token are shown only now.',
    );
  } else {
    lines.push(`access key ${created.credentials.accessKeyId}`, 'secrets    written to $GITHUB_OUTPUT (masked)');
  }
  return lines.join('\n');
}

/** Writes the outputs of a created namespace for later steps of a GitHub Actions job. */
function githubOutput(created, env, out) {
  const file = env.GITHUB_OUTPUT;
  if (!file) fail('--github-output needs GITHUB_OUTPUT (set by GitHub Actions)');
  // Masked before anything else is printed, so no later line can show them.
  out(`::add-mask::${created.credentials.secretAccessKey}`);
  out(`::add-mask::${created.controlToken}`);
  const outputs = {
    name: created.name,
    endpoint: created.endpoint,
    'access-key-id': created.credentials.accessKeyId,
    'secret-access-key': created.credentials.secretAccessKey,
    'control-token': created.controlToken,
  };
  for (const [key, value] of Object.entries(outputs)) {
    if (/[\r\n]/.test(value)) throw new Error(`output ${key} holds a line break`);
  }
  appendFileSync(file, Object.entries(outputs).map(([k, v]) => `${k}=${v}\n`).join(''));
}

async function create(ctx) {
  const { values, positionals, env, fetchFn, out } = ctx;
  const url = baseUrl(values, env);
  const token = adminToken(env);
  const name = targetName(values, positionals.slice(1));
  const ifExists = values['if-exists'] ?? 'fail';
  if (!['fail', 'rotate', 'recreate'].includes(ifExists)) fail(`--if-exists must be fail, rotate or recreate, not '${ifExists}'`);
  const body = { name };
  if (values['idle-days'] !== undefined) {
    const days = Number(values['idle-days']);
    if (!Number.isInteger(days) || days < 1) fail(`--idle-days must be a whole number of days, not '${values['idle-days']}'`);
    body.idleDays = days;
  }
  const seed = values.seed === undefined ? undefined : readSeed(values.seed);
  // Checked before anything is created, so the credentials cannot be lost after creation.
  if (values['github-output'] && !env.GITHUB_OUTPUT) fail('--github-output needs GITHUB_OUTPUT (set by GitHub Actions)');

  const admin = `${url}/_admin/namespaces`;
  let r = await call(fetchFn, 'POST', admin, token, body);
  let fresh = true;
  if (r.status === 409 && ifExists !== 'fail') {
    if (ifExists === 'rotate') {
      const rotated = await call(fetchFn, 'POST', `${admin}/${name}/rotate`, token);
      // Rotation answers 404 when the 409 was not about this name (a full deployment).
      if (rotated.status !== 404) {
        r = rotated;
        fresh = false;
      }
    } else {
      const gone = await call(fetchFn, 'DELETE', `${admin}/${name}`, token);
      if (![204, 404].includes(gone.status)) throw refused(`deleting namespace ${name} to create it again`, gone);
      r = await call(fetchFn, 'POST', admin, token, body);
    }
  }
  if (r.status !== 201 && r.status !== 200) throw refused(`creating namespace ${name}`, r);
  const created = r.json;

  const report = () => {
    if (values['github-output']) githubOutput(created, env, out);
    if (values.json) {
      out(JSON.stringify(values['github-output'] ? { name: created.name, endpoint: created.endpoint } : created, null, 2));
    } else {
      out(describe(created, { secrets: !values['github-output'] }));
    }
  };
  // A rotated namespace's old credentials are gone already: its new ones are given first.
  if (!fresh) report();
  if (seed !== undefined) {
    let problem;
    try {
      const seeded = await call(fetchFn, 'POST', `${created.endpoint}/_mock/seed`, created.controlToken, seed);
      if (seeded.status !== 200) problem = refused(`seed file ${values.seed}`, seeded);
    } catch (e) {
      problem = e;
    }
    if (problem) {
      if (!fresh) throw new Error(`${problem.message}; namespace ${name} keeps its data and the new credentials above`);
      // Nothing half-made is left: a namespace this command created goes again.
      let cleanup;
      try {
        cleanup = await call(fetchFn, 'DELETE', `${admin}/${name}`, token);
      } catch (e) {
        cleanup = { status: 0, text: e.message };
      }
      if (![204, 404].includes(cleanup.status)) {
        throw new Error(`${problem.message}; and removing namespace ${name} again failed (${cleanup.json?.error ?? cleanup.text}): delete it with: delete ${name}`);
      }
      throw problem;
    }
  }
  if (fresh) report();
}

async function remove(ctx) {
  const { values, positionals, env, fetchFn, out } = ctx;
  const url = baseUrl(values, env);
  const token = adminToken(env);
  const name = targetName(values, positionals.slice(1));
  const r = await call(fetchFn, 'DELETE', `${url}/_admin/namespaces/${name}`, token);
  if (r.status === 204) out(`deleted namespace ${name}`);
  else if (r.status === 404) out(`namespace ${name} does not exist (nothing to delete)`);
  else throw refused(`deleting namespace ${name}`, r);
}

async function list(ctx) {
  const { values, env, fetchFn, out } = ctx;
  const url = baseUrl(values, env);
  const r = await call(fetchFn, 'GET', `${url}/_admin/namespaces`, adminToken(env));
  if (r.status !== 200) throw refused('listing namespaces', r);
  if (values.json) {
    out(JSON.stringify(r.json, null, 2));
    return;
  }
  const rows = r.json.namespaces.map((n) => [n.name, n.endpoint, n.lastActivityAt, n.expiresAt]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[['name', 'endpoint', 'last activity', 'expires'], ...rows].map((row) => row[i].length)));
  for (const row of [['name', 'endpoint', 'last activity', 'expires'], ...rows]) {
    out(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  }
}

async function seedCommand(ctx) {
  const { values, positionals, env, fetchFn, out } = ctx;
  const [, name, file] = positionals;
  if (!name || !file) fail('seed needs a namespace name and a seed file: seed <name> <file.json>');
  if (!NAME_PATTERN.test(name)) fail(`'${name}' is not a namespace name`);
  const token = env.METERING_MOCK_CONTROL_TOKEN;
  if (!token) fail('METERING_MOCK_CONTROL_TOKEN must hold the namespace\'s control token');
  const url = baseUrl(values, env);
  const endpoint = name === 'default' ? url : `${url}/ns/${name}`;
  const r = await call(fetchFn, 'POST', `${endpoint}/_mock/seed`, token, readSeed(file));
  if (r.status !== 200) throw refused(`seed file ${file}`, r);
  out(values.json ? JSON.stringify(r.json, null, 2) : `seeded namespace ${name}: ${r.json.products.length} products${r.json.settings ? ' and settings' : ''}`);
}

/** Runs one command; answers the exit code (0 done, 1 failed, 2 bad usage). */
export async function main(argv, { env = process.env, fetchFn = fetch, out = console.log, err = console.error } = {}) {
  let parsed;
  try {
    parsed = options(argv);
  } catch (e) {
    err(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? out : err)(USAGE);
    return values.help ? 0 : 2;
  }
  const ctx = { values, positionals, env, fetchFn, out };
  try {
    switch (command) {
      case 'create': await create(ctx); break;
      case 'delete': await remove(ctx); break;
      case 'list': await list(ctx); break;
      case 'seed': await seedCommand(ctx); break;
      case 'name':
        if (!positionals[1]) fail('name needs a branch: name <branch>');
        out(targetName({ branch: positionals[1], prefix: values.prefix }, []));
        break;
      default: fail(`unknown command '${command}'`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`error: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
