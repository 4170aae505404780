//! What AWS Marketplace tells a seller when a subscription or its entitlements change: the
//! SNS notification (envelope and `Message`) on the subscription or entitlement topic, the
//! EventBridge event of the same moment, and the delivery of both to the product's webhooks
//! with retries.
//!
//! Layer: domain. Pure: ids and times are passed in. Delivery times are host (real) time,
//! since retries happen in real time whatever the namespace clock says.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agreement::agreement_id;
use super::catalogue::{Customer, Product, WebhookFormat};
use super::offer::Offer;
use super::settings::EventShapes;
use super::subscription::LifecycleAction;
use super::time::Instant;

/// The AWS account that owns the Marketplace SNS topics (seller guide's topic ARNs).
pub const MARKETPLACE_SNS_ACCOUNT: &str = "287250355862";

/// Why a notification was sent: a lifecycle action, or changed entitlements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Lifecycle(LifecycleAction),
    EntitlementUpdated,
}

impl Change {
    pub fn action(self) -> &'static str {
        match self {
            Change::Lifecycle(a) => a.name(),
            Change::EntitlementUpdated => "entitlement-updated",
        }
    }

    fn topic(self) -> &'static str {
        match self {
            Change::Lifecycle(_) => "aws-mp-subscription-notification",
            Change::EntitlementUpdated => "aws-mp-entitlement-notification",
        }
    }

    /// The seller's EventBridge events of the same moment. A seller who both makes and
    /// sells the product gets the "- Proposer" agreement events (AWS sends one of the two
    /// agreement variants) and the "- Manufacturer" license events.
    fn eventbridge_kinds(self) -> &'static [EventKind] {
        match self {
            Change::Lifecycle(LifecycleAction::SubscribeSuccess) => {
                &[EventKind::AgreementCreated, EventKind::LicenseUpdated]
            }
            Change::Lifecycle(LifecycleAction::SubscribeFail) => &[],
            Change::Lifecycle(LifecycleAction::UnsubscribePending) => &[EventKind::AgreementEnded],
            Change::Lifecycle(LifecycleAction::UnsubscribeSuccess) => {
                &[EventKind::LicenseDeprovisioned]
            }
            Change::EntitlementUpdated => &[EventKind::LicenseUpdated],
        }
    }
}

/// The seller-side EventBridge events the mock sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    AgreementCreated,
    AgreementEnded,
    LicenseUpdated,
    LicenseDeprovisioned,
}

impl EventKind {
    fn detail_type(self) -> &'static str {
        match self {
            EventKind::AgreementCreated => "Purchase Agreement Created - Proposer",
            EventKind::AgreementEnded => "Purchase Agreement Ended - Proposer",
            EventKind::LicenseUpdated => "License Updated - Manufacturer",
            EventKind::LicenseDeprovisioned => "License Deprovisioned - Manufacturer",
        }
    }
}

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
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl EventRecord {
    /// Builds the notifications of `change` for `customer` of `product` at namespace time
    /// `at`, with a delivery due at host time `host_now` for each webhook of the product.
    pub fn new(
        change: Change,
        product: &Product,
        customer: &Customer,
        at: Instant,
        host_now: Instant,
        shapes: EventShapes,
        mut next_id: impl FnMut() -> String,
    ) -> EventRecord {
        let sns = sns_envelope(change, product, customer, at, next_id());
        let event_bridge: Vec<Value> = change
            .eventbridge_kinds()
            .iter()
            .map(|&kind| eventbridge_event(kind, product, customer, at, next_id(), shapes))
            .collect();
        let pending = |w: &super::catalogue::Webhook, event_index| Delivery {
            url: w.url.to_string(),
            format: w.format,
            event_index,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(host_now),
            last_status: None,
            last_error: None,
        };
        let deliveries = product
            .webhooks
            .iter()
            .flat_map(|w| match w.format {
                WebhookFormat::Sns => vec![pending(w, None)],
                WebhookFormat::Eventbridge => (0..event_bridge.len())
                    .map(|i| pending(w, Some(i)))
                    .collect(),
            })
            .collect();
        EventRecord {
            seq: 0,
            action: change.action().into(),
            product_code: product.product_code.to_string(),
            time: at,
            sns,
            event_bridge,
            deliveries,
        }
    }

    /// The earliest pending delivery time, if any delivery is pending.
    pub fn next_attempt_at(&self) -> Option<Instant> {
        self.deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .filter_map(|d| d.next_attempt_at)
            .min()
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
            WebhookFormat::Eventbridge => Some((
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
                self.event_bridge.get(delivery.event_index?)?.to_string(),
            )),
        }
    }
}

fn sns_envelope(
    change: Change,
    product: &Product,
    customer: &Customer,
    at: Instant,
    message_id: String,
) -> Value {
    let mut message = serde_json::Map::new();
    message.insert("action".into(), json!(change.action()));
    if let Some(id) = &customer.customer_identifier {
        message.insert("customer-identifier".into(), json!(id));
    }
    message.insert("product-code".into(), json!(product.product_code));
    if let Change::Lifecycle(action) = change {
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
    let agreement = agreement_id(customer).unwrap_or_default();
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
        EventKind::AgreementCreated => {
            let mut body = json!({"id": agreement, "intent": "NEW", "status": "ACTIVE",
                                  "acceptanceTime": agreement_time, "startTime": agreement_time});
            if captured {
                // Pay-as-you-go agreements have no end; AWS dates it 9999-01-01.
                body["endTime"] = json!(OPEN_END_TIME);
            }
            detail.insert("agreement".into(), body);
            detail.insert("resaleAuthorization".into(), resale);
        }
        EventKind::AgreementEnded => {
            detail.insert(
                "agreement".into(),
                json!({"id": agreement, "status": "CANCELLED"}),
            );
            detail.insert("resaleAuthorization".into(), resale);
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
    if !(captured && kind == EventKind::AgreementEnded) {
        detail.insert("offer".into(), json!({ "id": offer.id_for(customer) }));
    }
    json!({
        "version": "0",
        "id": id,
        "detail-type": kind.detail_type(),
        "source": "aws.agreement-marketplace",
        "account": seller,
        "time": whole.to_rfc3339(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:aws-marketplace::aws:agreement:{agreement}")],
        "detail": detail,
    })
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

    fn event(change: Change) -> EventRecord {
        let mut n = 0;
        EventRecord::new(
            change,
            &product(),
            &customer(),
            Instant(1_767_225_600_250),
            Instant(5),
            EventShapes::Documented,
            || {
                n += 1;
                format!("id-{n}")
            },
        )
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
                EventShapes::Documented,
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
}
