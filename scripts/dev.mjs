// `npm start`: the mock on http://127.0.0.1:8787 for people who change its Rust code. It runs
// the built worker on Miniflare's API (the package's runner: the same workerd as `wrangler
// dev`, without its proxy, about twice as fast), and rebuilds and restarts it when src/, ui/
// (the dashboard), Cargo.toml or Cargo.lock change; a failed build leaves the running one up.
//
// State is where `wrangler dev` keeps it (.wrangler/state/v3/do, under wrangler.toml's Worker
// name), so the two share it. Options, named as wrangler's: --port <n> (0 = any free port),
// --ip <address>, --var NAME:VALUE (repeatable; .dev.vars is read too, as wrangler does),
// --persist-to <dir>; --no-watch runs without rebuilding; --wrangler runs `wrangler dev`
// instead, with the rest of the arguments.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startMock } from '../lib/index.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_NAME = /^name\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))[1];
const WATCHED = ['src', 'ui', 'Cargo.toml', 'Cargo.lock'];

/** KEY=VALUE lines of .dev.vars (wrangler's local secrets file); # starts a comment. */
function devVars() {
  const file = join(ROOT, '.dev.vars');
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) vars[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      ip: { type: 'string' },
      host: { type: 'string' },
      var: { type: 'string', multiple: true },
      'persist-to': { type: 'string' },
      'no-watch': { type: 'boolean' },
    },
  });
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not '${values.port}'`);
  const vars = devVars();
  for (const v of values.var ?? []) {
    const i = v.indexOf(':');
    if (i <= 0) throw new Error(`--var takes NAME:VALUE, not '${v}'`);
    vars[v.slice(0, i)] = v.slice(i + 1);
  }
  return {
    port,
    host: values.ip ?? values.host ?? '127.0.0.1',
    vars,
    // Durable Objects land in <this>/do, where wrangler dev keeps them too.
    persist: join(resolve(values['persist-to'] ?? join(ROOT, '.wrangler', 'state')), 'v3'),
    watch: !values['no-watch'],
  };
}

/** The worker on the options' port, restarted on the same port after each rebuild. */
async function serve(options) {
  let port = options.port;
  const start = async () => {
    const mock = await startMock({
      name: WORKER_NAME, port, host: options.host, persist: options.persist, vars: options.vars,
    });
    port = mock.port; // a restart keeps the port that --port 0 chose
    return mock;
  };
  // The runtime may hold the port a moment after the old worker stopped (seen under load):
  // a restart tries again for up to 10 s before it gives up.
  const restart = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start();
      } catch (e) {
        if (attempt >= 40 || !/address already in use/i.test(String(e?.message))) throw e;
        await new Promise((wait) => setTimeout(wait, 250));
      }
    }
  };
  let mock = await start();
  console.log(`metering-mock listening on ${mock.url}`);
  console.log(`  npm start: the package's runner${options.watch ? ', rebuilt when src/ or ui/ changes' : ''}; state in ${options.persist}; Ctrl-C stops`);
  console.log(`  dashboard: ${mock.url}/_mock/ui/`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(options.host) && !options.vars.ADMIN_TOKEN) {
    console.error(`metering-mock: warning: listening on ${options.host} without ADMIN_TOKEN: anyone who can reach this machine can use and change the mock`);
  }
  let timer;
  let building = Promise.resolve();
  const watchers = [];
  if (options.watch) {
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        building = building.then(async () => {
          console.log('metering-mock: a source changed, rebuilding…');
          const build = spawnSync('bash', [join(ROOT, 'scripts', 'build.sh')], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, METERING_MOCK_SKIP_BUILD: '' } });
          if (build.status !== 0) {
            console.error('metering-mock: the build failed; the previous worker keeps running');
            return;
          }
          await mock.stop();
          mock = await restart();
          console.log(`metering-mock: rebuilt and restarted on ${mock.url}`);
        }).catch((e) => console.error(`metering-mock: restart failed: ${e.message}`));
      }, 300);
    };
    // The build rewrites src/ui/assets from ui/: that is not a change to rebuild for.
    const ours = (file) => !String(file ?? '').startsWith(join('ui', 'assets'));
    for (const path of WATCHED) {
      watchers.push(watch(join(ROOT, path), { recursive: ['src', 'ui'].includes(path) }, (_, file) => {
        if (path !== 'src' || ours(file)) changed();
      }));
    }
  }
  await new Promise((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  for (const w of watchers) w.close();
  clearTimeout(timer);
  await building;
  await mock.stop();
}

async function main(argv) {
  if (argv.includes('--wrangler')) {
    // wrangler.toml's [dev] sets 127.0.0.1:8787; a user's --port is then the only one.
    // wrangler itself, not through npx, which does not pass signals on.
    const wrangler = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
    const child = spawn(process.execPath, [wrangler, 'dev', ...argv.filter((a) => a !== '--wrangler')], { cwd: ROOT, stdio: 'inherit' });
    for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => child.kill(signal));
    return new Promise((done) => child.once('exit', (code) => done(code ?? 1)));
  }
  let options;
  try {
    options = parse(argv);
  } catch (e) {
    console.error(`npm start: ${e.message}`);
    return 2;
  }
  try {
    await serve(options);
  } catch (e) {
    console.error(`metering-mock: ${e.message}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
