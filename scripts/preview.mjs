#!/usr/bin/env node
// A deployed preview per branch of this repository: its own locked Worker
// (metering-mock-<branch slug>-<hash>) with its own Durable Object storage, seeded with a
// `demo` namespace, and removed again when the branch goes.
//
//   npm run preview -- up <branch> [--fresh] [--github-output] [--dry-run]
//   npm run preview -- down <branch> [--dry-run]
//   npm run preview -- url <branch>          (needs CLOUDFLARE_WORKERS_SUBDOMAIN)
//   npm run preview -- token <branch>        (needs PREVIEW_SECRET; or token --worker <name>)
//
// One Worker per branch works with the pinned wrangler (4.164, Node 22.12+): Version URLs are
// not generated for Workers with Durable Objects, and Worker Previews are still a beta.
// `wrangler` is run from PATH (`npm run` puts node_modules/.bin there).
// The preview's ADMIN_TOKEN is HMAC-SHA256(PREVIEW_SECRET, worker name): every `up` sets the
// same token, it is uploaded with the deployment itself (--secrets-file, so the Worker is
// never reachable unlocked), and whoever holds PREVIEW_SECRET gets it with `token`.

import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { namespaceFor } from '../cli/names.mjs';
import { main as ns } from '../cli/ns.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_PREFIX = 'metering-mock-';
/** A workers.dev host label holds at most 63 characters. */
const MAX_LABEL = 63;
const READY_TIMEOUT_MS = Number(process.env.PREVIEW_READY_TIMEOUT_MS ?? 60_000);

class UsageError extends Error {}

/** The preview Worker's name for `branch`: at most 63 characters of [a-z0-9-]. */
export function workerName(branch) {
  const name = `${WORKER_PREFIX}${namespaceFor(branch)}`;
  if (name.length > MAX_LABEL || !/^[a-z0-9-]+$/.test(name)) {
    throw new Error(`derived worker name '${name}' is not a workers.dev label`);
  }
  return name;
}

export function adminToken(name, secret) {
  if (!secret || secret.length < 16) {
    throw new UsageError('PREVIEW_SECRET must hold at least 16 characters (the secret preview tokens are derived from)');
  }
  return `pv_${createHmac('sha256', secret).update(name).digest('base64url')}`;
}

function urlOf(name, subdomain) {
  return subdomain ? `https://${name}.${subdomain}.workers.dev` : null;
}

/** Runs wrangler; answers its exit code and output. */
function wrangler(args, log) {
  log(`$ wrangler ${args.join(' ')}`);
  const r = spawnSync('wrangler', args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
    timeout: 10 * 60_000,
  });
  const error = /** @type {NodeJS.ErrnoException | undefined} */ (r.error);
  if (error?.code === 'ENOENT') throw new Error('wrangler is not on PATH (run this through npm run preview)');
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  // A timeout (or any failure to run it) is a failed command like any other.
  if (error) return { code: 1, out: `${out}\nwrangler ${args[0]}: ${error.code ?? error.message}` };
  return { code: r.status ?? 1, out };
}

/** Cloudflare's answer for a Worker the account does not have. */
const missing = (out) => /\[code: 10007\]|does not exist on your account/i.test(out);
const tail = (out) => out.trim().split('\n').slice(-8).join('\n');

function exists(name, log) {
  const r = wrangler(['deployments', 'status', '--name', name, '--json'], log);
  if (r.code === 0) return true;
  if (missing(r.out)) return false;
  throw new Error(`could not tell whether worker ${name} exists:\n${tail(r.out)}`);
}

function remove(name, log) {
  const r = wrangler(['delete', '--name', name, '--force'], log);
  if (r.code === 0) return true;
  if (missing(r.out)) return false;
  throw new Error(`deleting worker ${name} failed:\n${tail(r.out)}`);
}

/**
 * The Worker's URL as `wrangler deploy` printed it: only https://<name>.<subdomain>.workers.dev
 * (the admin token is sent there), or PREVIEW_URL_OVERRIDE for the script's own tests.
 */
function deployedUrl(out, name) {
  if (process.env.PREVIEW_URL_OVERRIDE) return process.env.PREVIEW_URL_OVERRIDE;
  const escaped = name.replace(/-/g, '\\-');
  return out.match(new RegExp(`https://${escaped}\\.[a-z0-9-]+\\.workers\\.dev`))?.[0];
}

async function waitUntilUp(url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/_mock/ping`, { signal: AbortSignal.timeout(5_000) });
      if (r.status === 200) return;
    } catch { /* not reachable yet: a new workers.dev name takes a moment */ }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`${url} did not answer /_mock/ping within ${READY_TIMEOUT_MS / 1000} s`);
}

async function up(branch, values, log) {
  const name = workerName(branch);
  const subdomain = process.env.CLOUDFLARE_WORKERS_SUBDOMAIN;
  if (values['dry-run']) {
    log(`worker  ${name}`);
    log(`url     ${urlOf(name, subdomain) ?? `https://${name}.<your workers.dev subdomain>.workers.dev`}`);
    log('plan:');
    log(`  wrangler deployments status --name ${name} --json   (does it exist?)`);
    if (values.fresh) log(`  wrangler delete --name ${name} --force              (--fresh: its storage goes)`);
    log(`  wrangler deploy --name ${name} --secrets-file <temporary file with ADMIN_TOKEN>`);
    log('  namespace demo with the demo seed, unless it exists (POST /_admin/namespaces, POST /_mock/seed)');
    log(`  on failure, a Worker this run created is deleted: wrangler delete --name ${name} --force`);
    return;
  }
  // Checked before anything is deployed, as ns create checks it before creating.
  if (values['github-output'] && !process.env.GITHUB_OUTPUT) {
    throw new UsageError('--github-output needs GITHUB_OUTPUT (set by GitHub Actions)');
  }
  const token = adminToken(name, process.env.PREVIEW_SECRET);
  let existed = exists(name, log);
  if (existed && values.fresh) {
    remove(name, log);
    existed = false;
  }
  const undo = (why) => {
    if (!existed) {
      try { remove(name, log); } catch (e) { why += `\n(and removing the half-made worker failed: ${e.message})`; }
    }
    return new Error(why);
  };
  const dir = mkdtempSync(join(tmpdir(), 'preview-'));
  let deployed;
  try {
    const secrets = join(dir, 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ ADMIN_TOKEN: token }), { mode: 0o600 });
    deployed = wrangler(['deploy', '--name', name, '--secrets-file', secrets], log);
  } catch (e) {
    throw undo(`deploying worker ${name} failed: ${e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (deployed.code !== 0) throw undo(`deploying worker ${name} failed:\n${tail(deployed.out)}`);
  const url = deployedUrl(deployed.out, name) ?? urlOf(name, subdomain);
  if (!url) throw undo(`wrangler deploy printed no URL for ${name}; set CLOUDFLARE_WORKERS_SUBDOMAIN`);
  try {
    await waitUntilUp(url);
    const out = [];
    const code = await ns(
      ['create', 'demo', '--seed', join(ROOT, 'src', 'seed.json'), '--url', url, ...(values['github-output'] ? ['--github-output'] : [])],
      { env: { ...process.env, METERING_MOCK_ADMIN_TOKEN: token }, out: (line) => out.push(line), err: (line) => out.push(line) },
    );
    const text = out.join('\n');
    // Only the registry's own answer means the namespace is there; a usage error's help text
    // also says "exists" (--if-exists).
    const kept = code === 1 && /namespace 'demo' exists \(HTTP 409\)/.test(text);
    if (code !== 0 && !kept) throw new Error(`seeding the demo namespace failed: ${text}`);
    log(code === 0 ? text : 'namespace demo exists (kept)');
  } catch (e) {
    throw undo(e.message);
  }
  if (values['github-output'] && process.env.GITHUB_OUTPUT) {
    writeFileSync(process.env.GITHUB_OUTPUT, `url=${url}\nworker=${name}\n`, { flag: 'a' });
  }
  log(`preview ${name} is up at ${url}`);
  log('its ADMIN_TOKEN: HMAC-SHA256(PREVIEW_SECRET, worker name); `npm run preview -- token <branch>` prints it');
}

function down(branch, values, log) {
  const name = workerName(branch);
  if (values['dry-run']) {
    log(`worker  ${name}`);
    log('plan:');
    log(`  wrangler delete --name ${name} --force   (its Durable Objects and their storage go with it)`);
    return;
  }
  log(remove(name, log) ? `deleted worker ${name}` : `worker ${name} does not exist (nothing to delete)`);
}

export async function main(argv, { log = console.log, err = console.error } = {}) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        worker: { type: 'string' },
        fresh: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'github-output': { type: 'boolean' },
      },
    });
  } catch (e) {
    err(e.message);
    return 2;
  }
  const [command, branch] = parsed.positionals;
  try {
    const { worker } = parsed.values;
    if (command === 'token' && worker !== undefined) {
      // By the worker's name (as the pull request's comment gives it), not its branch.
      if (!/^metering-mock-[a-z0-9-]{1,49}$/.test(worker)) throw new UsageError(`'${worker}' is not a preview worker's name`);
      log(adminToken(worker, process.env.PREVIEW_SECRET));
      return 0;
    }
    if (!['up', 'down', 'url', 'token'].includes(command) || !branch) {
      throw new UsageError('usage: npm run preview -- up|down|url|token <branch> [--fresh] [--github-output] [--dry-run], or token --worker <name>');
    }
    if (command === 'up') await up(branch, parsed.values, log);
    if (command === 'down') down(branch, parsed.values, log);
    if (command === 'url') {
      const url = urlOf(workerName(branch), process.env.CLOUDFLARE_WORKERS_SUBDOMAIN);
      if (!url) throw new UsageError('CLOUDFLARE_WORKERS_SUBDOMAIN must name the account\'s workers.dev subdomain');
      log(url);
    }
    if (command === 'token') log(adminToken(workerName(branch), process.env.PREVIEW_SECRET));
    return 0;
  } catch (e) {
    err(e instanceof UsageError ? e.message : `error: ${e.message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
