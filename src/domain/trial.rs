//! Free trials: a product's free-trial offer (its `freeTrial`: how many days, and which
//! dimensions are free up to how many units) and what a trial grants the buyer who accepts
//! it, until the trial ends and the agreement goes on at the offer's usage prices.
//!
//! Layer: domain. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::entitlement::{Entitlement, EntitlementValue};
use super::time::Instant;

/// The id of `product_code`'s free-trial offer: `offer-` and 25 hex digits of a digest of
/// the code, so it is stable without being stored.
pub fn offer_id(product_code: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!(
        "trial\u{0}offer\u{0}{product_code}"
    )));
    format!("offer-{}", &digest[..25])
}

/// The shortest and longest trial, in days (AWS's SaaS free trials: 7 to 90).
pub const MIN_TRIAL_DAYS: u32 = 7;
pub const MAX_TRIAL_DAYS: u32 = 90;

/// A product's free trial: `duration` (`P30D`) and, per dimension, the most units the buyer
/// uses free (`null`: as many as it likes). Dimensions not granted are priced as usual.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreeTrial {
    pub duration: String,
    pub grants: BTreeMap<String, Option<u32>>,
}

impl FreeTrial {
    /// The trial's days, if its duration is whole days within the limits.
    pub fn days(&self) -> Option<u32> {
        let number = self.duration.strip_prefix('P')?.strip_suffix('D')?;
        if number.starts_with('0')
            || number.len() > 2
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let days = number.parse().ok()?;
        (MIN_TRIAL_DAYS..=MAX_TRIAL_DAYS)
            .contains(&days)
            .then_some(days)
    }

    /// Checks the duration and that each grant is of one of `dimensions`, at least one unit.
    pub fn check(&self, dimensions: &[String]) -> Result<(), String> {
        if self.days().is_none() {
            return Err(format!(
                "freeTrial.duration: whole days from P{MIN_TRIAL_DAYS}D to P{MAX_TRIAL_DAYS}D, not {}",
                self.duration
            ));
        }
        if self.grants.is_empty() {
            return Err("freeTrial.grants names at least one dimension (\"<dimension>\": <units> or null for unlimited)".into());
        }
        for (dimension, units) in &self.grants {
            if !dimensions.contains(dimension) {
                return Err(format!(
                    "freeTrial.grants.{dimension}: '{dimension}' is not a dimension of the product"
                ));
            }
            if units.is_some_and(|u| u == 0 || u > i32::MAX as u32) {
                return Err(format!(
                    "freeTrial.grants.{dimension}: from 1 to {} units, or null for unlimited",
                    i32::MAX
                ));
            }
        }
        Ok(())
    }

    /// When a trial accepted at `start` ends.
    pub fn end(&self, start: Instant) -> Instant {
        start.plus_seconds(i64::from(self.days().unwrap_or(0)) * 86_400)
    }

    /// The limited grants as entitlements until `end` (an unlimited grant has no count).
    pub fn entitlements(&self, end: Instant) -> Vec<Entitlement> {
        self.grants
            .iter()
            .filter_map(|(d, units)| {
                Some(Entitlement {
                    dimension: d.clone(),
                    value: EntitlementValue::IntegerValue(i32::try_from((*units)?).ok()?),
                    expiration_date: Some(end),
                })
            })
            .collect()
    }

    /// Whether the trial leaves all of `dimension`'s usage free (an unlimited grant).
    pub fn frees_all_of(&self, dimension: &str) -> bool {
        matches!(self.grants.get(dimension), Some(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(duration: &str, grants: serde_json::Value) -> FreeTrial {
        serde_json::from_value(serde_json::json!({"duration": duration, "grants": grants})).unwrap()
    }

    #[test]
    fn durations_are_whole_days_from_7_to_90_and_grants_name_dimensions() {
        let dims = ["users".to_string(), "gb".to_string()];
        assert_eq!(
            trial("P30D", serde_json::json!({"users": 5})).check(&dims),
            Ok(())
        );
        for bad in ["P6D", "P91D", "P030D", "P1M", "30", "PD"] {
            assert!(
                trial(bad, serde_json::json!({"users": 5}))
                    .check(&dims)
                    .is_err(),
                "{bad}"
            );
        }
        assert!(trial("P30D", serde_json::json!({})).check(&dims).is_err());
        assert!(trial("P30D", serde_json::json!({"cpu": 1}))
            .check(&dims)
            .is_err());
        assert!(trial("P30D", serde_json::json!({"users": 0}))
            .check(&dims)
            .is_err());
        let t = trial("P7D", serde_json::json!({"users": 5, "gb": null}));
        assert_eq!(t.end(Instant(0)), Instant(7 * 86_400_000));
        assert_eq!(t.entitlements(Instant(9)).len(), 1);
        assert!(t.frees_all_of("gb") && !t.frees_all_of("users"));
    }
}
