//! A namespace driven natively, request by request, exactly as the Durable Object drives it:
//! the in-memory store, sequential ids and a host clock the test sets.

#![allow(dead_code)]

pub mod agreements;

use metering_mock::domain::ids::SequentialIds;
use metering_mock::domain::time::Instant;
use metering_mock::namespace::Namespace;
use metering_mock::policy::deployment::Deployment;
use metering_mock::policy::rate::TokenBucket;
use metering_mock::policy::secrets::Provision;
use metering_mock::protocol::http::{HttpRequest, HttpResponse};
use metering_mock::store::memory::MemoryStore;
use serde_json::{json, Value};

pub struct Mock {
    pub name: String,
    pub store: MemoryStore,
    pub ids: SequentialIds,
    pub host_now: Instant,
    /// Open by default; tests of locked deployments set it and `provision`.
    pub deployment: Deployment,
    pub provision: Option<Provision>,
    /// Sent as `Authorization: Bearer …` on control calls.
    pub bearer: Option<String>,
    pub rate: Option<TokenBucket>,
}

/// The wire protocol of an Entitlement Service call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// awsJson1_1, as boto3, the AWS CLI and the JS SDK send it.
    Json,
    /// Smithy RPC v2 CBOR, as the Rust and Go SDKs send it.
    Cbor,
}

pub const WIRES: [Wire; 2] = [Wire::Json, Wire::Cbor];

pub const RPC_V2_CBOR_PATH: &str = "/service/AWSMPEntitlementService/operation/GetEntitlements";

/// An answer: status, the AWS error name (if any) and the JSON body (a CBOR body is shown as
/// the JSON the awsJson door would have sent: timestamps as their epoch seconds).
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

/// A CBOR item as JSON; a timestamp (tag 1) becomes its epoch seconds as the awsJson door
/// writes them (whole seconds as an integer), so answers of both wires compare equal.
pub fn cbor_as_json(value: ciborium::Value) -> Value {
    use ciborium::Value as Cbor;
    match value {
        Cbor::Integer(i) => json!(i128::from(i) as i64),
        Cbor::Float(f) => json!(f),
        Cbor::Text(t) => json!(t),
        Cbor::Bool(b) => json!(b),
        Cbor::Array(items) => Value::Array(items.into_iter().map(cbor_as_json).collect()),
        Cbor::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.as_text().unwrap_or("<non-text key>").to_string(),
                        cbor_as_json(v),
                    )
                })
                .collect(),
        ),
        Cbor::Tag(1, inner) => match *inner {
            Cbor::Float(f) if f.fract() == 0.0 => json!(f as i64),
            other => cbor_as_json(other),
        },
        other => json!(format!("<unexpected CBOR {other:?}>")),
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
            ids: SequentialIds::default(),
            host_now: at(NOW),
            deployment: Deployment::default(),
            provision: None,
            bearer: None,
            rate: None,
        }
    }

    /// Whether the namespace counted the request as carrying its credential.
    pub fn credited(&mut self, req: HttpRequest) -> bool {
        self.namespace().serve(&req).credited
    }

    fn namespace(&mut self) -> Namespace<'_, MemoryStore> {
        Namespace {
            name: &self.name,
            store: &mut self.store,
            host_now: self.host_now,
            ids: &mut self.ids,
            deployment: &self.deployment,
            provision: self.provision.as_ref(),
            rate: self.rate.as_mut(),
        }
    }

    pub fn send(&mut self, req: HttpRequest) -> Answer {
        let response = self.namespace().handle(&req);
        if response.header("content-type") == Some("application/cbor") {
            let body = ciborium::from_reader::<ciborium::Value, _>(response.body.as_slice())
                .map(cbor_as_json)
                .unwrap_or(Value::Null);
            // rpc-v2-cbor names errors only in the body, as an absolute shape id.
            let error = body["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
            return Answer {
                status: response.status,
                error,
                body,
                response,
            };
        }
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Answer {
            status: response.status,
            error: response.header("x-amzn-ErrorType").map(str::to_string),
            body,
            response,
        }
    }

    /// The SigV4-shaped headers the front doors read (signatures are not verified).
    fn auth_headers(key: &str, region: &str) -> Vec<(String, String)> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20260310/{region}/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
        );
        vec![
            ("Authorization".into(), auth),
            ("X-Amz-Date".into(), "20260310T123000Z".into()),
        ]
    }

    /// A GetEntitlements call over `wire` as the given access key id, from us-east-1.
    pub fn get_entitlements_as(&mut self, wire: Wire, key: &str, input: Value) -> Answer {
        match wire {
            Wire::Json => {
                let mut headers = Mock::auth_headers(key, "us-east-1");
                headers.push((
                    "X-Amz-Target".into(),
                    "AWSMPEntitlementService.GetEntitlements".into(),
                ));
                headers.push(("Content-Type".into(), "application/x-amz-json-1.1".into()));
                self.send(HttpRequest {
                    method: "POST".into(),
                    path: "/".into(),
                    headers,
                    body: input.to_string().into_bytes(),
                    ..Default::default()
                })
            }
            Wire::Cbor => {
                let mut body = Vec::new();
                ciborium::into_writer(&input, &mut body).expect("CBOR of a JSON value");
                self.send_cbor(key, body)
            }
        }
    }

    /// A GetEntitlements call over `wire` as the wildcard caller.
    pub fn get_entitlements(&mut self, wire: Wire, input: Value) -> Answer {
        self.get_entitlements_as(wire, "test", input)
    }

    /// Raw CBOR bytes POSTed as the Rust SDK posts them.
    pub fn send_cbor(&mut self, key: &str, body: Vec<u8>) -> Answer {
        let mut headers = Mock::auth_headers(key, "us-east-1");
        for (name, value) in [
            ("content-type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("accept", "application/cbor"),
        ] {
            headers.push((name.into(), value.into()));
        }
        self.send(HttpRequest {
            method: "POST".into(),
            path: RPC_V2_CBOR_PATH.into(),
            headers,
            body,
            ..Default::default()
        })
    }

    /// An AWS call as the given access key id from the given Region.
    pub fn call_as(&mut self, key: &str, region: &str, operation: &str, input: Value) -> Answer {
        self.call_with(key, region, operation, input, &[])
    }

    /// An AWS call with extra headers.
    pub fn call_with(
        &mut self,
        key: &str,
        region: &str,
        operation: &str,
        input: Value,
        extra: &[(&str, &str)],
    ) -> Answer {
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
            ]
            .into_iter()
            .chain(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())))
            .collect(),
            body: input.to_string().into_bytes(),
        })
    }

    /// A call of an Agreement Service operation as `key`, over awsJson1_0 (`cbor: false`) or
    /// rpc-v2-cbor, as the SDKs send them.
    pub fn agreement_as(&mut self, key: &str, cbor: bool, operation: &str, input: Value) -> Answer {
        let mut headers = Mock::auth_headers(key, "us-east-1");
        let (path, body) = if cbor {
            for (name, value) in [
                ("content-type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("accept", "application/cbor"),
            ] {
                headers.push((name.into(), value.into()));
            }
            let mut body = Vec::new();
            ciborium::into_writer(&input, &mut body).expect("CBOR of a JSON value");
            (
                format!("/service/AWSMPCommerceService_v20200301/operation/{operation}"),
                body,
            )
        } else {
            headers.push((
                "X-Amz-Target".into(),
                format!("AWSMPCommerceService_v20200301.{operation}"),
            ));
            headers.push(("Content-Type".into(), "application/x-amz-json-1.0".into()));
            ("/".to_string(), input.to_string().into_bytes())
        };
        self.send(HttpRequest {
            method: "POST".into(),
            path,
            headers,
            body,
            ..Default::default()
        })
    }

    /// Raw CBOR bytes POSTed to an Agreement Service operation.
    pub fn agreement_cbor_bytes(&mut self, key: &str, operation: &str, body: Vec<u8>) -> Answer {
        let mut headers = Mock::auth_headers(key, "us-east-1");
        for (name, value) in [
            ("content-type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
        ] {
            headers.push((name.into(), value.into()));
        }
        self.send(HttpRequest {
            method: "POST".into(),
            path: format!("/service/AWSMPCommerceService_v20200301/operation/{operation}"),
            headers,
            body,
            ..Default::default()
        })
    }

    /// A Discovery (rest-json) call of the operation bound to `POST path`, as `key`.
    pub fn discovery_as(&mut self, key: &str, path: &str, input: Value) -> Answer {
        let mut headers = Mock::auth_headers(key, "us-east-1");
        headers.push(("Content-Type".into(), "application/json".into()));
        self.send(HttpRequest {
            method: "POST".into(),
            path: path.into(),
            headers,
            body: input.to_string().into_bytes(),
            ..Default::default()
        })
    }

    /// A rest-json request (`method path?query` with a JSON body, if any) as access key `key`.
    pub fn rest_as(
        &mut self,
        key: &str,
        method: &str,
        path: &str,
        query: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut headers = Mock::auth_headers(key, "us-east-1");
        headers.push(("Content-Type".into(), "application/json".into()));
        self.send(HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            ..Default::default()
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
            headers: self
                .bearer
                .iter()
                .map(|t| ("Authorization".to_string(), format!("Bearer {t}")))
                .collect(),
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        })
    }

    /// A control call answered with text (a PEM file): status and body.
    /// Mints a registration token through the control API (`POST /registration-tokens`).
    pub fn mint_token(&mut self, request: Value) -> String {
        let a = self.control("POST", "/registration-tokens", Some(request));
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.body["registrationToken"].as_str().unwrap().to_string()
    }

    pub fn control_text(&mut self, method: &str, path: &str) -> (u16, String) {
        let a = self.control(method, path, None);
        (
            a.status,
            String::from_utf8(a.response.body.clone()).unwrap_or_default(),
        )
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
/// An open deployment of the mock's own tests (`TEST_STORAGE_FAULTS=1`): it serves the store
/// contract and injected storage faults.
pub fn test_deployment() -> Deployment {
    Deployment::from_vars(|name| (name == "TEST_STORAGE_FAULTS").then(|| "1".to_string()))
        .expect("a valid test deployment")
}

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

/// Contract products with entitlements: `contract` (legacy, seller 999988887777) with
/// customers in every subscription state, and `ca-contract` (concurrent agreements) with
/// the three licenses of `with_catalogue`.
pub fn with_entitlements(mock: &mut Mock) {
    let users = |n: i64| json!({"dimension": "users", "value": {"integerValue": n}});
    mock.add_product(json!({
        "productCode": "contract", "dimensions": ["users", "gb", "tier", "sso"],
        "sellerAccountId": "999988887777",
        "customers": [
            {"customerIdentifier": "c1", "customerAWSAccountId": "111122223333", "entitlements": [
                {"dimension": "users", "value": {"integerValue": 10}, "expirationDate": "2027-01-01T00:00:00Z"},
                {"dimension": "gb", "value": {"doubleValue": 2.5}},
                {"dimension": "tier", "value": {"stringValue": "gold"}},
                {"dimension": "sso", "value": {"booleanValue": true}}
            ]},
            {"customerIdentifier": "c2", "customerAWSAccountId": "444455556666", "entitlements": [
                {"dimension": "users", "value": {"integerValue": 3}, "expirationDate": "2027-06-30T12:00:00.500Z"}
            ]},
            {"customerIdentifier": "c3", "customerAWSAccountId": "555566667777", "subscription": "pending", "entitlements": [users(1)]},
            {"customerIdentifier": "c4", "customerAWSAccountId": "666677778888", "subscription": "unsubscribe-pending", "entitlements": [users(7)]},
            {"customerIdentifier": "c5", "customerAWSAccountId": "777788889999", "subscription": "unsubscribed", "entitlements": [users(9)]},
            {"customerIdentifier": "c6", "customerAWSAccountId": "888899990000", "subscription": "subscribe-failed", "entitlements": [users(1)]},
            {"customerIdentifier": "c7", "entitlements": [{"dimension": "gb", "value": {"doubleValue": 1.0}}]}
        ]
    }));
    let requests = |n: i64| json!([{"dimension": "requests", "value": {"integerValue": n}}]);
    mock.add_product(json!({
        "productCode": "ca-contract", "dimensions": ["requests"], "integration": "concurrent-agreements",
        "customers": [
            {"customerAWSAccountId": "111122223333", "licenseArn": LICENSE_1, "entitlements": requests(100)},
            {"customerAWSAccountId": "111122223333", "licenseArn": LICENSE_2, "entitlements": requests(200)},
            {"customerAWSAccountId": "777788889999", "licenseArn": LICENSE_3, "entitlements": requests(300)}
        ]
    }));
}

/// A MeterUsage request of product `ami` signed by `key`/`secret` for `full_path`.
pub fn signed_meter_usage(key: &str, secret: &str, full_path: &str) -> HttpRequest {
    let body = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1});
    let mut req = HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        full_path: full_path.into(),
        query: String::new(),
        headers: vec![
            ("Host".into(), "127.0.0.1:8787".into()),
            ("X-Amz-Date".into(), "20260310T123000Z".into()),
            ("X-Amz-Target".into(), "AWSMPMeteringService.MeterUsage".into()),
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ("Authorization".into(), format!("AWS4-HMAC-SHA256 Credential={key}/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00")),
        ],
        body: body.to_string().into_bytes(),
    };
    let signed = metering_mock::protocol::sigv4::read(&req).unwrap();
    let signature = metering_mock::protocol::sigv4::signature(&req, full_path, &signed, secret);
    let auth = req.headers.last_mut().unwrap();
    auth.1 = auth
        .1
        .replace("Signature=00", &format!("Signature={signature}"));
    req
}
