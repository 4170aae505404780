// The dashboard of one namespace, served at <namespace URL>/_mock/ui/. It reads and drives the
// namespace only through its control API (/_mock/…, same origin), refreshes the open view
// every two seconds, and builds every element with textContent, never from HTML strings, so
// nothing a caller sent can run as markup. In a locked deployment it asks for the
// namespace's control token and keeps it in this tab's sessionStorage.

import uPlot from 'uplot';
import { controlCall } from '../lib/control.mjs';

const BASE = location.pathname.replace(/\/_mock\/ui(\/.*)?$/, '');
const TOKEN_KEY = `metering-mock-control-token:${BASE || '/'}`;
const REFRESH_MS = 2000;
const VIEWS = ['overview', 'usage', 'bill', 'requests', 'events', 'agreements', 'containers', 'actions'];

// ---------------------------------------------------------------------------------------
// The control API

class ApiError extends Error {}

async function call(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  const r = await controlCall(`${BASE}/_mock${path}`, { method, body, token });
  const json = r.json ?? (r.text ? { error: r.text } : null);
  if (r.status === 401) {
    showTokenForm(token ? 'That token was refused.' : '');
    throw new ApiError('this mock is locked: enter the namespace\'s control token');
  }
  if (r.status < 200 || r.status > 299) throw new ApiError(json?.error ?? `HTTP ${r.status}`);
  return json;
}

const query = (params) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

// ---------------------------------------------------------------------------------------
// Small DOM helpers: elements from data, never from markup.

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An element by id; `any`, since each is used as the kind of element it is (form, input…). @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

/** A table: columns are { label, value(row) → text or node, num? }; rows may be clickable. */
/** @param {any[]} columns @param {any[]} rows @param {{empty?: string, onOpen?: (row: any) => void}} [options] */
function table(columns, rows, { empty = 'Nothing yet.', onOpen } = {}) {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)));
  const body = rows.map((row) => {
    const cells = columns.map((c) => el('td', { class: c.num ? 'num' : undefined }, c.value(row) ?? ''));
    if (!onOpen) return el('tr', {}, cells);
    return el('tr', {
      class: 'clickable', tabindex: 0,
      onclick: () => onOpen(row),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onOpen(row); } },
    }, cells);
  });
  return el('table', {}, el('thead', {}, head), el('tbody', {}, body));
}

function show(id, node) {
  $(id).replaceChildren(node);
}

const customerName = (c) => c.licenseArn ?? c.customerIdentifier ?? c.customerAWSAccountId ?? '(any caller)';

/** What a free-text customer field names: an account (12 digits), a license ARN or an identifier. */
function customerRef(text) {
  const t = text.trim();
  if (/^\d{12}$/.test(t)) return { customerAWSAccountId: t };
  if (t.startsWith('arn:')) return { licenseArn: t };
  return { customerIdentifier: t };
}

/** A datetime-local value read as UTC, as the labels say. */
const utc = (value) => (value ? new Date(`${value}:00Z`).toISOString() : undefined);

function setStatus(text, bad = false) {
  const status = $('status');
  status.textContent = text;
  status.className = bad ? 'bad' : '';
}

// ---------------------------------------------------------------------------------------
// Views: each loads its data and renders it; the open one is refreshed.

let products = [];

async function loadProducts() {
  products = (await call('GET', '/products')).products;
  const selects = /** @type {NodeListOf<HTMLSelectElement>} */ (document.querySelectorAll('select[name="product"], select[name="productCode"]'));
  for (const select of selects) {
    const chosen = select.value;
    const none = select.id === 'product-pick' ? '(a new product)' : 'any';
    const any = select.name === 'product' ? [el('option', { value: '' }, none)] : [];
    select.replaceChildren(...any, ...products.map((p) => el('option', { value: p.productCode }, p.productCode)));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  }
}

const views = {
  async overview() {
    const [health, journal] = await Promise.all([call('GET', '/health'), call('GET', '/requests?limit=1')]);
    await loadProducts();
    $('namespace').textContent = `namespace ${health.namespace}`;
    const customers = products.flatMap((p) => p.customers.map((c) => ({ product: p, customer: c })));
    const subscribed = customers.filter(({ customer }) => (customer.subscription ?? 'subscribed') === 'subscribed').length;
    const counts = [
      ['Products', products.length], ['Customers', customers.length], ['Subscribed', subscribed],
      ['AWS calls kept', journal.total], ['Namespace time (UTC)', health.now.slice(0, 19).replace('T', ' ')],
    ];
    $('counts').replaceChildren(...counts.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
    show('customers', table([
      { label: 'Product', value: (r) => r.product.productCode },
      { label: 'Dimensions', value: (r) => r.product.dimensions.map((d) => (r.product.prices?.[d] ? `${d} ($${r.product.prices[d]})` : d)).join(', ') },
      { label: 'Customer', value: (r) => r.customer.customerIdentifier ?? '' },
      { label: 'Account', value: (r) => r.customer.customerAWSAccountId ?? '' },
      { label: 'License', value: (r) => r.customer.licenseArn ?? '' },
      { label: 'Subscription', value: (r) => r.customer.subscription ?? 'subscribed' },
      { label: 'Free trial', value: (r) => (r.customer.freeTrial ? 'yes' : '') },
      { label: 'Entitlements', value: (r) => (r.customer.entitlements ?? []).map((e) => `${e.dimension}: ${Object.values(e.value)[0]}`).join(', ') },
    ], customers, { empty: 'No products yet: create one under Actions.' }));
  },

  async usage() {
    if (products.length === 0) await loadProducts();
    const f = new FormData($('usage-filters'));
    const filters = {
      product: f.get('product'), customer: f.get('customer'), from: utc(f.get('from')), to: utc(f.get('to')),
      limit: 10000, order: 'newest',
    };
    const newestFirst = (await call('GET', `/usage${query(filters)}`)).records;
    usageRecords = newestFirst.slice().reverse();
    drawChart(usageRecords);
    const newest = newestFirst.slice(0, 200);
    show('usage-table', table([
      { label: 'Hour (UTC)', value: (r) => r.hour.slice(0, 16).replace('T', ' ') },
      { label: 'Product', value: (r) => r.productCode },
      { label: 'Dimension', value: (r) => r.dimension },
      { label: 'Customer', value: (r) => customerName(r) },
      // Which instance, task or pod recorded it: two of one account may share an hour.
      { label: 'Instance', value: (r) => r.task ?? (r.session ? `session ${r.session.slice(0, 8)}` : '') },
      { label: 'Quantity', value: (r) => r.quantity, num: true },
      { label: 'Operation', value: (r) => r.operation },
      { label: 'Record id', value: (r) => r.meteringRecordId },
    ], newest, { empty: 'No usage recorded yet.' }));
  },

  async bill() {
    const month = $('bill-filters').elements.month;
    if (!month.value) month.value = (await call('GET', '/clock')).now.slice(0, 7); // the namespace's month
    const bill = await call('GET', `/bill${query({ month: month.value })}`);
    $('bill-total').textContent = `Total for ${bill.month}: $${bill.charge} (${bill.currency})`;
    // Usage lines, then an agreement's charges and credit memos of the month.
    const other = (dimension, charge, credit = false) => ({ dimension, metered: '', covered: '', billable: '', unitPrice: '', amount: null, charge, credit, records: '' });
    const lines = bill.customers.flatMap((c) => [
      ...c.lines.map((l) => ({ c, l })),
      ...(c.charges ?? []).map((ch) => ({ c, l: other(`charge ${ch.chargeId}`, ch.amount) })),
      ...(c.credits ?? []).map((cr) => ({ c, l: other(`credit memo ${cr.creditMemoId}`, cr.amount, true) })),
    ]);
    show('bill-table', table([
      { label: 'Product', value: ({ c }) => c.productCode },
      { label: 'Customer', value: ({ c }) => customerName(c) + (c.freeTrial ? ' (free trial)' : '') },
      { label: 'Dimension', value: ({ l }) => l.dimension },
      { label: 'Metered', value: ({ l }) => l.metered, num: true },
      { label: 'Covered', value: ({ l }) => l.covered, num: true },
      { label: 'Billable', value: ({ l }) => l.billable, num: true },
      { label: 'Unit price', value: ({ l }) => (l.unitPrice === null ? 'not priced' : l.unitPrice && `$${l.unitPrice}`), num: true },
      { label: 'Amount', value: ({ l }) => (l.amount === null ? '' : `$${l.amount}`), num: true },
      { label: 'Charge', value: ({ l }) => (l.charge === null ? '' : `${l.credit ? '-' : ''}$${l.charge}`), num: true },
      { label: 'Records', value: ({ l }) => l.records, num: true },
    ], lines, { empty: `No usage in ${bill.month}.` }));
  },

  async requests() {
    const f = new FormData($('requests-filters'));
    const page = await call('GET', `/requests${query({
      operation: f.get('operation'), status: f.get('status'), customer: f.get('customer'), limit: 100,
    })}`);
    show('requests-table', table([
      { label: 'Time (UTC)', value: (r) => r.receivedAt.slice(0, 23).replace('T', ' ') },
      { label: 'Operation', value: (r) => r.operation ?? '(unknown)' },
      { label: 'Status', value: (r) => el('span', { class: r.status < 300 ? 'good' : 'bad' }, r.error ? `${r.status} ${r.error.code}` : r.status) },
      { label: 'Caller', value: (r) => [r.caller.accessKeyId, r.caller.region, r.caller.session && `session ${r.caller.session.slice(0, 8)}`].filter(Boolean).join(' · ') },
      { label: 'Product', value: (r) => r.productCode ?? '' },
      { label: 'Customers', value: (r) => (r.customers ?? []).join(', ') },
      { label: 'Records written', value: (r) => (r.recordsWritten ?? []).length, num: true },
    ], page.requests, { empty: 'No AWS calls yet.', onOpen: openRequest }));
    $('requests-table').prepend(el('p', {}, `${page.total} call${page.total === 1 ? '' : 's'} match; the newest ${page.count} are listed. Select one to see it whole.`));
    if (openedRequest !== null) {
      const again = page.requests.find((r) => r.seq === openedRequest);
      if (again) openRequest(again);
    }
  },

  async events() {
    const events = (await call('GET', '/events?limit=200')).events.slice().reverse();
    show('events-table', table([
      { label: '#', value: (e) => e.seq, num: true },
      { label: 'Time (UTC)', value: (e) => e.time.slice(0, 19).replace('T', ' ') },
      { label: 'Action', value: (e) => e.action },
      { label: 'Product', value: (e) => e.productCode },
      { label: 'EventBridge', value: (e) => e.eventBridge.map((b) => b['detail-type']).join(', ') },
      { label: 'Deliveries', value: (e) => (e.deliveries.length === 0 ? 'no webhook' : e.deliveries.map((d) => `${d.status} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.lastStatus ? ` (HTTP ${d.lastStatus})` : ''}${d.lastError ? ` (${d.lastError})` : ''}`).join('; ')) },
    ], events, { empty: 'No notifications yet.' }));
  },

  async agreements() {
    const [{ agreements }, { offers }, { requests }] = await Promise.all([
      call('GET', '/agreements?limit=500'), call('GET', '/offers'), call('GET', '/agreement-requests'),
    ]);
    show('agreements-table', table([
      { label: 'Agreement', value: (a) => a.agreementId },
      { label: 'Product', value: (a) => a.productCode },
      { label: 'Status', value: (a) => el('span', { class: a.status === 'ACTIVE' ? 'good' : 'bad' }, a.status) },
      { label: 'Buyer', value: (a) => a.acceptor ?? '' },
      { label: 'Accepted (UTC)', value: (a) => (a.acceptedAt ?? '').slice(0, 19).replace('T', ' ') },
      { label: 'Ends (UTC)', value: (a) => (a.endsAt ?? '').slice(0, 19).replace('T', ' ') },
      { label: 'Contract', value: (a) => (a.contract ? `${a.contract.duration}: ${Object.entries(a.contract.quantities).map(([d, q]) => `${q} ${d}`).join(', ')}${a.autoRenew ? ', renews' : ''}` : '') },
      { label: 'Trial ends (UTC)', value: (a) => (a.trialEndsAt ?? '').slice(0, 19).replace('T', ' ') },
      { label: 'Previous', value: (a) => (a.previousAgreements ?? []).map((p) => `${p.agreementId} (${p.status})`).join(', ') },
      { label: 'Offer', value: (a) => a.offerId },
      { label: 'License', value: (a) => a.licenseArn ?? '' },
      { label: 'Entitlement', value: (a) => a.entitlementStatus },
      { label: 'Contact', value: (a) => (a.acceptorContact ? `${a.acceptorContact.firstName} ${a.acceptorContact.lastName} <${a.acceptorContact.emailAddress}>` : '') },
    ], agreements, { empty: 'No agreements yet: buy a concurrent-agreements product through the Agreement Service, or sign up under Actions.' }));
    const termText = (term) => {
      const [kind, body] = Object.entries(term)[0];
      const rates = (card) => card.map((r) => `${r.dimensionKey} $${r.price}`).join(', ');
      if (kind === 'usageBasedPricingTerm') return `${body.type} (${rates(body.rateCards.flatMap((c) => c.rateCard))})`;
      if (kind === 'configurableUpfrontPricingTerm') return `${body.type} (${body.rateCards.map((c) => `${c.selector.value}: ${rates(c.rateCard)}`).join('; ')})`;
      if (kind === 'freeTrialPricingTerm') return `${body.type} (${body.duration}: ${body.grants.map((g) => `${g.maxQuantity ?? 'any'} ${g.dimensionKey}`).join(', ')})`;
      return body.type;
    };
    show('agreement-requests-table', table([
      { label: 'Created (UTC)', value: (r) => r.createdAt.slice(0, 19).replace('T', ' ') },
      { label: 'Request', value: (r) => r.agreementRequestId },
      { label: 'Intent', value: (r) => r.intent },
      { label: 'Status', value: (r) => r.status },
      { label: 'Product', value: (r) => r.productCode },
      { label: 'Offer', value: (r) => r.offerId },
      { label: 'Buyer', value: (r) => r.requester },
      { label: 'Charge', value: (r) => `$${r.charge}`, num: true },
      { label: 'Agreement', value: (r) => r.agreementId ?? r.sourceAgreementId ?? '' },
    ], requests, { empty: 'No agreement requests yet: CreateAgreementRequest makes one.' }));
    show('offers-table', table([
      { label: 'Product', value: (o) => o.productCode },
      { label: 'Offer', value: (o) => o.offerId },
      { label: 'For', value: (o) => (o.visibility === 'private' ? `${o.name ?? 'private'}: ${o.buyerAccounts.join(', ')}` : (o.freeTrial ? 'everyone (free trial)' : 'everyone')) },
      { label: 'Proposal', value: (o) => o.agreementProposalId },
      { label: 'Seller', value: (o) => o.proposer },
      { label: 'Terms', value: (o) => o.terms.map(termText).join('; ') },
    ], offers, { empty: 'No products yet: create one under Actions.' }));
    await views.activity();
  },

  /** The sellers' requests, adjustments, invoices, approvals, deployment parameters and
   *  configuration jobs, with the buyer's decisions. */
  async activity() {
    const [activity, clock] = await Promise.all([call('GET', '/agreement-activity'), call('GET', '/clock')]);
    const time = (t) => (t ?? '').slice(0, 19).replace('T', ' ');
    const deadline = $('next-deadline');
    // A frozen clock is set to the deadline; a running one is shifted by as much (it runs on).
    const move = () => (clock.frozen
      ? { frozenAt: clock.nextDeadline }
      : { offsetSeconds: clock.offsetSeconds + (Date.parse(clock.nextDeadline) - Date.parse(clock.now)) / 1000 });
    deadline.replaceChildren(clock.nextDeadline
      ? el('span', {}, `Next deadline: ${time(clock.nextDeadline)} UTC `, el('button', {
        type: 'button',
        onclick: (e) => decide(e, () => call('PUT', '/clock', move()), `Clock moved to the next deadline${clock.frozen ? ' (it stays frozen)' : ''}`),
      }, 'Move the clock to it'))
      : 'Nothing scheduled.');
    // The buyer's decisions, played as the agreement's acceptor.
    const decision = (operation, input, label) => el('button', {
      type: 'button', onclick: (e) => decide(e, () => call('POST', '/agreement-activity/buyer', { operation, input }), `${label}: done`),
    }, label);
    const pending = (r) => r.status === 'PENDING_APPROVAL';
    show('payment-requests-table', table([
      { label: 'Created (UTC)', value: (r) => time(r.createdAt) },
      { label: 'Request', value: (r) => r.paymentRequestId },
      { label: 'Agreement', value: (r) => r.agreementId },
      { label: 'Name', value: (r) => r.name },
      { label: 'Amount', value: (r) => `$${r.chargeAmount}`, num: true },
      { label: 'Status', value: (r) => r.status },
      { label: 'Approves itself (UTC)', value: (r) => (pending(r) ? time(r.autoApprovalAt) : '') },
      { label: 'Buyer', value: (r) => (pending(r) ? [
        decision('AcceptAgreementPaymentRequest', { agreementId: r.agreementId, paymentRequestId: r.paymentRequestId }, 'Approve'), ' ',
        decision('RejectAgreementPaymentRequest', { agreementId: r.agreementId, paymentRequestId: r.paymentRequestId, rejectionReason: 'Rejected on the dashboard' }, 'Reject'),
      ] : (r.statusMessage ?? '')) },
    ], activity.paymentRequests, { empty: 'No payment requests: SendAgreementPaymentRequest on a private offer with a variablePayment makes one.' }));
    show('cancellation-requests-table', table([
      { label: 'Created (UTC)', value: (r) => time(r.createdAt) },
      { label: 'Request', value: (r) => r.agreementCancellationRequestId },
      { label: 'Agreement', value: (r) => r.agreementId },
      { label: 'Reason', value: (r) => r.reasonCode },
      { label: 'Status', value: (r) => r.status },
      { label: 'Approves itself (UTC)', value: (r) => (pending(r) ? time(r.autoApprovalAt) : '') },
      { label: 'Buyer', value: (r) => (pending(r) ? [
        decision('AcceptAgreementCancellationRequest', { agreementId: r.agreementId, agreementCancellationRequestId: r.agreementCancellationRequestId }, 'Approve'), ' ',
        decision('RejectAgreementCancellationRequest', { agreementId: r.agreementId, agreementCancellationRequestId: r.agreementCancellationRequestId, rejectionReason: 'Rejected on the dashboard' }, 'Reject'),
      ] : (r.statusMessage ?? '')) },
    ], activity.cancellationRequests, { empty: 'No cancellation requests: SendAgreementCancellationRequest makes one.' }));
    show('invoices-table', table([
      { label: 'Issued (UTC)', value: (i) => time(i.issuedAt) },
      { label: 'Invoice', value: (i) => i.invoiceId },
      { label: 'Type', value: (i) => i.invoiceType },
      { label: 'Agreement', value: (i) => i.agreementId },
      { label: 'Period', value: (i) => i.billingPeriod },
      { label: 'Amount', value: (i) => `${i.invoiceType === 'CREDIT_MEMO' ? '-' : ''}$${i.amount}`, num: true },
      { label: 'Credits', value: (i) => i.originalInvoiceId ?? '' },
    ], activity.invoices, { empty: 'No invoices yet: charges are invoiced when made, usage when its month closes.' }));
    show('adjustments-table', table([
      { label: 'Created (UTC)', value: (a) => time(a.createdAt) },
      { label: 'Adjustment', value: (a) => a.billingAdjustmentRequestId },
      { label: 'Invoice', value: (a) => a.originalInvoiceId },
      { label: 'Amount', value: (a) => `$${a.adjustmentAmount}`, num: true },
      { label: 'Status', value: (a) => a.status },
      { label: 'Reason', value: (a) => a.statusMessage ?? a.reasonCode },
    ], activity.billingAdjustments, { empty: 'No billing adjustments: BatchCreateBillingAdjustmentRequest makes them.' }));
    show('approvals-table', table([
      { label: 'Created (UTC)', value: (a) => time(a.createdAt) },
      { label: 'Approval', value: (a) => a.agreementApprovalId },
      { label: 'Request', value: (a) => a.agreementRequestId },
      { label: 'Plan', value: (a) => a.name },
      { label: 'Status', value: (a) => a.status },
      { label: 'Expires (UTC)', value: (a) => time(a.expiresAt) },
    ], activity.approvals, { empty: 'No approvals: the approvalPlans setting makes a buyer\'s requests wait for them.' }));
    // Names and sizes only: the mock never keeps a parameter's secret.
    show('deployment-parameters-table', table([
      { label: 'Updated (UTC)', value: (p) => time(p.updatedAt) },
      { label: 'Parameter', value: (p) => p.deploymentParameterId },
      { label: 'Agreement', value: (p) => p.agreementId },
      { label: 'Name', value: (p) => p.name },
      { label: 'Versions', value: (p) => p.versions, num: true },
      { label: 'Secret', value: (p) => `${p.secretBytes} bytes (not kept)` },
      { label: 'Tags', value: (p) => Object.entries(p.tags).map(([k, v]) => `${k}=${v}`).join(', ') },
      { label: 'Expires (UTC)', value: (p) => time(p.expiresAt) },
    ], activity.deploymentParameters, { empty: 'No deployment parameters: PutDeploymentParameter makes them.' }));
    show('deployment-jobs-table', table([
      { label: 'Created (UTC)', value: (j) => time(j.createdAt) },
      { label: 'Job', value: (j) => j.jobId },
      { label: 'Product', value: (j) => j.productCode },
      { label: 'Fulfillment URL', value: (j) => j.fulfillmentUrl },
      { label: 'Status', value: (j) => (j.errorCode ? `${j.status} (${j.errorCode})` : j.status) },
      { label: 'Settles (UTC)', value: (j) => time(j.endsAt) },
    ], activity.deploymentConfigurationJobs, { empty: 'No configuration jobs: StartDeploymentConfigurationJob makes one.' }));
  },

  async containers() {
    const [keys, registrations] = await Promise.all([call('GET', '/keys'), call('GET', '/registrations?limit=500')]);
    show('keys-table', table([
      { label: 'Version', value: (k) => k.version, num: true },
      { label: 'State', value: (k) => (k.version === keys.currentVersion ? 'current' : (k.retired ? 'retired' : 'earlier')) },
      { label: 'Created (UTC)', value: (k) => (k.createdAt ?? '').slice(0, 19).replace('T', ' ') },
    ], keys.keys, { empty: 'No signing key yet (the first RegisterUsage makes one).' }));
    show('registrations-table', table([
      { label: 'Registered (UTC)', value: (r) => String(r.registeredAt).slice(0, 19).replace('T', ' ') },
      { label: 'Product', value: (r) => r.productCode },
      { label: 'Caller', value: (r) => r.caller },
      { label: 'Region', value: (r) => r.region },
      { label: 'Task', value: (r) => r.taskId },
      { label: 'Named by', value: (r) => r.taskSource },
      { label: 'Key version', value: (r) => r.publicKeyVersion, num: true },
    ], registrations.registrations.slice().reverse(), { empty: 'No container task registered yet.' }));
  },

  async actions() {
    await loadProducts();
  },
};

// ---------------------------------------------------------------------------------------
// The usage chart (uPlot) and the CSV export

let usageRecords = [];
let chart = null;
let chartSeries = '';

function drawChart(records) {
  const hours = [...new Set(records.map((r) => Date.parse(r.hour) / 1000))].sort((a, b) => a - b);
  const dimensions = [...new Set(records.map((r) => `${r.productCode} · ${r.dimension}`))].sort();
  const index = new Map(hours.map((h, i) => [h, i]));
  const series = dimensions.map(() => hours.map(() => 0));
  for (const r of records) {
    // The chart draws with floats; the tables and the bill keep the exact decimals.
    series[dimensions.indexOf(`${r.productCode} · ${r.dimension}`)][index.get(Date.parse(r.hour) / 1000)] += Number(r.quantity);
  }
  const container = $('usage-chart');
  const data = [hours, ...series];
  const key = dimensions.join('|');
  // An hour either side of the data, so that one hour is not stretched over years.
  const span = () => chart.setScale('x', { min: hours[0] - 3600, max: hours[hours.length - 1] + 3600 });
  if (chart && key === chartSeries) {
    chart.setData(data);
    span();
    return;
  }
  chart?.destroy();
  chartSeries = key;
  if (hours.length === 0) {
    chart = null;
    container.replaceChildren(el('p', { class: 'empty' }, 'No usage to chart.'));
    return;
  }
  container.replaceChildren();
  const palette = ['#0b5cad', '#b35900', '#1a6b2f', '#8a1c7c', '#a4161a', '#24636b', '#5c4b00', '#3d3d99'];
  chart = new uPlot({
    width: Math.max(320, container.clientWidth || 800),
    height: 300,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true } },
    series: [{ label: 'Hour (UTC)' }, ...dimensions.map((d, i) => ({
      label: d, stroke: palette[i % palette.length], width: 2, points: { show: true },
    }))],
    axes: [{}, { label: 'Quantity' }],
  }, /** @type {uPlot.AlignedData} */ (data), container);
  span();
}

function csvCell(value) {
  let text = value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // A spreadsheet would run a cell that starts like a formula (a caller names its Region).
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function exportCsv() {
  const columns = ['meteringRecordId', 'operation', 'productCode', 'customerIdentifier', 'customerAWSAccountId', 'licenseArn',
    'dimension', 'hour', 'timestamp', 'quantity', 'allocations', 'receivedAt', 'caller', 'session', 'task', 'region', 'requestId'];
  const lines = [columns.join(','), ...usageRecords.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
  const link = el('a', {
    href: URL.createObjectURL(new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv' })),
    download: `usage${BASE.replace(/\//g, '-') || '-default'}.csv`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ---------------------------------------------------------------------------------------
// The request detail

let openedRequest = null;

function openRequest(r) {
  openedRequest = r.seq;
  const detail = $('request-detail');
  // A long block scrolls: focusable, so the keyboard can scroll it too.
  const block = (title, value) => (value === undefined ? null
    : [el('h3', {}, title), el('pre', { tabindex: 0, 'aria-label': title }, JSON.stringify(value, null, 2))]);
  detail.replaceChildren(...[
    el('h3', { tabindex: -1, id: 'request-detail-title' }, `${r.operation ?? 'Call'} #${r.seq} — HTTP ${r.status}`),
    el('p', {}, `Request id ${r.requestId}; signature ${r.signatureVerified ? 'verified' : 'not checked or not verified'}; protocol ${r.protocol}`),
    block('Request', r.request),
    block('Response', r.response),
    block('Error', r.error),
    block('Records written', r.recordsWritten),
  ].flat().filter(Boolean));
  detail.hidden = false;
}

/**
 * Runs a decision made on the Agreements view (its button disabled meanwhile, so a double
 * click decides once), says how it went, and shows the view again.
 */
async function decide(event, perform, done) {
  const result = $('activity-result');
  event.currentTarget.disabled = true;
  try {
    await perform();
    result.className = 'good';
    result.textContent = done;
  } catch (e) {
    result.className = 'bad';
    result.textContent = e.message;
  }
  await refresh();
}

// ---------------------------------------------------------------------------------------
// Actions

async function act(form, perform) {
  const result = $('action-result');
  try {
    const message = await perform(new FormData(form));
    result.className = 'good';
    result.textContent = message;
  } catch (e) {
    result.className = 'bad';
    result.textContent = e.message;
  }
}

const ACTIONS = {
  'action-product': async (f) => {
    let product;
    try { product = JSON.parse(f.get('json')); } catch (e) { throw new Error(`the product is not JSON: ${e.message}`); }
    const saved = (await call('POST', '/products', product)).product;
    await loadProducts();
    return `Saved product ${saved.productCode}.`;
  },
  'action-signup': async (f) => {
    const productCode = f.get('productCode');
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      window.open(`${BASE}/_mock/marketplace/subscribe${query({ productCode })}`, '_blank', 'noopener');
      return `Opened the sign-up page of ${productCode} in a new tab.`;
    }
    // A locked mock's page needs the token, which a new tab cannot send: sign up from here.
    const answer = await call('POST', `/marketplace/subscribe${query({ productCode, format: 'json' })}`, {});
    return `Signed up ${customerName(answer.customer)}; registration token ${answer.registrationToken}.`;
  },
  'action-lifecycle': async (f) => {
    await call('POST', '/subscriptions', { productCode: f.get('productCode'), ...customerRef(f.get('customer')), action: f.get('action') });
    return `${f.get('action')} sent for ${f.get('customer')}.`;
  },
  'action-entitlements': async (f) => {
    await call('PUT', '/entitlements', {
      productCode: f.get('productCode'), ...customerRef(f.get('customer')),
      entitlements: [{ dimension: f.get('dimension'), value: { integerValue: Number(f.get('units')) } }],
    });
    return `Entitlements of ${f.get('customer')} replaced.`;
  },
  'action-clock': async (f) => {
    const frozenAt = utc(f.get('frozenAt'));
    const offset = f.get('offsetSeconds');
    const body = frozenAt ? { frozenAt } : offset !== '' ? { offsetSeconds: Number(offset) } : {};
    const clock = await call('PUT', '/clock', body);
    return `The namespace's time is now ${clock.now}${clock.frozen ? ' (frozen)' : ''}.`;
  },
  'action-fault': async (f) => {
    await call('POST', '/faults', { operation: f.get('operation'), error: f.get('error'), count: Number(f.get('count')) });
    return `Queued ${f.get('error')} for the next ${f.get('count')} ${f.get('operation')} call(s).`;
  },
  'action-reset': async () => {
    if (!window.confirm('Reset this namespace? Its products, usage, journal and settings are forgotten.')) return 'Not reset.';
    await call('POST', '/reset');
    await loadProducts();
    return 'The namespace was reset.';
  },
};

// ---------------------------------------------------------------------------------------
// Tabs, refreshing, the token

let current = 'overview';
let loading = false;

async function refresh() {
  if (loading) return;
  loading = true;
  try {
    await views[current]();
    setStatus(`Updated ${new Date().toISOString().slice(11, 19)} UTC`);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    loading = false;
  }
}

function select(view, focus = false) {
  current = VIEWS.includes(view) ? view : 'overview';
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    const on = v === current;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${v}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (location.hash !== `#${current}`) history.replaceState(null, '', `#${current}`);
  refresh();
}

function showTokenForm(message) {
  const form = $('token-form');
  form.hidden = false;
  if (message) setStatus(message, true);
  $('token').focus();
}

function start() {
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    tab.addEventListener('click', () => select(v));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) select(VIEWS[(VIEWS.indexOf(v) + step + VIEWS.length) % VIEWS.length], true);
    });
  }
  for (const id of ['usage-filters', 'bill-filters', 'requests-filters']) {
    $(id).addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
  }
  $('usage-csv').addEventListener('click', exportCsv);
  const template = $('product-json').value;
  $('product-pick').addEventListener('change', (e) => {
    const product = products.find((p) => p.productCode === /** @type {HTMLSelectElement} */ (e.target).value);
    $('product-json').value = product ? JSON.stringify(product, null, 2) : template;
  });
  for (const [id, perform] of Object.entries(ACTIONS)) {
    $(id).addEventListener('submit', (e) => { e.preventDefault(); act(e.target, perform); });
  }
  $('clock-real').addEventListener('click', () => act($('action-clock'), async () => {
    const clock = await call('PUT', '/clock', {});
    return `The namespace's clock follows real time again (${clock.now}).`;
  }));
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    $('token-form').hidden = true;
    refresh();
  });
  // Live: the open view follows calls as they arrive (not the forms of Actions).
  setInterval(() => {
    if (document.visibilityState === 'visible' && current !== 'actions' && $('token-form').hidden) refresh();
  }, REFRESH_MS);
  window.addEventListener('hashchange', () => select(location.hash.slice(1)));
  select(location.hash.slice(1) || 'overview');
}

start();
