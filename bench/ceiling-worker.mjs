// The runtime's ceiling for a metering call: a plain JavaScript worker and SQLite Durable
// Object that store what the mock stores for MeterUsage and BatchMeterUsage (the same
// ledger table, unique index and journal row, in one `transactionSync`) and do nothing else:
// no validation, no SigV4, no product or customer lookup, no settings. It answers the soak
// benchmark's three requests (GET …/_mock/clock, MeterUsage, BatchMeterUsage), so the mock's
// figures can be read against what any code on this runtime could reach with that storage.
// Run by bench/soak.mjs (`npm run bench -- --soak --compare`), never by the mock.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY, hour INTEGER NOT NULL, ledger_key TEXT NOT NULL, id TEXT NOT NULL,
  product TEXT NOT NULL, customer_identifier TEXT, customer_account TEXT, license_arn TEXT,
  dimension TEXT NOT NULL, quantity_micros INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_by_hour_key ON ledger (hour, ledger_key);
CREATE INDEX IF NOT EXISTS ledger_by_product_hour ON ledger (product, hour);
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, operation TEXT,
  status INTEGER NOT NULL, error TEXT, product TEXT, customers TEXT NOT NULL, doc TEXT NOT NULL);`;

/** The mock's default journal bound (`MAX_JOURNAL_ENTRIES`): the newest 1,000 entries. */
const JOURNAL_KEEP = 1_000;
const HOUR_MS = 3_600_000;
const JSON_TYPE = { 'content-type': 'application/x-amz-json-1.1' };

export class Ceiling {
  constructor(ctx) {
    this.ctx = ctx;
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.clock = { now: new Date().toISOString(), frozen: false };
  }

  async fetch(request) {
    if (request.method === 'GET') return Response.json(this.clock);
    const operation = (request.headers.get('x-amz-target') ?? '').split('.')[1];
    const caller = request.headers.get('x-amz-security-token') ?? 'seller';
    const body = await request.json();
    const answer = this.ctx.storage.transactionSync(() => {
      const records = operation === 'MeterUsage'
        ? [{ CustomerIdentifier: caller, Dimension: body.UsageDimension, Quantity: body.UsageQuantity, Timestamp: body.Timestamp }]
        : body.UsageRecords;
      const ids = this.record(body.ProductCode, records);
      const answer = operation === 'MeterUsage'
        ? { MeteringRecordId: ids[0] }
        : { Results: records.map((r, i) => ({ UsageRecord: r, MeteringRecordId: ids[i], Status: 'Success' })), UnprocessedRecords: [] };
      this.journal(operation, body, answer, records);
      return answer;
    });
    return new Response(JSON.stringify(answer), { headers: JSON_TYPE });
  }

  /** The records' ids: a stored record's for a key already in the ledger, else a new row's. */
  record(product, records) {
    const keys = records.map((r) => [Math.floor((r.Timestamp * 1000) / HOUR_MS) * HOUR_MS, `${product}|${r.CustomerIdentifier}|${r.Dimension}`]);
    const marks = keys.map(() => '(?, ?)').join(', ');
    const found = new Map();
    for (const row of this.sql.exec(
      `SELECT ledger.hour AS hour, ledger.ledger_key AS k, id FROM (VALUES ${marks}) AS v CROSS JOIN ledger ON ledger.hour = v.column1 AND ledger.ledger_key = v.column2`,
      ...keys.flat(),
    )) found.set(`${row.hour} ${row.k}`, row.id);
    const ids = [];
    const fresh = [];
    records.forEach((r, i) => {
      const [hour, key] = keys[i];
      let id = found.get(`${hour} ${key}`);
      if (!id) {
        id = crypto.randomUUID();
        fresh.push([hour, key, id, product, r.CustomerIdentifier, null, null, r.Dimension, String(Math.round(r.Quantity * 1e6)),
          JSON.stringify({ timestamp: r.Timestamp, quantity: r.Quantity })]);
      }
      ids.push(id);
    });
    // As many rows per statement as the 100 bound parameters allow, as the mock does.
    for (let i = 0; i < fresh.length; i += 9) {
      const chunk = fresh.slice(i, i + 9);
      this.sql.exec(
        `INSERT INTO ledger (hour, ledger_key, id, product, customer_identifier, customer_account, license_arn, dimension, quantity_micros, doc) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?)').join(', ')} RETURNING seq`,
        ...chunk.flat(),
      ).toArray();
    }
    return ids;
  }

  journal(operation, request, response, records) {
    const now = Date.now();
    const customers = JSON.stringify([...new Set(records.map((r) => r.CustomerIdentifier))]);
    const doc = JSON.stringify({ receivedAt: new Date(now).toISOString(), operation, status: 200, request, response, customers });
    const [{ seq }] = this.sql.exec(
      'INSERT INTO journal (received_at, operation, status, error, product, customers, doc) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq',
      now, operation, 200, null, request.ProductCode, customers, doc,
    ).toArray();
    if (seq > JOURNAL_KEEP) this.sql.exec('DELETE FROM journal WHERE rowid <= ?', seq - JOURNAL_KEEP);
  }
}

export default {
  /** `/ns/<name>/…` goes to that name's object, as in the mock; anything else is the ping. */
  fetch(request, env) {
    const name = /^\/ns\/([^/]+)/.exec(new URL(request.url).pathname)?.[1];
    if (!name) return new Response('pong');
    return env.CEILING.get(env.CEILING.idFromName(name)).fetch(request);
  },
};
