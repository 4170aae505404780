//! Per-namespace settings: every default of `docs/decisions.md` that a user may want otherwise,
//! and the namespace clock (offset or frozen), which turns the host's time into the
//! namespace's "now".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::approval::{check_plans, ApprovalPlan};
use super::constraints::TagCharset;
use super::registration::MAX_TTL_SECONDS;
use super::time::Instant;

/// What BatchMeterUsage answers for a record whose customer is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownCustomerPolicy {
    /// A per-record `CustomerNotSubscribed` status (08's default).
    CustomerNotSubscribed,
    /// `InvalidCustomerIdentifierException` for the whole request.
    InvalidCustomerIdentifier,
}

/// What MeterUsage answers to a `DryRun` that would succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DryRunResponse {
    /// HTTP 200 with `MeteringRecordId: "DryRunOperation"`: what AMI role checks read as
    /// success, and what container start-up checks (any error is fatal) pass.
    Success,
    /// HTTP 200 without a `MeteringRecordId` (the mock's earlier default).
    Empty,
    /// The `DryRunOperation` error, with the status `dryRunStatus`.
    Error,
}

/// The platform RegisterUsage believes its caller runs on (AWS supports ECS, EKS, Fargate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerPlatform {
    Ecs,
    Eks,
    Fargate,
    /// An EC2 instance outside ECS/EKS: `PlatformNotSupportedException`.
    Ec2,
    /// Anything else (a laptop, Lambda, another cloud): `PlatformNotSupportedException`.
    Other,
}

impl ContainerPlatform {
    /// The setting's value, as the control API spells it.
    pub fn name(self) -> &'static str {
        match self {
            ContainerPlatform::Ecs => "ecs",
            ContainerPlatform::Eks => "eks",
            ContainerPlatform::Fargate => "fargate",
            ContainerPlatform::Ec2 => "ec2",
            ContainerPlatform::Other => "other",
        }
    }

    pub fn is_supported(self) -> bool {
        matches!(
            self,
            ContainerPlatform::Ecs | ContainerPlatform::Eks | ContainerPlatform::Fargate
        )
    }
}

/// What RegisterUsage answers for a retired public-key version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetiredKeyAnswer {
    /// A signature by the retired key plus `PublicKeyRotationTimestamp` (the model's words).
    RotationTimestamp,
    /// `InvalidPublicKeyVersionException`, as if the version were gone.
    InvalidPublicKeyVersion,
}

/// The shapes of the EventBridge agreement and license events (docs/decisions.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventShapes {
    /// As sellers captured them from AWS in 2026: pay-as-you-go `endTime`
    /// `9999-01-01T00:00:00Z`, `resaleAuthorization: {"id": null}`, agreement times with
    /// milliseconds, no `offer` on `Ended`.
    #[default]
    #[serde(rename = "captured-2026")]
    Captured2026,
    /// As the seller guide's examples show them: no `endTime` for pay-as-you-go, whole
    /// seconds, an `offer` on every event, `resaleAuthorization: null` for a direct offer.
    Documented,
}

/// When `License Deprovisioned - Manufacturer` is sent for an agreement that ends
/// (docs/decisions.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenseDeprovisionedAt {
    /// With the cancellation (`unsubscribe-pending`), after `Purchase Agreement Ended`, as
    /// sellers captured it in 2026; the final metering hour runs from the cancellation.
    #[default]
    Cancellation,
    /// With `unsubscribe-success`, once the final hour is over (the SNS flow's order).
    FinalHourEnd,
}

/// The longest an event may be held back (`licenseUpdatedDelaySeconds`, …).
pub const MAX_EVENT_DELAY_SECONDS: u32 = 3600;

/// The namespace's settings, as `GET /_mock/settings` shows them (camelCase JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// MeterUsage accepts records at most this old (a record exactly this old is accepted).
    pub meter_usage_max_age_seconds: i64,
    /// BatchMeterUsage accepts records younger than this.
    pub batch_meter_usage_max_age_seconds: i64,
    /// Usage of an earlier month is accepted until this long after the month ends;
    /// `null` turns the month-end rule off.
    pub month_end_grace_seconds: Option<i64>,
    /// How far in the future a timestamp may lie (both operations).
    pub max_future_seconds: i64,
    pub unknown_customer: UnknownCustomerPolicy,
    pub tag_charset: TagCharset,
    /// Distinct tag keys allowed across all allocations of one record.
    pub max_distinct_tag_keys_per_record: usize,
    pub dry_run_response: DryRunResponse,
    /// HTTP status of the `DryRunOperation` answer (with `dryRunResponse: "error"`).
    pub dry_run_status: u16,
    /// Access key id → secret. Empty: signatures are not checked and any key is accepted.
    /// Otherwise only these keys are, with correct SigV4 signatures.
    pub signature_credentials: BTreeMap<String, String>,
    /// Lifetime of a registration token minted without `ttlSeconds`.
    pub registration_token_ttl_seconds: i64,
    /// `false` (08's default): a token resolves once, then `ExpiredTokenException`.
    /// `true`: it resolves to the same answer until it expires (the 2023 seller guide).
    pub repeatable_token_resolution: bool,
    /// Delivery attempts per webhook and notification, the first one included.
    pub webhook_max_attempts: u32,
    /// Delay between delivery attempts (SNS's default HTTP policy: 20 s, linear).
    pub webhook_retry_delay_seconds: u32,
    /// Where RegisterUsage's callers run; unsupported platforms fail a task's first call.
    pub container_platform: ContainerPlatform,
    pub retired_public_key_version: RetiredKeyAnswer,
    /// Operations that answer `DisabledApiException` (only those whose model lists it), in
    /// every Region or in the Regions listed.
    pub disabled_operations: DisabledOperations,
    /// Whether AWS calls are kept in the request journal (`/_mock/requests`); off saves
    /// one write per call.
    pub request_journal: bool,
    /// The shapes of the EventBridge agreement and license events.
    pub event_shapes: EventShapes,
    /// When `License Deprovisioned` comes for an agreement that ends.
    pub license_deprovisioned_at: LicenseDeprovisionedAt,
    /// How long after its moment `License Updated` is sent (AWS: about 60 s after
    /// `Purchase Agreement Created`).
    pub license_updated_delay_seconds: u32,
    /// How long after its moment `License Deprovisioned` is sent (AWS: 30 s to minutes
    /// after `Purchase Agreement Ended`).
    pub license_deprovisioned_delay_seconds: u32,
    /// Every webhook delivery is made twice (SNS and EventBridge deliver at least once), so
    /// a seller can test that its handlers are idempotent.
    pub duplicate_event_deliveries: bool,
    /// The approval plans buyers' organizations require before an agreement request can be
    /// accepted (none: no request needs approval).
    pub approval_plans: Vec<ApprovalPlan>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            meter_usage_max_age_seconds: 6 * 3600,
            batch_meter_usage_max_age_seconds: 24 * 3600,
            month_end_grace_seconds: Some(6 * 3600),
            max_future_seconds: 300,
            unknown_customer: UnknownCustomerPolicy::CustomerNotSubscribed,
            tag_charset: TagCharset::Documented,
            max_distinct_tag_keys_per_record: 5,
            dry_run_response: DryRunResponse::Success,
            dry_run_status: 400,
            signature_credentials: BTreeMap::new(),
            registration_token_ttl_seconds: 3600,
            repeatable_token_resolution: false,
            webhook_max_attempts: 4,
            webhook_retry_delay_seconds: 20,
            container_platform: ContainerPlatform::Ecs,
            retired_public_key_version: RetiredKeyAnswer::RotationTimestamp,
            disabled_operations: DisabledOperations::default(),
            request_journal: true,
            event_shapes: EventShapes::default(),
            license_deprovisioned_at: LicenseDeprovisionedAt::default(),
            license_updated_delay_seconds: 0,
            license_deprovisioned_delay_seconds: 0,
            duplicate_event_deliveries: false,
            approval_plans: Vec::new(),
        }
    }
}

impl Settings {
    /// Checks values that parse but make no sense; the message names the setting.
    pub fn check(&self) -> Result<(), String> {
        let non_negative = [
            ("meterUsageMaxAgeSeconds", self.meter_usage_max_age_seconds),
            (
                "batchMeterUsageMaxAgeSeconds",
                self.batch_meter_usage_max_age_seconds,
            ),
            ("maxFutureSeconds", self.max_future_seconds),
            (
                "monthEndGraceSeconds",
                self.month_end_grace_seconds.unwrap_or(0),
            ),
        ];
        for (name, value) in non_negative {
            if !(0..=10 * 366 * 86_400).contains(&value) {
                return Err(format!("{name} must be between 0 and 316224000 seconds"));
            }
        }
        if !(1..=2500 * 5).contains(&self.max_distinct_tag_keys_per_record) {
            return Err("maxDistinctTagKeysPerRecord must be between 1 and 12500".into());
        }
        if self
            .signature_credentials
            .iter()
            .any(|(key, secret)| key.is_empty() || secret.is_empty() || key.contains('/'))
        {
            return Err(
                "signatureCredentials maps non-empty access key ids (no '/') to non-empty secrets"
                    .into(),
            );
        }
        if !(1..=MAX_TTL_SECONDS).contains(&self.registration_token_ttl_seconds) {
            return Err(format!(
                "registrationTokenTtlSeconds must be between 1 and {MAX_TTL_SECONDS}"
            ));
        }
        if !(1..=100).contains(&self.webhook_max_attempts) {
            return Err("webhookMaxAttempts must be between 1 and 100".into());
        }
        if self.webhook_retry_delay_seconds > 3600 {
            return Err("webhookRetryDelaySeconds must be between 0 and 3600".into());
        }
        check_plans(&self.approval_plans)?;
        for (name, regions) in &self.disabled_operations.0 {
            if !regions.iter().all(|r| super::names::is_region(r)) {
                return Err(format!(
                    "disabledOperations: the Regions of {name} must be Region names, 1-{} lowercase letters, digits and '-' (none: every Region)",
                    super::names::MAX_REGION_CHARS
                ));
            }
            if !DISABLEABLE_OPERATIONS.contains(&name.as_str()) {
                return Err(format!(
                    "disabledOperations: '{name}' is not an operation that can answer DisabledApiException ({})",
                    DISABLEABLE_OPERATIONS.join(", ")
                ));
            }
        }
        for (name, delay) in [
            (
                "licenseUpdatedDelaySeconds",
                self.license_updated_delay_seconds,
            ),
            (
                "licenseDeprovisionedDelaySeconds",
                self.license_deprovisioned_delay_seconds,
            ),
        ] {
            if delay > MAX_EVENT_DELAY_SECONDS {
                return Err(format!(
                    "{name} must be between 0 and {MAX_EVENT_DELAY_SECONDS}"
                ));
            }
        }
        if !(400..=599).contains(&self.dry_run_status) {
            return Err("dryRunStatus must be an HTTP error status (400-599)".into());
        }
        Ok(())
    }
}

/// Operations disabled by the namespace: name → the Regions where (empty: every Region).
/// Given as a list of names (every Region) or as a map of names to Regions; shown as a map.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DisabledOperationsInput")]
pub struct DisabledOperations(pub BTreeMap<String, Vec<String>>);

#[derive(Deserialize)]
#[serde(untagged)]
enum DisabledOperationsInput {
    Everywhere(Vec<String>),
    InRegions(BTreeMap<String, Vec<String>>),
}

impl From<DisabledOperationsInput> for DisabledOperations {
    fn from(input: DisabledOperationsInput) -> Self {
        DisabledOperations(match input {
            DisabledOperationsInput::Everywhere(names) => {
                names.into_iter().map(|n| (n, Vec::new())).collect()
            }
            DisabledOperationsInput::InRegions(map) => map,
        })
    }
}

impl DisabledOperations {
    /// Whether `operation` answers `DisabledApiException` to a call signed for `region`.
    pub fn disables(&self, operation: &str, region: &str) -> bool {
        self.0
            .get(operation)
            .is_some_and(|regions| regions.is_empty() || regions.iter().any(|r| r == region))
    }
}

/// The operations whose model lists `DisabledApiException`.
pub const DISABLEABLE_OPERATIONS: [&str; 3] =
    ["BatchMeterUsage", "RegisterUsage", "ResolveCustomer"];

/// The namespace clock: real time shifted by an offset, or frozen at an instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clock {
    pub offset_ms: i64,
    pub frozen_at: Option<Instant>,
}

impl Clock {
    pub fn now(&self, host_now: Instant) -> Instant {
        self.frozen_at
            .unwrap_or(Instant(host_now.0.saturating_add(self.offset_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_windows() {
        let s = Settings::default();
        assert_eq!(s.meter_usage_max_age_seconds, 21_600);
        assert_eq!(s.batch_meter_usage_max_age_seconds, 86_400);
        assert_eq!(s.month_end_grace_seconds, Some(21_600));
        assert!(s.check().is_ok());
    }

    #[test]
    fn settings_json_is_camel_case_and_rejects_unknown_keys() {
        let json = serde_json::to_value(Settings::default()).unwrap();
        assert_eq!(json["unknownCustomer"], "customer-not-subscribed");
        assert_eq!(json["tagCharset"], "documented");
        assert!(serde_json::from_str::<Settings>(r#"{"nope": 1}"#).is_err());
        let partial: Settings = serde_json::from_str(r#"{"maxFutureSeconds": 0}"#).unwrap();
        assert_eq!(partial.max_future_seconds, 0);
    }

    #[test]
    fn nonsense_values_are_refused() {
        let bad = Settings {
            dry_run_status: 200,
            ..Settings::default()
        };
        assert!(bad.check().is_err());
        let bad = Settings {
            meter_usage_max_age_seconds: -1,
            ..Settings::default()
        };
        assert!(bad.check().is_err());
        let bad = Settings {
            license_updated_delay_seconds: MAX_EVENT_DELAY_SECONDS + 1,
            ..Settings::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .contains("licenseUpdatedDelaySeconds"));
    }

    #[test]
    fn only_operations_that_model_disabled_api_can_be_disabled() {
        let ok: Settings = serde_json::from_str(
            r#"{"disabledOperations": ["RegisterUsage"], "containerPlatform": "ec2"}"#,
        )
        .unwrap();
        assert!(ok.check().is_ok());
        assert!(!ok.container_platform.is_supported());
        assert!(ok
            .disabled_operations
            .disables("RegisterUsage", "eu-west-1"));
        let bad: Settings =
            serde_json::from_str(r#"{"disabledOperations": ["MeterUsage"]}"#).unwrap();
        assert!(bad.check().unwrap_err().contains("MeterUsage"));
        let regional: Settings = serde_json::from_str(
            r#"{"disabledOperations": {"BatchMeterUsage": ["eu-central-1"], "ResolveCustomer": []}}"#,
        )
        .unwrap();
        assert!(regional.check().is_ok());
        let d = &regional.disabled_operations;
        assert!(d.disables("BatchMeterUsage", "eu-central-1"));
        assert!(!d.disables("BatchMeterUsage", "us-east-1"));
        assert!(d.disables("ResolveCustomer", "us-east-1"));
        assert!(!d.disables("RegisterUsage", "us-east-1"));
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!({"BatchMeterUsage": ["eu-central-1"], "ResolveCustomer": []})
        );
        assert!(serde_json::from_str::<Settings>(r#"{"containerPlatform": "k8s"}"#).is_err());
        assert!(serde_json::from_str::<Settings>(r#"{"eventShapes": "captured"}"#).is_err());
        let documented: Settings =
            serde_json::from_str(r#"{"eventShapes": "documented"}"#).unwrap();
        assert_eq!(documented.event_shapes, EventShapes::Documented);
        assert_eq!(Settings::default().event_shapes, EventShapes::Captured2026);
    }

    #[test]
    fn clock_offsets_or_freezes_host_time() {
        let host = Instant(1_000_000);
        assert_eq!(Clock::default().now(host), host);
        assert_eq!(
            Clock {
                offset_ms: -500,
                frozen_at: None
            }
            .now(host),
            Instant(999_500)
        );
        let frozen = Clock {
            offset_ms: 7,
            frozen_at: Some(Instant(42)),
        };
        assert_eq!(frozen.now(host), Instant(42));
    }
}
