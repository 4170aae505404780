//! What AWS Marketplace tells a seller when a subscription or its entitlements change: the
//! SNS notification (envelope and `Message`) on the subscription or entitlement topic, the
//! EventBridge events of the same moment, and the delivery of both to the product's webhooks
//! with retries: in order (a webhook gets a moment's events one after the other), each
//! event after its delay, and twice when the namespace asks for duplicates.
//!
//! Layer: domain. Pure: ids and times are passed in. Delivery times are host (real) time,
//! since retries happen in real time whatever the namespace clock says.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agreement::agreement_id;
use super::cancellation::CancellationRequest;
use super::catalogue::{Customer, Product, WebhookFormat};
use super::invoice::{AdjustmentStatus, BillingAdjustment};
use super::offer::Offer;
use super::settings::{EventShapes, LicenseDeprovisionedAt, Settings};
use super::subscription::LifecycleAction;
use super::time::Instant;

/// The AWS account that owns the Marketplace SNS topics (seller guide's topic ARNs).
pub const MARKETPLACE_SNS_ACCOUNT: &str = "287250355862";

/// Why a notification was sent: a lifecycle action, changed entitlements, or a milestone
/// of an ending agreement by the namespace clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Lifecycle(LifecycleAction),
    /// `unsubscribe-success` straight from `subscribed` (no final hour): the agreement ends
    /// and its license goes in one moment.
    UnsubscribedAtOnce,
    EntitlementUpdated,
    /// The agreement ends in this many days (EventBridge only: no SNS message).
    Ending(u32),
    /// The agreement reached its end (EventBridge only: no SNS message).
    Expired,
    /// The buyer amended its contract (`entitlements`: its quantities changed, not only its
    /// renewal choice).
    Amended {
        entitlements: bool,
    },
    /// The buyer replaced its agreement by one on another offer: the license stays.
    Replaced,
    /// The contract renewed at its end: a new agreement of the same license.
    Renewed,
    /// The agreement's free trial ended: its usage is priced from now on.
    TrialEnded,
}

impl Change {
    /// The lifecycle action of the moment, if it is one.
    pub fn lifecycle(self) -> Option<LifecycleAction> {
        match self {
            Change::Lifecycle(a) => Some(a),
            Change::UnsubscribedAtOnce => Some(LifecycleAction::UnsubscribeSuccess),
            Change::EntitlementUpdated
            | Change::Ending(_)
            | Change::Expired
            | Change::Amended { .. }
            | Change::Replaced
            | Change::Renewed
            | Change::TrialEnded => None,
        }
    }

    /// The SNS message's `action`: the lifecycle action, else `entitlement-updated`.
    fn sns_action(self) -> &'static str {
        self.lifecycle().map_or("entitlement-updated", |a| a.name())
    }

    /// The moment's name in the event log: the SNS action, or what happened.
    pub fn action(self) -> &'static str {
        match (self, self.lifecycle()) {
            (_, Some(a)) => a.name(),
            (Change::Ending(_), None) => "agreement-ending",
            (Change::Expired, None) => "agreement-expired",
            (Change::Amended { .. }, None) => "agreement-amended",
            (Change::Replaced, None) => "agreement-replaced",
            (Change::Renewed, None) => "agreement-renewed",
            (Change::TrialEnded, None) => "free-trial-ended",
            _ => "entitlement-updated",
        }
    }

    /// Whether the moment has an SNS message (AWS's SNS topics predate agreement milestones).
    /// An amendment that changed only the renewal choice changes no entitlement either.
    fn has_sns(self) -> bool {
        !matches!(
            self,
            Change::Ending(_)
                | Change::Expired
                | Change::Amended {
                    entitlements: false
                }
        )
    }

    fn topic(self) -> &'static str {
        match self.lifecycle() {
            Some(_) => "aws-mp-subscription-notification",
            None => "aws-mp-entitlement-notification",
        }
    }

    /// The seller's EventBridge events of the same moment, in the order AWS sends them. A
    /// seller who both makes and sells the product gets the "- Proposer" agreement events
    /// (AWS sends one of the two agreement variants) and the "- Manufacturer" license
    /// events. `License Deprovisioned` follows `Ended` or the final hour (`deprovisioned`).
    fn eventbridge_kinds(self, deprovisioned: LicenseDeprovisionedAt) -> Vec<EventKind> {
        use EventKind::{AgreementCreated, AgreementEnded, LicenseDeprovisioned, LicenseUpdated};
        use LicenseDeprovisionedAt::{Cancellation, FinalHourEnd};
        use LifecycleAction::*;
        let cancelled = AgreementEnded(EndedAs::Cancelled);
        let superseded = AgreementEnded(EndedAs::Superseded);
        match (self, deprovisioned) {
            (Change::Lifecycle(SubscribeSuccess), _) => vec![AgreementCreated, LicenseUpdated],
            (Change::Lifecycle(SubscribeFail), _) => vec![],
            (Change::Lifecycle(UnsubscribePending), Cancellation) => {
                vec![cancelled, LicenseDeprovisioned]
            }
            (Change::Lifecycle(UnsubscribePending), FinalHourEnd) => vec![cancelled],
            (Change::Lifecycle(UnsubscribeSuccess), Cancellation) => vec![],
            (Change::Lifecycle(UnsubscribeSuccess), FinalHourEnd) => vec![LicenseDeprovisioned],
            (Change::UnsubscribedAtOnce, _) => vec![cancelled, LicenseDeprovisioned],
            (Change::EntitlementUpdated, _) => vec![LicenseUpdated],
            (Change::Ending(days), _) => vec![EventKind::AgreementEnding(days)],
            (Change::Expired, _) => vec![AgreementEnded(EndedAs::Expired), LicenseDeprovisioned],
            (Change::Amended { entitlements }, _) => match entitlements {
                true => vec![EventKind::AgreementAmended, LicenseUpdated],
                false => vec![EventKind::AgreementAmended],
            },
            (Change::TrialEnded, _) => vec![LicenseUpdated],
            (Change::Replaced | Change::Renewed, _) => {
                vec![superseded, AgreementCreated, LicenseUpdated]
            }
        }
    }
}

/// The seller-side EventBridge events the mock sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    /// A new agreement: a buyer's, or one that renewed or replaced the license's previous.
    AgreementCreated,
    AgreementAmended,
    AgreementEnded(EndedAs),
    /// `daysBeforeEndTime` days before its end.
    AgreementEnding(u32),
    LicenseUpdated,
    LicenseDeprovisioned,
}

impl EventKind {
    fn detail_type(self) -> &'static str {
        match self {
            EventKind::AgreementCreated => "Purchase Agreement Created - Proposer",
            EventKind::AgreementAmended => "Purchase Agreement Amended - Proposer",
            EventKind::AgreementEnded(_) => "Purchase Agreement Ended - Proposer",
            EventKind::AgreementEnding(_) => "Purchase Agreement Ending - Proposer",
            EventKind::LicenseUpdated => "License Updated - Manufacturer",
            EventKind::LicenseDeprovisioned => "License Deprovisioned - Manufacturer",
        }
    }

    /// How long after its moment the event is sent (settings `license…DelaySeconds`).
    fn delay_seconds(self, settings: &Settings) -> u32 {
        match self {
            EventKind::AgreementCreated
            | EventKind::AgreementAmended
            | EventKind::AgreementEnded(_)
            | EventKind::AgreementEnding(_) => 0,
            EventKind::LicenseUpdated => settings.license_updated_delay_seconds,
            EventKind::LicenseDeprovisioned => settings.license_deprovisioned_delay_seconds,
        }
    }
}

/// How an agreement ended, for its `Purchase Agreement Ended` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndedAs {
    Cancelled,
    Expired,
    /// The license's previous agreement, renewed or replaced.
    Superseded,
}

/// How long after the first delivery of a webhook's moment its duplicates are sent.
const DUPLICATE_AFTER_MS: i64 = 1_000;

/// Where one delivery of an event stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One event's delivery to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub url: String,
    pub format: WebhookFormat,
    /// For EventBridge webhooks: which of the moment's events this delivery carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_index: Option<usize>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// Host time of the next attempt while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Instant>,
    /// What the last attempt got: an HTTP status or a network error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// A second delivery of the same message (setting `duplicateEventDeliveries`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// The retry policy of a namespace (settings `webhookMaxAttempts`, `webhookRetryDelaySeconds`).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub delay_seconds: u32,
}

impl Delivery {
    /// Records an attempt's outcome (`Ok(status)` or `Err(network error)`) at host time `now`.
    /// 2xx delivers; anything else is retried after the delay until the attempts run out.
    pub fn record_attempt(
        &mut self,
        outcome: Result<u16, String>,
        now: Instant,
        policy: RetryPolicy,
    ) {
        self.attempts += 1;
        let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
        match outcome {
            Ok(status) => {
                self.last_status = Some(status);
                self.last_error =
                    (!delivered).then(|| format!("the webhook answered HTTP {status}"));
            }
            Err(error) => {
                self.last_status = None;
                self.last_error = Some(error);
            }
        }
        (self.status, self.next_attempt_at) = if delivered {
            (DeliveryStatus::Delivered, None)
        } else if self.attempts >= policy.max_attempts {
            (DeliveryStatus::Failed, None)
        } else {
            (
                DeliveryStatus::Pending,
                Some(now.plus_seconds(i64::from(policy.delay_seconds))),
            )
        };
    }
}

/// One notification moment: the SNS notification, the EventBridge event (when the moment
/// has one) and their deliveries, as `GET /_mock/events` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Position in the namespace's event log, from 1; assigned by the store.
    pub seq: u64,
    pub action: String,
    pub product_code: String,
    pub time: Instant,
    /// The SNS notification envelope, as an SNS HTTP endpoint or SQS queue receives it.
    pub sns: Value,
    /// The EventBridge events of the moment (none for `subscribe-fail`).
    #[serde(default)]
    pub event_bridge: Vec<Value>,
    /// The buyer's twins of the moment's agreement events (`- Acceptor`, on its own bus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptor_events: Vec<Value>,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl EventRecord {
    /// Builds the notifications of `change` for `customer` of `product` at namespace time
    /// `at`, with deliveries to each webhook of the product due from host time `host_now`
    /// (each EventBridge event after its delay), as the namespace's `settings` say.
    pub fn new(
        change: Change,
        product: &Product,
        customer: &Customer,
        at: Instant,
        host_now: Instant,
        settings: &Settings,
        mut next_id: impl FnMut() -> String,
    ) -> EventRecord {
        let sns = match change.has_sns() {
            true => sns_envelope(change, product, customer, at, next_id()),
            false => Value::Null,
        };
        let kinds = change.eventbridge_kinds(settings.license_deprovisioned_at);
        let delays: Vec<i64> = kinds
            .iter()
            .map(|k| i64::from(k.delay_seconds(settings)))
            .collect();
        let event_bridge: Vec<Value> = kinds
            .iter()
            .zip(&delays)
            .map(|(&kind, &delay)| {
                let sent = at.plus_seconds(delay);
                eventbridge_event(
                    kind,
                    product,
                    customer,
                    sent,
                    next_id(),
                    settings.event_shapes,
                )
            })
            .collect();
        // The buyer's twins, kept only where a webhook of the product wants them.
        let wanted = product
            .webhooks
            .iter()
            .any(|w| w.format == WebhookFormat::EventbridgeAcceptor);
        let acceptor_events: Vec<Value> = event_bridge
            .iter()
            .filter(|_| wanted)
            .filter(|e| has_acceptor_twin(e))
            .filter_map(|e| acceptor_twin(e, customer, next_id()))
            .collect();
        let pending = |w: &super::catalogue::Webhook, event_index: Option<usize>| Delivery {
            url: w.url.to_string(),
            format: w.format,
            event_index,
            status: DeliveryStatus::Pending,
            attempts: 0,
            // The seller's license events wait their delays; the buyer's events have none.
            next_attempt_at: Some(host_now.plus_seconds(match (w.format, event_index) {
                (WebhookFormat::Eventbridge, Some(i)) => delays[i],
                _ => 0,
            })),
            last_status: None,
            last_error: None,
            duplicate: false,
        };
        let mut deliveries: Vec<Delivery> = product
            .webhooks
            .iter()
            .flat_map(|w| match w.format {
                WebhookFormat::Sns if change.has_sns() => vec![pending(w, None)],
                WebhookFormat::Sns => vec![],
                WebhookFormat::Eventbridge => (0..event_bridge.len())
                    .map(|i| pending(w, Some(i)))
                    .collect(),
                WebhookFormat::EventbridgeAcceptor => (0..acceptor_events.len())
                    .map(|i| pending(w, Some(i)))
                    .collect(),
            })
            .collect();
        order_deliveries(&mut deliveries, host_now, settings);
        EventRecord {
            seq: 0,
            action: change.action().into(),
            product_code: product.product_code.to_string(),
            time: at,
            sns,
            event_bridge,
            acceptor_events,
            deliveries,
        }
    }

    /// A moment of EventBridge events alone (`action` in the log), sent to the product's
    /// EventBridge webhooks from host time `host_now`, without delay.
    pub fn eventbridge_only(
        action: &str,
        product: &Product,
        events: Vec<Value>,
        at: Instant,
        host_now: Instant,
        settings: &Settings,
    ) -> EventRecord {
        let mut deliveries: Vec<Delivery> = product
            .webhooks
            .iter()
            .filter(|w| w.format == WebhookFormat::Eventbridge)
            .flat_map(|w| {
                (0..events.len()).map(move |i| Delivery {
                    url: w.url.to_string(),
                    format: w.format,
                    event_index: Some(i),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: Some(host_now),
                    last_status: None,
                    last_error: None,
                    duplicate: false,
                })
            })
            .collect();
        order_deliveries(&mut deliveries, host_now, settings);
        EventRecord {
            seq: 0,
            action: action.to_string(),
            product_code: product.product_code.to_string(),
            time: at,
            sns: Value::Null,
            event_bridge: events,
            acceptor_events: Vec::new(),
            deliveries,
        }
    }

    /// Whether delivery `index` waits for an earlier one of this moment to the same webhook,
    /// still pending: a webhook gets a moment's messages in order.
    pub fn waits(&self, index: usize) -> bool {
        let Some(d) = self.deliveries.get(index) else {
            return false;
        };
        self.deliveries[..index]
            .iter()
            .any(|e| e.url == d.url && e.status == DeliveryStatus::Pending)
    }

    /// Records an attempt of delivery `index` (`Delivery::record_attempt`); when it is to be
    /// retried, the later deliveries to the same webhook wait until then.
    pub fn record_attempt(
        &mut self,
        index: usize,
        outcome: Result<u16, String>,
        now: Instant,
        policy: RetryPolicy,
    ) {
        let Some(d) = self.deliveries.get_mut(index) else {
            return;
        };
        d.record_attempt(outcome, now, policy);
        let (url, retry_at) = (d.url.clone(), d.next_attempt_at);
        if let Some(retry_at) = retry_at {
            for later in self.deliveries[index + 1..].iter_mut() {
                if later.url == url && later.status == DeliveryStatus::Pending {
                    later.next_attempt_at = later.next_attempt_at.map(|t| t.max(retry_at));
                }
            }
        }
    }

    /// The earliest pending delivery time, if any delivery is pending.
    /// A delivery that waits for an earlier one to the same URL counts from that one's time
    /// at the earliest, so the time is never one at which nothing can be sent.
    pub fn next_attempt_at(&self) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        for (i, d) in self.deliveries.iter().enumerate() {
            let Some(own) = d
                .next_attempt_at
                .filter(|_| d.status == DeliveryStatus::Pending)
            else {
                continue;
            };
            let before = self.deliveries[..i]
                .iter()
                .filter(|e| e.url == d.url && e.status == DeliveryStatus::Pending)
                .filter_map(|e| e.next_attempt_at)
                .max();
            let effective = before.map_or(own, |b| b.max(own));
            earliest = Some(earliest.map_or(effective, |e| e.min(effective)));
        }
        earliest
    }

    /// The HTTP request of delivery `index`: headers and body, as SNS (HTTP/S subscription)
    /// or an EventBridge API destination sends it.
    pub fn delivery_request(&self, index: usize) -> Option<(Vec<(String, String)>, String)> {
        let delivery = self.deliveries.get(index)?;
        match delivery.format {
            WebhookFormat::Sns => {
                let text = |key: &str| self.sns[key].as_str().unwrap_or_default().to_string();
                Some((
                    vec![
                        ("content-type".into(), "text/plain; charset=UTF-8".into()),
                        ("x-amz-sns-message-type".into(), "Notification".into()),
                        ("x-amz-sns-message-id".into(), text("MessageId")),
                        ("x-amz-sns-topic-arn".into(), text("TopicArn")),
                        (
                            "user-agent".into(),
                            "Amazon Simple Notification Service Agent".into(),
                        ),
                    ],
                    self.sns.to_string(),
                ))
            }
            WebhookFormat::Eventbridge | WebhookFormat::EventbridgeAcceptor => Some((
                vec![
                    (
                        "content-type".into(),
                        "application/json; charset=utf-8".into(),
                    ),
                    (
                        "user-agent".into(),
                        "Amazon/EventBridge/ApiDestinations".into(),
                    ),
                ],
                match delivery.format {
                    WebhookFormat::EventbridgeAcceptor => &self.acceptor_events,
                    _ => &self.event_bridge,
                }
                .get(delivery.event_index?)?
                .to_string(),
            )),
        }
    }
}

/// Adds the duplicates `settings` asks for, after every first delivery of the moment, and
/// makes a webhook listed twice, or in both formats, get its messages in list order: no
/// delivery is due before an earlier one to the same URL.
fn order_deliveries(deliveries: &mut Vec<Delivery>, host_now: Instant, settings: &Settings) {
    if settings.duplicate_event_deliveries {
        let last = deliveries.iter().filter_map(|d| d.next_attempt_at).max();
        let again = last.map(|t| Instant(t.0.saturating_add(DUPLICATE_AFTER_MS)));
        let copies: Vec<Delivery> = deliveries
            .iter()
            .map(|d| Delivery {
                next_attempt_at: again,
                duplicate: true,
                ..d.clone()
            })
            .collect();
        deliveries.extend(copies);
    }
    let mut latest: Vec<(String, Instant)> = Vec::new();
    for d in deliveries.iter_mut() {
        let at = d.next_attempt_at.unwrap_or(host_now);
        let at = match latest.iter_mut().find(|(url, _)| *url == d.url) {
            Some((_, previous)) => {
                *previous = (*previous).max(at);
                *previous
            }
            None => {
                latest.push((d.url.clone(), at));
                at
            }
        };
        d.next_attempt_at = Some(at);
    }
}

/// The seller's `Agreement Cancellation Request <status> - Proposer` event of `request`, on
/// `customer`'s agreement of `product` (`resources` empty, as AWS sends it).
pub fn cancellation_event(
    product: &Product,
    customer: &Customer,
    request: &CancellationRequest,
    at: Instant,
    id: String,
) -> Value {
    let offer = Offer::public(product);
    let mut body = json!({
        "id": request.id,
        "reasonCode": request.reason_code,
        "reasonMessage": request.description,
        "statusCode": request.status.name(),
        "statusMessage": request.status_message,
        "createdAt": request.created_at.to_rfc3339_millis(),
        "updatedAt": request.updated_at.to_rfc3339_millis(),
    });
    if let Some(map) = body.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    let detail_type = format!(
        "Agreement Cancellation Request {} - Proposer",
        request.status.event_words()
    );
    let detail = json!({
        "requestId": id,
        "catalog": "AWSMarketplace",
        "agreement": {
            "id": request.agreement_id,
            "acceptorId": customer.customer_aws_account_id,
            "productId": offer.product_id,
            "offerId": offer.id_for(customer),
        },
        "agreementCancellationRequest": body,
    });
    envelope(id, detail_type, &offer.proposer, at, vec![], detail)
}

/// `Purchase Agreement Billing Adjustment Completed|Failed - Proposer` of `adjustment` of an
/// agreement of `product`.
pub fn billing_adjustment_event(
    product: &Product,
    adjustment: &BillingAdjustment,
    at: Instant,
    id: String,
) -> Value {
    let offer = Offer::public(product);
    let outcome = match adjustment.status {
        AdjustmentStatus::ValidationFailed => "Failed",
        AdjustmentStatus::Completed => "Completed",
    };
    let detail_type = format!("Purchase Agreement Billing Adjustment {outcome} - Proposer");
    let detail = json!({
        "requestId": id,
        "catalog": "AWSMarketplace",
        "agreement": {"id": adjustment.agreement_id},
        "billingAdjustmentRequest": {
            "id": adjustment.id,
            "adjustmentAmount": adjustment.amount,
            "currencyCode": "USD",
            "adjustmentReasonCode": adjustment.reason_code,
        },
        "invoice": {"originalInvoiceId": adjustment.original_invoice_id},
    });
    envelope(id, detail_type, &offer.proposer, at, vec![], detail)
}

/// An event of `aws.agreement-marketplace` to `account`, sent at `at` (whole seconds, as
/// EventBridge gives its times).
fn envelope(
    id: String,
    detail_type: String,
    account: &str,
    at: Instant,
    resources: Vec<String>,
    detail: Value,
) -> Value {
    let whole = Instant(at.0 - at.0.rem_euclid(1000));
    json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": "aws.agreement-marketplace",
        "account": account,
        "time": whole.to_rfc3339(),
        "region": "us-east-1",
        "resources": resources,
        "detail": detail,
    })
}

fn sns_envelope(
    change: Change,
    product: &Product,
    customer: &Customer,
    at: Instant,
    message_id: String,
) -> Value {
    let mut message = serde_json::Map::new();
    message.insert("action".into(), json!(change.sns_action()));
    if let Some(id) = &customer.customer_identifier {
        message.insert("customer-identifier".into(), json!(id));
    }
    message.insert("product-code".into(), json!(product.product_code));
    if let Some(action) = change.lifecycle() {
        // The seller guide: the offer is named on subscribe-success and subscribe-fail only.
        let names_offer = matches!(
            action,
            LifecycleAction::SubscribeSuccess | LifecycleAction::SubscribeFail
        );
        if let Some(offer) = customer.offer_identifier.as_ref().filter(|_| names_offer) {
            message.insert("offer-identifier".into(), json!(offer));
        }
        // A string, not a JSON boolean, as AWS sends it.
        message.insert(
            "isFreeTrialTermPresent".into(),
            json!(if customer.free_trial { "true" } else { "false" }),
        );
    }
    json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": format!(
            "arn:aws:sns:us-east-1:{MARKETPLACE_SNS_ACCOUNT}:{}-{}",
            change.topic(),
            product.product_code
        ),
        "Message": Value::Object(message).to_string(),
        "Timestamp": at.to_rfc3339_millis(),
    })
}

/// How many days before its end the buyer is told an agreement ends (the buyer guide: 90,
/// 60 and 30).
const ACCEPTOR_ENDING_DAYS: [u64; 3] = [90, 60, 30];

/// Whether a seller's event has a buyer's twin: agreement events do (the Ending notices
/// 90, 60 and 30 days before only); license events do not.
fn has_acceptor_twin(event: &Value) -> bool {
    let agreement_event = event["detail-type"]
        .as_str()
        .is_some_and(|t| t.ends_with(" - Proposer"));
    let days = event["detail"]["agreement"]["daysBeforeEndTime"].as_u64();
    agreement_event && days.is_none_or(|d| ACCEPTOR_ENDING_DAYS.contains(&d))
}

/// The buyer's twin of a seller's agreement event (`has_acceptor_twin`): the same detail,
/// `- Acceptor` for `- Proposer`, sent to the buyer's account with its own id.
fn acceptor_twin(event: &Value, customer: &Customer, id: String) -> Option<Value> {
    let kind = event["detail-type"].as_str()?.strip_suffix(" - Proposer")?;
    let mut twin = event.clone();
    twin["detail-type"] = json!(format!("{kind} - Acceptor"));
    twin["account"] = json!(customer.customer_aws_account_id.as_deref()?);
    twin["id"] = json!(id);
    twin["detail"]["requestId"] = twin["id"].clone();
    Some(twin)
}

/// What a contract that renews will cost for its next term (the offer's prices now: no
/// price increase, no lockout), for its Ending and Amended events; none if it does not renew.
fn renewal_summary(product: &Product, customer: &Customer) -> Option<Value> {
    let choice = customer.contract.as_ref()?;
    let pricing = Offer::renewal_of(product, customer)?;
    Some(json!({
        "tcv": pricing.charge(choice).to_string(),
        "currency": "USD",
        "termsFinalizedTime": null,
        "lockoutReached": false,
        "lockoutStartTime": null,
    }))
}

/// The end AWS gives a pay-as-you-go agreement in its events.
const OPEN_END_TIME: &str = "9999-01-01T00:00:00Z";

/// An agreement or license event, in the shapes `shapes` names (captured from AWS in 2026,
/// or the seller guide's examples), filled with what the mock knows.
fn eventbridge_event(
    kind: EventKind,
    product: &Product,
    customer: &Customer,
    at: Instant,
    id: String,
    shapes: EventShapes,
) -> Value {
    let captured = shapes == EventShapes::Captured2026;
    let offer = Offer::public(product);
    let seller = offer.proposer.clone();
    // The Ended event of a renewal or replacement is the previous agreement's.
    let previous = customer.previous();
    let ended_previous = kind == EventKind::AgreementEnded(EndedAs::Superseded);
    let agreement = match previous.filter(|_| ended_previous) {
        Some(p) => p.agreement_id.to_string(),
        None => agreement_id(customer).unwrap_or_default(),
    };
    // An agreement that began as its license's previous one ended renewed or replaced it.
    let follows = previous.filter(|p| Some(p.ended_at) == customer.accepted_at);
    let whole = Instant(at.0 - at.0.rem_euclid(1000));
    // Captured events time the agreement to the millisecond; the guide's examples do not.
    let agreement_time = if captured {
        at.to_rfc3339_millis()
    } else {
        whole.to_rfc3339()
    };
    let resale = if captured {
        json!({ "id": null })
    } else {
        Value::Null
    };
    let mut detail = serde_json::Map::new();
    detail.insert("requestId".into(), json!(id));
    detail.insert("catalog".into(), json!("AWSMarketplace"));
    match kind {
        EventKind::AgreementCreated | EventKind::AgreementAmended => {
            let intent = match (kind, follows) {
                (EventKind::AgreementAmended, _) => "AMEND",
                (_, Some(p)) => p.status.intent(),
                (_, None) => "NEW",
            };
            // An amendment keeps the agreement's acceptance and start; a renewal starts at
            // the previous one's end, whenever the clock reached it.
            let (accepted, started) = match (kind, follows) {
                (EventKind::AgreementAmended, _) | (_, Some(_)) => {
                    let start = super::agreement::accepted_at(customer).unwrap_or(at);
                    let start = match captured {
                        true => start.to_rfc3339_millis(),
                        false => start.to_rfc3339(),
                    };
                    (start.clone(), start)
                }
                _ => (agreement_time.clone(), agreement_time.clone()),
            };
            let mut body = json!({"id": agreement, "intent": intent, "status": "ACTIVE",
                                  "acceptanceTime": accepted, "startTime": started});
            if let (Some(p), EventKind::AgreementCreated) = (follows, kind) {
                body["previousAgreementId"] = json!(p.agreement_id);
            }
            match customer.ends_at {
                Some(end) if captured => body["endTime"] = json!(end.to_rfc3339_millis()),
                Some(end) => body["endTime"] = json!(end.to_rfc3339()),
                // Pay-as-you-go agreements have no end; AWS dates it 9999-01-01.
                None if captured => body["endTime"] = json!(OPEN_END_TIME),
                None => {}
            }
            if kind == EventKind::AgreementAmended {
                let renews = Offer::renewal_of(product, customer).is_some();
                body["autoRenewalEnabled"] = json!(renews);
                detail.insert(
                    "product".into(),
                    json!({ "id": offer.product_id, "title": product.product_code }),
                );
                if let Some(summary) = renewal_summary(product, customer) {
                    detail.insert("renewalSummary".into(), summary);
                }
            }
            detail.insert("agreement".into(), body);
            detail.insert("resaleAuthorization".into(), resale);
        }
        EventKind::AgreementEnded(how) => {
            let status = match (how, previous) {
                (EndedAs::Cancelled, _) => "CANCELLED",
                (EndedAs::Expired, _) => "EXPIRED",
                (EndedAs::Superseded, Some(p)) => p.status.status(),
                (EndedAs::Superseded, None) => "EXPIRED",
            };
            detail.insert(
                "agreement".into(),
                json!({"id": agreement, "status": status}),
            );
            detail.insert("resaleAuthorization".into(), resale);
        }
        EventKind::AgreementEnding(days) => {
            let time = |t: Instant| match captured {
                true => t.to_rfc3339_millis(),
                false => t.to_rfc3339(),
            };
            let renews = Offer::renewal_of(product, customer).is_some();
            let mut body = json!({"id": agreement, "status": "ACTIVE", "daysBeforeEndTime": days,
                                  "autoRenewalEnabled": renews});
            if let Some(start) = super::agreement::accepted_at(customer) {
                body["startTime"] = json!(time(start));
            }
            if let Some(end) = customer.ends_at {
                body["endTime"] = json!(time(end));
            }
            detail.insert("agreement".into(), body);
            if let Some(summary) = renewal_summary(product, customer) {
                detail.insert("renewalSummary".into(), summary);
            }
            // The product by its id and title.
            detail.insert(
                "product".into(),
                json!({ "id": offer.product_id, "title": product.product_code }),
            );
        }
        EventKind::LicenseUpdated | EventKind::LicenseDeprovisioned => {
            detail.insert("agreement".into(), json!({ "id": agreement }));
            detail.insert(
                "product".into(),
                json!({ "code": product.product_code, "id": offer.product_id }),
            );
            if let Some(license) = &customer.license_arn {
                detail.insert("license".into(), json!({ "arn": license }));
            }
        }
    }
    if let Some(account) = &customer.customer_aws_account_id {
        detail.insert("acceptor".into(), json!({ "accountId": account }));
    }
    detail.insert("proposer".into(), json!({ "accountId": seller }));
    // Every agreement is made on an offer (the private one named, else the public one); the
    // captured Ended event alone does not name it.
    if !(captured && matches!(kind, EventKind::AgreementEnded(_))) {
        let id = match previous.filter(|_| ended_previous) {
            Some(p) => p.offer_identifier.as_deref().unwrap_or(&offer.offer_id),
            None => offer.id_for(customer),
        };
        detail.insert("offer".into(), json!({ "id": id }));
    }
    let resources = vec![format!(
        "arn:aws:aws-marketplace::aws:agreement:{agreement}"
    )];
    envelope(
        id,
        kind.detail_type().to_string(),
        &seller,
        at,
        resources,
        Value::Object(detail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> Product {
        serde_json::from_value(json!({
            "productCode": "prod-1", "dimensions": ["d"],
            "webhooks": [
                {"url": "http://127.0.0.1:9/sns"},
                {"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}
            ]
        }))
        .unwrap()
    }

    fn customer() -> Customer {
        Customer {
            customer_identifier: Some("cust-1".parse().unwrap()),
            customer_aws_account_id: Some("111122223333".parse().unwrap()),
            agreement_id: Some("agmt-1".parse().unwrap()),
            free_trial: true,
            ..Default::default()
        }
    }

    fn documented() -> Settings {
        Settings {
            event_shapes: EventShapes::Documented,
            ..Settings::default()
        }
    }

    /// The notifications of `change` for the test customer of the test product, each
    /// message with its own id.
    fn event_with(change: Change, settings: &Settings) -> EventRecord {
        let mut n = 0;
        EventRecord::new(
            change,
            &product(),
            &customer(),
            Instant(1_767_225_600_250),
            Instant(5),
            settings,
            || {
                n += 1;
                format!("id-{n}")
            },
        )
    }

    fn detail_types(e: &EventRecord) -> Vec<&str> {
        e.event_bridge
            .iter()
            .map(|x| x["detail-type"].as_str().unwrap())
            .collect()
    }

    const ENDED: &str = "Purchase Agreement Ended - Proposer";
    const DEPROVISIONED: &str = "License Deprovisioned - Manufacturer";

    #[test]
    fn license_deprovisioned_follows_ended_or_the_final_hour() {
        let captured = Settings::default();
        let pending = Change::Lifecycle(LifecycleAction::UnsubscribePending);
        let success = Change::Lifecycle(LifecycleAction::UnsubscribeSuccess);
        assert_eq!(
            detail_types(&event_with(pending, &captured)),
            [ENDED, DEPROVISIONED]
        );
        assert!(detail_types(&event_with(success, &captured)).is_empty());
        let later = Settings {
            license_deprovisioned_at: LicenseDeprovisionedAt::FinalHourEnd,
            ..Settings::default()
        };
        assert_eq!(detail_types(&event_with(pending, &later)), [ENDED]);
        assert_eq!(detail_types(&event_with(success, &later)), [DEPROVISIONED]);
        for settings in [&captured, &later] {
            let at_once = event_with(Change::UnsubscribedAtOnce, settings);
            assert_eq!(detail_types(&at_once), [ENDED, DEPROVISIONED]);
            assert_eq!(at_once.action, "unsubscribe-success");
        }
    }

    #[test]
    fn a_url_listed_twice_is_never_due_before_its_earlier_deliveries() {
        let product: Product = serde_json::from_value(json!({
            "productCode": "prod-1", "dimensions": ["d"],
            "webhooks": [
                {"url": "http://127.0.0.1:9/x", "format": "eventbridge"},
                {"url": "http://127.0.0.1:9/x"}
            ]
        }))
        .unwrap();
        let settings = Settings {
            license_updated_delay_seconds: 60,
            ..Settings::default()
        };
        let mut e = EventRecord::new(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &product,
            &customer(),
            Instant(0),
            Instant(0),
            &settings,
            || "id".into(),
        );
        let times: Vec<_> = e.deliveries.iter().map(|d| d.next_attempt_at).collect();
        // Created now, License Updated in 60 s, and the SNS message after both.
        assert_eq!(
            times,
            [
                Some(Instant(0)),
                Some(Instant(60_000)),
                Some(Instant(60_000))
            ]
        );
        let policy = RetryPolicy {
            max_attempts: 3,
            delay_seconds: 1,
        };
        e.record_attempt(0, Ok(200), Instant(0), policy);
        assert_eq!(e.next_attempt_at(), Some(Instant(60_000)));
        // Even a stored event out of order never names a time at which nothing can go.
        e.deliveries[2].next_attempt_at = Some(Instant(0));
        assert_eq!(e.next_attempt_at(), Some(Instant(60_000)));
    }

    #[test]
    fn license_events_come_after_their_delay_and_a_webhook_gets_them_in_order() {
        let settings = Settings {
            license_updated_delay_seconds: 61,
            ..Settings::default()
        };
        let mut e = event_with(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &settings,
        );
        // The event's own time is when AWS would send it.
        assert_eq!(e.event_bridge[0]["time"], "2026-01-01T00:00:00Z");
        assert_eq!(e.event_bridge[1]["time"], "2026-01-01T00:01:01Z");
        let times: Vec<_> = e.deliveries.iter().map(|d| d.next_attempt_at).collect();
        assert_eq!(
            times,
            [Some(Instant(5)), Some(Instant(5)), Some(Instant(61_005))]
        );
        // Deliveries 1 and 2 go to the EventBridge webhook: the second waits for the first.
        assert!(!e.waits(0) && !e.waits(1) && e.waits(2));
        let policy = RetryPolicy {
            max_attempts: 5,
            delay_seconds: 100,
        };
        e.record_attempt(1, Ok(500), Instant(5), policy);
        assert_eq!(e.deliveries[2].next_attempt_at, Some(Instant(100_005)));
        e.record_attempt(1, Ok(200), Instant(100_005), policy);
        assert!(!e.waits(2));
    }

    #[test]
    fn duplicates_follow_every_first_delivery() {
        let settings = Settings {
            duplicate_event_deliveries: true,
            license_updated_delay_seconds: 2,
            ..Settings::default()
        };
        let e = event_with(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &settings,
        );
        assert_eq!(e.deliveries.len(), 6);
        let (first, again) = e.deliveries.split_at(3);
        for (a, b) in first.iter().zip(again) {
            assert!(!a.duplicate && b.duplicate);
            assert_eq!((&a.url, a.event_index), (&b.url, b.event_index));
            assert_eq!(b.next_attempt_at, Some(Instant(2_005 + DUPLICATE_AFTER_MS)));
        }
        assert!(e.waits(3) && e.waits(4));
    }

    fn event(change: Change) -> EventRecord {
        event_with(change, &documented())
    }

    #[test]
    fn subscription_messages_follow_the_seller_guide() {
        let e = event(Change::Lifecycle(LifecycleAction::SubscribeSuccess));
        assert_eq!(e.sns["Type"], "Notification");
        assert_eq!(
            e.sns["TopicArn"],
            "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod-1"
        );
        assert_eq!(e.sns["Timestamp"], "2026-01-01T00:00:00.250Z");
        let message: Value = serde_json::from_str(e.sns["Message"].as_str().unwrap()).unwrap();
        assert_eq!(
            message,
            json!({"action": "subscribe-success", "customer-identifier": "cust-1",
                   "product-code": "prod-1", "isFreeTrialTermPresent": "true"})
        );
        let kinds: Vec<&Value> = e.event_bridge.iter().map(|x| &x["detail-type"]).collect();
        assert_eq!(
            kinds,
            [
                "Purchase Agreement Created - Proposer",
                "License Updated - Manufacturer"
            ]
        );
        let created = &e.event_bridge[0];
        assert_eq!(created["source"], "aws.agreement-marketplace");
        assert_eq!(created["time"], "2026-01-01T00:00:00Z");
        assert_eq!(
            created["resources"][0],
            "arn:aws:aws-marketplace::aws:agreement:agmt-1"
        );
        assert_eq!(created["detail"]["agreement"]["intent"], "NEW");
        assert_eq!(created["detail"]["acceptor"]["accountId"], "111122223333");
        assert_eq!(e.event_bridge[1]["detail"]["product"]["code"], "prod-1");
        // One SNS delivery, and one EventBridge delivery per event.
        let targets: Vec<_> = e
            .deliveries
            .iter()
            .map(|d| (d.format, d.event_index))
            .collect();
        assert_eq!(
            targets,
            [
                (WebhookFormat::Sns, None),
                (WebhookFormat::Eventbridge, Some(0)),
                (WebhookFormat::Eventbridge, Some(1))
            ]
        );
        let (_, body) = e.delivery_request(2).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            e.event_bridge[1]
        );
    }

    #[test]
    fn the_offer_is_named_on_subscribe_messages_only() {
        let customer = Customer {
            offer_identifier: Some("offer-abc".into()),
            ..customer()
        };
        for (action, named) in [
            (LifecycleAction::SubscribeSuccess, true),
            (LifecycleAction::SubscribeFail, true),
            (LifecycleAction::UnsubscribePending, false),
            (LifecycleAction::UnsubscribeSuccess, false),
        ] {
            let e = EventRecord::new(
                Change::Lifecycle(action),
                &product(),
                &customer,
                Instant(0),
                Instant(0),
                &documented(),
                || "id".into(),
            );
            let message: Value = serde_json::from_str(e.sns["Message"].as_str().unwrap()).unwrap();
            assert_eq!(
                message.get("offer-identifier").is_some(),
                named,
                "{action:?}"
            );
        }
    }

    #[test]
    fn entitlement_updates_go_to_the_entitlement_topic_without_trial_flags() {
        let e = event(Change::EntitlementUpdated);
        assert!(e.sns["TopicArn"]
            .as_str()
            .unwrap()
            .ends_with(":aws-mp-entitlement-notification-prod-1"));
        let message: Value = serde_json::from_str(e.sns["Message"].as_str().unwrap()).unwrap();
        assert_eq!(
            message,
            json!({"action": "entitlement-updated", "customer-identifier": "cust-1", "product-code": "prod-1"})
        );
    }

    #[test]
    fn subscribe_fail_has_no_eventbridge_event_and_no_eventbridge_delivery() {
        let e = event(Change::Lifecycle(LifecycleAction::SubscribeFail));
        assert!(e.event_bridge.is_empty());
        assert_eq!(e.deliveries.len(), 1);
        assert_eq!(e.deliveries[0].format, WebhookFormat::Sns);
    }

    #[test]
    fn deliveries_retry_after_the_delay_until_attempts_run_out() {
        let policy = RetryPolicy {
            max_attempts: 3,
            delay_seconds: 20,
        };
        let mut e = event(Change::EntitlementUpdated);
        let d = &mut e.deliveries[0];
        d.record_attempt(Err("connection refused".into()), Instant(0), policy);
        assert_eq!(
            (d.status, d.next_attempt_at),
            (DeliveryStatus::Pending, Some(Instant(20_000)))
        );
        d.record_attempt(Ok(503), Instant(20_000), policy);
        assert_eq!(d.last_status, Some(503));
        assert_eq!(d.status, DeliveryStatus::Pending);
        d.record_attempt(Ok(500), Instant(40_000), policy);
        assert_eq!(
            (d.status, d.attempts, d.next_attempt_at),
            (DeliveryStatus::Failed, 3, None)
        );
        assert!(d.last_error.as_deref().unwrap().contains("500"));
    }

    #[test]
    fn a_2xx_answer_delivers() {
        let policy = RetryPolicy {
            max_attempts: 3,
            delay_seconds: 20,
        };
        let mut e = event(Change::EntitlementUpdated);
        e.deliveries[0].record_attempt(Ok(204), Instant(0), policy);
        assert_eq!(e.deliveries[0].status, DeliveryStatus::Delivered);
        assert_eq!(e.next_attempt_at(), Some(Instant(5)));
    }

    #[test]
    fn sns_deliveries_carry_the_sns_headers() {
        let e = event(Change::EntitlementUpdated);
        let (headers, body) = e.delivery_request(0).unwrap();
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("x-amz-sns-message-type"), Some("Notification"));
        assert_eq!(header("x-amz-sns-topic-arn"), e.sns["TopicArn"].as_str());
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), e.sns);
    }

    #[test]
    fn a_buyer_webhook_gets_the_acceptor_twins_without_delay() {
        let mut product = product();
        product.webhooks = serde_json::from_value(
            json!([{"url": "http://127.0.0.1:9/buyer", "format": "eventbridge-acceptor"}]),
        )
        .unwrap();
        let settings = Settings {
            license_updated_delay_seconds: 60,
            ..Settings::default()
        };
        let mut n = 0;
        let e = EventRecord::new(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &product,
            &customer(),
            Instant(1_767_225_600_250),
            Instant(5),
            &settings,
            || {
                n += 1;
                format!("id-{n}")
            },
        );
        // Created and License Updated for the seller; Created alone for the buyer.
        assert_eq!(e.event_bridge.len(), 2);
        assert_eq!(e.acceptor_events.len(), 1);
        assert_eq!(e.deliveries.len(), 1);
        assert_eq!(e.deliveries[0].next_attempt_at, Some(Instant(5)));
        let (_, body) = e.delivery_request(0).unwrap();
        let twin: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(twin["detail-type"], "Purchase Agreement Created - Acceptor");
        assert_eq!(twin["account"], "111122223333");
        assert_eq!(
            twin["detail"]["agreement"],
            e.event_bridge[0]["detail"]["agreement"]
        );
        assert_ne!(twin["id"], e.event_bridge[0]["id"]);
    }
}
