#!/usr/bin/env node
// `npx metering-mock`: runs the mock on this machine (the built worker on Miniflare's API,
// no Rust needed) until Ctrl-C; `npx metering-mock ns …` manages namespaces of a hosted mock.

import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startMock, readSeedFile, VERSION } from '../lib/index.mjs';
import { main as ns } from './ns.mjs';

const USAGE = `Usage: metering-mock [options]          run the mock until Ctrl-C
       metering-mock ns <command> …      namespaces of a hosted mock (metering-mock ns --help)

Options:
  --port <n>           port to listen on (default 8787; 0 = any free port, printed)
  --host <address>     address to listen on (default 127.0.0.1)
  --persist <dir>      keep the state in <dir> (default .metering-mock in this directory)
  --in-memory          keep the state only while it runs (a temporary directory)
  --seed <file.json>   start the default namespace with exactly this seed document
                       ({"products": […], "settings": {…}}; products with their customers
                       and entitlements), instead of the demo seed
  --admin-token <t>    locked mode (or METERING_MOCK_ADMIN_TOKEN): every call needs a
                       namespace's credentials, provisioned with metering-mock ns
  --quiet              print only the line with the address
  --verbose            also print one line per call
  --version            print the version
  -h, --help           this text`;

async function run(argv) {
  if (argv[0] === 'ns') return ns(argv.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        persist: { type: 'string' },
        'in-memory': { type: 'boolean' },
        seed: { type: 'string' },
        'admin-token': { type: 'string' },
        quiet: { type: 'boolean' },
        verbose: { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number (0 = any free port), not '${values.port}'`);
    return 2;
  }
  if (values['in-memory'] && values.persist) {
    console.error('--in-memory and --persist exclude each other');
    return 2;
  }
  const adminToken = values['admin-token'] ?? process.env.METERING_MOCK_ADMIN_TOKEN;
  const persist = values['in-memory'] ? false : (values.persist ?? '.metering-mock');
  // The default state directory sits in the user's project: it keeps itself out of git.
  if (persist === '.metering-mock' && !existsSync(join(persist, '.gitignore'))) {
    mkdirSync(persist, { recursive: true });
    writeFileSync(join(persist, '.gitignore'), '# the state of npx metering-mock\n*\n');
  }
  let mock;
  try {
    const seed = values.seed === undefined ? undefined : readSeedFile(values.seed);
    mock = await startMock({
      port, host: values.host ?? '127.0.0.1', persist, seed, adminToken, accessLog: values.verbose,
    });
  } catch (e) {
    console.error(`metering-mock: ${e.message}`);
    return 1;
  }
  console.log(`metering-mock listening on ${mock.url}`);
  if (!values.quiet) {
    // The variables an SDK or CLI process needs (credentials only for an open mock).
    const endpoints = ['AWS_ENDPOINT_URL_MARKETPLACE_METERING', 'AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE'];
    const exported = Object.entries(mock.env).filter(([k]) => !adminToken || endpoints.includes(k));
    const lines = [
      `  version ${VERSION}; state: ${persist ? persist : 'not kept'}; ${adminToken ? 'locked (ADMIN_TOKEN set)' : 'open'}; Ctrl-C stops`,
      '',
      `  export ${exported.map(([k, v]) => `${k}=${v}`).join(' ')}`,
    ];
    if (adminToken) {
      lines.push(`  namespaces: METERING_MOCK_URL=${mock.url} METERING_MOCK_ADMIN_TOKEN=… npx metering-mock ns create <name>`);
    }
    lines.push('', `  dashboard: ${mock.url}/_mock/ui/`, `  control API: ${mock.url}/_mock/health, /_mock/products, /_mock/usage, …`);
    console.log(lines.join('\n'));
  }
  // Not hidden by --quiet: the mode CI and test fixtures run it in.
  if (!['127.0.0.1', 'localhost', '::1'].includes(mock.host) && !adminToken) {
    console.error(`metering-mock: warning: listening on ${mock.host} without --admin-token: anyone who can reach this machine can use and change the mock`);
  }
  // Ctrl-C or SIGTERM: Miniflare's own exit hook stops the runtime and exits (130 / 143).
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await mock.stop();
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await run(process.argv.slice(2));
}
