//! Contract entitlements of a customer, as the Entitlement Service's `GetEntitlements`
//! returns them: a dimension, exactly one typed value, and an optional expiration date.
//!
//! Layer: domain. The control API's JSON mirrors the AWS shape in camelCase:
//! `{"dimension": "users", "value": {"integerValue": 10}, "expirationDate": "2027-01-01T00:00:00Z"}`.

use serde::{Deserialize, Serialize};

use super::names::Dimension;
use super::time::Instant;

/// One entitlement of a customer for one dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entitlement {
    pub dimension: String,
    pub value: EntitlementValue,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::optional_rfc3339"
    )]
    pub expiration_date: Option<Instant>,
}

/// Exactly one of the four value types of the model's `EntitlementValue`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum EntitlementValue {
    /// The model's `Integer`: 32 bits.
    IntegerValue(i32),
    DoubleValue(f64),
    BooleanValue(bool),
    StringValue(String),
}

impl Entitlement {
    /// Checks an entitlement against its product's dimensions; the message says what to fix.
    pub fn check(&self, dimensions: &[Dimension]) -> Result<(), String> {
        if !dimensions.iter().any(|d| *d == *self.dimension) {
            return Err(format!(
                "entitlement dimension '{}' is not a dimension of the product ({})",
                self.dimension,
                dimensions.join(", ")
            ));
        }
        if self
            .expiration_date
            .is_some_and(|at| !at.is_readable_by_every_sdk())
        {
            return Err(format!(
                "entitlement '{}': expirationDate must lie in the years 0001 to 9999 (what every SDK reads back)",
                self.dimension
            ));
        }
        if let EntitlementValue::DoubleValue(d) = self.value {
            if !d.is_finite() {
                return Err(format!(
                    "entitlement '{}': doubleValue must be a finite number",
                    self.dimension
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_control_json_names_one_typed_value() {
        let e: Entitlement = serde_json::from_value(json!({
            "dimension": "users", "value": {"integerValue": 10},
            "expirationDate": "2027-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(e.value, EntitlementValue::IntegerValue(10));
        assert_eq!(
            e.expiration_date,
            Instant::parse_rfc3339("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            serde_json::to_value(&e).unwrap()["expirationDate"],
            "2027-01-01T00:00:00Z"
        );
    }

    #[test]
    fn malformed_entitlements_are_refused() {
        for bad in [
            json!({"dimension": "d", "value": {}}),
            json!({"dimension": "d", "value": {"integerValue": 1, "stringValue": "x"}}),
            json!({"dimension": "d", "value": {"integerValue": 3000000000u64}}),
            json!({"dimension": "d", "value": {"integerValue": 1.5}}),
            json!({"dimension": "d", "value": {"floatValue": 1.5}}),
            json!({"dimension": "d", "value": {"booleanValue": true}, "expirationDate": "soon"}),
            json!({"dimension": "d", "value": {"booleanValue": true}, "extra": 1}),
        ] {
            assert!(
                serde_json::from_value::<Entitlement>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_dimension_must_belong_to_the_product() {
        let e = Entitlement {
            dimension: "seats".into(),
            value: EntitlementValue::BooleanValue(true),
            expiration_date: None,
        };
        assert!(e.check(&["users".parse().unwrap()]).is_err());
        assert!(e.check(&["seats".parse().unwrap()]).is_ok());
    }
}
