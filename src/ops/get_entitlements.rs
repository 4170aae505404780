//! GetEntitlements (AWS Marketplace Entitlement Service): the seller reads the contract
//! entitlements of a product's customers, filtered and paginated.
//!
//! Errors: the Entitlement model lists only `InvalidParameterException`,
//! `ThrottlingException` and `InternalServiceErrorException`, so every invalid input is an
//! `InvalidParameterException`, the SDKs' only name for it: broken constraints (in the AWS
//! validation wording), both customer filters at once, a `NextToken` not issued for this
//! product and filter, an unknown product, and a 12-digit caller that is not the product's
//! `sellerAccountId` (a wildcard caller is every product's seller). Values of the wrong type
//! stay the protocol's `SerializationException`.
//!
//! Order of checks: constraints, the customer-filter exclusion, product, seller, `NextToken`.
//!
//! Listed: one entitlement per (customer, entitlement) of the product whose subscription is
//! `subscribed` or `unsubscribe-pending`, in catalogue order. Filter values of one key are
//! alternatives, keys all apply. Pages hold `MaxResults` (1-25, default 25); `NextToken` is an
//! opaque position bound to the product and filter (see `domain::page_token`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::shapes::{self, epoch_seconds, required_string, CustomerNames};
use super::Call;
use crate::domain::catalogue::{Customer, Product};
use crate::domain::constraints::{is_non_whitespace, Shown, Violations, NON_WHITESPACE_PATTERN};
use crate::domain::entitlement::{Entitlement, EntitlementValue};
use crate::domain::page_token::PageTokens;
use crate::domain::time::Instant;
use crate::error::{err, ErrorKind, ServiceError};
use crate::protocol::json::{element_path, string_element, Structure};
use crate::store::Store;

pub const DEFAULT_PAGE_SIZE: usize = 25;
const PAGE_SIZE_RANGE: (i64, i64) = (1, 25);

/// The keys of `Filter` (the model's `GetEntitlementFilterName`), in model order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FilterKey {
    CustomerIdentifier,
    Dimension,
    CustomerAwsAccountId,
    LicenseArn,
}

impl FilterKey {
    pub const ALL: [FilterKey; 4] = [
        FilterKey::CustomerIdentifier,
        FilterKey::Dimension,
        FilterKey::CustomerAwsAccountId,
        FilterKey::LicenseArn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FilterKey::CustomerIdentifier => "CUSTOMER_IDENTIFIER",
            FilterKey::Dimension => "DIMENSION",
            FilterKey::CustomerAwsAccountId => "CUSTOMER_AWS_ACCOUNT_ID",
            FilterKey::LicenseArn => "LICENSE_ARN",
        }
    }

    pub fn parse(name: &str) -> Option<FilterKey> {
        FilterKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The value of an entitlement this key compares.
    fn value_of<'a>(self, customer: &'a Customer, entitlement: &'a Entitlement) -> Option<&'a str> {
        match self {
            FilterKey::CustomerIdentifier => customer.customer_identifier.as_deref(),
            FilterKey::Dimension => Some(&entitlement.dimension),
            FilterKey::CustomerAwsAccountId => customer.customer_aws_account_id.as_deref(),
            FilterKey::LicenseArn => customer.license_arn.as_deref(),
        }
    }
}

/// A `Filter`: for each key given, the values it accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntitlementFilter {
    accepted: BTreeMap<FilterKey, BTreeSet<String>>,
}

impl EntitlementFilter {
    pub fn accept(&mut self, key: FilterKey, value: &str) {
        self.accepted
            .entry(key)
            .or_default()
            .insert(value.to_string());
    }

    pub fn has(&self, key: FilterKey) -> bool {
        self.accepted.contains_key(&key)
    }

    /// Union within a key, intersection across keys; an empty filter lets everything through.
    pub fn matches(&self, customer: &Customer, entitlement: &Entitlement) -> bool {
        self.accepted.iter().all(|(key, values)| {
            key.value_of(customer, entitlement)
                .is_some_and(|v| values.contains(v))
        })
    }

    /// The filter as canonical text: equal for filters that accept the same entitlements
    /// however their keys and values were ordered or repeated.
    fn canonical(&self) -> String {
        let keys: Vec<Value> = self
            .accepted
            .iter()
            .map(|(key, values)| json!([key.name(), values]))
            .collect();
        Value::Array(keys).to_string()
    }
}

/// A decoded, constraint-checked GetEntitlements request.
#[derive(Debug, PartialEq)]
pub struct GetEntitlementsRequest {
    pub product_code: String,
    pub filter: EntitlementFilter,
    pub next_token: Option<String>,
    pub page_size: usize,
}

impl GetEntitlementsRequest {
    pub fn decode(input: &Map<String, Value>) -> Result<Self, ServiceError> {
        let s = Structure::new(input, "");
        let mut v = Violations::default();
        let product = required_string(&s, "ProductCode", &mut v)?;
        if let Some(p) = &product {
            v.length(p.value, &p.path, 1, Some(255));
        }
        let filter = decode_filter(&s, &mut v)?;
        let next_token = s.string("NextToken")?;
        if let Some(t) = &next_token {
            v.pattern(
                t.value,
                &t.path,
                is_non_whitespace(t.value),
                NON_WHITESPACE_PATTERN,
            );
        }
        let page_size = s.integer("MaxResults")?;
        if let Some(n) = &page_size {
            v.range(n.value, &n.path, PAGE_SIZE_RANGE.0, PAGE_SIZE_RANGE.1);
        }
        v.into_result_as(ErrorKind::InvalidParameterException)?;
        if filter.has(FilterKey::CustomerIdentifier) && filter.has(FilterKey::CustomerAwsAccountId)
        {
            return err(
                ErrorKind::InvalidParameterException,
                "CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are mutually exclusive: filter by one or the other, not both",
            );
        }
        let Some(product) = product else {
            return Err(ServiceError::internal("ProductCode checked above"));
        };
        Ok(GetEntitlementsRequest {
            product_code: product.value.to_string(),
            filter,
            next_token: next_token.map(|t| t.value.to_string()),
            page_size: page_size
                .and_then(|n| usize::try_from(n.value).ok())
                .unwrap_or(DEFAULT_PAGE_SIZE),
        })
    }
}

/// Reads `Filter`: keys from the model's enum, each with at least one string value.
fn decode_filter(s: &Structure<'_>, v: &mut Violations) -> Result<EntitlementFilter, ServiceError> {
    let mut filter = EntitlementFilter::default();
    let Some(map) = s.map_member("Filter")? else {
        return Ok(filter);
    };
    for (name, values) in map.value {
        let path = format!("{}.{name}", map.path);
        let values = match values {
            // A key with no values is the map value's constraint broken, not a type error.
            Value::Null => &[][..],
            Value::Array(items) => items.as_slice(),
            other => {
                return Err(ServiceError::new(
                    ErrorKind::SerializationException,
                    format!("Expected a list at '{path}' but found {other}"),
                ))
            }
        };
        let key = FilterKey::parse(name);
        if key.is_none() {
            let names: Vec<&str> = FilterKey::ALL.iter().map(|k| k.name()).collect();
            v.add(
                Shown::Text(name),
                &map.path,
                &format!(
                    "Map keys must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                    names.join(", ")
                ),
            );
        }
        if values.is_empty() {
            v.add(
                Shown::Text(&format!("{{{name}=[]}}")),
                &map.path,
                "Map value must satisfy constraint: [Member must have length greater than or equal to 1]",
            );
        }
        for (i, item) in values.iter().enumerate() {
            let value = string_element(item, &element_path(&path, i))?;
            if let Some(key) = key {
                filter.accept(key, value);
            }
        }
    }
    Ok(filter)
}

/// One entitlement as the output lists it.
#[derive(Debug, PartialEq)]
pub struct EntitlementEntry<'a> {
    pub product_code: &'a str,
    pub customer: &'a Customer,
    pub entitlement: &'a Entitlement,
}

impl<'a> EntitlementEntry<'a> {
    /// The model's `Entitlement`: identifiers only when the customer has them, exactly one
    /// typed value, and the expiration date when there is one.
    pub fn output(&self) -> EntitlementOutput<'a> {
        let customer = self.customer;
        EntitlementOutput {
            product_code: self.product_code,
            dimension: &self.entitlement.dimension,
            customer: CustomerNames {
                customer_identifier: customer.customer_identifier.as_deref(),
                customer_aws_account_id: customer.customer_aws_account_id.as_deref(),
                license_arn: customer.license_arn.as_deref(),
            },
            value: value_json(&self.entitlement.value),
            expiration_date: self.entitlement.expiration_date.map(epoch_seconds),
        }
    }
}

/// GetEntitlements' answer, the model's `GetEntitlementsResult`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetEntitlementsResult<'a> {
    entitlements: Vec<EntitlementOutput<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// The model's `Entitlement`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntitlementOutput<'a> {
    product_code: &'a str,
    dimension: &'a str,
    #[serde(flatten)]
    customer: CustomerNames<'a>,
    value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_date: Option<Value>,
}

fn value_json(value: &EntitlementValue) -> Value {
    match value {
        EntitlementValue::IntegerValue(i) => json!({ "IntegerValue": i }),
        EntitlementValue::DoubleValue(d) => json!({ "DoubleValue": d }),
        EntitlementValue::BooleanValue(b) => json!({ "BooleanValue": b }),
        EntitlementValue::StringValue(s) => json!({ "StringValue": s }),
    }
}

/// Every entitlement of the product the filter lets through at `now`, in catalogue order:
/// those of subscribed customers whose agreement has not ended (a contract's end).
pub fn listed<'a>(
    product: &'a Product,
    filter: &EntitlementFilter,
    now: Instant,
) -> Vec<EntitlementEntry<'a>> {
    product
        .customers
        .iter()
        .filter(|c| c.subscription.grants_entitlements() && c.ends_at.is_none_or(|end| now < end))
        .flat_map(|customer| {
            customer
                .entitlements
                .iter()
                .filter(|e| filter.matches(customer, e))
                .map(move |entitlement| EntitlementEntry {
                    product_code: &product.product_code,
                    customer,
                    entitlement,
                })
        })
        .collect()
}

pub fn run<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Result<Value, ServiceError> {
    let request = GetEntitlementsRequest::decode(input)?;
    let Some(product) = store.product(&request.product_code)? else {
        return err(
            ErrorKind::InvalidParameterException,
            format!(
                "ProductCode '{}' is not a product of the namespace '{}' (check the endpoint URL: /ns/<name> selects the namespace)",
                request.product_code, call.namespace
            ),
        );
    };
    if let Some(caller) = product.foreign_seller_call(call.caller.account.as_deref()) {
        return err(
            ErrorKind::InvalidParameterException,
            format!(
                "Account {caller} cannot read the entitlements of product {}: only its seller account can",
                product.product_code
            ),
        );
    }
    if !product.runs_in(&call.caller.region) {
        return err(
            ErrorKind::InvalidParameterException,
            format!(
                "Product {} is not offered in {}: call the endpoint of a Region it is offered in",
                product.product_code, call.caller.region
            ),
        );
    }

    let secret = format!("{}\n{}", call.namespace, call.incarnation);
    let listing = format!(
        "GetEntitlements\n{}\n{}",
        product.product_code,
        request.filter.canonical()
    );
    let tokens = PageTokens::new(&secret, &listing);
    let start = match &request.next_token {
        None => 0,
        Some(token) => tokens.position(token).ok_or_else(|| {
            ServiceError::new(
                ErrorKind::InvalidParameterException,
                "The NextToken is not valid for this request: pass the NextToken of the previous page, with the same ProductCode and Filter",
            )
        })?,
    };

    let entries = listed(&product, &request.filter, call.now);
    // The catalogue may have shrunk since the token was issued: a position past the end is
    // the empty last page.
    let start = start.min(entries.len());
    let end = start.saturating_add(request.page_size).min(entries.len());
    shapes::output(GetEntitlementsResult {
        entitlements: entries[start..end].iter().map(|e| e.output()).collect(),
        next_token: (end < entries.len()).then(|| tokens.issue(end)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::subscription::SubscriptionState;
    use crate::domain::time::Instant;

    fn decode(input: Value) -> Result<GetEntitlementsRequest, ServiceError> {
        GetEntitlementsRequest::decode(input.as_object().unwrap())
    }

    fn invalid(input: Value, expected: &str) {
        let e = decode(input.clone()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameterException, "{input}");
        assert!(e.message.contains(expected), "{input}: {}", e.message);
    }

    #[test]
    fn a_minimal_request_reads_the_default_page_size() {
        let r = decode(json!({"ProductCode": "p"})).unwrap();
        assert_eq!(r.product_code, "p");
        assert_eq!(r.page_size, 25);
        assert_eq!(r.filter, EntitlementFilter::default());
        assert_eq!(r.next_token, None);
    }

    #[test]
    fn broken_constraints_are_invalid_parameters_in_the_aws_wording() {
        invalid(
            json!({}),
            "Value null at 'productCode' failed to satisfy constraint: Member must not be null",
        );
        invalid(
            json!({"ProductCode": ""}),
            "Member must have length greater than or equal to 1",
        );
        invalid(
            json!({"ProductCode": "x".repeat(256)}),
            "Member must have length less than or equal to 255",
        );
        invalid(json!({"ProductCode": "p", "MaxResults": 0}), "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1");
        invalid(
            json!({"ProductCode": "p", "MaxResults": 26}),
            "Member must have value less than or equal to 25",
        );
        invalid(json!({"ProductCode": "p", "NextToken": ""}), "at 'nextToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S+");
        invalid(
            json!({"ProductCode": "p", "NextToken": "a b"}),
            "regular expression pattern",
        );
        invalid(
            json!({"ProductCode": "p", "Filter": {"COLOUR": ["red"]}}),
            "Value 'COLOUR' at 'filter' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [CUSTOMER_IDENTIFIER, DIMENSION, CUSTOMER_AWS_ACCOUNT_ID, LICENSE_ARN]]",
        );
        invalid(
            json!({"ProductCode": "p", "Filter": {"DIMENSION": []}}),
            "Value '{DIMENSION=[]}' at 'filter' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 1]",
        );
        invalid(
            json!({"ProductCode": "", "MaxResults": 99}),
            "2 validation errors detected",
        );
    }

    #[test]
    fn wrong_json_types_stay_serialization_errors() {
        for input in [
            json!({"ProductCode": 1}),
            json!({"ProductCode": "p", "Filter": []}),
            json!({"ProductCode": "p", "Filter": {"DIMENSION": "users"}}),
            json!({"ProductCode": "p", "Filter": {"DIMENSION": [1]}}),
            json!({"ProductCode": "p", "MaxResults": 2.5}),
            json!({"ProductCode": "p", "NextToken": 5}),
        ] {
            let e = decode(input.clone()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::SerializationException, "{input}");
        }
    }

    #[test]
    fn customer_identifier_and_account_filters_exclude_each_other() {
        invalid(
            json!({"ProductCode": "p", "Filter": {"CUSTOMER_IDENTIFIER": ["c"], "CUSTOMER_AWS_ACCOUNT_ID": ["1"]}}),
            "mutually exclusive",
        );
        assert!(decode(json!({"ProductCode": "p", "Filter": {"CUSTOMER_IDENTIFIER": ["c"], "DIMENSION": ["d"]}})).is_ok());
    }

    fn customer(id: Option<&str>, account: Option<&str>, license: Option<&str>) -> Customer {
        Customer {
            customer_identifier: id.map(|t| t.parse().unwrap()),
            customer_aws_account_id: account.map(|t| t.parse().unwrap()),
            license_arn: license.map(|t| t.parse().unwrap()),
            ..Default::default()
        }
    }

    fn entitlement(dimension: &str) -> Entitlement {
        Entitlement {
            dimension: dimension.into(),
            value: EntitlementValue::IntegerValue(1),
            expiration_date: None,
        }
    }

    fn filter(keys: &[(FilterKey, &[&str])]) -> EntitlementFilter {
        let mut f = EntitlementFilter::default();
        for (key, values) in keys {
            for v in *values {
                f.accept(*key, v);
            }
        }
        f
    }

    #[test]
    fn filters_union_within_a_key_and_intersect_across_keys() {
        use FilterKey::*;
        let c1 = customer(Some("c1"), Some("111122223333"), None);
        let users = entitlement("users");
        assert!(EntitlementFilter::default().matches(&c1, &users));
        assert!(filter(&[(CustomerIdentifier, &["c2", "c1"])]).matches(&c1, &users));
        assert!(!filter(&[(CustomerIdentifier, &["c2"])]).matches(&c1, &users));
        assert!(
            filter(&[(CustomerIdentifier, &["c1"]), (Dimension, &["gb", "users"])])
                .matches(&c1, &users)
        );
        assert!(
            !filter(&[(CustomerIdentifier, &["c1"]), (Dimension, &["gb"])]).matches(&c1, &users)
        );
        assert!(filter(&[(CustomerAwsAccountId, &["111122223333"])]).matches(&c1, &users));
        assert!(
            !filter(&[(LicenseArn, &["arn:aws:license-manager::1:license:l-x"])])
                .matches(&c1, &users),
            "a customer without a license never matches a license filter"
        );
        let licensed = customer(
            None,
            Some("1"),
            Some("arn:aws:license-manager::1:license:l-x"),
        );
        assert!(
            filter(&[(LicenseArn, &["arn:aws:license-manager::1:license:l-x"])])
                .matches(&licensed, &users)
        );
        assert!(!filter(&[(CustomerIdentifier, &["c1"])]).matches(&licensed, &users));
    }

    #[test]
    fn equivalent_filters_have_one_canonical_text() {
        use FilterKey::*;
        let a = filter(&[(Dimension, &["b", "a", "a"]), (CustomerIdentifier, &["c"])]);
        let b = filter(&[(CustomerIdentifier, &["c"]), (Dimension, &["a", "b"])]);
        assert_eq!(a.canonical(), b.canonical());
        assert_ne!(a.canonical(), filter(&[(Dimension, &["a"])]).canonical());
        assert_ne!(
            filter(&[(Dimension, &["a\",\"b"])]).canonical(),
            filter(&[(Dimension, &["a", "b"])]).canonical()
        );
    }

    #[test]
    fn only_current_subscriptions_are_listed_in_catalogue_order() {
        let with = |state, id: &str, dims: &[&str]| Customer {
            subscription: state,
            entitlements: dims.iter().map(|d| entitlement(d)).collect(),
            ..customer(Some(id), None, None)
        };
        let product = Product {
            product_code: "p".parse().unwrap(),
            dimensions: vec!["a".parse().unwrap(), "b".parse().unwrap()],
            seller_account_id: None,
            integration: Default::default(),
            regions: vec![],
            fulfillment_url: None,
            webhooks: vec![],
            prices: Default::default(),
            contract: None,
            private_offers: vec![],
            free_trial: None,
            customers: vec![
                with(SubscriptionState::Subscribed, "s", &["b", "a"]),
                with(SubscriptionState::Pending, "p", &["a"]),
                with(SubscriptionState::SubscribeFailed, "f", &["a"]),
                with(SubscriptionState::UnsubscribePending, "u", &["a"]),
                with(SubscriptionState::Unsubscribed, "x", &["a"]),
            ]
            .into(),
        };
        let listed: Vec<(String, String)> =
            listed(&product, &EntitlementFilter::default(), Instant(0))
                .iter()
                .map(|e| {
                    (
                        e.customer.customer_identifier.clone().unwrap().into(),
                        e.entitlement.dimension.clone(),
                    )
                })
                .collect();
        let expected = [("s", "b"), ("s", "a"), ("u", "a")];
        assert_eq!(
            listed,
            expected.map(|(c, d)| (c.to_string(), d.to_string()))
        );
    }

    #[test]
    fn entries_carry_only_what_the_customer_has_and_one_typed_value() {
        let c = customer(
            None,
            Some("111122223333"),
            Some("arn:aws:license-manager::111122223333:license:l-l"),
        );
        let e = Entitlement {
            dimension: "seats".into(),
            value: EntitlementValue::DoubleValue(2.5),
            expiration_date: Instant::parse_rfc3339("2027-01-01T00:00:00.250Z"),
        };
        let entry = EntitlementEntry {
            product_code: "p",
            customer: &c,
            entitlement: &e,
        };
        assert_eq!(
            serde_json::to_value(entry.output()).unwrap(),
            json!({"ProductCode": "p", "Dimension": "seats", "CustomerAWSAccountId": "111122223333",
                "LicenseArn": "arn:aws:license-manager::111122223333:license:l-l", "Value": {"DoubleValue": 2.5}, "ExpirationDate": 1798761600.25})
        );
        let whole = Instant::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch_seconds(whole), json!(1798761600));
        for (value, expected) in [
            (
                EntitlementValue::IntegerValue(-3),
                json!({"IntegerValue": -3}),
            ),
            (
                EntitlementValue::BooleanValue(false),
                json!({"BooleanValue": false}),
            ),
            (
                EntitlementValue::StringValue("gold".into()),
                json!({"StringValue": "gold"}),
            ),
        ] {
            assert_eq!(value_json(&value), expected);
        }
    }
}
