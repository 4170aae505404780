//! What a rotation of a locked namespace's credentials removes: a rotation assumes the old
//! control token leaked, so what that token could plant to keep access or to receive the
//! namespace's data — signature credentials, webhooks and fulfillment URLs (where sign-ups
//! send their registration tokens) — goes with it, unless the admin keeps it. The data
//! (products, usage, events) stays.

use serde::Serialize;
use serde_json::Value;

use crate::domain::notification::DeliveryStatus;
use crate::domain::registration::SignupLinks;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::namespace::load_settings;
use crate::store::{documents, Store};

/// What a rotation leaves in place (the admin's `{"keep": [...]}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    pub signature_credentials: bool,
    pub webhooks: bool,
    pub fulfillment_urls: bool,
}

/// The names `keep` takes.
const SIGNATURE_CREDENTIALS: &str = "signatureCredentials";
const WEBHOOKS: &str = "webhooks";
const FULFILLMENT_URLS: &str = "fulfillmentUrls";

impl Keep {
    /// The admin's rotation body: empty, or `{"keep": ["signatureCredentials", "webhooks"]}`.
    pub fn from_body(body: &[u8]) -> Result<Keep, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Keep::default());
        }
        let usage = "the body must be empty or {\"keep\": [...]} naming any of signatureCredentials, webhooks, fulfillmentUrls";
        let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(body) else {
            return Err(usage.into());
        };
        let keep = doc.remove("keep").unwrap_or(Value::Array(Vec::new()));
        if !doc.is_empty() {
            return Err(usage.into());
        }
        let Value::Array(listed) = keep else {
            return Err(usage.into());
        };
        let names: Vec<&str> = listed.iter().filter_map(Value::as_str).collect();
        let kept = keep_of(&names);
        // Every entry one of the two names, each once.
        if names.len() != listed.len() || names.len() != keep_len(&kept) {
            return Err(usage.into());
        }
        Ok(kept)
    }

    /// As the registry passes it on to the namespace: `signatureCredentials,webhooks`.
    pub fn to_list(self) -> String {
        let kept = [
            (self.signature_credentials, SIGNATURE_CREDENTIALS),
            (self.webhooks, WEBHOOKS),
            (self.fulfillment_urls, FULFILLMENT_URLS),
        ];
        let names: Vec<&str> = kept.iter().filter(|(k, _)| *k).map(|(_, n)| *n).collect();
        names.join(",")
    }

    /// `to_list`'s text; unknown names keep nothing.
    pub fn from_list(list: &str) -> Keep {
        keep_of(&list.split(',').collect::<Vec<_>>())
    }
}

fn keep_of(names: &[&str]) -> Keep {
    Keep {
        signature_credentials: names.contains(&SIGNATURE_CREDENTIALS),
        webhooks: names.contains(&WEBHOOKS),
        fulfillment_urls: names.contains(&FULFILLMENT_URLS),
    }
}

/// How many names a `Keep` stands for (a list naming anything else, or twice, is refused).
fn keep_len(keep: &Keep) -> usize {
    [
        keep.signature_credentials,
        keep.webhooks,
        keep.fulfillment_urls,
    ]
    .iter()
    .filter(|k| **k)
    .count()
}

/// What a rotation removed: the access key ids of the signature credentials (never their
/// secrets), each product's webhook and fulfillment URLs (without user info, query or
/// fragment, which may hold secrets), how many deliveries to the webhooks were still
/// pending (they are not sent again) and how many sign-up links were unused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub signature_credentials: Vec<String>,
    pub webhooks: Vec<RemovedUrl>,
    pub fulfillment_urls: Vec<RemovedUrl>,
    pub pending_deliveries: usize,
    /// Unused sign-up links (whoever held the old token could have made them).
    pub signup_links: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedUrl {
    pub product_code: String,
    pub url: String,
}

impl RemovedUrl {
    fn of(product_code: &str, url: &str) -> RemovedUrl {
        RemovedUrl {
            product_code: product_code.to_string(),
            url: without_secrets(url),
        }
    }
}

/// `scheme://host[:port]/path` of a URL: what names the place, not what authenticates to it.
fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// A time after every delivery's (the largest integer a JavaScript number holds exactly, as
/// the SQLite binding takes it).
const EVERY_DUE_TIME: Instant = Instant(9_007_199_254_740_991);

/// Why a pending delivery was not sent (again, if an attempt was under way).
pub const NOT_SENT: &str =
    "not sent again: the namespace's credentials were rotated and its webhooks removed";

/// Removes what `keep` does not keep, and every unused sign-up link. Run in one transaction,
/// so it is all or nothing.
pub fn remove_planted<S: Store + ?Sized>(
    store: &mut S,
    keep: Keep,
) -> Result<Removed, ServiceError> {
    let mut removed = Removed::default();
    let links: SignupLinks = documents::load(store)?;
    if !links.links.is_empty() {
        removed.signup_links = links.links.len();
        documents::save(store, &SignupLinks::default())?;
    }
    if !keep.signature_credentials {
        let mut settings = load_settings(store)?;
        if !settings.signature_credentials.is_empty() {
            let credentials = std::mem::take(&mut settings.signature_credentials);
            removed.signature_credentials = credentials.into_keys().collect();
            documents::save(store, &settings)?;
        }
    }
    for product in store.products()? {
        let webhooks = !keep.webhooks && !product.webhooks.is_empty();
        let fulfillment = !keep.fulfillment_urls && product.fulfillment_url.is_some();
        if !webhooks && !fulfillment {
            continue;
        }
        let mut product = std::rc::Rc::unwrap_or_clone(product);
        let code = product.product_code.to_string();
        if webhooks {
            for webhook in std::mem::take(&mut product.webhooks) {
                removed
                    .webhooks
                    .push(RemovedUrl::of(&code, webhook.url.as_ref()));
            }
        }
        if fulfillment {
            if let Some(url) = product.fulfillment_url.take() {
                removed
                    .fulfillment_urls
                    .push(RemovedUrl::of(&code, url.as_ref()));
            }
        }
        store.put_product(&product)?;
    }
    if !keep.webhooks {
        // Each pass settles the oldest pending ones, so the loop ends.
        loop {
            let pending = store.events_due(EVERY_DUE_TIME, 500)?;
            if pending.is_empty() {
                break;
            }
            for mut event in pending {
                for delivery in &mut event.deliveries {
                    if delivery.status == DeliveryStatus::Pending {
                        delivery.status = DeliveryStatus::Failed;
                        delivery.next_attempt_at = None;
                        delivery.last_error = Some(NOT_SENT.to_string());
                        removed.pending_deliveries += 1;
                    }
                }
                store.update_event(&event)?;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{Customer, Product};
    use crate::domain::notification::{Change, EventRecord};
    use crate::domain::settings::Settings;
    use crate::domain::subscription::LifecycleAction;
    use crate::store::memory::MemoryStore;

    /// A namespace with a signature credential, a product with two webhooks and an event
    /// whose two deliveries are pending.
    fn planted() -> MemoryStore {
        let product: Product = serde_json::from_value(serde_json::json!({
            "productCode": "p", "dimensions": ["d"],
            "webhooks": [{"url": "https://a.example/x"}, {"url": "https://b.example/y"}],
            "fulfillmentUrl": "https://user:pw@signup.example/r?session=secret"
        }))
        .unwrap();
        let mut store = MemoryStore::new();
        store.put_product(&product).unwrap();
        let mut settings = Settings::default();
        settings
            .signature_credentials
            .insert("AKIDPLANTED".into(), "secret".into());
        documents::save(&mut store, &settings).unwrap();
        let customer = Customer {
            customer_identifier: Some("c".parse().unwrap()),
            ..Default::default()
        };
        let event = EventRecord::new(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &product,
            &customer,
            Instant(0),
            Instant(1_000),
            &Settings::default(),
            || "m".to_string(),
        );
        store.append_event(&event).unwrap();
        let links = SignupLinks {
            links: vec![crate::domain::registration::SignupLink {
                digest: "d".into(),
                params: serde_json::Map::new(),
                expires_at: Instant(i64::MAX),
            }],
        };
        documents::save(&mut store, &links).unwrap();
        store
    }

    #[test]
    fn a_rotation_removes_credentials_webhooks_and_their_pending_deliveries() {
        let mut store = planted();
        let removed = remove_planted(&mut store, Keep::default()).unwrap();
        assert_eq!(removed.signature_credentials, ["AKIDPLANTED"]);
        let urls: Vec<&str> = removed.webhooks.iter().map(|w| w.url.as_str()).collect();
        assert_eq!(urls, ["https://a.example/x", "https://b.example/y"]);
        assert_eq!(removed.pending_deliveries, 2);
        assert_eq!(
            removed.fulfillment_urls,
            [RemovedUrl {
                product_code: "p".into(),
                url: "https://signup.example/r".into()
            }]
        );
        assert_eq!(store.product("p").unwrap().unwrap().fulfillment_url, None);
        assert_eq!(removed.signup_links, 1);
        assert!(documents::load::<SignupLinks, _>(&store)
            .unwrap()
            .links
            .is_empty());
        assert!(load_settings(&store)
            .unwrap()
            .signature_credentials
            .is_empty());
        assert!(store.product("p").unwrap().unwrap().webhooks.is_empty());
        assert!(store.events_due(Instant(i64::MAX), 10).unwrap().is_empty());
        let event = &store.events(0, 10).unwrap()[0];
        assert!(event.deliveries.iter().all(
            |d| d.status == DeliveryStatus::Failed && d.last_error.as_deref() == Some(NOT_SENT)
        ));
        // A second rotation finds nothing more.
        assert_eq!(
            remove_planted(&mut store, Keep::default()).unwrap(),
            Removed::default()
        );
    }

    #[test]
    fn what_the_admin_keeps_stays() {
        let mut store = planted();
        let keep = Keep {
            signature_credentials: true,
            webhooks: true,
            fulfillment_urls: true,
        };
        // Sign-up links go whatever is kept: they are short-lived and made with the old token.
        let removed = remove_planted(&mut store, keep).unwrap();
        assert_eq!(
            removed,
            Removed {
                signup_links: 1,
                ..Removed::default()
            }
        );
        assert_eq!(
            load_settings(&store).unwrap().signature_credentials.len(),
            1
        );
        assert_eq!(store.product("p").unwrap().unwrap().webhooks.len(), 2);
        assert!(store
            .product("p")
            .unwrap()
            .unwrap()
            .fulfillment_url
            .is_some());
        assert_eq!(store.events_due(Instant(i64::MAX), 10).unwrap().len(), 1);
    }

    #[test]
    fn the_admin_body_names_what_to_keep() {
        assert_eq!(Keep::from_body(b""), Ok(Keep::default()));
        assert_eq!(Keep::from_body(b" \n"), Ok(Keep::default()));
        assert_eq!(Keep::from_body(br#"{}"#), Ok(Keep::default()));
        assert_eq!(Keep::from_body(br#"{"keep": []}"#), Ok(Keep::default()));
        let all = Keep {
            signature_credentials: true,
            webhooks: true,
            fulfillment_urls: true,
        };
        assert_eq!(
            Keep::from_body(
                br#"{"keep": ["webhooks", "fulfillmentUrls", "signatureCredentials"]}"#
            ),
            Ok(all)
        );
        for bad in [
            &br#"{"keep": ["webhook"]}"#[..],
            br#"{"keep": ["webhooks", "webhooks"]}"#,
            br#"{"keep": "webhooks"}"#,
            br#"{"keep": [1]}"#,
            br#"{"kept": []}"#,
            br#"[]"#,
            b"not json",
        ] {
            assert!(
                Keep::from_body(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        for keep in [
            Keep::default(),
            all,
            Keep {
                webhooks: true,
                ..Keep::default()
            },
        ] {
            assert_eq!(Keep::from_list(&keep.to_list()), keep);
        }
    }
}
