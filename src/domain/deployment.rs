//! The Marketplace Deployment Service's records: deployment parameters a seller puts for an
//! agreement's buyer (Quick Launch), and data-as-a-service deployment configurations a seller
//! publishes by jobs. A parameter's secret is never kept: only its length, and a digest of the
//! request that tells a retry from a new version. A job settles `JOB_SECONDS` after it
//! starts, by the namespace clock, its outcome decided by its fulfillment URL alone (the mock
//! never calls it).
//!
//! Layer: domain. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::names::quoted;
use super::time::Instant;

/// Parameter names an agreement may have (more: `ServiceQuotaExceededException`).
pub const MAX_PARAMETERS_PER_AGREEMENT: usize = 50;
/// Tags a resource may carry (the model's `TagsMap` maximum).
pub const MAX_TAGS: usize = 50;
/// Client tokens remembered per parameter (its most recent versions').
pub const MAX_VERSION_TOKENS: usize = 20;
/// Configuration jobs a namespace keeps (the oldest settled ones make room).
pub const MAX_JOBS: usize = 200;
/// How long a configuration job stays `IN_PROGRESS`, in namespace seconds.
pub const JOB_SECONDS: i64 = 5;
/// The one delivery option type of the model.
pub const DATA_AS_A_SERVICE: &str = "data-as-a-service";

/// Tags of a resource.
pub type Tags = BTreeMap<String, String>;

/// A version's client token, kept to answer a retry with what it made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionToken {
    pub requester: String,
    pub client_token: String,
    /// A digest of the request's other members (the secret among them).
    pub fingerprint: String,
}

/// A deployment parameter: a named secret for the buyer of one agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentParameter {
    /// `dp-…`.
    pub id: String,
    pub product_code: String,
    pub agreement_id: String,
    pub name: String,
    /// The seller's account, in the parameter's ARN.
    pub seller: String,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default, with = "super::time::optional_rfc3339")]
    pub expires_at: Option<Instant>,
    #[serde(with = "super::time::rfc3339")]
    pub created_at: Instant,
    #[serde(with = "super::time::rfc3339")]
    pub updated_at: Instant,
    /// Versions put so far (the first one included).
    pub versions: u32,
    /// The length in bytes of the latest version's secret.
    pub secret_bytes: usize,
    #[serde(default)]
    pub tokens: Vec<VersionToken>,
}

impl DeploymentParameter {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:aws-marketplace:us-east-1:{}:AWSMarketplace/DeploymentParameter/{}",
            self.seller, self.id
        )
    }

    /// Whether its expiration date has passed at `now` (it is then deleted).
    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Remembers a version's client token (the oldest forgotten beyond the limit).
    pub fn remember(&mut self, token: VersionToken) {
        self.tokens.push(token);
        let excess = self.tokens.len().saturating_sub(MAX_VERSION_TOKENS);
        self.tokens.drain(..excess);
    }
}

/// A namespace's deployment parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentParameters(pub Vec<DeploymentParameter>);

impl DeploymentParameters {
    /// Deletes the parameters whose expiration date has passed.
    pub fn forget_expired(&mut self, now: Instant) {
        self.0.retain(|p| !p.expired(now));
    }

    /// When the next parameter expires, after `now`.
    pub fn next_expiry(&self, now: Instant) -> Option<Instant> {
        self.0
            .iter()
            .filter_map(|p| p.expires_at)
            .filter(|at| *at > now)
            .min()
    }

    /// The parameters of agreement `agreement_id`.
    pub fn of_agreement<'a>(
        &'a self,
        agreement_id: &'a str,
    ) -> impl Iterator<Item = &'a DeploymentParameter> + 'a {
        self.0
            .iter()
            .filter(move |p| p.agreement_id == agreement_id)
    }
}

/// How a configuration job ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Succeeded,
    Failed { code: &'static str, message: String },
}

impl JobStatus {
    pub fn name(&self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed { .. } => "FAILED",
        }
    }
}

/// A job publishing a product's data-as-a-service configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationJob {
    /// Lowercase hex.
    pub id: String,
    pub product_code: String,
    pub fulfillment_url: String,
    #[serde(with = "super::time::rfc3339")]
    pub created_at: Instant,
    pub requester: String,
    #[serde(default)]
    pub client_token: Option<String>,
    pub fingerprint: String,
}

impl ConfigurationJob {
    /// When it settles.
    pub fn ends_at(&self) -> Instant {
        self.created_at.plus_seconds(JOB_SECONDS)
    }

    /// Its status at `now`.
    pub fn status(&self, now: Instant) -> JobStatus {
        if now < self.ends_at() {
            return JobStatus::InProgress;
        }
        match failure(&self.fulfillment_url) {
            Some((code, message)) => JobStatus::Failed { code, message },
            None => JobStatus::Succeeded,
        }
    }
}

/// A product's deployment configuration, made by its first job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub product_code: String,
    /// The product's catalog id (`prod-…`) and seller, in the configuration's ARN.
    pub product_id: String,
    pub seller: String,
    #[serde(default)]
    pub tags: Tags,
}

impl Configuration {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:aws-marketplace:us-east-1:{}:AWSMarketplace/DeploymentConfiguration/{}/{DATA_AS_A_SERVICE}",
            self.seller, self.product_id
        )
    }
}

/// A namespace's deployment configurations and their jobs (oldest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfigurations {
    pub configurations: Vec<Configuration>,
    pub jobs: Vec<ConfigurationJob>,
}

impl DeploymentConfigurations {
    pub fn configuration(&self, product_code: &str) -> Option<&Configuration> {
        self.configurations
            .iter()
            .find(|c| c.product_code == product_code)
    }

    /// The product's jobs, newest first.
    pub fn jobs_of<'a>(
        &'a self,
        product_code: &'a str,
    ) -> impl Iterator<Item = &'a ConfigurationJob> + 'a {
        self.jobs
            .iter()
            .rev()
            .filter(move |j| j.product_code == product_code)
    }

    /// The fulfillment URL the product's newest succeeded job published, at `now`.
    pub fn active_url<'a>(&'a self, product_code: &'a str, now: Instant) -> Option<&'a str> {
        self.jobs_of(product_code)
            .find(|j| j.status(now) == JobStatus::Succeeded)
            .map(|j| j.fulfillment_url.as_str())
    }

    /// When the next job in progress at `now` settles.
    pub fn next_end(&self, now: Instant) -> Option<Instant> {
        self.jobs
            .iter()
            .map(ConfigurationJob::ends_at)
            .filter(|at| *at > now)
            .min()
    }

    /// Adds `job`, forgetting the oldest settled jobs beyond `MAX_JOBS` but those that
    /// publish their product's configuration.
    pub fn add_job(&mut self, job: ConfigurationJob, now: Instant) {
        self.jobs.push(job);
        while self.jobs.len() > MAX_JOBS {
            let published = |j: &ConfigurationJob| {
                self.jobs_of(&j.product_code)
                    .find(|k| k.status(now) == JobStatus::Succeeded)
                    .is_some_and(|k| k.id == j.id)
            };
            let forgettable = self
                .jobs
                .iter()
                .position(|j| now >= j.ends_at() && !published(j));
            match forgettable {
                Some(i) => {
                    self.jobs.remove(i);
                }
                None => break,
            }
        }
    }
}

/// A fulfillment URL the model takes but AWS would not: not an absolute `https` URL with a
/// host.
pub fn check_fulfillment_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => Err(format!(
            "fulfillmentUrl must be an absolute https URL (RFC 3986), not '{}'",
            quoted(text)
        )),
    }
}

/// Why AWS could not publish `url`, by its host (the mock calls no one): a name under
/// `.invalid` (RFC 2606, never resolves) is unreachable; `localhost` and IP addresses are
/// not valid endpoints.
pub fn failure(url: &str) -> Option<(&'static str, String)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host()?;
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "invalid" || name.ends_with(".invalid") {
                Some((
                    "FULFILLMENT_URL_UNREACHABLE",
                    format!("The fulfillment URL could not be reached: {name} does not resolve"),
                ))
            } else if name == "localhost" || name.ends_with(".localhost") {
                Some((
                    "ENDPOINT_INVALID",
                    format!("The fulfillment URL's host {name} is not a public endpoint"),
                ))
            } else {
                None
            }
        }
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => Some((
            "ENDPOINT_INVALID",
            "The fulfillment URL names an IP address: it must name a public host".to_string(),
        )),
    }
}

/// Why a tag cannot be kept, by the model's `TagKey` and `TagValue` rules (which TagResource's
/// looser `Tags` shape does not carry), and AWS's reserved `aws:` prefix.
pub fn check_tag(key: &str, value: &str) -> Result<(), String> {
    let allowed = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.:@-".contains(&b))
    };
    if !(1..=128).contains(&key.chars().count()) || !allowed(key) {
        return Err(format!(
            "tag key '{}' must be 1-128 characters of letters, digits and /_+=.:@-",
            quoted(key)
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("tag key '{key}' uses the reserved prefix aws:"));
    }
    if !(1..=256).contains(&value.chars().count()) || !allowed(value) {
        return Err(format!(
            "the value of tag '{key}' must be 1-256 characters of letters, digits and /_+=.:@-"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(url: &str, at: i64) -> ConfigurationJob {
        ConfigurationJob {
            id: format!("{at}"),
            product_code: "p".into(),
            fulfillment_url: url.into(),
            created_at: Instant(at * 1000),
            requester: "111122223333".into(),
            client_token: None,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn jobs_settle_after_their_delay_by_their_host() {
        let ok = job("https://seller.example.com/signup", 0);
        assert_eq!(ok.status(Instant(4_999)), JobStatus::InProgress);
        assert_eq!(ok.status(Instant(5_000)), JobStatus::Succeeded);
        let gone = job("https://nowhere.invalid/", 0);
        assert_eq!(gone.status(Instant(5_000)).name(), "FAILED");
        assert!(matches!(
            gone.status(Instant(9_000)),
            JobStatus::Failed {
                code: "FULFILLMENT_URL_UNREACHABLE",
                ..
            }
        ));
        for bad in [
            "https://127.0.0.1/",
            "https://[::1]/x",
            "https://api.localhost/",
        ] {
            assert!(matches!(
                job(bad, 0).status(Instant(5_000)),
                JobStatus::Failed {
                    code: "ENDPOINT_INVALID",
                    ..
                }
            ));
        }
    }

    #[test]
    fn the_newest_succeeded_job_is_the_active_configuration() {
        let mut c = DeploymentConfigurations::default();
        c.add_job(job("https://a.example/", 0), Instant(0));
        c.add_job(job("https://b.invalid/", 10), Instant(10_000));
        c.add_job(job("https://c.example/", 20), Instant(20_000));
        assert_eq!(
            c.active_url("p", Instant(21_000)),
            Some("https://a.example/")
        );
        assert_eq!(
            c.active_url("p", Instant(25_000)),
            Some("https://c.example/")
        );
        assert_eq!(c.active_url("q", Instant(25_000)), None);
        assert_eq!(c.next_end(Instant(21_000)), Some(Instant(25_000)));
        assert_eq!(c.next_end(Instant(25_000)), None);
    }

    #[test]
    fn settled_jobs_make_room_in_order() {
        let mut c = DeploymentConfigurations::default();
        for at in 0..(MAX_JOBS as i64 + 3) {
            c.add_job(job("https://a.example/", at * 10), Instant(at * 10_000));
        }
        assert_eq!(c.jobs.len(), MAX_JOBS);
        assert_eq!(c.jobs[0].id, "30");
        // Another product's only success stays, however old: it is what that product publishes.
        let mut c = DeploymentConfigurations::default();
        let mut first = job("https://a.example/", 0);
        first.product_code = "q".into();
        c.add_job(first, Instant(0));
        for at in 1..(MAX_JOBS as i64 + 3) {
            c.add_job(job("https://a.example/", at * 10), Instant(at * 10_000));
        }
        assert_eq!(c.jobs.len(), MAX_JOBS);
        assert_eq!(c.jobs[0].product_code, "q");
        assert_eq!(
            c.active_url("q", Instant(3_000_000)),
            Some("https://a.example/")
        );
    }

    #[test]
    fn urls_and_tags_follow_the_rules() {
        assert!(check_fulfillment_url("https://seller.example.com/x?y=1").is_ok());
        for bad in [
            "http://seller.example.com/",
            "seller.example.com",
            "https://",
            "",
        ] {
            assert!(check_fulfillment_url(bad).is_err(), "{bad}");
        }
        assert!(check_tag("team", "billing").is_ok());
        assert!(check_tag("aws:team", "x").is_err());
        assert!(check_tag("team", "two words").is_err());
        assert!(check_tag("", "x").is_err());
        assert!(check_tag(&"k".repeat(129), "x").is_err());
        assert!(check_tag("k", &"v".repeat(257)).is_err());
    }

    #[test]
    fn parameters_remember_their_recent_tokens_and_expire() {
        let mut p = DeploymentParameter {
            id: "dp-1".into(),
            product_code: "p".into(),
            agreement_id: "agmt-1".into(),
            name: "ApiKey".into(),
            seller: "123456789012".into(),
            tags: Tags::new(),
            expires_at: Some(Instant(1_000)),
            created_at: Instant(0),
            updated_at: Instant(0),
            versions: 1,
            secret_bytes: 3,
            tokens: Vec::new(),
        };
        for n in 0..(MAX_VERSION_TOKENS + 2) {
            p.remember(VersionToken {
                requester: "r".into(),
                client_token: format!("{n}"),
                fingerprint: String::new(),
            });
        }
        assert_eq!(p.tokens.len(), MAX_VERSION_TOKENS);
        assert_eq!(p.tokens[0].client_token, "2");
        assert!(!p.expired(Instant(999)) && p.expired(Instant(1_000)));
        let kept = DeploymentParameters(vec![p.clone()]);
        assert_eq!(kept.next_expiry(Instant(999)), Some(Instant(1_000)));
        assert_eq!(kept.next_expiry(Instant(1_000)), None);
        assert_eq!(
            p.arn(),
            "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/DeploymentParameter/dp-1"
        );
    }
}
