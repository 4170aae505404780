//! Service models drive the wire of the services added since the Agreement Service: the
//! botocore models in `models/` (embedded by build.rs without their documentation) give each
//! operation's input and output shapes, every constraint of its input, the errors it may
//! answer with their HTTP statuses, and its HTTP binding. Adding an operation of these
//! services means writing its behaviour only (ops/agreement).
//!
//! Layer: model, below protocol (pure). A model is parsed on the first request that names its
//! service (found by the constants below, so Metering traffic never parses one). The Metering
//! and Entitlement services keep their hand-written checks, which reproduce AWS's exact
//! messages (tests hold them to their models).

pub mod error;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

/// A service the mock serves from its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelService {
    /// AWS Marketplace Agreement Service: rpc-v2-cbor and awsJson1_0.
    Agreement,
    /// AWS Marketplace Discovery: rest-json.
    Discovery,
    /// AWS Marketplace Deployment Service: rest-json, with path labels and query members.
    Deployment,
}

impl ModelService {
    pub const ALL: [ModelService; 3] = [
        ModelService::Agreement,
        ModelService::Discovery,
        ModelService::Deployment,
    ];

    pub fn model(self) -> &'static ServiceModel {
        static AGREEMENT: OnceLock<ServiceModel> = OnceLock::new();
        static DISCOVERY: OnceLock<ServiceModel> = OnceLock::new();
        static DEPLOYMENT: OnceLock<ServiceModel> = OnceLock::new();
        match self {
            ModelService::Agreement => AGREEMENT.get_or_init(|| {
                parse(include_str!(concat!(
                    env!("OUT_DIR"),
                    "/marketplace-agreement-2020-03-01.service-2.json"
                )))
            }),
            ModelService::Discovery => DISCOVERY.get_or_init(|| {
                parse(include_str!(concat!(
                    env!("OUT_DIR"),
                    "/marketplace-discovery-2026-02-05.service-2.json"
                )))
            }),
            ModelService::Deployment => DEPLOYMENT.get_or_init(|| {
                parse(include_str!(concat!(
                    env!("OUT_DIR"),
                    "/marketplace-deployment-2023-01-25.service-2.json"
                )))
            }),
        }
    }

    /// The Smithy namespace of the service's shapes: rpc-v2-cbor errors name their shape by
    /// its absolute id (`<namespace>#<Name>`), which botocore models do not carry.
    pub fn shape_namespace(self) -> &'static str {
        match self {
            ModelService::Agreement => "com.amazonaws.marketplaceagreement",
            ModelService::Discovery => "com.amazonaws.marketplacediscovery",
            ModelService::Deployment => "com.amazonaws.marketplacedeployment",
        }
    }

    /// The `ValidationExceptionReason` for input that no more specific reason covers (the
    /// Deployment Service's errors have no reason).
    pub fn generic_reason(self) -> &'static str {
        match self {
            ModelService::Agreement => "OTHER",
            ModelService::Discovery | ModelService::Deployment => "MALFORMED_REQUEST_PARAMETERS",
        }
    }

    /// The awsJson target prefix and rpc-v2-cbor service segment (rest-json services have none).
    pub fn target_prefix(self) -> Option<&'static str> {
        match self {
            ModelService::Agreement => Some("AWSMPCommerceService_v20200301"),
            ModelService::Discovery | ModelService::Deployment => None,
        }
    }

    /// The path prefixes of a rest-json service's operations (Discovery's is its API
    /// version); the model's paths begin with one of them, by test.
    pub fn rest_prefixes(self) -> &'static [&'static str] {
        match self {
            ModelService::Agreement => &[],
            ModelService::Discovery => &["/2026-02-05/"],
            ModelService::Deployment => &["/catalogs/", "/tags/"],
        }
    }

    /// The service whose awsJson target prefix (and rpc-v2-cbor service segment) is `prefix`.
    pub fn with_target_prefix(prefix: &str) -> Option<ModelService> {
        ModelService::ALL
            .into_iter()
            .find(|s| s.target_prefix() == Some(prefix))
    }

    /// The rest-json service whose paths hold `path`, if any.
    pub fn of_rest_path(path: &str) -> Option<ModelService> {
        ModelService::ALL.into_iter().find(|s| {
            s.rest_prefixes()
                .iter()
                .any(|prefix| path.starts_with(prefix))
        })
    }

    /// The operation of this rest-json service bound to `method path`, with its path labels
    /// (percent-decoded).
    pub fn rest_operation(
        self,
        method: &str,
        path: &str,
    ) -> Result<(&'static OperationModel, Labels), NoOperation> {
        if self.rest_prefixes().is_empty() {
            return Err(NoOperation::Unknown);
        }
        let mut missed = NoOperation::Unknown;
        for op in self.model().operations.values() {
            if let Some(labels) = op.http.labels(path) {
                if op.http.method == method {
                    return Ok((op, labels));
                }
                missed = NoOperation::OtherMethod;
            }
        }
        Err(missed)
    }
}

/// Why a rest-json request names no operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoOperation {
    Unknown,
    /// An operation has the path, with another method.
    OtherMethod,
}

/// A request path's labels: `(name, decoded value)`.
pub type Labels = Vec<(String, String)>;

/// What the request journal shows for a secret.
pub const MASK: &str = "*** sensitive (not kept) ***";

fn parse(text: &str) -> ServiceModel {
    // build.rs wrote this text from a model the tests read too; it cannot fail to parse
    // unless the build is broken, which `models_parse` catches first.
    serde_json::from_str(text).expect("embedded service model parses")
}

/// A botocore service model: what the mock reads of it.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    pub metadata: Metadata,
    pub operations: BTreeMap<String, OperationModel>,
    pub shapes: HashMap<String, Shape>,
    /// `has_secrets`, found on its first use.
    #[serde(skip)]
    secrets: OnceLock<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    #[serde(default)]
    pub target_prefix: Option<String>,
    #[serde(default)]
    pub protocols: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct OperationModel {
    pub name: String,
    pub http: HttpBinding,
    #[serde(default)]
    pub input: Option<ShapeRef>,
    #[serde(default)]
    pub output: Option<ShapeRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

impl OperationModel {
    /// Whether the model lists `error` (a shape name) for this operation.
    pub fn lists_error(&self, error: &str) -> bool {
        self.errors.iter().any(|e| e.shape == error)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBinding {
    pub method: String,
    pub request_uri: String,
    /// The status of a success (rest-json: 204 for an operation with no output).
    #[serde(default)]
    pub response_code: Option<u16>,
}

impl HttpBinding {
    /// The labels of `path` when it is this binding's `requestUri` (each `{label}` one
    /// non-empty segment, percent-decoded; the query string is not part of `path`).
    pub fn labels(&self, path: &str) -> Option<Labels> {
        let template = self.request_uri.split('?').next().unwrap_or_default();
        let pattern: Vec<&str> = template.split('/').collect();
        let segments: Vec<&str> = path.split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut labels = Vec::new();
        for (p, s) in pattern.iter().zip(&segments) {
            match p.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
                Some(_) if s.is_empty() => return None,
                Some(label) => {
                    let value = percent_decode(s)?;
                    labels.push((label.to_string(), value));
                }
                None if p != s => return None,
                None => {}
            }
        }
        Some(labels)
    }
}

/// `%XX` sequences decoded; `None` when they do not make UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || {
            let h = segment.get(i + 1..i + 3)?;
            // Two hex digits exactly (`from_str_radix` would take a sign).
            h.bytes().all(|b| b.is_ascii_hexdigit()).then_some(())?;
            u8::from_str_radix(h, 16).ok()
        };
        match (bytes[i], hex()) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A reference to a shape (an operation's input, a member's target), and where a rest-json
/// request carries the member (`uri`, `querystring`; absent: the body).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub location_name: Option<String>,
}

/// The kinds of shape the models use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Timestamp,
    Double,
    Float,
    Blob,
}

/// A shape and its constraints.
#[derive(Debug, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub union: bool,
    #[serde(default)]
    pub member: Option<ShapeRef>,
    #[serde(default)]
    pub key: Option<ShapeRef>,
    #[serde(default)]
    pub value: Option<ShapeRef>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default, rename = "enum")]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub exception: bool,
    #[serde(default)]
    pub error: Option<ErrorTrait>,
    /// A secret (`SecretString`): never kept in the request journal.
    #[serde(default)]
    pub sensitive: bool,
    /// `iso8601` for a timestamp sent and answered as text (else epoch seconds).
    #[serde(default, rename = "timestampFormat")]
    pub timestamp_format: Option<String>,
    /// The compiled `pattern`, made on its first use.
    #[serde(skip)]
    compiled: OnceLock<Option<regex_lite::Regex>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    #[serde(default)]
    pub http_status_code: Option<u16>,
}

impl ServiceModel {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    pub fn operation(&self, name: &str) -> Option<&OperationModel> {
        self.operations.get(name)
    }

    /// Whether any shape of the model is a secret.
    pub fn has_secrets(&self) -> bool {
        *self
            .secrets
            .get_or_init(|| self.shapes.values().any(|s| s.sensitive))
    }

    /// Whether a value of shape `name` may hold a secret (nesting beyond 16 is assumed to).
    fn holds_secret(&self, name: &str, depth: usize) -> bool {
        let Some(s) = self.shape(name) else {
            return false;
        };
        if s.sensitive || depth > 16 {
            return true;
        }
        s.members
            .values()
            .chain(&s.member)
            .chain(&s.key)
            .chain(&s.value)
            .any(|r| self.holds_secret(&r.shape, depth + 1))
    }

    /// An operation's input (of shape `shape`) masked as `mask_secrets` does; in a model
    /// with secrets, a member the input does not know is masked too, wherever it is sent (a
    /// secret sent to the wrong operation).
    pub fn mask_input(&self, shape: &str, value: &mut serde_json::Value) {
        if let (true, Some(s), serde_json::Value::Object(map)) =
            (self.has_secrets(), self.shape(shape), &mut *value)
        {
            for (name, member) in map.iter_mut() {
                if !s.members.contains_key(name) {
                    *member = serde_json::Value::from(MASK);
                }
            }
        }
        self.mask_secrets(shape, value);
    }

    /// `value` (of shape `shape`) with its `sensitive` members' values replaced by a mask. It
    /// fails closed: where a shape that may hold a secret gets a value of another form, or a
    /// member it does not know (a misspelt `SecretString`), that value is masked whole.
    pub fn mask_secrets(&self, shape: &str, value: &mut serde_json::Value) {
        use serde_json::Value;
        let Some(s) = self.shape(shape) else {
            return;
        };
        if !self.holds_secret(shape, 0) {
            return;
        }
        match (s.kind, value) {
            (_, value) if s.sensitive => *value = Value::from(MASK),
            (Kind::Structure, Value::Object(map)) => {
                for (name, member) in map.iter_mut() {
                    match s.members.get(name) {
                        Some(r) => self.mask_secrets(&r.shape, member),
                        None => *member = Value::from(MASK),
                    }
                }
            }
            (Kind::Map, Value::Object(map)) => {
                for member in map.values_mut() {
                    match &s.value {
                        Some(r) => self.mask_secrets(&r.shape, member),
                        None => *member = Value::from(MASK),
                    }
                }
            }
            (Kind::List, Value::Array(items)) => {
                for item in items {
                    match &s.member {
                        Some(r) => self.mask_secrets(&r.shape, item),
                        None => *item = Value::from(MASK),
                    }
                }
            }
            (_, value) => *value = Value::from(MASK),
        }
    }

    /// The HTTP status of the error shape `name`, when the model has that error.
    pub fn error_status(&self, name: &str) -> Option<u16> {
        let shape = self.shape(name).filter(|s| s.exception)?;
        Some(
            shape
                .error
                .as_ref()
                .and_then(|e| e.http_status_code)
                .unwrap_or(400),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_parse_and_every_reference_resolves() {
        for service in ModelService::ALL {
            let model = service.model();
            assert!(!model.operations.is_empty());
            for shape in model.shapes.values() {
                let refs = shape
                    .members
                    .values()
                    .chain(&shape.member)
                    .chain(&shape.key)
                    .chain(&shape.value);
                for r in refs {
                    assert!(model.shape(&r.shape).is_some(), "{}", r.shape);
                }
                if shape.pattern.is_some() {
                    assert!(validate::pattern(shape).is_some(), "{:?}", shape.pattern);
                }
            }
            for op in model.operations.values() {
                for e in &op.errors {
                    assert!(model.error_status(&e.shape).is_some(), "{}", e.shape);
                }
            }
        }
    }

    #[test]
    fn secrets_are_masked_in_every_form_they_are_sent() {
        use serde_json::json;
        let model = ModelService::Deployment.model();
        assert!(model.has_secrets());
        let shape = "PutDeploymentParameterRequest";
        let masked = |mut v: serde_json::Value| {
            model.mask_secrets(shape, &mut v);
            v
        };
        assert_eq!(
            masked(json!({"agreementId": "agmt-1", "SecretString": "s1",
                          "deploymentParameter": {"name": "n", "secretString": "s2", "extra": "s3"}})),
            json!({"agreementId": "agmt-1", "SecretString": MASK,
                   "deploymentParameter": {"name": "n", "secretString": MASK, "extra": MASK}})
        );
        // Another form than the shape's: the whole value.
        for other in [
            json!([{"secretString": "s"}]),
            json!("{\"secretString\": \"s\"}"),
        ] {
            assert_eq!(
                masked(json!({ "deploymentParameter": other })),
                json!({ "deploymentParameter": MASK })
            );
        }
        // A secret sent to another operation of the service is masked as an unknown member.
        let mut v = json!({"resourceArn": "arn", "deploymentParameter": {"secretString": "s"}});
        model.mask_input("ListTagsForResourceRequest", &mut v);
        assert_eq!(
            v,
            json!({"resourceArn": "arn", "deploymentParameter": MASK})
        );
        // A model without secrets keeps what it is sent.
        let discovery = ModelService::Discovery.model();
        assert!(!discovery.has_secrets());
        let mut v = json!({"offerId": "offer-1", "unknown": "kept"});
        discovery.mask_input("GetOfferInput", &mut v);
        assert_eq!(v, json!({"offerId": "offer-1", "unknown": "kept"}));
    }

    #[test]
    fn served_rest_bindings_are_those_the_door_reads() {
        // Labels of one segment, query members of strings, lists of strings and integers,
        // bodies on POST only: a model that needs more must fail here, not on the wire.
        for service in ModelService::ALL {
            let model = service.model();
            for op in model.operations.values() {
                assert!(
                    !op.http.request_uri.contains('+'),
                    "{}: greedy label",
                    op.name
                );
                let Some(input) = op.input.as_ref().and_then(|r| model.shape(&r.shape)) else {
                    continue;
                };
                for (name, member) in &input.members {
                    let kind = model.shape(&member.shape).map(|s| s.kind);
                    match member.location.as_deref() {
                        None => {
                            assert_eq!(op.http.method, "POST", "{}.{name}: a body member", op.name)
                        }
                        Some("uri") => assert_eq!(kind, Some(Kind::String), "{}.{name}", op.name),
                        Some("querystring") => {
                            let item = model
                                .shape(&member.shape)
                                .and_then(|s| s.member.as_ref())
                                .and_then(|m| model.shape(&m.shape))
                                .map(|s| s.kind);
                            assert!(
                                matches!(kind, Some(Kind::String | Kind::Integer | Kind::Long))
                                    || (kind == Some(Kind::List) && item == Some(Kind::String)),
                                "{}.{name}",
                                op.name
                            );
                        }
                        Some(other) => panic!("{}.{name}: location {other}", op.name),
                    }
                }
            }
        }
    }

    #[test]
    fn services_are_found_by_prefix_and_path() {
        assert_eq!(
            ModelService::with_target_prefix("AWSMPCommerceService_v20200301"),
            Some(ModelService::Agreement)
        );
        assert_eq!(
            ModelService::with_target_prefix("AWSMPMeteringService"),
            None
        );
        let (op, labels) = ModelService::Discovery
            .rest_operation("POST", "/2026-02-05/getOffer")
            .unwrap();
        assert_eq!((op.name.as_str(), labels.len()), ("GetOffer", 0));
        assert_eq!(
            ModelService::Discovery
                .rest_operation("GET", "/2026-02-05/getOffer")
                .err(),
            Some(NoOperation::OtherMethod)
        );
        assert!(ModelService::Agreement.rest_operation("POST", "/").is_err());
        let (op, labels) = ModelService::Deployment
            .rest_operation("DELETE", "/tags/arn%3Aaws%3Ax%2Fdp-1")
            .unwrap();
        assert_eq!(op.name, "UntagResource");
        assert_eq!(
            labels,
            [("resourceArn".to_string(), "arn:aws:x/dp-1".to_string())]
        );
        let (op, labels) = ModelService::Deployment
            .rest_operation(
                "GET",
                "/catalogs/AWSMarketplace/products/prod-1/delivery-options/data-as-a-service/deployment-configuration/jobs/abc",
            )
            .unwrap();
        assert_eq!(op.name, "GetDeploymentConfigurationJob");
        assert_eq!(labels[3], ("jobId".to_string(), "abc".to_string()));
        assert!(ModelService::Deployment
            .rest_operation("GET", "/tags/")
            .is_err());
        // Only two hex digits are an escape.
        let (_, labels) = ModelService::Deployment
            .rest_operation("GET", "/tags/a%+Fb%2")
            .unwrap();
        assert_eq!(labels[0].1, "a%+Fb%2");
        // The constants that spare Metering calls from parsing a model are the models' own.
        for service in ModelService::ALL {
            let model = service.model();
            let metadata = &model.metadata;
            assert_eq!(service.target_prefix(), metadata.target_prefix.as_deref());
            let rest = metadata.protocols == ["rest-json"];
            assert_eq!(!service.rest_prefixes().is_empty(), rest);
            for op in model.operations.values().filter(|_| rest) {
                let uri = &op.http.request_uri;
                assert!(
                    service.rest_prefixes().iter().any(|p| uri.starts_with(p)),
                    "{uri}"
                );
            }
        }
        assert_eq!(
            ModelService::of_rest_path("/2026-02-05/nothing"),
            Some(ModelService::Discovery)
        );
        assert_eq!(ModelService::of_rest_path("/2026-02-050"), None);
        assert_eq!(
            ModelService::Agreement
                .model()
                .error_status("ThrottlingException"),
            Some(429)
        );
    }
}
