//! The deployment's configuration: whether it is locked (an `ADMIN_TOKEN` is set) and the
//! limits that bound what callers can make it store, send or do. Read once from the
//! Worker's variables and secrets; every limit has a documented default, and a value that
//! is not a number in its range stops the deployment with a message naming the variable.

use super::secrets::{sha256, Digest};
use crate::store::Retention;

/// One limit: its variable, default and allowed range (documented in the README's table).
struct Knob {
    var: &'static str,
    /// The default of a locked (shared) deployment.
    default: u64,
    /// The default of an open (local) one, sized for test suites rather than for sharing.
    open_default: u64,
    min: u64,
    max: u64,
}

const fn knob(var: &'static str, default: u64, min: u64, max: u64) -> Knob {
    by_mode(var, default, default, min, max)
}

/// A knob whose default depends on the mode: `open` for a local mock, `locked` for a shared one.
const fn by_mode(var: &'static str, open: u64, locked: u64, min: u64, max: u64) -> Knob {
    Knob {
        var,
        default: locked,
        open_default: open,
        min,
        max,
    }
}

impl Knob {
    /// The variable's value: the mode's default when unset or empty, else a whole number in
    /// range.
    fn read(&self, var: impl Fn(&str) -> Option<String>, locked: bool) -> Result<u64, String> {
        let default = if locked {
            self.default
        } else {
            self.open_default
        };
        match var(self.var).map(|v| v.trim().to_string()) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (self.min..=self.max).contains(n))
                .ok_or_else(|| {
                    format!(
                        "the variable {} must be a whole number from {} to {}, not '{v}'",
                        self.var, self.min, self.max
                    )
                }),
        }
    }
}

/// A variable's list (commas, spaces or lines between items), lower-cased, without a
/// trailing `/`.
fn list_var(var: impl Fn(&str) -> Option<String>, name: &str) -> Vec<String> {
    var(name)
        .unwrap_or_default()
        .split([',', ' ', '\n'])
        .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Largest accepted body of an `/_admin/` call (they are a few fields each).
pub const ADMIN_MAX_BODY_BYTES: usize = 64 * 1024;

const CONTROL_BODY: Knob = knob("MAX_CONTROL_BODY_BYTES", 1024 * 1024, 1024, 8 * 1024 * 1024);
const NAMESPACES: Knob = knob("MAX_NAMESPACES", 100, 1, 100_000);
// A test suite may create products and buyers in every test of one local namespace; a shared
// deployment holds many teams' namespaces.
const PRODUCTS: Knob = by_mode("MAX_PRODUCTS", 10_000, 100, 1, 10_000);
const CUSTOMERS: Knob = by_mode("MAX_CUSTOMERS_PER_PRODUCT", 10_000, 1000, 1, 100_000);
const EVENTS: Knob = knob("MAX_EVENTS", 10_000, 10, 1_000_000);
const REGISTRATIONS: Knob = knob("MAX_REGISTRATIONS", 10_000, 10, 1_000_000);
const USAGE: Knob = knob("MAX_USAGE_RECORDS", 200_000, 100, 10_000_000);
const JOURNAL: Knob = knob("MAX_JOURNAL_ENTRIES", 1000, 10, 100_000);
const RATE: Knob = knob("RATE_LIMIT_PER_SECOND", 50, 1, 100_000);
const BURST: Knob = knob("RATE_LIMIT_BURST", 100, 1, 1_000_000);
const IDLE_DAYS: Knob = knob("IDLE_DAYS", 7, 1, 3650);
const IDLE_DAY_SECONDS: Knob = knob("IDLE_DAY_SECONDS", 86_400, 1, 86_400);
const WEBHOOK_ATTEMPTS: Knob = knob("WEBHOOK_MAX_ATTEMPTS", 10, 1, 100);
const WEBHOOK_DELAY: Knob = knob("WEBHOOK_MAX_RETRY_DELAY_SECONDS", 3600, 0, 86_400);
const WEBHOOK_HOURLY: Knob = knob("WEBHOOK_MAX_DELIVERIES_PER_HOUR", 1000, 1, 1_000_000);
const STORAGE_FAULTS: Knob = knob("TEST_STORAGE_FAULTS", 0, 0, 1);
const ACCESS_LOG: Knob = knob("ACCESS_LOG", 0, 0, 1);
const BODY_TIMEOUT: Knob = knob("BODY_TIMEOUT_SECONDS", 30, 1, 600);

/// Every limit's knob, for the README check and error messages.
const KNOBS: [&Knob; 18] = [
    &CONTROL_BODY,
    &NAMESPACES,
    &PRODUCTS,
    &CUSTOMERS,
    &EVENTS,
    &REGISTRATIONS,
    &USAGE,
    &JOURNAL,
    &RATE,
    &BURST,
    &IDLE_DAYS,
    &IDLE_DAY_SECONDS,
    &WEBHOOK_ATTEMPTS,
    &WEBHOOK_DELAY,
    &WEBHOOK_HOURLY,
    &STORAGE_FAULTS,
    &ACCESS_LOG,
    &BODY_TIMEOUT,
];

/// How many of each thing one namespace (or the deployment) may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub control_body_bytes: usize,
    /// Provisioned namespaces of a locked deployment.
    pub namespaces: usize,
    pub products: usize,
    pub customers_per_product: usize,
    /// Notification events kept; the oldest are dropped beyond it.
    pub events: usize,
    /// Container tasks kept; the oldest are dropped beyond it.
    pub registrations: usize,
    /// Usage records (and MeterUsage client tokens) kept; the oldest are dropped beyond it.
    pub usage_records: usize,
    /// Request journal entries kept; the oldest are dropped beyond it.
    pub journal: usize,
}

impl Limits {
    /// What a namespace's store keeps of each growing kind.
    pub fn retention(&self) -> Retention {
        Retention {
            events: self.events,
            registrations: self.registrations,
            usage_records: self.usage_records,
            journal: self.journal,
        }
    }
}

/// Where and how often a namespace's webhooks may be called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Locked deployments only call `https://` URLs of public hosts.
    pub public_https_only: bool,
    /// When not empty, webhook hosts must be one of these (or a subdomain of one).
    pub allowed_hosts: Vec<String>,
    /// Caps the `webhookMaxAttempts` setting.
    pub max_attempts: u32,
    /// Caps the `webhookRetryDelaySeconds` setting.
    pub max_retry_delay_seconds: u32,
    /// Delivery attempts per namespace per clock hour; the rest wait for the next hour.
    pub max_deliveries_per_hour: u32,
}

/// A request rate per namespace (a token bucket), enforced in locked deployments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// The deployment's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// SHA-256 of `ADMIN_TOKEN`; `Some` makes the deployment locked.
    admin_token: Option<Digest>,
    /// Origins besides the mock's own whose pages may change state (a dashboard).
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    pub webhooks: WebhookPolicy,
    pub rate: RateLimit,
    /// Default `idleDays` of a provisioned namespace.
    pub idle_days: u32,
    /// How long an idle "day" lasts, in milliseconds (shorter only for tests of expiry).
    pub idle_day_ms: i64,
    /// Tests of the mock itself: a request's `x-mock-fail-write: N` makes its N-th write a
    /// statement SQLite refuses (`TEST_STORAGE_FAULTS=1`; ignored otherwise).
    pub storage_faults: bool,
    /// `ACCESS_LOG=1`: the worker logs one line per request (the runner's `--verbose`).
    pub access_log: bool,
    /// How long a request's body may take to arrive (a slow or short body is cut after it).
    pub body_timeout: std::time::Duration,
}

impl Default for Deployment {
    /// An open deployment with every default: what `wrangler dev` runs and native tests use.
    fn default() -> Self {
        Deployment::from_vars(|_| None).expect("the defaults are valid")
    }
}

impl Deployment {
    /// Reads the configuration; `var` answers a variable's (or secret's) value.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Deployment, String> {
        let list = |name: &str| list_var(&var, name);
        let admin_token = var("ADMIN_TOKEN")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err("ADMIN_TOKEN must be at least 16 characters".into());
        }
        let locked = admin_token.is_some();
        let number = |k: &Knob| k.read(&var, locked);
        let size = |k: &Knob| number(k).map(|n| n as usize);
        if locked && number(&STORAGE_FAULTS)? == 1 {
            return Err("TEST_STORAGE_FAULTS is for the mock's own tests: it cannot be set on a locked deployment".into());
        }
        Ok(Deployment {
            admin_token: admin_token.map(|t| sha256(t.as_bytes())),
            allowed_origins: list("ALLOWED_ORIGINS"),
            limits: Limits {
                control_body_bytes: size(&CONTROL_BODY)?,
                namespaces: size(&NAMESPACES)?,
                products: size(&PRODUCTS)?,
                customers_per_product: size(&CUSTOMERS)?,
                events: size(&EVENTS)?,
                registrations: size(&REGISTRATIONS)?,
                usage_records: size(&USAGE)?,
                journal: size(&JOURNAL)?,
            },
            webhooks: WebhookPolicy {
                public_https_only: locked,
                allowed_hosts: list("WEBHOOK_ALLOWED_HOSTS"),
                max_attempts: number(&WEBHOOK_ATTEMPTS)? as u32,
                max_retry_delay_seconds: number(&WEBHOOK_DELAY)? as u32,
                max_deliveries_per_hour: number(&WEBHOOK_HOURLY)? as u32,
            },
            rate: RateLimit {
                per_second: number(&RATE)? as f64,
                burst: number(&BURST)? as f64,
            },
            idle_days: number(&IDLE_DAYS)? as u32,
            idle_day_ms: number(&IDLE_DAY_SECONDS)? as i64 * 1000,
            storage_faults: number(&STORAGE_FAULTS)? == 1,
            access_log: number(&ACCESS_LOG)? == 1,
            body_timeout: std::time::Duration::from_secs(number(&BODY_TIMEOUT)?),
        })
    }

    /// A locked deployment with these defaults and `admin_token` (for tests).
    pub fn locked_with(admin_token: &str) -> Deployment {
        let token = admin_token.to_string();
        Deployment::from_vars(move |name| (name == "ADMIN_TOKEN").then(|| token.clone()))
            .expect("a valid admin token")
    }

    /// Whether `ADMIN_TOKEN` is set: namespaces must then be provisioned and every route
    /// but the public ones needs a credential.
    pub fn locked(&self) -> bool {
        self.admin_token.is_some()
    }

    /// Whether `token` is the admin token (compared as SHA-256 digests, in constant time).
    pub fn is_admin_token(&self, token: &str) -> bool {
        self.admin_token
            .as_ref()
            .is_some_and(|expected| super::secrets::digest_matches(expected, token))
    }

    /// The largest idle time a namespace may ask for.
    pub fn max_idle_days(&self) -> u32 {
        IDLE_DAYS.max as u32
    }

    /// The names of every limit variable (the README documents each).
    pub fn variables() -> Vec<&'static str> {
        KNOBS.iter().map(|k| k.var).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Deployment, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Deployment::from_vars(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn storage_fault_injection_is_refused_on_a_locked_deployment() {
        let vars = |faults: &'static str| {
            move |name: &str| match name {
                "ADMIN_TOKEN" => Some("an-admin-token-0123456789".to_string()),
                "TEST_STORAGE_FAULTS" => Some(faults.to_string()),
                _ => None,
            }
        };
        assert!(Deployment::from_vars(vars("1"))
            .unwrap_err()
            .contains("TEST_STORAGE_FAULTS"));
        assert!(!Deployment::from_vars(vars("0")).unwrap().storage_faults);
        let open = Deployment::from_vars(|n| (n == "TEST_STORAGE_FAULTS").then(|| "1".into()));
        assert!(open.unwrap().storage_faults);
    }

    #[test]
    fn no_admin_token_is_an_open_deployment_with_the_defaults() {
        let d = Deployment::default();
        assert!(!d.locked());
        assert!(!d.is_admin_token(""));
        // Sized for a test suite's products and buyers in one namespace.
        assert_eq!(d.limits.products, 10_000);
        assert_eq!(d.limits.customers_per_product, 10_000);
        assert!(!d.webhooks.public_https_only);
        assert_eq!(with(&[("ADMIN_TOKEN", "  ")]).unwrap(), d);
    }

    #[test]
    fn an_admin_token_locks_it_and_is_recognised() {
        let d = with(&[("ADMIN_TOKEN", "correct horse battery staple")]).unwrap();
        assert!(d.locked());
        // Sized for sharing; a variable still sets either mode's limit.
        assert_eq!(d.limits.products, 100);
        assert_eq!(d.limits.customers_per_product, 1000);
        let set = with(&[
            ("ADMIN_TOKEN", "correct horse battery staple"),
            ("MAX_PRODUCTS", "500"),
        ]);
        assert_eq!(set.unwrap().limits.products, 500);
        assert_eq!(with(&[("MAX_PRODUCTS", "7")]).unwrap().limits.products, 7);
        assert!(d.webhooks.public_https_only);
        assert!(d.is_admin_token("correct horse battery staple"));
        assert!(!d.is_admin_token("correct horse battery stapl"));
        assert!(with(&[("ADMIN_TOKEN", "short")]).is_err());
    }

    #[test]
    fn limits_come_from_variables_within_their_ranges() {
        let d = with(&[
            ("MAX_PRODUCTS", "3"),
            ("RATE_LIMIT_PER_SECOND", "5"),
            (
                "ALLOWED_ORIGINS",
                "https://dash.example.com/, http://localhost:5173",
            ),
        ])
        .unwrap();
        assert_eq!(d.limits.products, 3);
        assert_eq!(d.rate.per_second, 5.0);
        assert_eq!(
            d.allowed_origins,
            ["https://dash.example.com", "http://localhost:5173"]
        );
        let e = with(&[("MAX_PRODUCTS", "0")]).unwrap_err();
        assert!(e.contains("MAX_PRODUCTS"), "{e}");
        assert!(with(&[("MAX_EVENTS", "many")]).is_err());
        // Every variable is read: a value out of its range is refused by its name.
        for name in Deployment::variables() {
            let e = with(&[(name, "not-a-number")]).unwrap_err();
            assert!(e.contains(name), "{name}: {e}");
        }
        for (value, secs) in [
            ("1", Some(1)),
            ("600", Some(600)),
            ("0", None),
            ("601", None),
        ] {
            let d = with(&[("BODY_TIMEOUT_SECONDS", value)]);
            assert_eq!(d.map(|d| d.body_timeout.as_secs()).ok(), secs, "{value}");
        }
        assert_eq!(Deployment::default().body_timeout.as_secs(), 30);
    }
}
