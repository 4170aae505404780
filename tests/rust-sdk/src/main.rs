//! The real AWS SDK for Rust against the mock, as buyer workloads with temporary credentials:
//! EC2 instances (MeterUsage) and container pods (RegisterUsage) of one AWS account, each its
//! own credential session (same access key id, its own session token). The mock keys its
//! idempotency rules by that session; tests/node/rust-sdk.test.mjs sets the namespace up,
//! runs the phases below and asserts on the JSON lines they print, one per SDK call.
//!
//! Usage: `metering-mock-rust-sdk <meter|register-first|register-after-unsubscribe>`, with
//! `METERING_MOCK_ENDPOINT` the namespace endpoint (`http://127.0.0.1:<port>/ns/<name>`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use aws_sdk_marketplacemetering::config::retry::RetryConfig;
use aws_sdk_marketplacemetering::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_sdk_marketplacemetering::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_marketplacemetering::operation::meter_usage::MeterUsageError;
use aws_sdk_marketplacemetering::operation::register_usage::RegisterUsageError;
use aws_sdk_marketplacemetering::primitives::DateTime;
use aws_sdk_marketplacemetering::{Client, Config};

/// The buyer account: a 12-digit access key id is that account to the mock.
const ACCOUNT: &str = "111122223333";
const AMI_PRODUCT: &str = "demo-ami-product";
const CONTAINER_PRODUCT: &str = "demo-container-product";
/// The container product runs in a few Regions only; this is one of them.
const REGION: &str = "us-east-1";

// Session tokens of the workloads. Real ones are long opaque strings; the mock only compares
// them. The namespace is fresh per test run, so fixed tokens are fresh sessions there.
const INSTANCE_A: &str = "instance-a-token-IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMSJHMEUCIQ";
const INSTANCE_B: &str = "instance-b-token-IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMSJHMEUCIB";
const INSTANCE_C: &str = "instance-c-token-IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMSJHMEUCIC";
const POD_1: &str = "pod-1-token-IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMSJHMEUCIQ";
const POD_2: &str = "pod-2-token-IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMSJHMEUCIB";

const PHASES: [&str; 3] = ["meter", "register-first", "register-after-unsubscribe"];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let phase = std::env::args()
        .nth(1)
        .filter(|p| PHASES.contains(&p.as_str()))
        .unwrap_or_else(|| {
            fail(&format!(
                "usage: metering-mock-rust-sdk <{}>",
                PHASES.join("|")
            ))
        });
    let endpoint = std::env::var("METERING_MOCK_ENDPOINT")
        .unwrap_or_else(|_| fail("METERING_MOCK_ENDPOINT is not set"));
    // One hyper client (plain HTTP, no TLS provider) shared by every session's SDK client.
    // `build_http` is the smithy builder's TLS-free constructor; the mock needs nothing more.
    let http = aws_smithy_http_client::Builder::new().build_http();
    let session = |token: &str| client(&endpoint, &http, token);
    match phase.as_str() {
        "meter" => meter(session).await,
        "register-first" => {
            register("pod-1-first", &session(POD_1)).await;
        }
        "register-after-unsubscribe" => {
            register("pod-1-again", &session(POD_1)).await;
            register("pod-2-first", &session(POD_2)).await;
        }
        _ => unreachable!("the phase is one of PHASES"),
    }
}

/// An SDK client of account ACCOUNT whose temporary credentials carry `session_token`.
fn client(endpoint: &str, http: &SharedHttpClient, session_token: &str) -> Client {
    let credentials = Credentials::new(
        ACCOUNT,
        "any-secret: the mock does not check signatures by default",
        Some(session_token.to_string()),
        None,
        "metering-mock-rust-sdk",
    );
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .http_client(http.clone())
        // One attempt: an error must reach the test as the mock answered it, not be retried.
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    Client::from_conf(config)
}

/// MeterUsage from EC2 instances A, B and C of one account: scenarios 1-3 of the test.
async fn meter(session: impl Fn(&str) -> Client) {
    let (a, b, c) = (
        session(INSTANCE_A),
        session(INSTANCE_B),
        session(INSTANCE_C),
    );
    // One timestamp for every call, so all of them fall in the same hour.
    let now = DateTime::from(SystemTime::now());
    let meter = |client: &Client, quantity: i32, dry_run: bool| {
        client
            .meter_usage()
            .product_code(AMI_PRODUCT)
            .usage_dimension("hosts")
            .usage_quantity(quantity)
            .timestamp(now)
            // Only a dry run sends DryRun, as an application's ordinary calls do.
            .set_dry_run(dry_run.then_some(true))
            .send()
    };
    // Instance A's start-up check, as AWS's metered-container sample does before metering.
    report_meter("a-dry-run", meter(&a, 1, true).await);
    report_meter("a-first", meter(&a, 1, false).await);
    report_meter("b-first", meter(&b, 1, false).await);
    // Retries: the SDK sends a fresh ClientToken each time, so only the hour rule matches them.
    report_meter("a-retry", meter(&a, 1, false).await);
    report_meter("b-retry", meter(&b, 1, false).await);
    // Another quantity for an hour instance A has metered; then a new instance does the same.
    report_meter("a-dry-run-other-quantity", meter(&a, 2, true).await);
    report_meter("c-dry-run-other-quantity", meter(&c, 2, true).await);
}

/// RegisterUsage of the container product with key version 1 and a fresh nonce.
async fn register(step: &str, client: &Client) {
    let nonce = fresh_nonce();
    let result = client
        .register_usage()
        .product_code(CONTAINER_PRODUCT)
        .public_key_version(1)
        .nonce(&nonce)
        .send()
        .await;
    let mut line = format!(r#"{{"step":{},"nonce":{}"#, json(step), json(&nonce));
    match result {
        Ok(out) => {
            let signature = out.signature().unwrap_or_default();
            write!(line, r#","outcome":"ok","signature":{}"#, json(signature)).unwrap();
        }
        Err(err) => line.push_str(&error_fields(&err, register_variant)),
    }
    println!("{line}}}");
}

/// Prints a MeterUsage result as one JSON line; a missing MeteringRecordId prints as null.
fn report_meter<R: std::fmt::Debug>(
    step: &str,
    result: Result<
        aws_sdk_marketplacemetering::operation::meter_usage::MeterUsageOutput,
        SdkError<MeterUsageError, R>,
    >,
) {
    let mut line = format!(r#"{{"step":{}"#, json(step));
    match result {
        Ok(out) => {
            let id = out.metering_record_id().map_or("null".to_string(), json);
            write!(line, r#","outcome":"ok","meteringRecordId":{id}"#).unwrap();
        }
        Err(err) => line.push_str(&error_fields(&err, meter_variant)),
    }
    println!("{line}}}");
}

/// The JSON fields of a failed call: `variant` is the SDK's typed error variant (what a
/// program matches on), `code` the error code the SDK read, `detail` the whole error chain.
fn error_fields<E, R>(err: &SdkError<E, R>, variant: fn(&E) -> &'static str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (variant, code, message) = match err.as_service_error() {
        Some(service) => (variant(service), service.code(), service.message()),
        // Not an answer of the service (e.g. the connection failed): no variant applies.
        None => ("NotAServiceError", None, None),
    };
    let opt = |s: Option<&str>| s.map_or("null".to_string(), json);
    format!(
        r#","outcome":"error","variant":{},"code":{},"message":{},"detail":{}"#,
        json(variant),
        opt(code),
        opt(message),
        json(&DisplayErrorContext(err).to_string())
    )
}

fn meter_variant(err: &MeterUsageError) -> &'static str {
    match err {
        MeterUsageError::CustomerNotEntitledException(_) => "CustomerNotEntitledException",
        MeterUsageError::DuplicateRequestException(_) => "DuplicateRequestException",
        MeterUsageError::IdempotencyConflictException(_) => "IdempotencyConflictException",
        MeterUsageError::InternalServiceErrorException(_) => "InternalServiceErrorException",
        MeterUsageError::InvalidEndpointRegionException(_) => "InvalidEndpointRegionException",
        MeterUsageError::InvalidProductCodeException(_) => "InvalidProductCodeException",
        MeterUsageError::InvalidTagException(_) => "InvalidTagException",
        MeterUsageError::InvalidUsageAllocationsException(_) => "InvalidUsageAllocationsException",
        MeterUsageError::InvalidUsageDimensionException(_) => "InvalidUsageDimensionException",
        MeterUsageError::ThrottlingException(_) => "ThrottlingException",
        MeterUsageError::TimestampOutOfBoundsException(_) => "TimestampOutOfBoundsException",
        _ => "Unhandled",
    }
}

fn register_variant(err: &RegisterUsageError) -> &'static str {
    match err {
        RegisterUsageError::CustomerNotEntitledException(_) => "CustomerNotEntitledException",
        RegisterUsageError::DisabledApiException(_) => "DisabledApiException",
        RegisterUsageError::InternalServiceErrorException(_) => "InternalServiceErrorException",
        RegisterUsageError::InvalidProductCodeException(_) => "InvalidProductCodeException",
        RegisterUsageError::InvalidPublicKeyVersionException(_) => {
            "InvalidPublicKeyVersionException"
        }
        RegisterUsageError::InvalidRegionException(_) => "InvalidRegionException",
        RegisterUsageError::PlatformNotSupportedException(_) => "PlatformNotSupportedException",
        RegisterUsageError::ThrottlingException(_) => "ThrottlingException",
        _ => "Unhandled",
    }
}

/// A nonce no earlier call used: the clock's nanoseconds, this process and a counter
/// (a real container would take random bytes; uniqueness is all the test needs).
fn fresh_nonce() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}-{:x}-{n}", std::process::id())
}

/// `s` as a JSON string (a hand-written escaper keeps serde out of the build).
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
