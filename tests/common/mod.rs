//! A namespace driven natively, request by request, exactly as the Durable Object drives it:
//! the in-memory store, sequential ids and a host clock the test sets.

#![allow(dead_code)]

use metering_mock::domain::ids::SequentialIds;
use metering_mock::domain::time::Instant;
use metering_mock::protocol::http::{HttpRequest, HttpResponse};
use metering_mock::service::Namespace;
use metering_mock::store::memory::MemoryStore;
use metering_mock::store::tokens::MemoryVault;
use serde_json::{json, Value};

pub struct Mock {
    pub name: String,
    pub store: MemoryStore,
    pub tokens: MemoryVault,
    pub ids: SequentialIds,
    pub host_now: Instant,
}

/// An answer: status, the AWS error name (if any) and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub error: Option<String>,
    pub body: Value,
    pub response: HttpResponse,
}

impl Answer {
    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("<no error>")
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

pub fn at(text: &str) -> Instant {
    Instant::parse_rfc3339(text).expect("test instant")
}

/// Epoch seconds of an RFC 3339 instant, as a JSON number.
pub fn secs(text: &str) -> Value {
    json!(at(text).millis() / 1000)
}

pub const NOW: &str = "2026-03-10T12:30:00Z";

impl Mock {
    /// A namespace named `test` (no seed) at host time `NOW`.
    pub fn new() -> Mock {
        Mock::named("test")
    }

    pub fn named(name: &str) -> Mock {
        Mock {
            name: name.into(),
            store: MemoryStore::new(),
            tokens: MemoryVault::default(),
            ids: SequentialIds::default(),
            host_now: at(NOW),
        }
    }

    pub fn send(&mut self, req: HttpRequest) -> Answer {
        let response = Namespace {
            name: &self.name,
            store: &mut self.store,
            tokens: &mut self.tokens,
            host_now: self.host_now,
            ids: &mut self.ids,
        }
        .handle(&req);
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Answer {
            status: response.status,
            error: response.header("x-amzn-ErrorType").map(str::to_string),
            body,
            response,
        }
    }

    /// An AWS call as the given access key id from the given Region.
    pub fn call_as(&mut self, key: &str, region: &str, operation: &str, input: Value) -> Answer {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20260310/{region}/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
        );
        self.send(HttpRequest {
            method: "POST".into(),
            path: "/".into(),
            full_path: String::new(),
            query: String::new(),
            headers: vec![
                ("Authorization".into(), auth),
                ("X-Amz-Date".into(), "20260310T123000Z".into()),
                (
                    "X-Amz-Target".into(),
                    format!("AWSMPMeteringService.{operation}"),
                ),
                ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ],
            body: input.to_string().into_bytes(),
        })
    }

    /// An AWS call as the wildcard caller (`test`) from us-east-1.
    pub fn call(&mut self, operation: &str, input: Value) -> Answer {
        self.call_as("test", "us-east-1", operation, input)
    }

    pub fn control(&mut self, method: &str, path_and_query: &str, body: Option<Value>) -> Answer {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        self.send(HttpRequest {
            method: method.into(),
            path: format!("/_mock{path}"),
            full_path: String::new(),
            query: query.into(),
            headers: vec![],
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        })
    }

    pub fn add_product(&mut self, product: Value) {
        let a = self.control("POST", "/products", Some(product));
        assert!(
            a.status == 201 || a.status == 200,
            "add product: {:?}",
            a.body
        );
    }

    pub fn usage(&mut self, query: &str) -> Vec<Value> {
        let a = self.control("GET", &format!("/usage?{query}"), None);
        assert_eq!(a.status, 200, "{:?}", a.body);
        a.body["records"].as_array().cloned().unwrap_or_default()
    }

    pub fn set(&mut self, settings: Value) {
        let a = self.control("PATCH", "/settings", Some(settings));
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
}

/// A legacy SaaS product `saas` (dimensions users, gb) with customers c1 (account
/// 111122223333) and c2 (account 444455556666); a concurrent-agreements product `ca` with
/// two licenses of 111122223333 and one of 777788889999; an AMI product `ami` with
/// customer account 111122223333.
pub fn with_catalogue(mock: &mut Mock) {
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users", "gb"], "sellerAccountId": "999988887777",
        "customers": [
            {"customerIdentifier": "c1", "customerAWSAccountId": "111122223333"},
            {"customerIdentifier": "c2", "customerAWSAccountId": "444455556666"}
        ]
    }));
    mock.add_product(json!({
        "productCode": "ca", "dimensions": ["requests"], "integration": "concurrent-agreements",
        "customers": [
            {"customerAWSAccountId": "111122223333", "licenseArn": LICENSE_1},
            {"customerAWSAccountId": "111122223333", "licenseArn": LICENSE_2},
            {"customerAWSAccountId": "777788889999", "licenseArn": LICENSE_3}
        ]
    }));
    mock.add_product(json!({
        "productCode": "ami", "dimensions": ["hosts"],
        "customers": [{"customerAWSAccountId": "111122223333"}]
    }));
}

pub const LICENSE_1: &str =
    "arn:aws:license-manager::111122223333:license:l-0000000000000000000000000000001";
pub const LICENSE_2: &str =
    "arn:aws:license-manager::111122223333:license:l-0000000000000000000000000000002";
pub const LICENSE_3: &str =
    "arn:aws:license-manager::777788889999:license:l-0000000000000000000000000000003";

/// Asserts each input is a `ValidationException` whose message contains the expected text.
pub fn assert_validation_errors(mock: &mut Mock, operation: &str, cases: &[(Value, &str)]) {
    for (input, expected) in cases {
        let a = mock.call(operation, input.clone());
        assert_eq!(
            (a.status, a.error_name()),
            (400, "ValidationException"),
            "{input}"
        );
        assert!(a.message().contains(expected), "{input}: {}", a.message());
    }
}
