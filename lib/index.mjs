// The JS API of the metering-mock package: start the mock (the built worker on Miniflare's
// API: the workerd runtime `wrangler dev` uses, without its proxy) from a test suite, drive
// its control API with typed helpers, and stop it. No Rust toolchain is needed: the package
// carries the built worker.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall, DEFAULT_TIMEOUT_MS } from './control.mjs';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Must equal wrangler.toml's compatibility_date (a test checks it). */
export const COMPATIBILITY_DATE = '2025-09-23';
export const VERSION = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

/** The built worker: dist/worker in the package; build/ in a checkout of the repository
 * (where dist/ is only what the last `scripts/package.sh` copied). */
export function workerDirectory() {
  const checkout = existsSync(join(PACKAGE_ROOT, 'Cargo.toml'));
  const dirs = [join(PACKAGE_ROOT, 'dist', 'worker'), join(PACKAGE_ROOT, 'build')];
  for (const dir of checkout ? dirs.reverse() : dirs) {
    if (existsSync(join(dir, 'index.js')) && existsSync(join(dir, 'index_bg.wasm'))) return dir;
  }
  throw new Error(`no built worker in ${join(PACKAGE_ROOT, 'dist', 'worker')} (in a checkout: bash scripts/build.sh)`);
}

/** Miniflare's (v4-style) options for the built worker in `dir`: its modules and Durable
 * Objects. `miniflareOptions` turns them, with the host's, into what Miniflare 5 takes. */
export function workerOptions(dir) {
  return {
    modules: [
      { type: 'ESModule', path: join(dir, 'index.js') },
      { type: 'CompiledWasm', path: join(dir, 'index_bg.wasm') },
    ],
    modulesRoot: dir,
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: {
      NAMESPACES: { className: 'NamespaceObject', useSQLite: true },
      REGISTRY: { className: 'RegistryObject', useSQLite: true },
    },
  };
}

/**
 * Miniflare's `outboundService` for a worker with these bindings: when it is locked (an
 * ADMIN_TOKEN), its `fetch` connects to public addresses only (lib/outbound.mjs), so a
 * webhook's public name that resolves to a loopback, private or link-local address fails
 * too, which the worker's own checks of the URL cannot see; else Miniflare's default, which
 * an open mock's local webhooks need.
 */
export async function outboundFor(bindings) {
  if (!bindings.ADMIN_TOKEN) return undefined;
  const { lockedOutboundFetch } = await import('./outbound.mjs');
  return lockedOutboundFetch;
}

/** The options of `new Miniflare()` for the built worker in `dir`, plus `host` options
 * (host, port, bindings, name, inspectorPort, resourcePersistencePath: Durable Objects are
 * kept under <path>/do). Miniflare 5 drops unknown options silently, so Miniflare 4's
 * `durableObjectsPersist` is refused here rather than quietly ignored. */
export async function miniflareOptions(dir, host = {}) {
  if ('durableObjectsPersist' in host) {
    throw new Error('durableObjectsPersist is a Miniflare 4 option: pass resourcePersistencePath (objects go to <path>/do)');
  }
  const { convertV4MiniflareOptions } = await import('miniflare');
  return convertV4MiniflareOptions(/** @type {any} */ ({ ...workerOptions(dir), ...host }));
}

/** An answer of the control API that was not a success. */
export class MockError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path}: ${body?.error ?? `HTTP ${status}`} (HTTP ${status})`);
    this.name = 'MockError';
    this.status = status;
    this.body = body;
  }
}

/**
 * Miniflare 5 keeps Durable Objects under `<persist>/do/`, where Miniflare 4 (this package
 * before December 2026) kept them in `<persist>/` itself: a state directory of the older
 * layout is moved into place once, so its namespaces survive the update.
 */
function movePersistedObjectsOfMiniflare4(persist) {
  if (!existsSync(persist)) return;
  const objects = readdirSync(persist).filter((entry) => /-(NamespaceObject|RegistryObject)$/.test(entry));
  if (objects.length === 0) return;
  const target = join(persist, 'do');
  mkdirSync(target, { recursive: true });
  for (const entry of objects) {
    if (existsSync(join(target, entry))) {
      console.error(`metering-mock: ${join(persist, entry)} (kept by an older version) is left alone: ${join(target, entry)} exists`);
      continue;
    }
    try {
      renameSync(join(persist, entry), join(target, entry));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e; // moved meanwhile by another start
    }
  }
}

/** Resolves when `port` on `host` can be listened on; rejects with a clear error if not. */
function checkPort(host, port) {
  if (port === 0) return Promise.resolve();
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', (/** @type {NodeJS.ErrnoException} */ e) => fail(e.code === 'EADDRINUSE'
      ? new Error(`port ${port} on ${host} is in use: pick another with --port (0 = any free port)`)
      : new Error(`cannot listen on ${host}:${port}: ${e.message}`)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(ok));
  });
}

const query = (filters = {}) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== null) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
};

/** The control API (`/_mock/…`) of one namespace, at `endpoint`. */
export class Control {
  /** @param {string} endpoint @param {{controlToken?: string, timeoutMs?: number}} [options] */
  constructor(endpoint, { controlToken, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.endpoint = endpoint;
    this.controlToken = controlToken;
    this.timeoutMs = timeoutMs;
  }

  /** One control call; answers the parsed JSON, throws MockError unless 2xx. */
  async request(method, path, body) {
    const r = await controlCall(`${this.endpoint}/_mock${path}`, { method, body, token: this.controlToken, timeoutMs: this.timeoutMs });
    const json = r.json ?? (r.text ? { error: r.text } : null);
    if (r.status < 200 || r.status > 299) throw new MockError(method, `/_mock${path}`, r.status, json);
    return json;
  }

  health() { return this.request('GET', '/health'); }
  async products() { return (await this.request('GET', '/products')).products; }
  async product(code) { return (await this.request('GET', `/products/${encodeURIComponent(code)}`)).product; }
  /**
   * The product's offers (public, free-trial and private): the ids Discovery and the Agreement
   * Service name each by, and its terms; without a code, every product's.
   */
  async offers(code) {
    if (code === undefined) return (await this.request('GET', '/offers')).offers;
    return (await this.request('GET', `/products/${encodeURIComponent(code)}`)).offers;
  }
  /** The agreements of concurrent-agreements products; filters: productCode, limit. */
  async agreements(filters) { return (await this.request('GET', `/agreements${query(filters)}`)).agreements; }
  /** The buyers' agreement requests (quotes), newest first. */
  async agreementRequests() { return (await this.request('GET', '/agreement-requests')).requests; }
  /**
   * What happened to agreements since they were made (cancellation and payment requests,
   * billing adjustments, invoices, approvals), newest first; filters: agreementId.
   */
  agreementActivity(filters) { return this.request('GET', `/agreement-activity${query(filters)}`); }
  /**
   * Plays the buyer (the agreement's acceptor): `operation` is Accept/RejectAgreementPaymentRequest
   * or Accept/RejectAgreementCancellationRequest, `input` its Agreement Service input.
   */
  actAsBuyer(operation, input) { return this.request('POST', '/agreement-activity/buyer', { operation, input }); }
  async putProduct(product) { return (await this.request('POST', '/products', product)).product; }
  deleteProduct(code) { return this.request('DELETE', `/products/${encodeURIComponent(code)}`); }
  /** Ledger records; filters: productCode (or product), customer, dimension, from, to, limit. */
  async usage(filters) { return (await this.request('GET', `/usage${query(filters)}`)).records; }
  /**
   * The request journal, newest first: `{total, count, requests, nextCursor}` (at most 200 a
   * page); filters:
   * operation, status (a code, 'ok' or 'error'), error, product, customer, from, to, limit,
   * before (a nextCursor).
   */
  requests(filters) { return this.request('GET', `/requests${query(filters)}`); }
  /** The bill preview of a month: filters month ('2026-11'; the namespace clock's by default), product, customer. */
  bill(filters) { return this.request('GET', `/bill${query(filters)}`); }
  /** Empties the request journal: `{deleted}`. */
  clearRequests() { return this.request('DELETE', '/requests'); }
  settings() { return this.request('GET', '/settings'); }
  patchSettings(patch) { return this.request('PATCH', '/settings', patch); }
  clock() { return this.request('GET', '/clock'); }
  /** `{frozenAt}`, `{offsetSeconds}`, or `{}` for real time. */
  setClock(clock) { return this.request('PUT', '/clock', clock); }
  async faults() { return (await this.request('GET', '/faults')).faults; }
  addFault(fault) { return this.request('POST', '/faults', fault); }
  clearFaults() { return this.request('DELETE', '/faults'); }
  /** `'demo'`, `'empty'`, a seed document, or nothing (the namespace's default). */
  reset(seed) { return this.request('POST', '/reset', seed === undefined ? undefined : { seed }); }
  seed(document) { return this.request('POST', '/seed', document); }
  mintToken(request) { return this.request('POST', '/registration-tokens', request); }
  /** The simulated sign-up, as JSON: `{productCode, …}` → token, customer, event. */
  signUp(request) { return this.request('POST', '/marketplace/subscribe?format=json', request); }
  /**
   * A one-time link to the sign-up page that needs no token in the browser (a locked mock's
   * way): `{productCode, …, expiresInSeconds?}` → `{link, url, expiresAt}`, `url` absolute.
   */
  async signupLink(request) {
    const made = await this.request('POST', '/marketplace/signup-links', request);
    return { ...made, url: new URL(made.link, this.endpoint).href };
  }
  /** `{productCode, <customer>, action}`: subscribe-success, unsubscribe-pending, … */
  changeSubscription(request) { return this.request('POST', '/subscriptions', request); }
  putEntitlements(request) { return this.request('PUT', '/entitlements', request); }
  async events(filters) { return (await this.request('GET', `/events${query(filters)}`)).events; }
  keys() { return this.request('GET', '/keys'); }
  async registrations(filters) { return (await this.request('GET', `/registrations${query(filters)}`)).registrations; }
}

/** A namespace of the mock: its endpoint (for the AWS SDKs) and its control API. */
function namespaceOf(url, name, options) {
  const endpoint = name === 'default' ? url : `${url}/ns/${name}`;
  return { name, endpoint, control: new Control(endpoint, options) };
}

/**
 * Starts the mock. Options: port (0 = any free port, the default here), host (127.0.0.1),
 * persist (a directory for its state, or false to keep it only while the mock runs), seed (a seed document
 * for the `default` namespace, or a path to a JSON file of one), adminToken (locked mode),
 * accessLog (one line per call on the console), vars (other Worker variables, see the
 * README's Limits), name (the Worker's name: Durable Object ids and where their state lies
 * in `persist` derive from it; `npm start` in a checkout passes wrangler.toml's, so that it
 * shares `.wrangler/state` with `wrangler dev`).
 */
export async function startMock(options = {}) {
  const { port = 0, host = '127.0.0.1', persist = false, seed, adminToken, accessLog = false, vars = {}, name } = options;
  if (seed !== undefined && adminToken) {
    throw new Error('a seed applies to an open mock; in locked mode, create namespaces with their seed (metering-mock ns create --seed)');
  }
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(`metering-mock needs Node.js 22.12 or newer (the Workers runtime's Miniflare 5 does); this is ${process.version}`);
  }
  await checkPort(host, port);
  const { Miniflare } = await import('miniflare');
  const dir = workerDirectory();
  const bindings = { ...vars };
  if (adminToken) bindings.ADMIN_TOKEN = adminToken;
  if (accessLog) bindings.ACCESS_LOG = '1';
  if (persist) movePersistedObjectsOfMiniflare4(resolve(persist));
  const outbound = await outboundFor(bindings);
  const mf = new Miniflare(await miniflareOptions(dir, {
    ...(name ? { name } : {}),
    ...(outbound ? { outboundService: outbound } : {}),
    // The state's root: Durable Objects under <persist>/do. Without one, Miniflare keeps them
    // in a temporary directory of its own, removed when the mock stops (SQLite-backed objects
    // cannot be kept in memory).
    ...(persist ? { resourcePersistencePath: resolve(persist) } : {}),
    bindings,
    host,
    port,
  }));
  let ready;
  try {
    ready = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  const url = ready.origin;
  let stopped = false;
  const mock = {
    url,
    endpoint: url,
    port: Number(ready.port),
    host,
    /** The environment an AWS SDK or CLI process needs to reach `default`. */
    env: {
      AWS_ENDPOINT_URL_MARKETPLACE_METERING: url,
      AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE: url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // Blank, so a token left in the environment (SSO, CI) does not make the caller a session.
      AWS_SESSION_TOKEN: '',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
    control: new Control(url),
    namespace: (name, namespaceOptions) => namespaceOf(url, name, namespaceOptions),
    async stop() {
      if (stopped) return;
      stopped = true;
      await mf.dispose();
    },
  };
  if (seed !== undefined) {
    try {
      await mock.control.reset(typeof seed === 'string' ? readSeedFile(seed) : seed);
    } catch (e) {
      await mock.stop();
      throw e;
    }
  }
  return mock;
}

/** A seed file's document; errors name the file. */
export function readSeedFile(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`seed file ${path}: cannot be read (${e.code ?? e.message})`);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`seed file ${path}: not JSON: ${e.message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`seed file ${path}: must be a JSON object: {"products": […], "settings": {…}}`);
  }
  return doc;
}
