//! The namespace's catalogue: products, their dimensions, prices, contract pricing and
//! private offers, and the customers subscribed to them, with the look-ups the metering
//! rules need.
//!
//! Layer: domain. The same structures are the control API's JSON (camelCase) and what the
//! stores keep.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::contract::{cents, Charge, ContractChoice, ContractPricing, MAX_CHARGES};
use super::entitlement::Entitlement;
use super::names::{
    AccountId, AgreementId, CustomerIdentifier, Dimension, HttpUrl, LicenseArn, ProductCode,
    TwelveDigitAccountId,
};
use super::payment::{VariablePayment, VariablePaymentChoice};
use super::quantity::Price;
use super::subscription::{SubscriptionState, FINAL_REPORTING_WINDOW_MS};
use super::time::Instant;
use super::trial::FreeTrial;

/// How the product integrates with Marketplace metering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Integration {
    /// Customers identified by `CustomerIdentifier` or `CustomerAWSAccountId`.
    #[default]
    Legacy,
    /// Concurrent Agreements: `CustomerAWSAccountId` + `LicenseArn`, no `CustomerIdentifier`.
    ConcurrentAgreements,
}

/// A buyer's subscription to a product.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<CustomerIdentifier>,
    #[serde(
        default,
        rename = "customerAWSAccountId",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_aws_account_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_arn: Option<LicenseArn>,
    /// Where the subscription stands; customers listed without one are subscribed.
    #[serde(default)]
    pub subscription: SubscriptionState,
    /// When the subscription entered its state (namespace time), for the final hour.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub subscription_changed_at: Option<Instant>,
    /// The agreement the buyer accepted (`ResolveCustomer`'s `Metadata.AgreementId`);
    /// assigned when the first registration token is minted if not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<AgreementId>,
    /// When the buyer accepted the agreement (`AcceptAgreementRequest`), namespace time.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub accepted_at: Option<Instant>,
    /// The private offer subscribed to, echoed as `offer-identifier` in notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_identifier: Option<String>,
    /// Whether the subscription includes a free trial (`isFreeTrialTermPresent`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub free_trial: bool,
    /// When an agreement's free trial ends (namespace time); from then on its usage is
    /// priced as usual.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub trial_ends_at: Option<Instant>,
    /// What a contract taken with a free trial charges when the trial ends (USD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_charge: Option<String>,
    /// Contract entitlements, as `GetEntitlements` returns them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<Entitlement>,
    /// Who the buyer named as its contact when it asked for the agreement
    /// (`GetAgreementContacts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptor_contact: Option<AcceptorContact>,
    /// The contract the buyer chose, on a product with contract pricing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractChoice>,
    /// When the agreement ends (namespace time): a contract's end. None: it never does.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub ends_at: Option<Instant>,
    /// What the agreement charged (`ListAgreementCharges`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Charge>,
    /// The agreement's milestones (`Ending` notices, its end) up to this time (namespace
    /// time) were notified, or need not be (they were history when the customer was listed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub milestones_notified_through: Option<Instant>,
    /// Whether the buyer chose to renew the contract at its end (the offer's renewal term).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_renew: bool,
    /// How the buyer approves payment requests, when its offer has a variable payment term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_payment: Option<VariablePaymentChoice>,
    /// The agreements this one renewed or replaced, oldest first (the most recent
    /// `MAX_PREVIOUS_AGREEMENTS`): the license stays, the agreement id changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_agreements: Vec<PreviousAgreement>,
    /// The first agreement of the license's chain, once a renewal or replacement began one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_agreement_id: Option<AgreementId>,
    /// Set on a previous agreement's view (`PreviousAgreement::view`), never stored: the
    /// status it ended with.
    #[serde(skip)]
    pub superseded: Option<Supersession>,
}

/// Previous agreements one license keeps at most; a renewal or replacement beyond forgets the
/// oldest.
pub const MAX_PREVIOUS_AGREEMENTS: usize = 5;

/// How an agreement gave way to the next of its license.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Supersession {
    /// Renewed at its end (the renewal term): the next agreement's intent is `RENEW`.
    Renewed,
    /// Replaced by the buyer's `REPLACE` request.
    Replaced,
}

impl Supersession {
    /// The ended agreement's status (`AgreementStatus`).
    pub fn status(self) -> &'static str {
        match self {
            Supersession::Renewed => "RENEWED",
            Supersession::Replaced => "REPLACED",
        }
    }

    /// The intent of the agreement that followed (`Purchase Agreement Created`).
    pub fn intent(self) -> &'static str {
        match self {
            Supersession::Renewed => "RENEW",
            Supersession::Replaced => "REPLACE",
        }
    }
}

/// An agreement of a license that a renewal or replacement ended: what the Agreement Service
/// still answers for its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviousAgreement {
    pub agreement_id: AgreementId,
    pub status: Supersession,
    #[serde(with = "super::time::rfc3339")]
    pub accepted_at: Instant,
    /// When it gave way to the next.
    #[serde(with = "super::time::rfc3339")]
    pub ended_at: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractChoice>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_renew: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_payment: Option<VariablePaymentChoice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Charge>,
}

impl PreviousAgreement {
    /// The agreement `customer` has now, recorded as ended at `at` by `status`.
    pub fn of(customer: &Customer, status: Supersession, at: Instant) -> Option<Self> {
        Some(PreviousAgreement {
            // A customer listed with a license alone has a derived id.
            agreement_id: customer.agreement_id_or_derived()?.parse().ok()?,
            status,
            accepted_at: customer
                .accepted_at
                .or(customer.subscription_changed_at)
                .unwrap_or(at),
            ended_at: at,
            offer_identifier: customer.offer_identifier.clone(),
            contract: customer.contract.clone(),
            auto_renew: customer.auto_renew,
            variable_payment: customer.variable_payment.clone(),
            charges: customer.charges.clone(),
        })
    }

    /// The previous agreement as a customer record to read (never to store): the license's
    /// account and license, this agreement's own terms, dates and charges.
    pub fn view(&self, live: &Customer) -> Customer {
        Customer {
            customer_aws_account_id: live.customer_aws_account_id.clone(),
            license_arn: live.license_arn.clone(),
            agreement_id: Some(self.agreement_id.clone()),
            accepted_at: Some(self.accepted_at),
            subscription_changed_at: Some(self.ended_at),
            offer_identifier: self.offer_identifier.clone(),
            acceptor_contact: live.acceptor_contact.clone(),
            contract: self.contract.clone(),
            auto_renew: self.auto_renew,
            variable_payment: self.variable_payment.clone(),
            initial_agreement_id: live.initial_agreement_id().and_then(|id| id.parse().ok()),
            ends_at: Some(self.ended_at),
            charges: self.charges.clone(),
            superseded: Some(self.status),
            ..Customer::default()
        }
    }
}

impl Customer {
    /// Ends the current agreement by `status` at `at` and gives the license the new agreement
    /// `id`, accepted then: the previous one is kept (the most recent
    /// `MAX_PREVIOUS_AGREEMENTS`), its charges with it.
    pub fn supersede(&mut self, status: Supersession, at: Instant, id: AgreementId) {
        if self.initial_agreement_id.is_none() {
            self.initial_agreement_id = self.initial_agreement_id().and_then(|a| a.parse().ok());
        }
        if let Some(previous) = PreviousAgreement::of(self, status, at) {
            self.previous_agreements.push(previous);
            let excess = self
                .previous_agreements
                .len()
                .saturating_sub(MAX_PREVIOUS_AGREEMENTS);
            self.previous_agreements.drain(..excess);
        }
        self.agreement_id = Some(id);
        self.accepted_at = Some(at);
        self.subscription_changed_at = Some(at);
        self.charges.clear();
        self.milestones_notified_through = Some(at);
    }

    /// The agreement that the current one renewed or replaced, if any.
    pub fn previous(&self) -> Option<&PreviousAgreement> {
        self.previous_agreements.last()
    }

    /// Its agreement id (`agreement::agreement_id`): its own, else one derived from its license.
    pub fn agreement_id_or_derived(&self) -> Option<String> {
        if let Some(id) = &self.agreement_id {
            return Some(id.to_string());
        }
        let license = self.license_arn.as_deref()?;
        let digest = hex::encode(Sha256::digest(license.as_bytes()));
        Some(format!("agmt-{}", &digest[..25]))
    }

    /// The first agreement of the license's chain (`initialAgreementId`): the one kept, else
    /// the oldest previous agreement listed, else this one.
    pub fn initial_agreement_id(&self) -> Option<String> {
        match (&self.initial_agreement_id, self.previous_agreements.first()) {
            (Some(id), _) => Some(id.to_string()),
            (None, Some(first)) => Some(first.agreement_id.to_string()),
            (None, None) => self.agreement_id_or_derived(),
        }
    }
}

/// The buyer's contact on an agreement (the Agreement Service's `AcceptorContact`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptorContact {
    pub first_name: String,
    pub last_name: String,
    pub email_address: String,
    pub company_name: String,
    /// ISO 3166 two-letter code.
    pub country_code: String,
}

impl AcceptorContact {
    /// The model's limits: names 1–80 characters, email 1–255 with an `@` and a domain,
    /// company 1–256, country two capital letters.
    pub fn check(&self) -> Result<(), String> {
        let sized = [
            ("firstName", &self.first_name, 80),
            ("lastName", &self.last_name, 80),
            ("emailAddress", &self.email_address, 255),
            ("companyName", &self.company_name, 256),
        ];
        for (name, value, max) in sized {
            let n = value.chars().count();
            if n == 0 || n > max || value.chars().any(char::is_control) {
                return Err(format!(
                    "acceptorContact.{name} must be 1-{max} characters, none a control character"
                ));
            }
        }
        let plausible_email = self
            .email_address
            .split_once('@')
            .is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.ends_with('.')
            });
        if !plausible_email || self.email_address.contains(char::is_whitespace) {
            return Err("acceptorContact.emailAddress must be an email address".into());
        }
        let code = self.country_code.as_bytes();
        if code.len() != 2 || !code.iter().all(u8::is_ascii_uppercase) {
            return Err(
                "acceptorContact.countryCode must be two capital letters (ISO 3166)".into(),
            );
        }
        Ok(())
    }
}

impl Customer {
    /// Whether usage of this customer is accepted at `now` (namespace time): while
    /// subscribed, and until a final hour after the agreement ends.
    pub fn accepts_usage(&self, now: Instant) -> bool {
        let ended = self
            .ends_at
            .is_some_and(|end| now.0 >= end.0.saturating_add(FINAL_REPORTING_WINDOW_MS));
        !ended
            && self
                .subscription
                .accepts_usage(self.subscription_changed_at, now)
    }

    /// How the customer is named in messages: the license, identifier or account.
    pub fn label(&self) -> String {
        match (
            &self.license_arn,
            &self.customer_identifier,
            &self.customer_aws_account_id,
        ) {
            (Some(license), _, _) => format!("license {license}"),
            (None, Some(id), _) => format!("customer {id}"),
            (None, None, Some(account)) => format!("account {account}"),
            (None, None, None) => "an unidentified customer".into(),
        }
    }

    /// The identity usage is deduplicated under, as (kind, value). Concurrent agreements:
    /// the license (one account may hold several). Legacy products: the identifier, else the
    /// account, which a license added later does not change, so a retry of an hour already
    /// recorded is still recognised.
    pub fn ledger_identity(&self, integration: Integration) -> (&'static str, &str) {
        let license = self.license_arn.as_deref().map(|l| ("license", l));
        let identifier = self.customer_identifier.as_deref().map(|c| ("customer", c));
        let account = self
            .customer_aws_account_id
            .as_deref()
            .map(|a| ("account", a));
        let chosen = match integration {
            Integration::ConcurrentAgreements => license.or(account),
            Integration::Legacy => identifier.or(account).or(license),
        };
        chosen.unwrap_or(("unidentified", ""))
    }
}

/// Webhooks per product: enough for an SNS and an EventBridge consumer of a few services,
/// few enough that one change cannot turn the mock into a fan-out of requests.
pub const MAX_WEBHOOKS: usize = 5;

/// Where a product's notifications are POSTed, and in which shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    pub url: HttpUrl,
    #[serde(default)]
    pub format: WebhookFormat,
}

/// The shape of a webhook's deliveries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookFormat {
    /// SNS notifications as an SNS HTTP(S) subscription receives them.
    #[default]
    Sns,
    /// EventBridge events as an API destination receives them.
    Eventbridge,
    /// The buyer's EventBridge events (`- Acceptor`), as an API destination on the buyer's
    /// bus receives them: for a test playing the buyer.
    EventbridgeAcceptor,
}

/// A product of the catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub product_code: ProductCode,
    pub dimensions: Vec<Dimension>,
    /// The seller's account; seller calls from another 12-digit account are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_account_id: Option<TwelveDigitAccountId>,
    #[serde(default)]
    pub integration: Integration,
    /// Regions the product runs in; empty means every Region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The seller's registration page, where the simulated sign-up POSTs the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_url: Option<HttpUrl>,
    /// Where notifications of this product are delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
    /// Price per unit (USD) of some dimensions, for the bill preview.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, Price>,
    /// What the public offer charges up front: a contract offer (`domain::contract`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractPricing>,
    /// Offers made to some buyers only, each with its own prices (`domain::offer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_offers: Vec<PrivateOffer>,
    /// A free-trial offer beside the public one (`domain::trial`): on a contract product, the
    /// contract the buyer chooses starts, and is charged, when the trial ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_trial: Option<FreeTrial>,
    #[serde(default)]
    pub customers: Customers,
}

/// Private offers one product has at most.
pub const MAX_PRIVATE_OFFERS: usize = 20;
/// Buyer accounts one private offer names at most.
pub const MAX_OFFER_BUYERS: usize = 25;

/// An offer the seller extends to some buyer accounts only, with its own usage prices and
/// contract pricing (none: the offer charges what the public one does not: nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateOffer {
    /// `offer-` and 1-58 letters or digits; without one, derived from the product, the
    /// name and the buyers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub buyer_accounts: Vec<TwelveDigitAccountId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractPricing>,
    /// A variable payment term: the seller may charge up to its maximum by payment requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_payment: Option<VariablePayment>,
    /// After this (namespace time) the offer can no longer be accepted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub expires_at: Option<Instant>,
}

impl PrivateOffer {
    /// The offer's id: its own, else `offer-` and 25 hex digits of a digest of the product
    /// and the name, or without a name the buyers (in any order). Give an id or a name to
    /// keep it when the buyers change: agreements and requests name their offer by it.
    pub fn id(&self, product_code: &str) -> String {
        if let Some(id) = &self.offer_id {
            return id.clone();
        }
        let named_by = match &self.name {
            Some(name) => format!("name\u{0}{name}"),
            None => {
                let mut buyers: Vec<&str> = self.buyer_accounts.iter().map(|b| &**b).collect();
                buyers.sort_unstable();
                format!("buyers\u{0}{}", buyers.join(","))
            }
        };
        let text = format!("private\u{0}{product_code}\u{0}{named_by}");
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        format!("offer-{}", &digest[..25])
    }

    /// The private offer of `product` with id `id`.
    pub fn find<'a>(product: &'a Product, id: &str) -> Option<&'a PrivateOffer> {
        product
            .private_offers
            .iter()
            .find(|o| o.id(&product.product_code) == id)
    }

    /// Checks the offer against the product's `dimensions`; `n` numbers it in messages.
    fn check(&self, n: usize, dimensions: &[String]) -> Result<(), String> {
        let at = format!("privateOffers[{n}]");
        if let Some(id) = &self.offer_id {
            let tail = id.strip_prefix("offer-").unwrap_or_default();
            if tail.is_empty()
                || tail.len() > 58
                || !tail.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!(
                    "{at}.offerId: 'offer-' and 1-58 letters or digits, not '{id}'"
                ));
            }
        }
        if let Some(name) = &self.name {
            let chars = name.chars().count();
            if chars == 0 || chars > 150 || name.chars().any(char::is_control) {
                return Err(format!(
                    "{at}.name: 1-150 characters, none a control character"
                ));
            }
        }
        if self.buyer_accounts.is_empty() || self.buyer_accounts.len() > MAX_OFFER_BUYERS {
            return Err(format!(
                "{at}.buyerAccounts: 1-{MAX_OFFER_BUYERS} 12-digit buyer accounts"
            ));
        }
        if let Some(unknown) = self.prices.keys().find(|d| !dimensions.contains(d)) {
            return Err(format!(
                "{at}.prices.{unknown}: '{unknown}' is not a dimension of the product"
            ));
        }
        if let Some(contract) = &self.contract {
            contract
                .check(dimensions)
                .map_err(|e| format!("{at}.{e}"))?;
        }
        if let Some(variable) = &self.variable_payment {
            variable.check().map_err(|e| format!("{at}.{e}"))?;
        }
        Ok(())
    }
}

/// A product's customers in their order, with look-ups by each kind of name built on first
/// use: a batch looks up 25 customers, every MeterUsage its buyer's account, and a product
/// may list thousands. Changing the list (through `DerefMut`) drops the look-ups.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Customers {
    list: Vec<Customer>,
    #[serde(skip)]
    index: OnceCell<CustomerIndex>,
}

/// The positions of the customers with each name, in list order.
#[derive(Clone, Debug, Default)]
struct CustomerIndex {
    by_identifier: HashMap<String, Vec<usize>>,
    by_account: HashMap<String, Vec<usize>>,
    by_license: HashMap<String, Vec<usize>>,
}

impl Customers {
    fn index(&self) -> &CustomerIndex {
        self.index.get_or_init(|| {
            let mut index = CustomerIndex::default();
            for (i, c) in self.list.iter().enumerate() {
                for (map, name) in [
                    (&mut index.by_identifier, c.customer_identifier.as_deref()),
                    (&mut index.by_account, c.customer_aws_account_id.as_deref()),
                    (&mut index.by_license, c.license_arn.as_deref()),
                ] {
                    if let Some(name) = name {
                        map.entry(name.to_string()).or_default().push(i);
                    }
                }
            }
            index
        })
    }

    fn with<'a>(
        &'a self,
        map: impl FnOnce(&'a CustomerIndex) -> &'a HashMap<String, Vec<usize>>,
        name: &str,
    ) -> impl Iterator<Item = &'a Customer> + 'a {
        map(self.index())
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.list[i])
    }
}

impl From<Vec<Customer>> for Customers {
    fn from(list: Vec<Customer>) -> Self {
        Customers {
            list,
            index: OnceCell::new(),
        }
    }
}

impl Deref for Customers {
    type Target = Vec<Customer>;
    fn deref(&self) -> &Vec<Customer> {
        &self.list
    }
}

impl DerefMut for Customers {
    fn deref_mut(&mut self) -> &mut Vec<Customer> {
        self.index.take();
        &mut self.list
    }
}

impl PartialEq for Customers {
    fn eq(&self, other: &Self) -> bool {
        self.list == other.list
    }
}

impl Product {
    pub fn has_dimension(&self, dimension: &str) -> bool {
        self.dimensions.iter().any(|d| d == dimension)
    }

    /// For a seller call from `caller` (a 12-digit account; `None` is the wildcard caller):
    /// the (caller, seller) pair when the product names another seller.
    pub fn foreign_seller_call<'a>(&self, caller: Option<&'a str>) -> Option<&'a str> {
        match (caller, self.seller_account_id.as_deref()) {
            (Some(caller), Some(seller)) if caller != seller => Some(caller),
            _ => None,
        }
    }

    /// Whether the buyer account may use the product at `now`: one of its customers with a
    /// subscription that accepts usage.
    pub fn entitles(&self, account: &str, now: Instant) -> bool {
        self.customers
            .with(|i| &i.by_account, account)
            .any(|c| c.accepts_usage(now))
    }

    pub fn runs_in(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    pub fn customer_by_identifier(&self, id: &str) -> Option<&Customer> {
        self.customers.with(|i| &i.by_identifier, id).next()
    }

    pub fn customer_by_account(&self, account: &str) -> Option<&Customer> {
        self.customers.with(|i| &i.by_account, account).next()
    }

    pub fn customer_by_license(&self, license: &str) -> Option<&Customer> {
        self.customers.with(|i| &i.by_license, license).next()
    }

    /// Checks what the product's fields cannot say alone (each field parsed valid): at
    /// least one dimension, nothing listed twice, how customers are identified.
    pub fn check(&self) -> Result<(), String> {
        if self.dimensions.is_empty() {
            return Err("dimensions must list at least one dimension".into());
        }
        // A Region no caller can sign for (sigv4's rule) would silently match no call.
        if let Some(bad) = self.regions.iter().find(|r| !super::names::is_region(r)) {
            return Err(format!(
                "regions: '{bad}' is not a Region name (1-{} lowercase letters, digits and '-', as us-east-1)",
                super::names::MAX_REGION_CHARS
            ));
        }
        let mut seen = HashSet::new();
        for d in &self.dimensions {
            if !seen.insert(d) {
                return Err(format!("dimension '{d}' is listed twice"));
            }
        }
        if let Some(unknown) = self.prices.keys().find(|d| !self.has_dimension(d)) {
            return Err(format!(
                "prices.{unknown}: '{unknown}' is not a dimension of the product"
            ));
        }
        let dimensions: Vec<String> = self.dimensions.iter().map(|d| d.to_string()).collect();
        if let Some(contract) = &self.contract {
            contract.check(&dimensions)?;
        }
        if let Some(trial) = &self.free_trial {
            trial.check(&dimensions)?;
        }
        if self.private_offers.len() > MAX_PRIVATE_OFFERS {
            return Err(format!(
                "a product has at most {MAX_PRIVATE_OFFERS} private offers"
            ));
        }
        // The public offer's id is taken: `offer-` and 25 hex digits of its digest.
        let public = format!(
            "offer-{}",
            &hex::encode(Sha256::digest(
                format!("offer\u{0}{}", self.product_code).as_bytes()
            ))[..25]
        );
        let mut ids = HashSet::from([public]);
        // So is the free-trial offer's.
        if self.free_trial.is_some() {
            ids.insert(super::trial::offer_id(&self.product_code));
        }
        for (n, offer) in self.private_offers.iter().enumerate() {
            offer.check(n, &dimensions)?;
            let id = offer.id(&self.product_code);
            if !ids.insert(id.clone()) {
                return Err(format!("privateOffers[{n}]: offer {id} is listed twice"));
            }
        }
        if self.webhooks.len() > MAX_WEBHOOKS {
            return Err(format!(
                "a product has at most {MAX_WEBHOOKS} webhooks, not {}",
                self.webhooks.len()
            ));
        }
        self.check_customers()
    }

    /// Each customer is named as the integration asks, and no name is listed twice.
    fn check_customers(&self) -> Result<(), String> {
        let (mut ids, mut accounts, mut licenses, mut charges) = (
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
        );
        let dimensions: Vec<String> = self.dimensions.iter().map(|d| d.to_string()).collect();
        for (i, c) in self.customers.iter().enumerate() {
            let n = i + 1;
            if c.customer_identifier.is_none() && c.customer_aws_account_id.is_none() {
                return Err(format!(
                    "customer {n} needs a customerIdentifier or a customerAWSAccountId"
                ));
            }
            if let Some(id) = &c.customer_identifier {
                if !ids.insert(id) {
                    return Err(format!(
                        "customer {n}: customerIdentifier '{id}' is listed twice"
                    ));
                }
            }
            if let Some(license) = &c.license_arn {
                if !licenses.insert(license) {
                    return Err(format!(
                        "customer {n}: licenseArn '{license}' is listed twice"
                    ));
                }
            }
            for e in &c.entitlements {
                e.check(&self.dimensions)
                    .map_err(|reason| format!("customer {n}: {reason}"))?;
            }
            if let Some(contact) = &c.acceptor_contact {
                contact
                    .check()
                    .map_err(|reason| format!("customer {n}: {reason}"))?;
            }
            if let Some(choice) = &c.variable_payment {
                choice
                    .check()
                    .map_err(|reason| format!("customer {n}: variablePayment: {reason}"))?;
            }
            if let Some(choice) = &c.contract {
                choice
                    .check(&dimensions)
                    .map_err(|reason| format!("customer {n}: contract: {reason}"))?;
            }
            if c.charges.len() > MAX_CHARGES {
                return Err(format!("customer {n}: at most {MAX_CHARGES} charges"));
            }
            if let Some(amount) = &c.trial_charge {
                let pending = c.contract.is_some() && c.trial_ends_at.is_some();
                if cents(amount).is_none() || c.charges.len() >= MAX_CHARGES || !pending {
                    return Err(format!("customer {n}: trialCharge is dollars and cents (\"480.00\"), of a contract with a trialEndsAt, with fewer than {MAX_CHARGES} charges"));
                }
            }
            if c.previous_agreements.len() > MAX_PREVIOUS_AGREEMENTS {
                return Err(format!(
                    "customer {n}: at most {MAX_PREVIOUS_AGREEMENTS} previousAgreements"
                ));
            }
            for p in &c.previous_agreements {
                if p.charges.len() > MAX_CHARGES {
                    return Err(format!(
                        "customer {n}: a previous agreement has at most {MAX_CHARGES} charges"
                    ));
                }
                if let Some(choice) = &p.contract {
                    choice.check(&dimensions).map_err(|reason| {
                        format!("customer {n}: previous agreement contract: {reason}")
                    })?;
                }
            }
            for charge in &c.charges {
                charge
                    .check()
                    .map_err(|reason| format!("customer {n}: {reason}"))?;
                if !charges.insert(&charge.id) {
                    return Err(format!(
                        "customer {n}: charge id '{}' is listed twice",
                        charge.id
                    ));
                }
            }
            match self.integration {
                Integration::ConcurrentAgreements => {
                    if c.customer_identifier.is_some() {
                        return Err(format!(
                            "customer {n}: concurrent-agreements products identify customers by customerAWSAccountId and licenseArn, not customerIdentifier"
                        ));
                    }
                    if c.customer_aws_account_id.is_none() || c.license_arn.is_none() {
                        return Err(format!(
                            "customer {n}: concurrent-agreements products need customerAWSAccountId and licenseArn"
                        ));
                    }
                }
                Integration::Legacy => {
                    if let Some(account) = &c.customer_aws_account_id {
                        if !accounts.insert(account) {
                            return Err(format!(
                                "customer {n}: account {account} is listed twice (one subscription per account unless the product uses concurrent-agreements)"
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(json: serde_json::Value) -> Result<Product, String> {
        let p: Product = serde_json::from_value(json).map_err(|e| e.to_string())?;
        p.check().map(|_| p)
    }

    #[test]
    fn a_minimal_product_is_legacy_with_no_customers() {
        let p = product(serde_json::json!({"productCode": "p1", "dimensions": ["d"]})).unwrap();
        assert_eq!(p.integration, Integration::Legacy);
        assert!(p.customers.is_empty());
        assert!(p.runs_in("eu-west-1"));
    }

    #[test]
    fn bad_product_documents_are_refused_with_a_reason() {
        use serde_json::json;
        for bad in [
            json!({"productCode": "", "dimensions": ["d"]}),
            json!({"productCode": "has space", "dimensions": ["d"]}),
            json!({"productCode": "p", "dimensions": []}),
            json!({"productCode": "p", "dimensions": ["d", "d"]}),
            json!({"productCode": "p", "dimensions": [""]}),
            json!({"productCode": "p", "dimensions": ["d"], "sellerAccountId": "123"}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{}]}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{"licenseArn": "arn:aws:license-manager::1:license:l-1"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerAWSAccountId": "12ab"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c", "licenseArn": "nope"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}, {"customerIdentifier": "c"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "integration": "concurrent-agreements", "customers": [{"customerAWSAccountId": "111122223333"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "integration": "concurrent-agreements", "customers": [{"customerIdentifier": "c", "customerAWSAccountId": "111122223333", "licenseArn": "arn:aws:license-manager::111122223333:license:l-1"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "integration": "sometimes"}),
            json!({"productCode": "p", "dimensions": ["d"], "surprise": true}),
            json!({"productCode": "p", "dimensions": ["d"], "fulfillmentUrl": "javascript:alert(1)"}),
            json!({"productCode": "p", "dimensions": ["d"], "webhooks": [{"url": "ftp://x"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c", "agreementId": "has space"}]}),
            json!({"productCode": "p", "dimensions": ["d"], "webhooks": vec![json!({"url": "http://127.0.0.1:9/h"}); MAX_WEBHOOKS + 1]}),
        ] {
            assert!(product(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn customer_look_ups_find_the_first_of_each_name_and_follow_changes() {
        const L1: &str = "arn:aws:license-manager::111122223333:license:l-1";
        const L2: &str = "arn:aws:license-manager::111122223333:license:l-2";
        const L3: &str = "arn:aws:license-manager::444455556666:license:l-3";
        let mut p = product(serde_json::json!({
            "productCode": "p", "dimensions": ["d"], "integration": "concurrent-agreements",
            "customers": [
                {"customerAWSAccountId": "111122223333", "licenseArn": L1, "subscription": "unsubscribed"},
                {"customerAWSAccountId": "111122223333", "licenseArn": L2}
            ]
        }))
        .unwrap();
        let now = Instant(0);
        assert_eq!(
            p.customer_by_account("111122223333")
                .and_then(|c| c.license_arn.as_deref()),
            Some(L1)
        );
        assert!(
            p.entitles("111122223333", now),
            "any of the account's customers"
        );
        assert!(p.customer_by_license(L3).is_none());
        // A change through the list is seen by the next look-up.
        p.customers.push(Customer {
            customer_aws_account_id: Some("444455556666".parse().unwrap()),
            license_arn: Some(L3.parse().unwrap()),
            ..Default::default()
        });
        assert!(p.customer_by_license(L3).is_some());
        assert!(p.entitles("444455556666", now));
        p.customers.retain(|c| c.license_arn.as_deref() != Some(L2));
        assert!(!p.entitles("111122223333", now));
        assert!(p.customer_by_license(L2).is_none());
        assert_eq!(p.clone(), p, "equality is the list's");
    }

    #[test]
    fn concurrent_agreements_allow_several_licenses_per_account() {
        let p = product(serde_json::json!({
            "productCode": "p", "dimensions": ["d"], "integration": "concurrent-agreements",
            "customers": [
                {"customerAWSAccountId": "111122223333", "licenseArn": "arn:aws:license-manager::111122223333:license:l-1"},
                {"customerAWSAccountId": "111122223333", "licenseArn": "arn:aws:license-manager::111122223333:license:l-2"}
            ]
        }))
        .unwrap();
        let ca = Integration::ConcurrentAgreements;
        assert_ne!(
            p.customers[0].ledger_identity(ca),
            p.customers[1].ledger_identity(ca)
        );
    }

    #[test]
    fn a_license_added_to_a_legacy_customer_keeps_its_ledger_identity() {
        let mut c = Customer {
            customer_aws_account_id: Some("111122223333".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(
            c.ledger_identity(Integration::Legacy),
            ("account", "111122223333")
        );
        c.license_arn = Some(
            "arn:aws:license-manager::111122223333:license:l-9"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            c.ledger_identity(Integration::Legacy),
            ("account", "111122223333")
        );
    }
}
