//! Checks of the small documents, products, client tokens, registration tokens and `clear`.

use crate::domain::catalogue::{Customer, Product};
use crate::domain::entitlement::{Entitlement, EntitlementValue};
use crate::domain::subscription::SubscriptionState;
use crate::domain::time::Instant;
use crate::store::journal::JournalQuery;
use crate::store::{ClientTokenEntry, Store};

use super::*;

pub(super) fn product(code: &str) -> Product {
    Product {
        product_code: code.parse().unwrap(),
        dimensions: vec!["d".parse().unwrap()],
        seller_account_id: None,
        integration: Default::default(),
        regions: vec![],
        fulfillment_url: Some("http://127.0.0.1:9/register".parse().unwrap()),
        webhooks: vec![],
        prices: Default::default(),
        contract: None,
        private_offers: vec![],
        free_trial: None,
        customers: vec![Customer {
            customer_identifier: Some("c".parse().unwrap()),
            subscription: SubscriptionState::UnsubscribePending,
            subscription_changed_at: Some(Instant(7)),
            entitlements: vec![Entitlement {
                dimension: "d".into(),
                value: EntitlementValue::DoubleValue(0.1),
                expiration_date: Some(Instant(1_000)),
            }],
            ..Default::default()
        }]
        .into(),
    }
}

pub(super) fn meta_round_trips<S: Store + ?Sized>(s: &mut S) -> Check {
    ensure!(
        s.meta("settings").map_err(e)?.is_none(),
        "meta of a new store must be empty"
    );
    s.put_meta("settings", "{\"a\":1}").map_err(e)?;
    s.put_meta("settings", "{\"a\":2}").map_err(e)?;
    ensure!(
        s.meta("settings").map_err(e)?.as_deref() == Some("{\"a\":2}"),
        "put_meta must replace the value"
    );
    Ok(())
}

pub(super) fn registration_tokens_are_kept_until_their_time<S: Store + ?Sized>(s: &mut S) -> Check {
    let (t0, t1, t2) = (Instant(1_000), Instant(5_000), Instant(9_000));
    s.put_registration_token("a", "{\"a\":1}", t1, t0)
        .map_err(e)?;
    s.put_registration_token("b", "{\"b\":1}", t2, t0)
        .map_err(e)?;
    ensure!(
        s.registration_token("a").map_err(e)?.as_deref() == Some("{\"a\":1}"),
        "a token's record must be kept"
    );
    ensure!(
        s.registration_token("nope").map_err(e)?.is_none(),
        "an unknown token has no record"
    );
    // A later write forgets the records kept past their time.
    s.put_registration_token("c", "{}", t2, Instant(6_000))
        .map_err(e)?;
    ensure!(
        s.registration_token("a").map_err(e)?.is_none(),
        "a record past its time must be forgotten"
    );
    ensure!(
        s.registration_token("b").map_err(e)?.is_some(),
        "a record within its time must stay"
    );
    Ok(())
}

pub(super) fn old_records_of_a_prefix_are_forgotten<S: Store + ?Sized>(s: &mut S) -> Check {
    s.put_meta("marker/a", "2026-01-01T00:00:00Z").map_err(e)?;
    s.put_meta("marker/b", "2026-03-01T00:00:00Z").map_err(e)?;
    s.put_meta("markers", "2000-01-01T00:00:00Z").map_err(e)?;
    s.put_meta("other/a", "2000-01-01T00:00:00Z").map_err(e)?;
    s.forget_meta_before("marker/", "2026-02-01T00:00:00Z")
        .map_err(e)?;
    ensure!(
        s.meta("marker/a").map_err(e)?.is_none(),
        "an old record of the prefix must be forgotten"
    );
    for kept in ["marker/b", "markers", "other/a"] {
        ensure!(
            s.meta(kept).map_err(e)?.is_some(),
            "{kept} must be kept (newer, or not of the prefix)"
        );
    }
    Ok(())
}

pub(super) fn products_are_kept_replaced_listed_and_deleted<S: Store + ?Sized>(s: &mut S) -> Check {
    s.put_product(&product("b")).map_err(e)?;
    s.put_product(&product("a")).map_err(e)?;
    let mut replaced = product("b");
    replaced.dimensions.push("e".parse().unwrap());
    s.put_product(&replaced).map_err(e)?;
    ensure!(
        s.product("b").map_err(e)?.as_deref() == Some(&replaced),
        "product must be replaced"
    );
    let codes: Vec<_> = s
        .products()
        .map_err(e)?
        .into_iter()
        .map(|p| p.product_code.clone())
        .collect();
    ensure!(
        codes == ["a", "b"],
        "products must be listed by code, got {codes:?}"
    );
    ensure!(
        s.delete_product("a").map_err(e)?,
        "delete must report a deleted product"
    );
    ensure!(
        !s.delete_product("a").map_err(e)?,
        "delete must report a missing product"
    );
    ensure!(
        s.product("a").map_err(e)?.is_none(),
        "deleted product must be gone"
    );
    Ok(())
}

pub(super) fn client_tokens_are_scoped_to_the_caller<S: Store + ?Sized>(s: &mut S) -> Check {
    let token = ClientTokenEntry {
        caller: "111122223333".into(),
        token: "t".into(),
        fingerprint: "f".into(),
        metering_record_id: "id".into(),
    };
    s.put_client_token(&token).map_err(e)?;
    ensure!(
        s.client_token("111122223333", "t").map_err(e)? == Some(token),
        "token must round-trip"
    );
    ensure!(
        s.client_token("444455556666", "t").map_err(e)?.is_none(),
        "tokens are per caller"
    );
    Ok(())
}

pub(super) fn clear_forgets_everything<S: Store + ?Sized>(s: &mut S) -> Check {
    s.insert_registration(&registration("t", "p")).map_err(e)?;
    s.append_event(&event("p", Some(1))).map_err(e)?;
    s.put_meta("m", "1").map_err(e)?;
    s.put_product(&product("p")).map_err(e)?;
    s.insert_usage(&entry("x", "kx", "p", "c", 1)).map_err(e)?;
    s.append_journal(&journal_entry("MeterUsage", 200, "p", &[], 1))
        .map_err(e)?;
    s.clear().map_err(e)?;
    ensure!(s.meta("m").map_err(e)?.is_none(), "meta must be cleared");
    ensure!(
        s.products().map_err(e)?.is_empty(),
        "products must be cleared"
    );
    ensure!(
        s.usage_by_key(hour(1), "kx").map_err(e)?.is_none(),
        "usage must be cleared"
    );
    ensure!(
        s.journal(&JournalQuery {
            limit: 10,
            ..Default::default()
        })
        .map_err(e)?
        .total
            == 0,
        "the journal must be cleared"
    );
    ensure!(
        s.events(0, 10).map_err(e)?.is_empty(),
        "events must be cleared"
    );
    ensure!(
        s.registrations(None, 10).map_err(e)?.is_empty(),
        "registrations must be cleared"
    );
    ensure!(
        s.append_event(&event("p", None)).map_err(e)? == 1,
        "seq restarts after clear"
    );
    s.insert_usage(&entry("x", "kx", "p", "c", 1)).map_err(e)?;
    Ok(())
}
