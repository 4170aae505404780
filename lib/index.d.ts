// Types of the metering-mock package's JS API (lib/index.mjs).

/** A product document of the control API (POST /_mock/products). */
/**
 * A product's offer: what Discovery's GetOffer and GetOfferTerms show and the Agreement
 * Service's CreateAgreementRequest names (`agreementProposalIdentifier`, `requestedTerms` by id).
 */
export interface Offer {
  /** The product the offer sells. */
  productCode: string;
  offerId: string;
  visibility: 'public' | 'private';
  /** A private offer's buyers, name and expiry. */
  buyerAccounts?: string[];
  name?: string;
  expiresAt?: string;
  /** A free-trial offer's trial, as the product gives it. */
  freeTrial?: Product['freeTrial'];
  agreementProposalId: string;
  productId: string;
  /** The seller's account (the product's sellerAccountId, else 123456789012). */
  proposer: string;
  /** Each term as the AcceptedTerm union: exactly one of these keys. */
  terms: Array<{
    legalTerm?: { type: 'LegalTerm'; id: string; documents: Array<{ type: string; url: string; version?: string }> };
    supportTerm?: { type: 'SupportTerm'; id: string; refundPolicy: string };
    usageBasedPricingTerm?: {
      type: 'UsageBasedPricingTerm'; id: string; currencyCode: string;
      rateCards: Array<{ rateCard: Array<{ dimensionKey: string; price: string }> }>;
    };
    /** A contract offer's term: a rate card per duration, configured by the buyer. */
    configurableUpfrontPricingTerm?: {
      type: 'ConfigurableUpfrontPricingTerm'; id: string; currencyCode: string;
      rateCards: Array<{
        selector: { type: 'Duration'; value: string };
        constraints: { multipleDimensionSelection: string; quantityConfiguration: string };
        rateCard: Array<{ dimensionKey: string; price: string }>;
      }>;
    };
    /** A public contract offer's renewal term. */
    renewalTerm?: { type: 'RenewalTerm'; id: string };
    /** A free-trial offer's term: its days and what is free (no maxQuantity: unlimited). */
    freeTrialPricingTerm?: {
      type: 'FreeTrialPricingTerm'; id: string; duration: string;
      grants: Array<{ dimensionKey: string; maxQuantity?: number }>;
    };
    /** A private offer's variable payment term: payment requests up to the maximum. */
    variablePaymentTerm?: { type: 'VariablePaymentTerm'; id: string; currencyCode: string; maxTotalChargeAmount: string };
  }>;
}

export interface Product {
  productCode: string;
  dimensions: string[];
  sellerAccountId?: string;
  integration?: 'legacy' | 'concurrent-agreements';
  regions?: string[];
  fulfillmentUrl?: string;
  /** `eventbridge-acceptor`: the buyer's `- Acceptor` agreement events. */
  webhooks?: { url: string; format?: 'sns' | 'eventbridge' | 'eventbridge-acceptor' }[];
  /** Price per unit (USD, decimal text) of some dimensions. */
  prices?: Record<string, string>;
  /** Contract pricing: duration (`P12M`) → dimension → price per unit for that duration. */
  contract?: Record<string, Record<string, string>>;
  /** Offers for some buyer accounts only, with their own prices. */
  privateOffers?: PrivateOffer[];
  /** A free-trial offer beside the public one (a contract starts when the trial ends): `P7D`–`P90D`,
   *  and the units of each granted dimension that are free (`null`: unlimited). */
  freeTrial?: { duration: string; grants: Record<string, number | null> };
  customers?: Customer[];
}

export interface PrivateOffer {
  /** `offer-` and 1-58 letters or digits; derived when absent. */
  offerId?: string;
  name?: string;
  buyerAccounts: string[];
  prices?: Record<string, string>;
  contract?: Record<string, Record<string, string>>;
  /** A variable payment term: the seller may charge up to this much (USD, `"5000.00"`) in
   *  total by payment requests the buyer approves. */
  variablePayment?: { maxTotalChargeAmount: string };
  /** RFC 3339: after it the offer can no longer be accepted. */
  expiresAt?: string;
}

export interface Customer {
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  subscription?: 'pending' | 'subscribed' | 'subscribe-failed' | 'unsubscribe-pending' | 'unsubscribed';
  agreementId?: string;
  offerIdentifier?: string;
  freeTrial?: boolean;
  entitlements?: Entitlement[];
  /** The buyer's contact on the agreement (GetAgreementContacts). */
  acceptorContact?: AcceptorContact;
  /** The contract the buyer chose (a product with `contract` pricing). */
  contract?: ContractChoice;
  /** When the agreement was accepted (RFC 3339). */
  acceptedAt?: string;
  /** When the agreement ends (RFC 3339); none: it never does. */
  endsAt?: string;
  /** The agreement's Ending/end notices up to this time (RFC 3339) are done. */
  milestonesNotifiedThrough?: string;
  /** What the agreement charged (ListAgreementCharges). */
  charges?: Array<AgreementCharge>;
  /** Whether the buyer opted in to the contract's renewal at its end. */
  autoRenew?: boolean;
  /** How the buyer approves payment requests (an offer with a variable payment term). */
  variablePayment?: VariablePaymentChoice;
  /** When the agreement's free trial ends (RFC 3339). */
  trialEndsAt?: string;
  /** What its contract charges when the free trial ends (USD). */
  trialCharge?: string;
  /** The first agreement of the license's chain of renewals and replacements. */
  initialAgreementId?: string;
  /** The agreements of this license that renewals or replacements ended (at most 5). */
  previousAgreements?: Array<{
    agreementId: string;
    status: 'RENEWED' | 'REPLACED';
    acceptedAt: string;
    endedAt: string;
    offerIdentifier?: string;
    contract?: ContractChoice;
    autoRenew?: boolean;
    variablePayment?: VariablePaymentChoice;
    charges?: Array<AgreementCharge>;
  }>;
}

/** How a buyer approves payment requests: itself, or by themselves after `expiration` (`P10D`). */
export interface VariablePaymentChoice {
  strategy: 'WAIT_FOR_APPROVAL' | 'AUTO_APPROVE_ON_EXPIRATION';
  expiration?: string;
}

export interface AgreementCharge {
  id: string;
  revision: number;
  amount: string;
  at: string;
  purchaseOrderReference?: string;
  /** The payment request whose approval made it (it counts against the term's maximum). */
  paymentRequestId?: string;
}

/** A duration (`P12M`) and the units of each dimension bought up front. */
export interface ContractChoice {
  duration: string;
  quantities: Record<string, number>;
}

/** An agreement as GET /_mock/agreements lists it. */
export interface Agreement {
  agreementId: string;
  productCode: string;
  status: 'ACTIVE' | 'CANCELLED' | 'EXPIRED' | 'TERMINATED';
  /** The buyer's account. */
  acceptor?: string;
  /** The seller's account. */
  proposer: string;
  offerId: string;
  licenseArn?: string;
  entitlementStatus: 'PENDING' | 'PROVISIONED' | 'FAILED' | 'DEPROVISIONED';
  entitlementStatusReason: string;
  subscription: Customer['subscription'];
  acceptedAt?: string;
  /** A contract's end (RFC 3339). */
  endsAt?: string;
  contract?: ContractChoice;
  acceptorContact?: AcceptorContact;
  /** A contract's renewal choice. */
  autoRenew?: boolean;
  /** When its free trial ends (RFC 3339). */
  trialEndsAt?: string;
  /** The license's earlier agreements, ended by a renewal or replacement. */
  previousAgreements?: Array<{ agreementId: string; status: 'RENEWED' | 'REPLACED'; endedAt: string }>;
}

/** `GET /_mock/agreement-activity`: each list newest first; members without a value left out. */
export interface AgreementActivity {
  /** The Deployment Service's parameters, newest first: names and sizes, never a secret. */
  deploymentParameters: Array<{
    deploymentParameterId: string; agreementId: string; name: string; productCode: string; resourceArn: string;
    /** Versions put so far, and the length in bytes of the latest one's secret. */
    versions: number; secretBytes: number; tags: Record<string, string>;
    createdAt: string; updatedAt: string; expiresAt?: string;
  }>;
  /** Data-as-a-service configuration jobs, newest first (none when filtered by agreement). */
  deploymentConfigurationJobs: Array<{
    jobId: string; productCode: string; status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED'; fulfillmentUrl: string;
    createdAt: string; endsAt: string; errorCode?: string; message?: string;
  }>;
  cancellationRequests: Array<{
    agreementCancellationRequestId: string; agreementId: string; status: string; reasonCode: string;
    description?: string; statusMessage?: string; createdAt: string; updatedAt: string;
    /** While pending, when it is approved by itself. */
    autoApprovalAt?: string;
  }>;
  paymentRequests: Array<{
    paymentRequestId: string; agreementId: string; status: string; name: string; description?: string;
    chargeAmount: string; currencyCode: 'USD'; chargeId?: string; statusMessage?: string; createdAt: string; updatedAt: string;
    /** While pending, when it approves itself (the buyer chose AUTO_APPROVE_ON_EXPIRATION). */
    autoApprovalAt?: string;
  }>;
  billingAdjustments: Array<{
    billingAdjustmentRequestId: string; agreementId: string; originalInvoiceId: string; adjustmentAmount: string;
    status: 'COMPLETED' | 'VALIDATION_FAILED'; adjustmentReasonCode: string; statusMessage?: string; createdAt: string;
  }>;
  invoices: Array<{
    invoiceId: string; agreementId: string; invoiceType: 'INVOICE' | 'CREDIT_MEMO'; billingPeriod: string;
    amount: string; issuedAt: string; originalInvoiceId?: string;
  }>;
  approvals: Array<{
    agreementApprovalId: string; agreementRequestId: string; name: string; status: string; createdAt: string; expiresAt: string;
  }>;
}

/** An agreement request as GET /_mock/agreement-requests lists it. */
export interface AgreementRequest {
  agreementRequestId: string;
  status: 'DRAFT' | 'PENDING_APPROVAL' | 'APPROVED' | 'ACCEPTED' | 'REJECTED' | 'CANCELLED';
  intent: 'NEW' | 'AMEND' | 'REPLACE';
  productCode: string;
  offerId: string;
  /** The buyer's account (the wildcard caller: its access key id, or `sha256:<hex>` of a longer one). */
  requester: string;
  createdAt: string;
  /** What it charges (USD): a contract's price (on acceptance; after a free trial, when the
   *  trial ends), an amendment's prorated part. */
  charge: string;
  /** The agreement its acceptance made or amended. */
  agreementId?: string;
  /** The agreement an AMEND or REPLACE acts on. */
  sourceAgreementId?: string;
}

export interface AcceptorContact {
  firstName: string;
  lastName: string;
  emailAddress: string;
  /** The buyer's company. */
  companyName: string;
  /** ISO 3166 two-letter code, e.g. "GB". */
  countryCode: string;
}

export interface Entitlement {
  dimension: string;
  value: { integerValue: number } | { doubleValue: number } | { booleanValue: boolean } | { stringValue: string };
  expirationDate?: string;
}

/** What POST /_mock/seed and a reset to a document take. */
export interface SeedDocument {
  products?: Product[];
  settings?: Record<string, unknown>;
}

/** A record of the namespace's ledger (GET /_mock/usage). */
export interface UsageRecord {
  meteringRecordId: string;
  operation: 'MeterUsage' | 'BatchMeterUsage';
  productCode: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  dimension: string;
  hour: string;
  timestamp: string;
  quantity: string;
  receivedAt: string;
  caller: string;
  /** MeterUsage with a session token: a digest of it (the instance, task or pod). */
  session?: string;
  /** MeterUsage with `X-Mock-Task-Id`: the instance it named. */
  task?: string;
  region: string;
  requestId: string;
  [field: string]: unknown;
}

/** One AWS call of the namespace, as the request journal keeps it. */
export interface JournalEntry {
  seq: number;
  requestId: string;
  receivedAt: string;
  namespaceTime?: string;
  protocol: 'awsJson1_1' | 'rpcv2Cbor';
  operation?: string;
  caller: { accessKeyId?: string; identity?: string; region?: string; session?: string };
  signatureVerified: boolean;
  productCode?: string;
  customers?: string[];
  /** The input as JSON; a large one as { truncated: true, bytes, start }. */
  request?: unknown;
  status: number;
  error?: { code: string; message: string };
  response?: unknown;
  /** The ledger records the call wrote; `[]` when none. */
  recordsWritten: string[];
}

/** The bill preview of a month. */
export interface Bill {
  month: string;
  currency: 'USD';
  /** The sum of every customer's charge. */
  charge: string;
  customers: Array<{
    productCode: string;
    customerIdentifier?: string;
    customerAWSAccountId?: string;
    licenseArn?: string;
    knownCustomer: boolean;
    freeTrial: boolean;
    /** The agreement the usage is invoiced to (a concurrent-agreements customer's). */
    agreementId?: string;
    /** The sum of the lines' charges; in a month an agreement's usage invoice billed, its amount. */
    usageCharge: string;
    /** The agreement's usage invoice of the month, once issued. */
    usageInvoiceId?: string;
    /** The agreement's charges made in the month (upfront prices, approved payment requests). */
    charges?: Array<{ agreementId: string; chargeId: string; at: string; amount: string; invoiceId: string }>;
    /** Credit memos (billing adjustments) against the month's invoices. */
    credits?: Array<{ agreementId: string; creditMemoId: string; invoiceId: string; amount: string }>;
    /** The usage charge and the charges, less the credits: what the month's invoices come to. */
    charge: string;
    lines: Array<{
      dimension: string;
      metered: string;
      covered: string;
      billable: string;
      unitPrice: string | null;
      amount: string | null;
      /** The amount rounded half up to the cent. */
      charge: string | null;
      records: number;
      /** The control API query that lists the records the line sums. */
      usage: string | null;
    }>;
  }>;
}

/** Filters of the request journal. */
export interface JournalFilters {
  operation?: string;
  /** An HTTP status code, 'ok' (2xx) or 'error'. */
  status?: number | 'ok' | 'error';
  error?: string;
  product?: string;
  customer?: string;
  from?: string | number;
  to?: string | number;
  limit?: number;
  /** The nextCursor of the previous page. */
  before?: string | number;
}

/** The customer a control request is about: the product, and any of its customer's names. */
export interface CustomerRef {
  productCode: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
}

/** An answer of the control API that was not a success. */
export class MockError extends Error {
  readonly status: number;
  readonly body: unknown;
}

/** The control API (/_mock/…) of one namespace. */
export class Control {
  /** `timeoutMs`: how long a call waits for its answer (60 s unless given). */
  constructor(endpoint: string, options?: { controlToken?: string; timeoutMs?: number });
  readonly endpoint: string;
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  health(): Promise<{ status: string; namespace: string; now: string; products: number }>;
  products(): Promise<Product[]>;
  product(code: string): Promise<Product>;
  /** The product's offers (public, free-trial and private), as the buyer's path to an agreement names them; without a code, every product's. */
  offers(code?: string): Promise<Offer[]>;
  /** The agreements of concurrent-agreements products, as the Agreement Service names them. */
  agreements(filters?: { productCode?: string; limit?: number }): Promise<Agreement[]>;
  /** The buyers' agreement requests (the namespace keeps 100, the oldest closed ones forgotten first), newest first. */
  agreementRequests(): Promise<AgreementRequest[]>;
  /** What happened to agreements since they were made, newest first, of one agreement or all. */
  agreementActivity(filters?: { agreementId?: string }): Promise<AgreementActivity>;
  /** Plays the buyer (the agreement's acceptor) on a seller's request; answers the operation's
   *  output, and rejects with the modeled error (status, `error`, `reason`) AWS would give. */
  actAsBuyer(
    operation: 'AcceptAgreementPaymentRequest' | 'RejectAgreementPaymentRequest' | 'AcceptAgreementCancellationRequest' | 'RejectAgreementCancellationRequest',
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  putProduct(product: Product): Promise<Product>;
  deleteProduct(code: string): Promise<unknown>;
  usage(filters?: Record<string, string | number | undefined>): Promise<UsageRecord[]>;
  /** The request journal, newest first; `total` counts every match, whatever the page. */
  requests(filters?: JournalFilters): Promise<{ total: number; count: number; requests: JournalEntry[]; nextCursor: string | null }>;
  clearRequests(): Promise<{ deleted: number }>;
  /** The bill preview of a month ('YYYY-MM'; by default the namespace clock's), exact decimals as text. */
  bill(filters?: { month?: string; product?: string; customer?: string }): Promise<Bill>;
  settings(): Promise<Record<string, unknown>>;
  patchSettings(patch: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** `nextDeadline`: when the clock next brings something (a milestone, an automatic approval,
   *  an expiry, a month's invoicing), when anything is scheduled. */
  clock(): Promise<{ now: string; nowEpochSeconds: number; nextDeadline?: string; [field: string]: unknown }>;
  setClock(clock: { frozenAt?: string | number; offsetSeconds?: number }): Promise<unknown>;
  faults(): Promise<unknown[]>;
  addFault(fault: { operation: string; error: string; count?: number; [field: string]: unknown }): Promise<unknown>;
  clearFaults(): Promise<unknown>;
  reset(seed?: 'demo' | 'empty' | SeedDocument): Promise<unknown>;
  seed(document: SeedDocument): Promise<{ namespace: string; products: string[]; settings: unknown }>;
  mintToken(request: CustomerRef & { offerType?: 'free-trial'; ttlSeconds?: number }): Promise<{ registrationToken: string; expiresAt: string; productCode: string; customer: Customer }>;
  /** A one-time link to the sign-up page that needs no token in the browser (`url`: absolute). */
  signupLink(request: Partial<CustomerRef> & { productCode: string; outcome?: 'subscribe-success' | 'subscribe-fail' | 'pending'; offerType?: 'free-trial'; offerIdentifier?: string; ttlSeconds?: number; expiresInSeconds?: number }): Promise<{ link: string; url: string; expiresAt: string }>;
  signUp(request: Partial<CustomerRef> & { productCode: string; outcome?: 'subscribe-success' | 'subscribe-fail' | 'pending'; /** open mode only: a locked mock uses the product's (400) */ fulfillmentUrl?: string; offerType?: 'free-trial'; offerIdentifier?: string; ttlSeconds?: number }): Promise<{ registrationToken: string; customer: Customer; [field: string]: unknown }>;
  changeSubscription(request: CustomerRef & { action: 'subscribe-success' | 'subscribe-fail' | 'unsubscribe-pending' | 'unsubscribe-success' | 'entitlement-updated' }): Promise<{ customer: Customer; event: unknown }>;
  putEntitlements(request: CustomerRef & { entitlements: Entitlement[] }): Promise<{ customer: Customer; event: unknown }>;
  events(filters?: Record<string, string | number | undefined>): Promise<unknown[]>;
  keys(): Promise<unknown>;
  registrations(filters?: Record<string, string | number | undefined>): Promise<unknown[]>;
}

export interface Namespace {
  name: string;
  /** The endpoint for AWS_ENDPOINT_URL_MARKETPLACE_METERING and the SDKs' `endpoint`. */
  endpoint: string;
  control: Control;
}

export interface StartOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** A directory to keep the state in (Durable Objects under <dir>/do); false (the default)
   * keeps it only while the mock runs, in a temporary directory removed by stop(). */
  persist?: string | false;
  /** The default namespace's exact starting state: a seed document, or a path to a JSON file of one. */
  seed?: SeedDocument | string;
  /** Locked mode: every call needs a namespace's credentials. */
  adminToken?: string;
  /** One line per call on the console. */
  accessLog?: boolean;
  /** Other Worker variables (the README's Limits), e.g. { MAX_USAGE_RECORDS: '1000' }. */
  vars?: Record<string, string>;
  /**
   * The Worker's name: Durable Object ids, and where their state lies in `persist`, derive
   * from it. Leave it unset unless state must be shared with another runner of one name.
   */
  name?: string;
}

export interface Mock {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The default namespace's endpoint (the same as url). */
  endpoint: string;
  port: number;
  host: string;
  /** The environment an AWS SDK or CLI process needs to reach the default namespace. */
  env: Record<string, string>;
  /** The default namespace's control API. */
  control: Control;
  /** Another namespace (its own isolated state). */
  namespace(name: string, options?: { controlToken?: string }): Namespace;
  stop(): Promise<void>;
}

export function startMock(options?: StartOptions): Promise<Mock>;
/** Miniflare's v4-style options for the built worker in `dir` (its modules and Durable Objects). */
export function workerOptions(dir: string): Record<string, unknown>;
/** What `new Miniflare()` (version 5) takes for the built worker in `dir`, plus `host` options. */
export function miniflareOptions(dir: string, host?: Record<string, unknown>): Promise<Record<string, unknown>>;
export function readSeedFile(path: string): SeedDocument;
/** Miniflare's `outboundService` for these bindings: with an ADMIN_TOKEN, a fetch that connects
 * to public addresses only; else undefined (Miniflare's default). */
export function outboundFor(bindings: Record<string, unknown>): Promise<((request: Request) => Promise<Response>) | undefined>;
export function workerDirectory(): string;
export const VERSION: string;
export const COMPATIBILITY_DATE: string;
