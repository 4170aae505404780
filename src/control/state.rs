//! The namespace's state as a whole: health, `POST /_mock/seed`, `POST /_mock/reset`, and
//! the store contract run from the Node tests.

use std::collections::HashSet;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    bad, body_json, internal, ok, optional_body, parse_json, store_err, Answer, ControlError,
};
use crate::domain::catalogue::Product;
use crate::domain::settings::Settings;
use crate::namespace::{load_settings, Namespace};
use crate::ops::agreement::milestones;
use crate::protocol::http::HttpRequest;
use crate::store::journal::JournalQuery;
use crate::store::keys::{key_ring, save_key_ring};
use crate::store::{contract, documents, Store, UsageQuery};

pub(super) fn health<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let now = ns.now().map_err(internal)?;
    let products = ns.store.products().map_err(store_err)?.len();
    ok(json!({
        "status": "ok",
        "namespace": ns.name,
        "now": now.to_rfc3339(),
        "products": products,
    }))
}

/// A seed document: products (the control API's product documents, customers and their
/// entitlements included) and settings to apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDocument {
    #[serde(default)]
    products: Vec<Product>,
    #[serde(default)]
    settings: Option<Map<String, Value>>,
}

/// A seed document checked against what it will sit beside, ready to write.
struct CheckedSeed {
    products: Vec<Product>,
    settings: Option<Settings>,
}

impl CheckedSeed {
    /// Checks `doc` as the namespace would hold it next to `kept` (the products it keeps)
    /// and with its settings patched onto `base`; a refused value is named by its path.
    fn check<S: Store + ?Sized>(
        ns: &Namespace<'_, S>,
        doc: SeedDocument,
        kept: Vec<Rc<Product>>,
        base: &Settings,
    ) -> Result<CheckedSeed, ControlError> {
        let at = |i: usize, ControlError(status, reason)| {
            ControlError(status, format!("invalid seed: products[{i}]: {reason}"))
        };
        let mut codes = HashSet::new();
        for (i, p) in doc.products.iter().enumerate() {
            if !codes.insert(p.product_code.clone()) {
                return Err(at(
                    i,
                    bad(format!("productCode '{}' is listed twice", p.product_code)),
                ));
            }
        }
        let mut catalogue: Vec<Rc<Product>> = kept
            .into_iter()
            .filter(|p| !codes.contains(&p.product_code))
            .collect();
        catalogue.extend(doc.products.iter().cloned().map(Rc::new));
        for (i, p) in doc.products.iter().enumerate() {
            super::products::check_product_among(ns, p, &catalogue).map_err(|e| at(i, e))?;
        }
        let max = ns.deployment.limits.products;
        if catalogue.len() > max {
            return Err(ControlError(
                409,
                format!(
                    "the namespace would hold {} products; its maximum is {max} (MAX_PRODUCTS)",
                    catalogue.len()
                ),
            ));
        }
        let settings = match doc.settings {
            Some(patch) => Some(super::settings::patched(ns, base, patch, "seed: settings")?),
            None => None,
        };
        Ok(CheckedSeed {
            products: doc.products,
            settings,
        })
    }

    fn write<S: Store + ?Sized>(&self, ns: &mut Namespace<'_, S>) -> Result<(), ControlError> {
        if let Some(settings) = &self.settings {
            documents::save(ns.store, settings).map_err(internal)?;
        }
        let now = ns.now().map_err(internal)?;
        for p in &self.products {
            let mut p = p.clone();
            milestones::listed_at(&mut p, now);
            ns.store.put_product(&p).map_err(store_err)?;
            milestones::note_product(ns.store, &p).map_err(internal)?;
        }
        Ok(())
    }

    fn view(&self, namespace: &str) -> Value {
        json!({
            "namespace": namespace,
            "products": self.products.iter().map(|p| &p.product_code).collect::<Vec<_>>(),
            "settings": self.settings.as_ref().map(super::settings::settings_view),
        })
    }
}

/// `POST /_mock/seed`: loads a seed document in one step: each product is created or
/// replaced, the settings are patched, nothing else changes. Everything is checked before
/// anything is written, and a refused value is named by its path (`products[1].…`).
pub(super) fn seed<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let doc: SeedDocument = parse_json(body_json(req)?, "seed")?;
    let kept = ns.store.products().map_err(store_err)?;
    let base = load_settings(ns.store).map_err(internal)?;
    let checked = CheckedSeed::check(ns, doc, kept, &base)?;
    checked.write(ns)?;
    ok(checked.view(ns.name))
}

/// Which state a reset leaves (`{"seed": "demo" | "empty"}`).
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Seed {
    Demo,
    Empty,
}

/// `{"seed": "demo" | "empty" | {<seed document>}}`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    seed: Option<Value>,
}

/// `POST /_mock/reset`: forgets the namespace's state but keeps its signing keys (they stand
/// for AWS's keys, which a seller's container holds, and making one takes a moment). It
/// starts again from the demo seed (`default`'s choice) or empty (the others'), or as
/// `{"seed": …}` says, so any namespace can start from the demo.
pub(super) fn reset<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body: ResetBody = optional_body(req, "reset", "seed: demo, empty or a seed document")?;
    let (demo, document) = match body.seed {
        None => (ns.name == crate::protocol::route::DEFAULT_NAMESPACE, None),
        Some(Value::Object(doc)) => {
            let doc: SeedDocument = parse_json(Value::Object(doc), "seed")?;
            // Checked as the emptied namespace will hold it, before anything is cleared.
            let checked = CheckedSeed::check(ns, doc, Vec::new(), &Settings::default())?;
            (false, Some(checked))
        }
        Some(named) => match parse_json::<Seed>(named, "reset")? {
            Seed::Demo => (true, None),
            Seed::Empty => (false, None),
        },
    };
    let keys = key_ring(ns.store).map_err(internal)?;
    // The hour's webhook-delivery budget survives too: it caps what the namespace sends, and
    // a reset must not refill it (WEBHOOK_MAX_DELIVERIES_PER_HOUR).
    let budget = ns
        .store
        .meta(documents::DELIVERY_BUDGET)
        .map_err(store_err)?;
    ns.store.clear().map_err(store_err)?;
    ns.initialize_with(demo).map_err(internal)?;
    if !keys.is_empty() {
        save_key_ring(ns.store, &keys).map_err(internal)?;
    }
    if let Some(budget) = budget {
        ns.store
            .put_meta(documents::DELIVERY_BUDGET, &budget)
            .map_err(store_err)?;
    }
    // What the namespace now starts from: the seed's name and the products it holds.
    let (seed, seeded) = match &document {
        Some(checked) => {
            checked.write(ns)?;
            ("document", checked.view(ns.name))
        }
        None => {
            let products = ns.store.products().map_err(store_err)?;
            let codes: Vec<&str> = products.iter().map(|p| &*p.product_code).collect();
            let name = if demo { "demo" } else { "empty" };
            (name, json!({ "namespace": ns.name, "products": codes }))
        }
    };
    ok(json!({ "reset": true, "namespace": ns.name, "seed": seed, "seeded": seeded }))
}

/// `{"retention": true}`: the store contract's retention checks too.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractBody {
    #[serde(default)]
    retention: bool,
}

/// The largest bound the retention checks are run against (they insert a few entries more
/// than each bound, in one request).
const MAX_CHECKED_RETENTION: usize = 1_000;

/// Runs the store contract on this namespace's own store, in the mock's own tests only;
/// refuses a namespace in use (products, usage, events, journal, settings, clock, faults or
/// keys), since the contract clears the store. With `{"retention": true}` it runs the
/// retention checks instead: each table keeps its newest entries within the deployment's
/// (small) `MAX_*` bounds.
pub(super) fn store_contract<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
) -> Answer {
    // Test code: reachable only where the mock's own tests run (never a locked deployment,
    // where TEST_STORAGE_FAULTS is refused).
    if !ns.deployment.storage_faults {
        return Err(ControlError(
            404,
            "the store contract runs only in the mock's own tests (TEST_STORAGE_FAULTS=1)".into(),
        ));
    }
    let mut configured = false;
    for key in [documents::SETTINGS, documents::CLOCK, documents::FAULTS] {
        configured |= ns.store.meta(key).map_err(store_err)?.is_some();
    }
    let in_use = configured
        || !key_ring(ns.store).map_err(internal)?.is_empty()
        || !ns
            .store
            .registrations(None, 1)
            .map_err(store_err)?
            .is_empty()
        || !ns.store.products().map_err(store_err)?.is_empty()
        || !ns.store.events(0, 1).map_err(store_err)?.is_empty()
        || ns
            .store
            .journal(&JournalQuery {
                limit: 1,
                ..Default::default()
            })
            .map_err(store_err)?
            .total
            > 0
        || !ns
            .store
            .query_usage(&UsageQuery {
                limit: 1,
                ..Default::default()
            })
            .map_err(store_err)?
            .is_empty();
    if in_use {
        return Err(ControlError(
            409,
            "the store contract clears the namespace: run it on an empty one".into(),
        ));
    }
    let body: ContractBody = optional_body(req, "store-contract", "retention")?;
    let retention = ns.deployment.limits.retention();
    let bounds = [
        retention.events,
        retention.registrations,
        retention.usage_records,
        retention.journal,
    ];
    if body.retention && bounds.iter().any(|&b| b > MAX_CHECKED_RETENTION) {
        return Err(bad(format!(
            "the retention checks insert a few entries more than each bound: start the mock with MAX_EVENTS, MAX_REGISTRATIONS, MAX_USAGE_RECORDS and MAX_JOURNAL_ENTRIES of at most {MAX_CHECKED_RETENTION} (now {bounds:?})"
        )));
    }
    // The contract's other checks fill tables past such small bounds: one or the other.
    let failures = if body.retention {
        contract::run_retention(ns.store, retention)
    } else {
        contract::run(ns.store)
    };
    // The contract makes writes fail on purpose (a second entry of a key): those failures
    // are its checks, not this request's, so they must not roll it back.
    let _expected_failures = ns.store.take_failure();
    ns.initialize().map_err(internal)?;
    ok(json!({ "passed": failures.is_empty(), "failures": failures }))
}
