// The one HTTP call of the control (`/_mock/…`) and admin (`/_admin/…`) APIs, used by the
// package's JS API, its CLIs, the dashboard, the test harness and the benchmark: JSON in and
// out, a bearer token when given, and a timeout, so that no call waits for ever.

/** How long a call waits for its answer unless told otherwise (a reset or a large seed can take
 * seconds on a busy machine). */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * @typedef {object} CallOptions
 * @property {string} [method] GET unless given
 * @property {unknown} [body] sent as JSON
 * @property {string} [token] sent as `Authorization: Bearer <token>`
 * @property {number} [timeoutMs] how long to wait for the whole answer
 * @property {typeof fetch} [fetchFn] the fetch to use (tests pass a fake)
 */

/**
 * @typedef {object} Answer
 * @property {number} status
 * @property {Headers} headers
 * @property {any} json the parsed body, or null when it is empty or not JSON
 * @property {string} text
 */

/**
 * One call; resolves with whatever status it got, rejects only when no answer came (a
 * network error, or none within `timeoutMs`), with the method and URL in the message and the
 * original error as its `cause`.
 * @param {string} url
 * @param {CallOptions} [options]
 * @returns {Promise<Answer>}
 */
export async function controlCall(url, options = {}) {
  const { method = 'GET', body, token, timeoutMs = DEFAULT_TIMEOUT_MS, fetchFn = fetch } = options;
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  let text;
  try {
    response = await fetchFn(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (e) {
    const reason = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e?.cause?.message ?? e?.message ?? String(e));
    throw new Error(`${method} ${url}: ${reason}`, { cause: e });
  }
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: `text` has it
  }
  return { status: response.status, headers: response.headers, json, text };
}
