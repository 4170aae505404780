// The Agreement Service and Discovery with unmodified clients: the JS SDK's
// @aws-sdk/client-marketplace-agreement (awsJson1_0) with @aws-sdk/client-marketplace-metering,
// and boto3 loading the models this repo ships (awsJson1_0, rpc-v2-cbor by a copy of the model
// that lists only CBOR, and Discovery's rest-json). A test plays the buyer through the same
// SDKs instead of a browser: offer, quote, acceptance, registration token, then the seller
// resolves it, meters the license, reads the agreement and sees it cancelled.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AcceptAgreementCancellationRequestCommand, ListAgreementCancellationRequestsCommand,
  SendAgreementCancellationRequestCommand,
  AcceptAgreementPaymentRequestCommand, CancelAgreementPaymentRequestCommand, GetAgreementPaymentRequestCommand,
  BatchCreateBillingAdjustmentRequestCommand, GetBillingAdjustmentRequestCommand, ListAgreementInvoiceLineItemsCommand,
  ListAgreementPaymentRequestsCommand, RejectAgreementPaymentRequestCommand, SendAgreementPaymentRequestCommand,
  AcceptAgreementRequestCommand, CancelAgreementCommand, CreateAgreementRequestCommand, DescribeAgreementCommand,
  GetAgreementEntitlementsCommand, GetAgreementTermsCommand, ListAgreementChargesCommand,
  MarketplaceAgreementClient, SearchAgreementsCommand, UpdatePurchaseOrdersCommand,
} from '@aws-sdk/client-marketplace-agreement';
import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { Control } from '../../lib/index.mjs';
import {
  startEphemeralMock, namespaceUrl, sdkError, awsClientEnv, hasBoto3, missingClient, control, createProduct, setClock,
  meteringClient,
} from './harness.mjs';

const NOW = '2026-03-10T12:30:00Z';
const SELLER = '999988887777';
const BUYER = '111122223333';

/** A namespace with a concurrent-agreements product `saas`, its clock frozen at NOW. */
async function world(name) {
  const url = namespaceUrl(mock, name);
  await createProduct(url, {
    productCode: 'saas', dimensions: ['users'], prices: { users: '0.25' },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
  });
  await setClock(url, { frozenAt: NOW });
  return url;
}

const MODELS = new URL('../../models/', import.meta.url).pathname;

let mock;
let dataPath;
before(async () => {
  mock = await startEphemeralMock();
  // botocore's layout (<service>/<version>/service-2.json), for AWS_DATA_PATH: the models as
  // shipped, and the Agreement model as a CBOR-only service (what the Java, Go and Rust SDKs speak).
  dataPath = mkdtempSync(join(tmpdir(), 'mm-models-'));
  const place = (service, version, file, edit = (m) => m) => {
    mkdirSync(join(dataPath, service, version), { recursive: true });
    const model = edit(JSON.parse(readFileSync(join(MODELS, file), 'utf8')));
    writeFileSync(join(dataPath, service, version, 'service-2.json'), JSON.stringify(model));
  };
  place('marketplace-agreement', '2020-03-01', 'marketplace-agreement-2020-03-01.service-2.json');
  place('marketplace-discovery', '2026-02-05', 'marketplace-discovery-2026-02-05.service-2.json');
  place('marketplace-agreement-cbor', '2020-03-01', 'marketplace-agreement-2020-03-01.service-2.json', (m) => ({
    ...m,
    metadata: { ...m.metadata, protocol: 'smithy-rpc-v2-cbor', protocols: ['smithy-rpc-v2-cbor'], serviceId: 'Marketplace Agreement Cbor', endpointPrefix: 'agreement-marketplace-cbor' },
  }));
  cpSync(join(MODELS, 'marketplace-agreement-2020-03-01.paginators-1.json'), join(dataPath, 'marketplace-agreement', '2020-03-01', 'paginators-1.json'));
});
after(async () => {
  await mock?.stop();
  if (dataPath) rmSync(dataPath, { recursive: true, force: true });
});

const agreementClient = (url, accessKeyId = 'test') => new MarketplaceAgreementClient({
  endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'test' },
});

test('JS SDK: a broken input rule is ValidationException with its reason and fields', async () => {
  const client = agreementClient(namespaceUrl(mock, 'agreements-js'));
  const e = await sdkError(client.send(new DescribeAgreementCommand({ agreementId: 'not an id' })));
  assert.equal(e.name, 'ValidationException');
  assert.equal(e.$metadata.httpStatusCode, 400);
  assert.equal(e.reason, 'INVALID_AGREEMENT_ID');
  assert.equal(e.fields[0].name, 'agreementId');
  assert.match(e.fields[0].message, /regular expression pattern/);
  assert.equal(e.requestId, e.$metadata.requestId);

  const search = await sdkError(client.send(new SearchAgreementsCommand({ maxResults: 51 })));
  assert.equal(search.reason, 'INVALID_MAX_RESULTS');
});

test('JS SDK: an unknown agreement is ResourceNotFoundException', async () => {
  const client = agreementClient(namespaceUrl(mock, 'agreements-js'));
  const missing = await sdkError(client.send(new DescribeAgreementCommand({ agreementId: 'agmt-1234567890123456789012345' })));
  assert.equal(missing.name, 'ResourceNotFoundException');
  assert.equal(missing.$metadata.httpStatusCode, 404);
  assert.equal(missing.resourceId, 'agmt-1234567890123456789012345');
});

test('JS SDK: the buyer gets from the offer to a registration token; the seller resolves, meters, reads and sees it cancelled', async () => {
  const url = await world('agreements-journey');
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const metering = meteringClient(url, { accessKeyId: SELLER });
  // The JS API names the product's offer and its terms.
  const [offer] = await new Control(url).offers('saas');
  const requestedTerms = offer.terms.map((term) => ({ id: Object.values(term)[0].id }));

  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId, requestedTerms,
  }));
  // This client's model (3.1164) predates the output's status and createdAt.
  assert.equal(quote.chargeSummary.newAgreementValue, '0.00');
  assert.match(quote.agreementRequestId, /^ar-[0-9a-f]{25}$/);
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  const { agreementEntitlements: [entitlement] } = await buyer.send(new GetAgreementEntitlementsCommand({ agreementId }));
  assert.equal(entitlement.status, 'PROVISIONED');
  assert.match(entitlement.licenseArn, new RegExp(`^arn:aws:license-manager::${SELLER}:license:l-[0-9a-f]{32}$`));

  // The buyer POSTs the token to the seller's registration page; the seller resolves it.
  const resolved = await metering.send(new ResolveCustomerCommand({ RegistrationToken: entitlement.registrationToken }));
  assert.equal(resolved.LicenseArn, entitlement.licenseArn);
  assert.equal(resolved.CustomerAWSAccountId, BUYER);
  assert.equal(resolved.CustomerIdentifier, undefined);
  const record = (quantity, at = NOW) => ({
    ProductCode: 'saas',
    UsageRecords: [{ Timestamp: new Date(at), CustomerAWSAccountId: BUYER, LicenseArn: resolved.LicenseArn, Dimension: 'users', Quantity: quantity }],
  });
  const metered = await metering.send(new BatchMeterUsageCommand(record(2)));
  assert.equal(metered.Results[0].Status, 'Success');

  const described = await seller.send(new DescribeAgreementCommand({ agreementId }));
  assert.equal(described.status, 'ACTIVE');
  assert.equal(described.acceptor.accountId, BUYER);
  assert.equal(described.proposer.accountId, SELLER);
  assert.equal(described.acceptanceTime.toISOString(), '2026-03-10T12:30:00.000Z');
  const { acceptedTerms } = await seller.send(new GetAgreementTermsCommand({ agreementId }));
  const usage = acceptedTerms.find((t) => t.usageBasedPricingTerm).usageBasedPricingTerm;
  assert.deepEqual(usage.rateCards[0].rateCard, [{ dimensionKey: 'users', price: '0.25' }]);
  const search = await seller.send(new SearchAgreementsCommand({
    catalog: 'AWSMarketplace',
    filters: [{ name: 'PartyType', values: ['Proposer'] }, { name: 'AgreementType', values: ['PurchaseAgreement'] }],
  }));
  assert.deepEqual(search.agreementViewSummaries.map((a) => a.agreementId), [agreementId]);
  assert.equal(search.agreementViewSummaries[0].entitlements[0].licenseArn, entitlement.licenseArn);

  // The buyer cancels: one more hour of metering, then CustomerNotSubscribed.
  await buyer.send(new CancelAgreementCommand({ agreementId }));
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId }))).status, 'CANCELLED');
  assert.equal((await metering.send(new BatchMeterUsageCommand(record(3, '2026-03-10T11:30:00Z')))).Results[0].Status, 'Success');
  const { json: { events } } = await control(url, 'GET', '/events');
  assert.deepEqual(events.map((e) => e.action), ['subscribe-success', 'unsubscribe-pending']);
  assert.equal(events[0].eventBridge[0]['detail-type'], 'Purchase Agreement Created - Proposer');
  assert.equal(events[0].eventBridge[0].detail.agreement.id, agreementId);
  await setClock(url, { frozenAt: '2026-03-10T13:31:00Z' });
  const late = await metering.send(new BatchMeterUsageCommand(record(1, '2026-03-10T13:30:00Z')));
  assert.equal(late.Results[0].Status, 'CustomerNotSubscribed');
});

test('JS SDK: a contract is configured, charged on acceptance, given a purchase order, and ends a year later', async () => {
  const url = namespaceUrl(mock, 'agreements-contract');
  await createProduct(url, {
    productCode: 'contract-saas', dimensions: ['users', 'gb'], prices: { gb: '0.10' },
    contract: { P1M: { users: '10' }, P12M: { users: '100' } },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
  });
  await setClock(url, { frozenAt: NOW });
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const [offer] = await new Control(url).offers('contract-saas');
  const requestedTerms = offer.terms.map((term) => {
    const [kind, body] = Object.entries(term)[0];
    if (kind !== 'configurableUpfrontPricingTerm') return { id: body.id };
    return { id: body.id, configuration: { configurableUpfrontPricingTermConfiguration: {
      selectorValue: 'P12M', dimensions: [{ dimensionKey: 'users', dimensionValue: 5 }],
    } } };
  });
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId, requestedTerms,
  }));
  assert.equal(quote.chargeSummary.newAgreementValue, '500.00');
  assert.equal(quote.chargeSummary.itemizedCharges[0].newQuantity, 5);
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));

  const described = await seller.send(new DescribeAgreementCommand({ agreementId }));
  assert.equal(described.endTime.toISOString(), '2027-03-10T12:30:00.000Z');
  assert.equal(described.estimatedCharges.agreementValue, '500.00');
  const { acceptedTerms } = await seller.send(new GetAgreementTermsCommand({ agreementId }));
  const validity = acceptedTerms.find((t) => t.validityTerm).validityTerm;
  assert.equal(validity.agreementDuration, 'P12M');
  assert.equal(validity.agreementEndDate.toISOString(), '2027-03-10T12:30:00.000Z');

  const { items: [charge] } = await buyer.send(new ListAgreementChargesCommand({ agreementId }));
  assert.equal(charge.amount, '500.00');
  assert.equal(charge.time.toISOString(), '2026-03-10T12:30:00.000Z');
  await buyer.send(new UpdatePurchaseOrdersCommand({ purchaseOrders: [{ chargeId: charge.id, purchaseOrderReference: 'PO-2026-17' }] }));
  const { items: [ordered] } = await buyer.send(new ListAgreementChargesCommand({}));
  assert.equal(ordered.purchaseOrderReference, 'PO-2026-17');
  const stale = await sdkError(buyer.send(new UpdatePurchaseOrdersCommand({ purchaseOrders: [{ chargeId: charge.id, chargeRevision: 7 }] })));
  assert.equal(stale.name, 'ConflictException');

  // The JS API lists it with its contract and end; after the end it has expired.
  const [listed] = await new Control(url).agreements({ productCode: 'contract-saas' });
  assert.deepEqual(listed.contract, { duration: 'P12M', quantities: { users: 5 } });
  assert.equal(listed.endsAt, '2027-03-10T12:30:00Z');
  await setClock(url, { frozenAt: '2027-03-10T12:30:00Z' });
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId }))).status, 'EXPIRED');
});

test('JS SDK: the seller asks to cancel an agreement, the buyer approves, the agreement ends', async () => {
  const url = await world('agreements-cancellation');
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const [offer] = await new Control(url).offers('saas');
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId,
    requestedTerms: offer.terms.map((term) => ({ id: Object.values(term)[0].id })),
  }));
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  const denied = await sdkError(buyer.send(new SendAgreementCancellationRequestCommand({ agreementId, reasonCode: 'OTHER' })));
  assert.equal(denied.name, 'AccessDeniedException');
  const sent = await seller.send(new SendAgreementCancellationRequestCommand({
    agreementId, reasonCode: 'INCORRECT_TERMS_ACCEPTED', description: 'the buyer meant the contract',
  }));
  assert.equal(sent.status, 'PENDING_APPROVAL');
  const { items } = await buyer.send(new ListAgreementCancellationRequestsCommand({ partyType: 'Acceptor' }));
  assert.deepEqual(items.map((i) => i.agreementCancellationRequestId), [sent.agreementCancellationRequestId]);
  const approved = await buyer.send(new AcceptAgreementCancellationRequestCommand({
    agreementId, agreementCancellationRequestId: sent.agreementCancellationRequestId,
  }));
  assert.equal(approved.status, 'APPROVED');
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId }))).status, 'CANCELLED');
  const actions = (await new Control(url).events()).map((e) => e.action);
  assert.deepEqual(actions.slice(-3), ['cancellation-request-pending-approval', 'cancellation-request-approved', 'unsubscribe-pending']);
});

/** A product `services` with a private offer for BUYER: users at $0.25, a variable payment term of up to 1,000.00. */
async function paymentWorld(name) {
  const url = namespaceUrl(mock, name);
  await createProduct(url, {
    productCode: 'services', dimensions: ['users'], prices: { users: '0.25' },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
    privateOffers: [{
      offerId: 'offer-services01', buyerAccounts: [BUYER], prices: { users: '0.25' }, variablePayment: { maxTotalChargeAmount: '1000.00' },
    }],
  });
  await setClock(url, { frozenAt: NOW });
  const offer = (await new Control(url).offers('services')).find((o) => o.offerId === 'offer-services01');
  return { url, offer };
}

test('JS SDK: payment requests under a variable payment term are approved, rejected, withdrawn, or approve themselves', async () => {
  const { url, offer } = await paymentWorld('agreements-payments');
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId,
    requestedTerms: offer.terms.map((term) => {
      const [kind, body] = Object.entries(term)[0];
      if (kind !== 'variablePaymentTerm') return { id: body.id };
      return { id: body.id, configuration: { variablePaymentTermConfiguration: {
        paymentRequestApprovalStrategy: 'AUTO_APPROVE_ON_EXPIRATION', expirationDuration: 'P10D',
      } } };
    }),
  }));
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  const { acceptedTerms } = await seller.send(new GetAgreementTermsCommand({ agreementId }));
  const term = acceptedTerms.find((t) => t.variablePaymentTerm).variablePaymentTerm;
  assert.equal(term.maxTotalChargeAmount, '1000.00');
  assert.deepEqual(term.configuration, { paymentRequestApprovalStrategy: 'AUTO_APPROVE_ON_EXPIRATION', expirationDuration: 'P10D' });

  const send = (chargeAmount, extra = {}) => seller.send(new SendAgreementPaymentRequestCommand({
    agreementId, termId: term.id, name: 'Implementation services', chargeAmount, ...extra,
  }));
  const first = await send('600.00', { clientToken: 'pay-1' });
  assert.equal(first.status, 'PENDING_APPROVAL');
  assert.equal((await send('600.00', { clientToken: 'pay-1' })).paymentRequestId, first.paymentRequestId);
  const over = await sdkError(send('400.01'));
  assert.equal(over.name, 'ValidationException');
  assert.equal(over.reason, 'INVALID_CHARGE_AMOUNT');
  const denied = await sdkError(buyer.send(new SendAgreementPaymentRequestCommand({
    agreementId, termId: term.id, name: 'Implementation services', chargeAmount: '1.00',
  })));
  assert.equal(denied.name, 'AccessDeniedException');

  const approved = await buyer.send(new AcceptAgreementPaymentRequestCommand({
    agreementId, paymentRequestId: first.paymentRequestId, purchaseOrderReference: 'PO-1',
  }));
  assert.equal(approved.status, 'APPROVED');
  const again = await sdkError(buyer.send(new AcceptAgreementPaymentRequestCommand({ agreementId, paymentRequestId: first.paymentRequestId })));
  assert.equal(again.name, 'ConflictException');
  const { chargeId } = await seller.send(new GetAgreementPaymentRequestCommand({ agreementId, paymentRequestId: first.paymentRequestId }));
  const charges = (await buyer.send(new ListAgreementChargesCommand({ agreementId }))).items;
  assert.deepEqual(charges.map((c) => [c.id, c.amount, c.purchaseOrderReference]), [[chargeId, '600.00', 'PO-1']]);

  const second = await send('100.00');
  const rejected = await buyer.send(new RejectAgreementPaymentRequestCommand({
    agreementId, paymentRequestId: second.paymentRequestId, rejectionReason: 'not agreed',
  }));
  assert.deepEqual([rejected.status, rejected.statusMessage], ['REJECTED', 'not agreed']);
  const third = await send('100.00');
  const withdrawn = await seller.send(new CancelAgreementPaymentRequestCommand({ agreementId, paymentRequestId: third.paymentRequestId }));
  assert.equal(withdrawn.status, 'CANCELLED');

  // Left pending, the fourth approves itself ten days after it was sent.
  const fourth = await send('400.00');
  await setClock(url, { frozenAt: '2026-03-20T12:30:00Z' });
  const { items } = await buyer.send(new ListAgreementPaymentRequestsCommand({ partyType: 'Acceptor', agreementId }));
  assert.deepEqual(items.map((i) => [i.paymentRequestId, i.status]), [
    [fourth.paymentRequestId, 'APPROVED'], [third.paymentRequestId, 'CANCELLED'],
    [second.paymentRequestId, 'REJECTED'], [first.paymentRequestId, 'APPROVED'],
  ]);
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId }))).estimatedCharges.agreementValue, '1000.00');
  const full = await sdkError(send('0.01'));
  assert.equal(full.reason, 'INVALID_CHARGE_AMOUNT');
});

/**
 * A month of an agreement on the payment world's private offer: usage of 10 users at $0.25 and a
 * $300.00 payment request, both in March. Returns the clients and the agreement.
 */
async function invoicedMonth(name) {
  const { url, offer } = await paymentWorld(name);
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId,
    requestedTerms: offer.terms.map((term) => ({ id: Object.values(term)[0].id })),
  }));
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  const [{ licenseArn }] = (await buyer.send(new GetAgreementEntitlementsCommand({ agreementId }))).agreementEntitlements;
  const metering = meteringClient(url, { accessKeyId: SELLER });
  const metered = await metering.send(new BatchMeterUsageCommand({
    ProductCode: 'services',
    UsageRecords: [{ Timestamp: new Date(NOW), CustomerAWSAccountId: BUYER, LicenseArn: licenseArn, Dimension: 'users', Quantity: 10 }],
  }));
  assert.equal(metered.Results[0].Status, 'Success');
  const { acceptedTerms } = await seller.send(new GetAgreementTermsCommand({ agreementId }));
  const termId = acceptedTerms.find((t) => t.variablePaymentTerm).variablePaymentTerm.id;
  const sent = await seller.send(new SendAgreementPaymentRequestCommand({ agreementId, termId, name: 'Migration work', chargeAmount: '300.00' }));
  await buyer.send(new AcceptAgreementPaymentRequestCommand({ agreementId, paymentRequestId: sent.paymentRequestId }));
  return { url, buyer, seller, agreementId };
}

test('JS SDK: a month is invoiced (the payment at once, the usage once the month closes), credited, and previewed alike', async () => {
  const { url, seller, buyer, agreementId } = await invoicedMonth('agreements-invoices');
  const list = async (extra = {}) => (await seller.send(new ListAgreementInvoiceLineItemsCommand({
    agreementId, groupBy: 'INVOICE_ID', ...extra,
  }))).agreementInvoiceLineItemGroupSummaries;
  assert.deepEqual((await list()).map((g) => g.pricingCurrencyAmount.amount), ['300.00']);
  await setClock(url, { frozenAt: '2026-04-01T06:00:00Z' });
  const groups = await list();
  assert.deepEqual(groups.map((g) => [g.invoiceType, g.pricingCurrencyAmount.amount, g.issuedTime.toISOString()]), [
    ['INVOICE', '2.50', '2026-04-01T06:00:00.000Z'], ['INVOICE', '300.00', '2026-03-10T12:30:00.000Z'],
  ]);
  const denied = await sdkError(buyer.send(new ListAgreementInvoiceLineItemsCommand({ agreementId, groupBy: 'INVOICE_ID' })));
  assert.equal(denied.name, 'AccessDeniedException');

  const payment = groups[1].invoiceId;
  const entry = (adjustmentAmount, clientToken) => ({
    agreementId, originalInvoiceId: payment, adjustmentAmount, currencyCode: 'USD', adjustmentReasonCode: /** @type {const} */ ('BUYER_DISSATISFACTION'), clientToken,
  });
  const batch = await seller.send(new BatchCreateBillingAdjustmentRequestCommand({
    billingAdjustmentRequestEntries: [entry('25.00', 'credit-1'), entry('300.00', 'too-much'), { ...entry('1.00', 'yen'), currencyCode: 'JPY' }],
  }));
  assert.deepEqual(batch.items.map((i) => i.clientToken), ['credit-1', 'too-much']);
  assert.deepEqual(batch.errors.map((e) => [e.clientToken, e.code]), [['yen', 'VALIDATION_EXCEPTION']]);
  const get = (item) => seller.send(new GetBillingAdjustmentRequestCommand({ agreementId, billingAdjustmentRequestId: item.billingAdjustmentRequestId }));
  assert.equal((await get(batch.items[0])).status, 'COMPLETED');
  assert.equal((await get(batch.items[1])).status, 'VALIDATION_FAILED');
  const [memo] = await list({ invoiceType: 'CREDIT_MEMO' });
  assert.deepEqual([memo.pricingCurrencyAmount.amount, memo.invoiceBillingPeriod], ['25.00', { month: 3, year: 2026 }]);
  assert.equal((await list({ invoiceId: payment }))[0].pricingCurrencyAmount.maxAdjustmentAmount, '275.00');

  // The bill preview of March: 2.50 + 300.00 - 25.00, what its invoices and credit memos come to.
  const bill = await new Control(url).bill({ month: '2026-03' });
  const march = await list({ invoiceBillingPeriod: { month: 3, year: 2026 } });
  const cents = (g) => Math.round(Number(g.pricingCurrencyAmount.amount) * 100) * (g.invoiceType === 'CREDIT_MEMO' ? -1 : 1);
  assert.equal(bill.charge, '277.50');
  assert.equal(march.map(cents).reduce((a, b) => a + b, 0), 27750);
  const events = (await new Control(url).events()).map((e) => e.eventBridge?.[0]?.['detail-type']).filter((d) => d?.includes('Billing'));
  assert.deepEqual(events, ['Purchase Agreement Billing Adjustment Completed - Proposer', 'Purchase Agreement Billing Adjustment Failed - Proposer']);
});

/** Every term of `offer` requested: its contract for a year of `users`, renewal opted in or not. */
function requestedTerms(offer, users, renew) {
  return offer.terms.map((term) => {
    const [kind, body] = Object.entries(term)[0];
    if (kind === 'renewalTerm') {
      return { id: body.id, configuration: { renewalTermConfiguration: { enableAutoRenew: renew } } };
    }
    if (kind !== 'configurableUpfrontPricingTerm') return { id: body.id };
    return { id: body.id, configuration: { configurableUpfrontPricingTermConfiguration: {
      selectorValue: 'P12M', dimensions: [{ dimensionKey: 'users', dimensionValue: users }],
    } } };
  });
}

test('JS SDK: a contract is amended, renews at its end and is replaced by a private offer, keeping its license', async () => {
  const url = namespaceUrl(mock, 'agreements-amend');
  await createProduct(url, {
    productCode: 'contract-saas', dimensions: ['users'], contract: { P12M: { users: '100' } },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
    privateOffers: [{ offerId: 'offer-acmerenewal01', buyerAccounts: [BUYER], contract: { P12M: { users: '80' } } }],
  });
  await setClock(url, { frozenAt: NOW });
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const control = new Control(url);
  const [offer, privateOffer] = await control.offers('contract-saas');
  const accept = async (input) => {
    const quote = await buyer.send(new CreateAgreementRequestCommand(input));
    const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
    return { quote, agreementId };
  };
  const { agreementId: first } = await accept({
    intent: 'NEW', agreementProposalIdentifier: offer.agreementProposalId, requestedTerms: requestedTerms(offer, 2, false),
  });
  const [{ licenseArn }] = await control.agreements({ productCode: 'contract-saas' });

  // One more user for the whole year left, and the renewal opted in: the same agreement.
  const amended = await accept({ intent: 'AMEND', sourceAgreementIdentifier: first, requestedTerms: requestedTerms(offer, 3, true) });
  assert.equal(amended.agreementId, first);
  assert.deepEqual(amended.quote.chargeSummary.itemizedCharges[0],
    { dimensionKey: 'users', newQuantity: 3, oldQuantity: 2, incrementalChargeAmount: '100.00' });
  assert.equal(amended.quote.chargeSummary.newAgreementValue, '300.00');
  assert.deepEqual((await seller.send(new DescribeAgreementCommand({ agreementId: first }))).endTimeBehavior, { type: 'RENEW' });
  const lowered = await sdkError(buyer.send(new CreateAgreementRequestCommand({
    intent: 'AMEND', sourceAgreementIdentifier: first, requestedTerms: requestedTerms(offer, 1, true),
  })));
  assert.equal(lowered.reason, 'INVALID_REQUESTED_TERM_CONFIGURATION');

  // At its end it renews: a new agreement of the same license; the first is RENEWED.
  await setClock(url, { frozenAt: '2027-03-10T12:30:00Z' });
  const [renewed] = await control.agreements({ productCode: 'contract-saas' });
  assert.equal(renewed.licenseArn, licenseArn);
  assert.equal(renewed.endsAt, '2028-03-10T12:30:00Z');
  assert.deepEqual(renewed.previousAgreements.map((p) => [p.agreementId, p.status]), [[first, 'RENEWED']]);
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId: first }))).status, 'RENEWED');
  const now = await seller.send(new DescribeAgreementCommand({ agreementId: renewed.agreementId }));
  assert.equal(now.initialAgreementId, first);
  assert.equal(now.estimatedCharges.agreementValue, '300.00');

  // The buyer replaces it with the private offer: another agreement, the license stays.
  const replaced = await accept({
    intent: 'REPLACE', sourceAgreementIdentifier: renewed.agreementId,
    agreementProposalIdentifier: privateOffer.agreementProposalId, requestedTerms: requestedTerms(privateOffer, 1, false),
  });
  assert.notEqual(replaced.agreementId, renewed.agreementId);
  assert.equal((await seller.send(new DescribeAgreementCommand({ agreementId: renewed.agreementId }))).status, 'REPLACED');
  const [current] = await control.agreements({ productCode: 'contract-saas' });
  assert.equal(current.agreementId, replaced.agreementId);
  assert.equal(current.licenseArn, licenseArn);
  assert.equal(current.offerId, 'offer-acmerenewal01');
  const events = (await control.events()).filter((e) => e.productCode === 'contract-saas').map((e) => e.action);
  assert.deepEqual(events.filter((a) => a.startsWith('agreement-') && a !== 'agreement-ending'),
    ['agreement-amended', 'agreement-renewed', 'agreement-replaced']);
});

test('JS SDK: a free-trial offer makes an agreement whose trial ends by the clock', async () => {
  const url = namespaceUrl(mock, 'agreements-trial');
  await createProduct(url, {
    productCode: 'trial-saas', dimensions: ['users'], prices: { users: '0.25' },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
    freeTrial: { duration: 'P14D', grants: { users: 10 } },
  });
  await setClock(url, { frozenAt: NOW });
  const buyer = agreementClient(url, BUYER);
  const seller = agreementClient(url, SELLER);
  const control = new Control(url);
  const trial = (await control.offers('trial-saas')).find((o) => o.freeTrial);
  assert.deepEqual(trial.freeTrial, { duration: 'P14D', grants: { users: 10 } });
  const quote = await buyer.send(new CreateAgreementRequestCommand({
    intent: 'NEW', agreementProposalIdentifier: trial.agreementProposalId, requestedTerms: requestedTerms(trial, 0, false),
  }));
  assert.equal(quote.chargeSummary.newAgreementValue, '0.00');
  const { agreementId } = await buyer.send(new AcceptAgreementRequestCommand({ agreementRequestId: quote.agreementRequestId }));
  // (This JS SDK's model predates freeTrialSummary; boto3 with the repo's models reads it.)
  const [listed] = await control.agreements({ productCode: 'trial-saas' });
  assert.equal(listed.trialEndsAt, '2026-03-24T12:30:00Z');
  const { acceptedTerms } = await seller.send(new GetAgreementTermsCommand({ agreementId }));
  assert.deepEqual(acceptedTerms.find((t) => t.freeTrialPricingTerm).freeTrialPricingTerm.grants,
    [{ dimensionKey: 'users', maxQuantity: 10 }]);
  await setClock(url, { frozenAt: '2026-03-24T12:30:00Z' });
  const actions = (await control.events()).filter((e) => e.productCode === 'trial-saas').map((e) => e.action);
  assert.deepEqual(actions, ['subscribe-success', 'free-trial-ended']);
});

/** Runs a boto3 script with the repo's models on AWS_DATA_PATH; returns its printed JSON. */
function boto3(url, script) {
  const env = awsClientEnv({
    AWS_DATA_PATH: dataPath,
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
  });
  const program = [
    'import json, boto3, botocore.exceptions',
    'def error(call, **kwargs):',
    '    try:',
    '        call(**kwargs)',
    '    except botocore.exceptions.ClientError as e:',
    '        return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "reason": e.response.get("reason"), "fields": e.response.get("fields"), "message": e.response["Error"]["Message"]}',
    '    return None',
    script,
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', program], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

test('boto3 over awsJson1_0 and rpc-v2-cbor reads the same modeled errors', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const out = await boto3(namespaceUrl(mock, 'agreements-py'), [
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    c = boto3.client(name)',
    '    out[name] = [error(c.describe_agreement, agreementId="x" * 65), error(c.describe_agreement, agreementId="agmt-1234567890123456789012345")]',
    '# A Discovery operation without behaviour yet says so.',
    'out["unserved"] = error(boto3.client("marketplace-discovery").get_listing, listingId="listing-1234567890")',
    'print(json.dumps(out))',
  ].join('\n'));
  const { unserved, ...agreementClients } = out;
  for (const [name, [tooLong, missing]] of Object.entries(agreementClients)) {
    assert.equal(tooLong.code, 'ValidationException', name);
    assert.equal(tooLong.status, 400, name);
    assert.match(tooLong.message, /length less than or equal to 64/, name);
    assert.equal(missing.code, 'ResourceNotFoundException', name);
    assert.equal(missing.status, 404, name);
  }
  assert.equal(unserved.code, 'ValidationException');
  assert.match(unserved.message, /GetListing is not served by metering-mock yet/);
  // The request journal shows each client spoke its own protocol.
  const { json } = await control(namespaceUrl(mock, 'agreements-py'), 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'DescribeAgreement').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 over both protocols: a contract quoted, charged, given a purchase order, its contact read', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = namespaceUrl(mock, 'agreements-py-contract');
  await createProduct(url, {
    productCode: 'contract-saas', dimensions: ['users'], contract: { P12M: { users: '100' } },
    integration: 'concurrent-agreements', sellerAccountId: SELLER,
  });
  await setClock(url, { frozenAt: NOW });
  const [offer] = await new Control(url).offers('contract-saas');
  const out = await boto3(url, [
    'contact = {"firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@example.com", "companyName": "Engines", "countryCode": "GB"}',
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    buyer = boto3.client(name, aws_access_key_id="111122223333", aws_secret_access_key="test")',
    '    seller = boto3.client(name, aws_access_key_id="999988887777", aws_secret_access_key="test")',
    `    terms = ${JSON.stringify(offer.terms)}`,
    '    def requested(term):',
    '        kind, body = next(iter(term.items()))',
    '        if kind != "configurableUpfrontPricingTerm":',
    '            return {"id": body["id"]}',
    '        return {"id": body["id"], "configuration": {"configurableUpfrontPricingTermConfiguration": {',
    '            "selectorValue": "P12M", "dimensions": [{"dimensionKey": "users", "dimensionValue": 2}]}}}',
    `    quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="${offer.agreementProposalId}", requestedTerms=[requested(t) for t in terms], acceptorContact=contact)`,
    '    aid = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]',
    '    charge = buyer.list_agreement_charges(agreementId=aid)["items"][0]',
    '    buyer.update_purchase_orders(purchaseOrders=[{"chargeId": charge["id"], "chargeRevision": charge["revision"], "purchaseOrderReference": "PO-" + name}])',
    '    after = buyer.list_agreement_charges(agreementId=aid)["items"][0]',
    '    out[name] = {"value": quote["chargeSummary"]["newAgreementValue"], "amount": charge["amount"], "time": charge["time"].isoformat(),',
    '        "po": after.get("purchaseOrderReference"), "contact": seller.get_agreement_contacts(agreementId=aid)["acceptorContact"] == contact,',
    '        "stale": error(buyer.update_purchase_orders, purchaseOrders=[{"chargeId": charge["id"], "chargeRevision": 9}]),',
    '        "stranger": error(boto3.client(name, aws_access_key_id="444455556666", aws_secret_access_key="test").get_agreement_contacts, agreementId=aid)}',
    'print(json.dumps(out))',
  ].join('\n'));
  for (const [name, r] of Object.entries(out)) {
    assert.equal(r.value, '200.00', name);
    assert.equal(r.amount, '200.00', name);
    assert.equal(r.time, '2026-03-10T12:30:00+00:00', name);
    assert.equal(r.po, `PO-${name}`, name);
    assert.equal(r.contact, true, name);
    assert.equal(r.stale.code, 'ConflictException', name);
    assert.equal(r.stale.status, 409, name);
    assert.equal(r.stranger.code, 'ResourceNotFoundException', name);
  }
  // The journal shows each client spoke its own protocol.
  const { json } = await control(url, 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'UpdatePurchaseOrders').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 plays the buyer: Discovery over rest-json, then the buyer\'s path and the seller\'s reads over rpc-v2-cbor', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = await world('agreements-py-journey');
  const { json } = await control(url, 'GET', '/products/saas');
  const out = await boto3(url, [
    'discovery = boto3.client("marketplace-discovery", aws_access_key_id="111122223333", aws_secret_access_key="test")',
    'buyer = boto3.client("marketplace-agreement-cbor", aws_access_key_id="111122223333", aws_secret_access_key="test")',
    'options = discovery.list_purchase_options(filters=[{"filterType": "PRODUCT_ID", "filterValues": ["saas"]}])["purchaseOptions"]',
    'offer = discovery.get_offer(offerId=options[0]["purchaseOptionId"])',
    'contact = {"firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@example.com", "companyName": "Engines", "countryCode": "GB"}',
    'terms = discovery.get_offer_terms(offerId=offer["offerId"])["offerTerms"]',
    'ids = [{"id": list(t.values())[0]["id"]} for t in terms]',
    'quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier=offer["agreementProposalId"], requestedTerms=ids, acceptorContact=contact)',
    'agreement = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])',
    'aid = agreement["agreementId"]',
    'described = buyer.describe_agreement(agreementId=aid)',
    'requests = buyer.list_agreement_requests()["items"]',
    'request_terms = buyer.get_agreement_request_terms(agreementRequestId=quote["agreementRequestId"])["terms"]',
    'entitlement = buyer.get_agreement_entitlements(agreementId=aid)["agreementEntitlements"][0]',
    'accepted_terms = buyer.get_agreement_terms(agreementId=aid)["acceptedTerms"]',
    'filters = [{"name": "PartyType", "values": ["Acceptor"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}]',
    'found = buyer.search_agreements(filters=filters)["agreementViewSummaries"]',
    'contacts = buyer.get_agreement_contacts(agreementId=aid)',
    'charges = buyer.list_agreement_charges(agreementId=aid)["items"]',
    'buyer.cancel_agreement(agreementId=aid)',
    'second = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier=offer["agreementProposalId"], requestedTerms=ids)',
    'buyer.cancel_agreement_request(agreementRequestId=second["agreementRequestId"])',
    'print(json.dumps({"offer": options[0]["purchaseOptionId"] == offer["offerId"], "offerId": offer["offerId"], "contact": contacts["acceptorContact"] == contact,',
    '  "charges": charges, "terms": [list(t.keys())[0] for t in terms], "status": described["status"], "accepted": described["acceptanceTime"].isoformat(),',
    '  "requests": [r["status"] for r in requests], "requestTerms": len(request_terms), "entitlement": entitlement["status"], "token": bool(entitlement.get("registrationToken")),',
    '  "acceptedTerms": len(accepted_terms), "found": [a["agreementId"] == aid for a in found], "after": buyer.describe_agreement(agreementId=aid)["status"],',
    '  "second": buyer.get_agreement_request(agreementRequestId=second["agreementRequestId"])["status"],',
    '  "conflict": error(buyer.cancel_agreement, agreementId=aid),',
    '  "missing": error(discovery.get_offer, offerId="offer-nope"), "invalid": error(discovery.get_offer, offerId="offer 1")}))',
  ].join('\n'));
  assert.equal(out.offer, true);
  assert.equal(out.offerId, json.offers[0].offerId);
  assert.equal(out.contact, true);
  assert.deepEqual(out.charges, []); // pay-as-you-go: nothing charged up front
  assert.deepEqual(out.terms, ['legalTerm', 'supportTerm', 'usageBasedPricingTerm']);
  assert.equal(out.status, 'ACTIVE');
  assert.equal(out.accepted, '2026-03-10T12:30:00+00:00');
  assert.deepEqual(out.requests, ['ACCEPTED']);
  assert.equal(out.requestTerms, 3);
  assert.equal(out.entitlement, 'PROVISIONED');
  assert.equal(out.token, true);
  assert.equal(out.acceptedTerms, 3);
  assert.deepEqual(out.found, [true]);
  assert.equal(out.after, 'CANCELLED');
  assert.equal(out.second, 'CANCELLED');
  assert.equal(out.conflict.code, 'ConflictException');
  assert.equal(out.conflict.status, 409);
  assert.equal(out.missing.code, 'ResourceNotFoundException');
  assert.equal(out.missing.status, 404);
  assert.equal(out.invalid.code, 'ValidationException');
  assert.match(out.invalid.message, /regular expression pattern/);
});

test('boto3 over both protocols reads a free-trial agreement\'s trial end', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = namespaceUrl(mock, 'agreements-py-trial');
  await createProduct(url, {
    productCode: 'trial-saas', dimensions: ['users'], integration: 'concurrent-agreements', sellerAccountId: SELLER,
    freeTrial: { duration: 'P30D', grants: { users: null } },
  });
  await setClock(url, { frozenAt: NOW });
  const trial = (await new Control(url).offers('trial-saas')).find((o) => o.freeTrial);
  const ids = trial.terms.map((term) => ({ id: Object.values(term)[0].id }));
  const out = await boto3(url, [
    'out = {}',
    '# One trial per account: each protocol plays its own buyer.',
    'for name, account in [("marketplace-agreement", "111122223333"), ("marketplace-agreement-cbor", "444455556666")]:',
    '    buyer = boto3.client(name, aws_access_key_id=account, aws_secret_access_key="test")',
    `    quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="${trial.agreementProposalId}", requestedTerms=${JSON.stringify(ids)})`,
    '    aid = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]',
    '    described = buyer.describe_agreement(agreementId=aid)',
    '    out[name] = {"end": described["freeTrialSummary"]["trialEndTime"].isoformat(), "offer": described["proposalSummary"]["offerId"]}',
    'print(json.dumps(out))',
  ].join('\n'));
  assert.deepEqual(Object.keys(out).sort(), ['marketplace-agreement', 'marketplace-agreement-cbor']);
  for (const [name, r] of Object.entries(out)) {
    assert.equal(r.end, '2026-04-09T12:30:00+00:00', name);
    assert.equal(r.offer, trial.offerId, name);
  }
});

test('boto3 over both protocols: a payment request sent, listed, approved with a purchase order and charged', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const { url, offer } = await paymentWorld('agreements-py-payments');
  const out = await boto3(url, [
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    buyer = boto3.client(name, aws_access_key_id="111122223333", aws_secret_access_key="test")',
    '    seller = boto3.client(name, aws_access_key_id="999988887777", aws_secret_access_key="test")',
    `    terms = [{"id": next(iter(t.values()))["id"]} for t in ${JSON.stringify(offer.terms)}]`,
    `    quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="${offer.agreementProposalId}", requestedTerms=terms)`,
    '    aid = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]',
    '    term = next(t["variablePaymentTerm"] for t in seller.get_agreement_terms(agreementId=aid)["acceptedTerms"] if "variablePaymentTerm" in t)',
    '    sent = seller.send_agreement_payment_request(agreementId=aid, termId=term["id"], name="Implementation services", chargeAmount="250.5", clientToken="py-" + name)',
    '    pid = sent["paymentRequestId"]',
    '    listed = seller.list_agreement_payment_requests(partyType="Proposer", agreementId=aid)["items"]',
    '    accepted = buyer.accept_agreement_payment_request(agreementId=aid, paymentRequestId=pid, purchaseOrderReference="PO-" + name)',
    '    got = seller.get_agreement_payment_request(agreementId=aid, paymentRequestId=pid)',
    '    charge = buyer.list_agreement_charges(agreementId=aid)["items"][0]',
    '    out[name] = {"strategy": term["configuration"]["paymentRequestApprovalStrategy"], "sent": sent["status"], "amount": sent["chargeAmount"],',
    '        "listed": [i["paymentRequestId"] for i in listed] == [pid], "accepted": accepted["status"], "created": got["createdAt"].isoformat(),',
    '        "charge": [charge["id"] == got["chargeId"], charge["amount"], charge.get("purchaseOrderReference")],',
    '        "again": error(buyer.reject_agreement_payment_request, agreementId=aid, paymentRequestId=pid),',
    '        "stranger": error(boto3.client(name, aws_access_key_id="444455556666", aws_secret_access_key="test").get_agreement_payment_request, agreementId=aid, paymentRequestId=pid)}',
    'print(json.dumps(out))',
  ].join('\n'));
  assert.deepEqual(Object.keys(out).sort(), ['marketplace-agreement', 'marketplace-agreement-cbor']);
  for (const [name, r] of Object.entries(out)) {
    assert.equal(r.strategy, 'WAIT_FOR_APPROVAL', name);
    assert.deepEqual([r.sent, r.amount, r.listed, r.accepted], ['PENDING_APPROVAL', '250.50', true, 'APPROVED'], name);
    assert.equal(r.created, '2026-03-10T12:30:00+00:00', name);
    assert.deepEqual(r.charge, [true, '250.50', `PO-${name}`], name);
    assert.equal(r.again.code, 'ConflictException', name);
    assert.equal(r.again.status, 409, name);
    assert.equal(r.stranger.code, 'ResourceNotFoundException', name);
  }
  const { json } = await control(url, 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'AcceptAgreementPaymentRequest').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 over both protocols: invoices listed and filtered, an adjustment credited and read', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const { url, agreementId } = await invoicedMonth('agreements-py-invoices');
  await setClock(url, { frozenAt: '2026-04-02T00:00:00Z' });
  const out = await boto3(url, [
    'out = {}',
    'seller_json = boto3.client("marketplace-agreement", aws_access_key_id="999988887777", aws_secret_access_key="test")',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    seller = boto3.client(name, aws_access_key_id="999988887777", aws_secret_access_key="test")',
    `    aid = "${agreementId}"`,
    '    groups = seller.list_agreement_invoice_line_items(agreementId=aid, groupBy="INVOICE_ID", invoiceType="INVOICE")["agreementInvoiceLineItemGroupSummaries"]',
    '    usage = next(g for g in groups if g["pricingCurrencyAmount"]["amount"] == "2.50")',
    '    made = seller.batch_create_billing_adjustment_request(billingAdjustmentRequestEntries=[{"agreementId": aid, "originalInvoiceId": usage["invoiceId"],',
    '        "adjustmentAmount": "1.25", "currencyCode": "USD", "adjustmentReasonCode": "INCORRECT_METERING", "description": "double-counted", "clientToken": "py-" + name[-4:]}])',
    '    bid = made["items"][0]["billingAdjustmentRequestId"]',
    '    got = seller.get_billing_adjustment_request(agreementId=aid, billingAdjustmentRequestId=bid)',
    '    listed = seller.list_billing_adjustment_requests(agreementId=aid)["items"]',
    '    april = seller.list_agreement_invoice_line_items(agreementId=aid, groupBy="INVOICE_ID", invoiceBillingPeriod={"month": 4, "year": 2026})["agreementInvoiceLineItemGroupSummaries"]',
    '    out[name] = {"types": sorted(g["invoiceType"] for g in groups), "issued": usage["issuedTime"].isoformat(), "errors": made["errors"],',
    '        "status": got["status"], "description": got["description"], "listed": bid in [i["billingAdjustmentRequestId"] for i in listed], "april": april}',
    'memos = seller_json.list_agreement_invoice_line_items(agreementId=aid, groupBy="INVOICE_ID", invoiceType="CREDIT_MEMO")["agreementInvoiceLineItemGroupSummaries"]',
    'out["memos"] = sorted(g["pricingCurrencyAmount"]["amount"] for g in memos)',
    'print(json.dumps(out))',
  ].join('\n'));
  for (const name of ['marketplace-agreement', 'marketplace-agreement-cbor']) {
    const r = out[name];
    assert.deepEqual(r.types, ['INVOICE', 'INVOICE'], name);
    assert.equal(r.issued, '2026-04-01T06:00:00+00:00', name);
    assert.deepEqual(r.errors, [], name);
    assert.deepEqual([r.status, r.description, r.listed, r.april], ['COMPLETED', 'double-counted', true, []], name);
  }
  // Each protocol's adjustment credited the usage invoice once: 1.25 of its 2.50.
  assert.deepEqual(out.memos, ['1.25', '1.25']);
  const { json } = await control(url, 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'BatchCreateBillingAdjustmentRequest').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 over both protocols plays the buyer\'s organization: plans, approvals started, decided, the request accepted', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const url = namespaceUrl(mock, 'agreements-py-approvals');
  await createProduct(url, {
    productCode: 'saas', dimensions: ['users'], prices: { users: '0.25' }, integration: 'concurrent-agreements', sellerAccountId: SELLER,
  });
  const admin = '777766665555';
  const patched = await control(url, 'PATCH', '/settings', { approvalPlans: [{
    name: 'Procurement review', buyerAccounts: [BUYER], administrators: [admin],
    levels: [{ approvers: [{ organizationId: 'o-abcdefghij' }] }, { approvers: [{ emailAddress: 'cfo@example.com' }] }],
  }] });
  assert.equal(patched.status, 200);
  const [offer] = await new Control(url).offers('saas');
  const ids = offer.terms.map((term) => ({ id: Object.values(term)[0].id }));
  const out = await boto3(url, [
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    buyer = boto3.client(name, aws_access_key_id="111122223333", aws_secret_access_key="test")',
    `    org = boto3.client(name, aws_access_key_id="${admin}", aws_secret_access_key="test")`,
    `    quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="${offer.agreementProposalId}", requestedTerms=${JSON.stringify(ids)})`,
    '    rid = quote["agreementRequestId"]',
    '    plan = buyer.get_agreement_request_approval_plans(agreementRequestId=rid)["items"][0]["buyerAgreementApprovalPlan"]',
    '    started = buyer.start_agreement_approvals(agreementRequestId=rid, planInputs=[{"buyerAgreementApprovalPlanInput": {"planReference": plan["planReference"]}}])',
    '    aid = started["approvalSummaries"][0]["agreementApprovalId"]',
    '    early = error(buyer.accept_agreement_request, agreementRequestId=rid)',
    '    listed = [a["agreementApprovalId"] for a in org.list_agreement_approvals(partyType="AWS_ORGANIZATION_ADMIN")["items"]]',
    '    org.accept_agreement_approval(buyerAgreementApprovalApproverInput={"agreementApprovalId": aid})',
    '    cfo = org.get_agreement_approval(agreementApprovalId=aid)["buyerAgreementApproval"]["levels"][1]["groups"][0]["approvers"][0]["emailApproverOutcome"]',
    '    org.accept_agreement_approval(buyerAgreementApprovalApproverInput={"agreementApprovalId": aid, "approverOutcomeIdToOverride": cfo["approverOutcomeId"]})',
    '    approval = buyer.get_agreement_approval(agreementApprovalId=aid)["buyerAgreementApproval"]',
    '    agreement = buyer.accept_agreement_request(agreementRequestId=rid)["agreementId"]',
    '    out[name] = {"draft": [quote["status"], quote["approvalRequirement"]], "early": early["reason"], "listed": aid in listed,',
    '        "approved": approval["status"], "agreement": agreement.startswith("agmt-"),',
    '        "needed": [(approval["approvalNeededBy"] - approval["createdAt"]).days, approval["approvalNeededBy"] == approval["expiresAt"]]}',
    'print(json.dumps(out))',
  ].join('\n'));
  assert.deepEqual(Object.keys(out).sort(), ['marketplace-agreement', 'marketplace-agreement-cbor']);
  for (const [name, r] of Object.entries(out)) {
    assert.deepEqual(r, {
      draft: ['DRAFT', 'REQUIRED'], early: 'PENDING_APPROVAL_AGREEMENT_REQUEST', listed: true, approved: 'APPROVED', needed: [30, true], agreement: true,
    }, name);
  }
  const { json } = await control(url, 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'AcceptAgreementApproval').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});

test('boto3 over both protocols: the seller asks to cancel, the buyer rejects, then approves; a payment request is withdrawn', async (t) => {
  if (missingClient(t, hasBoto3, 'boto3')) return;
  const { url, offer } = await paymentWorld('agreements-py-cancellations');
  const out = await boto3(url, [
    'out = {}',
    'for name in ["marketplace-agreement", "marketplace-agreement-cbor"]:',
    '    buyer = boto3.client(name, aws_access_key_id="111122223333", aws_secret_access_key="test")',
    '    seller = boto3.client(name, aws_access_key_id="999988887777", aws_secret_access_key="test")',
    `    terms = [{"id": next(iter(t.values()))["id"]} for t in ${JSON.stringify(offer.terms)}]`,
    `    quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="${offer.agreementProposalId}", requestedTerms=terms)`,
    '    aid = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]',
    '    term = next(t["variablePaymentTerm"]["id"] for t in seller.get_agreement_terms(agreementId=aid)["acceptedTerms"] if "variablePaymentTerm" in t)',
    '    pay = seller.send_agreement_payment_request(agreementId=aid, termId=term, name="Setup work", chargeAmount="10.00")',
    '    withdrawn = seller.cancel_agreement_payment_request(agreementId=aid, paymentRequestId=pay["paymentRequestId"])',
    '    first = seller.send_agreement_cancellation_request(agreementId=aid, reasonCode="INCORRECT_TERMS_ACCEPTED", description="wrong offer")',
    '    rejected = buyer.reject_agreement_cancellation_request(agreementId=aid, agreementCancellationRequestId=first["agreementCancellationRequestId"], rejectionReason="still needed")',
    '    second = seller.send_agreement_cancellation_request(agreementId=aid, reasonCode="OTHER")',
    '    listed = [r["status"] for r in buyer.list_agreement_cancellation_requests(partyType="Acceptor", agreementId=aid)["items"]]',
    '    approved = buyer.accept_agreement_cancellation_request(agreementId=aid, agreementCancellationRequestId=second["agreementCancellationRequestId"])',
    '    out[name] = {"withdrawn": withdrawn["status"], "rejected": [rejected["status"], rejected["statusMessage"]], "listed": listed,',
    '        "approved": approved["status"], "agreement": seller.describe_agreement(agreementId=aid)["status"],',
    '        "again": error(buyer.accept_agreement_cancellation_request, agreementId=aid, agreementCancellationRequestId=second["agreementCancellationRequestId"])["code"]}',
    'print(json.dumps(out))',
  ].join('\n'));
  for (const name of ['marketplace-agreement', 'marketplace-agreement-cbor']) {
    assert.deepEqual(out[name], {
      withdrawn: 'CANCELLED', rejected: ['REJECTED', 'still needed'], listed: ['PENDING_APPROVAL', 'REJECTED'],
      approved: 'APPROVED', agreement: 'CANCELLED', again: 'ConflictException',
    }, name);
  }
  const { json } = await control(url, 'GET', '/requests');
  const protocols = new Set(json.requests.filter((e) => e.operation === 'AcceptAgreementCancellationRequest').map((e) => e.protocol));
  assert.deepEqual([...protocols].sort(), ['awsJson1_0', 'rpcv2Cbor']);
});
