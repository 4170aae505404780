//! Agreements of concurrent-agreements products, and the buyer's requests for them.
//!
//! An agreement **is** a customer of a concurrent-agreements product that has an agreement
//! id: its license, account, subscription state and entitlements are the agreement's, so the
//! Metering, Entitlement and Agreement Services read one record. This module maps that record
//! to the Agreement Service's words (status, entitlement status) and keeps the buyer's
//! agreement requests (quotes), the namespace's most recent `MAX_AGREEMENT_REQUESTS`.
//!
//! Layer: domain. Pure.

use serde::{Deserialize, Serialize};

use super::catalogue::{AcceptorContact, Customer, Supersession};
use super::contract::Quote;
use super::subscription::SubscriptionState;
use super::time::Instant;

/// Agreement requests a namespace keeps; creating one more forgets the oldest.
pub const MAX_AGREEMENT_REQUESTS: usize = 100;

/// How long a registration token from `GetAgreementEntitlements` is valid ("30 minutes").
pub const ENTITLEMENT_TOKEN_TTL_SECONDS: i64 = 30 * 60;

/// Where an agreement request stands (the model's `AgreementRequestStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    /// Created, waiting for the buyer to start the approvals its organization requires.
    Draft,
    /// Waiting for the approvals' decisions.
    PendingApproval,
    /// Waiting for the buyer's acceptance (approved, or needing no approval).
    Approved,
    Accepted,
    /// An approver rejected it.
    Rejected,
    Cancelled,
}

impl RequestStatus {
    /// Not yet accepted, rejected or cancelled: it may still be cancelled or accepted.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestStatus::Draft | RequestStatus::PendingApproval | RequestStatus::Approved
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            RequestStatus::Draft => "DRAFT",
            RequestStatus::PendingApproval => "PENDING_APPROVAL",
            RequestStatus::Approved => "APPROVED",
            RequestStatus::Accepted => "ACCEPTED",
            RequestStatus::Rejected => "REJECTED",
            RequestStatus::Cancelled => "CANCELLED",
        }
    }
}

/// A buyer's request for an agreement on an offer: the quote `CreateAgreementRequest` makes
/// and `AcceptAgreementRequest` turns into an agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementRequest {
    pub id: String,
    pub status: RequestStatus,
    pub intent: String,
    pub product_code: String,
    pub offer_id: String,
    /// The term ids requested, as the request named them.
    pub term_ids: Vec<String>,
    /// Who asked: a 12-digit account, or the wildcard caller's access key id.
    pub requester: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    pub created_at: Instant,
    /// The agreement its acceptance made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    /// The buyer's contact, which the agreement keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptor_contact: Option<AcceptorContact>,
    /// The contract asked for and its price, on a contract offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Quote>,
    /// A digest of the request's members but its client token: a retry has the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Whether the buyer opted in to the offer's renewal term.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_renew: bool,
    /// The agreement an `AMEND` or `REPLACE` request acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_agreement_id: Option<String>,
    /// An amendment's quantities before (its contract's, when it was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<Amends>,
    /// On a free-trial offer, the trial's days: its contract is charged when the trial ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<u32>,
    /// How the buyer approves payment requests, on an offer with a variable payment term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_payment: Option<super::payment::VariablePaymentChoice>,
    /// Whether the buyer's organization required approval when it was made
    /// (`approvalRequirement`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval_required: bool,
}

/// What an amendment was asked against: the source agreement's contract then, and what it
/// had charged, so the acceptance can tell the agreement has not changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amends {
    pub contract: super::contract::ContractChoice,
    pub auto_renew: bool,
    /// The agreement's value before (USD, with cents).
    pub value: String,
}

/// The namespace's agreement requests, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgreementRequests(pub Vec<AgreementRequest>);

impl AgreementRequests {
    pub fn get(&self, id: &str) -> Option<&AgreementRequest> {
        self.0.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut AgreementRequest> {
        self.0.iter_mut().find(|r| r.id == id)
    }

    /// Keeps `request`, forgetting the oldest beyond `MAX_AGREEMENT_REQUESTS`: the oldest
    /// closed one (accepted, rejected, cancelled), else (every one open) the oldest.
    pub fn add(&mut self, request: AgreementRequest) {
        self.0.push(request);
        while self.0.len() > MAX_AGREEMENT_REQUESTS {
            let oldest = self.0.iter().position(|r| !r.status.is_open()).unwrap_or(0);
            self.0.remove(oldest);
        }
    }

    /// A request made earlier by the same requester with the same client token.
    pub fn by_client_token(&self, requester: &str, token: &str) -> Option<&AgreementRequest> {
        self.0
            .iter()
            .find(|r| r.requester == requester && r.client_token.as_deref() == Some(token))
    }
}

/// How many days before its end an agreement's `Purchase Agreement Ending` events come.
pub const ENDING_NOTICE_DAYS: [u32; 5] = [180, 120, 90, 60, 30];

/// A moment in an ending agreement's life that the seller is told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// The agreement's free trial ends: its usage is priced from now on.
    TrialEnded,
    /// `daysBeforeEndTime` days before the end.
    Ending(u32),
    /// The end itself: the agreement has expired.
    Expired,
}

/// The milestones of `customer`'s agreement with their times, in order: the end of its free
/// trial, the `Ending` notices, then its end. None for an agreement no longer active
/// (cancelled, failed).
pub fn milestones(customer: &Customer) -> Vec<(Milestone, Instant)> {
    if !customer.subscription.grants_entitlements()
        || customer.subscription == SubscriptionState::UnsubscribePending
    {
        return Vec::new();
    }
    let mut all: Vec<(Milestone, Instant)> = Vec::new();
    if let Some(trial_end) = customer.trial_ends_at {
        all.push((Milestone::TrialEnded, trial_end));
    }
    if let Some(end) = customer.ends_at {
        all.extend(ENDING_NOTICE_DAYS.iter().map(|&days| {
            (
                Milestone::Ending(days),
                end.plus_seconds(-i64::from(days) * 86_400),
            )
        }));
        all.push((Milestone::Expired, end));
    }
    all.sort_by_key(|&(_, at)| at);
    all
}

/// The time up to which the agreement's milestones are done with: those notified, else
/// (never notified) those up to its acceptance, which were never its to have.
fn notified_through(customer: &Customer) -> Instant {
    customer
        .milestones_notified_through
        .or_else(|| accepted_at(customer))
        .unwrap_or(Instant::MIN)
}

/// The milestones still to notify whose time has come by `now`, in order, with their times.
pub fn due_milestones(customer: &Customer, now: Instant) -> Vec<(Milestone, Instant)> {
    let done = notified_through(customer);
    milestones(customer)
        .into_iter()
        .filter(|&(_, at)| at > done && at <= now)
        .collect()
}

/// When the namespace's next timed moment is due (namespace time): no later than the
/// earliest `next_milestone` of its agreements, automatic approval, approval expiry or usage
/// invoicing (earlier is harmless: a sweep then finds nothing and sets it right).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NextMilestone(pub Option<Instant>);

/// When the agreement's next milestone comes (namespace time), if one is left.
pub fn next_milestone(customer: &Customer) -> Option<Instant> {
    let done = notified_through(customer);
    milestones(customer)
        .into_iter()
        .map(|(_, at)| at)
        .find(|&at| at > done)
}

/// What happens at the agreement's end (`EndTimeBehavior`'s type and reason): a contract that
/// `renews` (`Offer::renewal_of`) renews; one whose buyer declined renewal expires
/// (`ACCEPTOR_RENEW_OPTED_OUT`), as does one without a renewal term to take (a private offer's,
/// one listed by hand, one whose offer no longer prices it: `NO_RENEWAL_TERM`).
/// Pay-as-you-go never ends.
pub fn end_time_behavior(
    customer: &Customer,
    renews: bool,
    offer_renews: bool,
) -> Option<(&'static str, Option<&'static str>)> {
    customer.ends_at?;
    Some(match customer.superseded {
        Some(Supersession::Renewed) => ("RENEW", None),
        Some(Supersession::Replaced) => ("EXPIRE", None),
        None if renews => ("RENEW", None),
        None if offer_renews && !customer.auto_renew => {
            ("EXPIRE", Some("ACCEPTOR_RENEW_OPTED_OUT"))
        }
        None => ("EXPIRE", Some("NO_RENEWAL_TERM")),
    })
}

/// Every `AgreementStatus` value.
pub const AGREEMENT_STATUSES: [&str; 9] = [
    "ACTIVE",
    "ARCHIVED",
    "CANCELLED",
    "EXPIRED",
    "RENEWED",
    "REPLACED",
    "ROLLED_BACK",
    "SUPERSEDED",
    "TERMINATED",
];

/// When the agreement began: its acceptance, else (a customer listed by hand) when its
/// customer's state began.
pub fn accepted_at(customer: &Customer) -> Option<Instant> {
    customer.accepted_at.or(customer.subscription_changed_at)
}

/// When the agreement last changed.
pub fn last_update(customer: &Customer) -> Option<Instant> {
    customer.subscription_changed_at.or(customer.accepted_at)
}

/// Whether the agreement is `ACTIVE` at `now` (namespace time).
pub fn is_active(customer: &Customer, now: Instant) -> bool {
    status(customer, now) == "ACTIVE"
}

/// Whether the agreement's end (a contract's) has come by `now`.
pub fn has_expired(customer: &Customer, now: Instant) -> bool {
    customer.ends_at.is_some_and(|end| now >= end)
}

/// Whether `caller` (a 12-digit account, `None` for the wildcard caller) is the agreement's
/// acceptor: only the acceptor cancels it or gets its registration token.
pub fn is_acceptor(customer: &Customer, caller: Option<&str>) -> bool {
    caller.is_none_or(|account| customer.customer_aws_account_id.as_deref() == Some(account))
}

/// The agreement's status (`AgreementStatus`) at `now`: active from acceptance until the
/// buyer cancels (the final metering hour included: the license is deprovisioned, the
/// agreement over) or its contract ends (`EXPIRED`); a sign-up whose payment failed was
/// never active.
pub fn status(customer: &Customer, now: Instant) -> &'static str {
    if let Some(superseded) = customer.superseded {
        return superseded.status();
    }
    match customer.subscription {
        SubscriptionState::Pending | SubscriptionState::Subscribed
            if has_expired(customer, now) =>
        {
            "EXPIRED"
        }
        SubscriptionState::Pending | SubscriptionState::Subscribed => "ACTIVE",
        SubscriptionState::UnsubscribePending | SubscriptionState::Unsubscribed => "CANCELLED",
        SubscriptionState::SubscribeFailed => "TERMINATED",
    }
}

/// The agreement's entitlement status (`AgreementEntitlementStatus`) and its reason at `now`.
pub fn entitlement_status(customer: &Customer, now: Instant) -> (&'static str, &'static str) {
    if customer.superseded.is_some() {
        return ("DEPROVISIONED", "AGREEMENT_INACTIVE");
    }
    if has_expired(customer, now) && customer.subscription.grants_entitlements() {
        return ("DEPROVISIONED", "AGREEMENT_INACTIVE");
    }
    match customer.subscription {
        SubscriptionState::Pending => ("PENDING", "PROVISIONING_IN_PROGRESS"),
        SubscriptionState::Subscribed => ("PROVISIONED", "AGREEMENT_ACTIVE"),
        SubscriptionState::SubscribeFailed => ("FAILED", "INVALID_PAYMENT_INSTRUMENT"),
        SubscriptionState::UnsubscribePending | SubscriptionState::Unsubscribed => {
            ("DEPROVISIONED", "AGREEMENT_INACTIVE")
        }
    }
}

/// The agreement id of a customer: its own, else (a customer listed with a license but no
/// agreement id, as seed files and the control API may) one derived from its license, so
/// the same id is read before and after a registration token gives it one.
pub fn agreement_id(customer: &Customer) -> Option<String> {
    customer.agreement_id_or_derived()
}

/// Whether `caller` (a 12-digit account, or `None` for the wildcard caller) is a party to the
/// agreement: its acceptor, or the proposer.
pub fn is_party(customer: &Customer, proposer: &str, caller: Option<&str>) -> bool {
    match caller {
        None => true,
        Some(account) => {
            account == proposer || customer.customer_aws_account_id.as_deref() == Some(account)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> AgreementRequest {
        AgreementRequest {
            id: id.into(),
            status: RequestStatus::Approved,
            intent: "NEW".into(),
            product_code: "p".into(),
            offer_id: "offer-1".into(),
            term_ids: vec![],
            requester: "111122223333".into(),
            client_token: Some(format!("t-{id}")),
            created_at: Instant(0),
            agreement_id: None,
            acceptor_contact: None,
            contract: None,
            fingerprint: None,
            auto_renew: false,
            source_agreement_id: None,
            amends: None,
            trial_days: None,
            variable_payment: None,
            approval_required: false,
        }
    }

    #[test]
    fn requests_are_bounded_and_found_by_id_and_token() {
        let mut requests = AgreementRequests::default();
        for i in 0..=MAX_AGREEMENT_REQUESTS {
            requests.add(request(&format!("ar-{i}")));
        }
        assert_eq!(requests.0.len(), MAX_AGREEMENT_REQUESTS);
        assert!(requests.get("ar-0").is_none());
        assert!(requests.get("ar-1").is_some());
        assert_eq!(
            requests
                .by_client_token("111122223333", "t-ar-5")
                .unwrap()
                .id,
            "ar-5"
        );
        assert!(requests.by_client_token("444455556666", "t-ar-5").is_none());
    }

    #[test]
    fn an_ending_agreement_has_its_notices_after_acceptance_then_its_end() {
        let day = 86_400_000;
        let mut c = Customer {
            accepted_at: Some(Instant(0)),
            ends_at: Some(Instant(100 * day)),
            ..Customer::default()
        };
        let due = |c: &Customer, at: i64| -> Vec<Milestone> {
            due_milestones(c, Instant(at))
                .into_iter()
                .map(|(m, _)| m)
                .collect()
        };
        // A 100-day agreement: the 90, 60 and 30-day notices (not those before acceptance),
        // then the end.
        assert_eq!(due(&c, 9 * day), []);
        assert_eq!(
            due(&c, 45 * day),
            [Milestone::Ending(90), Milestone::Ending(60)]
        );
        assert_eq!(next_milestone(&c), Some(Instant(10 * day)));
        c.milestones_notified_through = Some(Instant(45 * day));
        assert_eq!(next_milestone(&c), Some(Instant(70 * day)));
        assert_eq!(
            due(&c, 100 * day),
            [Milestone::Ending(30), Milestone::Expired]
        );
        // A later end brings its own milestones; those already past stay done.
        c.milestones_notified_through = Some(Instant(100 * day));
        assert_eq!(next_milestone(&c), None);
        c.ends_at = Some(Instant(200 * day));
        assert_eq!(next_milestone(&c), Some(Instant(110 * day)));
        c.subscription = SubscriptionState::UnsubscribePending;
        assert_eq!(next_milestone(&c), None);
        // A contract of exactly 30 days has no notice at its acceptance.
        let month = Customer {
            accepted_at: Some(Instant(0)),
            ends_at: Some(Instant(30 * day)),
            ..Customer::default()
        };
        assert_eq!(due(&month, 30 * day), [Milestone::Expired]);
    }

    #[test]
    fn statuses_follow_the_subscription() {
        let mut c = Customer::default();
        let now = Instant(1_000);
        assert_eq!(
            (status(&c, now), entitlement_status(&c, now).0),
            ("ACTIVE", "PROVISIONED")
        );
        c.ends_at = Some(Instant(1_000));
        assert_eq!(
            (status(&c, now), entitlement_status(&c, now).0),
            ("EXPIRED", "DEPROVISIONED")
        );
        assert_eq!(status(&c, Instant(999)), "ACTIVE");
        c.subscription = SubscriptionState::UnsubscribePending;
        assert_eq!(
            (status(&c, now), entitlement_status(&c, now).0),
            ("CANCELLED", "DEPROVISIONED")
        );
        c.customer_aws_account_id = Some("111122223333".parse().unwrap());
        assert!(is_party(&c, "999999999999", Some("111122223333")));
        assert!(is_party(&c, "999999999999", Some("999999999999")));
        assert!(!is_party(&c, "999999999999", Some("444455556666")));
        assert!(is_party(&c, "999999999999", None));
    }
}
