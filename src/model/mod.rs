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
}

impl ModelService {
    pub const ALL: [ModelService; 2] = [ModelService::Agreement, ModelService::Discovery];

    pub fn model(self) -> &'static ServiceModel {
        static AGREEMENT: OnceLock<ServiceModel> = OnceLock::new();
        static DISCOVERY: OnceLock<ServiceModel> = OnceLock::new();
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
        }
    }

    /// The Smithy namespace of the service's shapes: rpc-v2-cbor errors name their shape by
    /// its absolute id (`<namespace>#<Name>`), which botocore models do not carry.
    pub fn shape_namespace(self) -> &'static str {
        match self {
            ModelService::Agreement => "com.amazonaws.marketplaceagreement",
            ModelService::Discovery => "com.amazonaws.marketplacediscovery",
        }
    }

    /// The `ValidationExceptionReason` for input that no more specific reason covers.
    pub fn generic_reason(self) -> &'static str {
        match self {
            ModelService::Agreement => "OTHER",
            ModelService::Discovery => "MALFORMED_REQUEST_PARAMETERS",
        }
    }

    /// The awsJson target prefix and rpc-v2-cbor service segment (rest-json services have none).
    pub fn target_prefix(self) -> Option<&'static str> {
        match self {
            ModelService::Agreement => Some("AWSMPCommerceService_v20200301"),
            ModelService::Discovery => None,
        }
    }

    /// The path prefix of a rest-json service's operations: its API version.
    pub fn rest_prefix(self) -> Option<&'static str> {
        match self {
            ModelService::Agreement => None,
            ModelService::Discovery => Some("/2026-02-05/"),
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
            s.rest_prefix()
                .is_some_and(|prefix| path.starts_with(prefix))
        })
    }

    /// The operation of this rest-json service bound to `POST path`, if any.
    pub fn rest_operation(self, path: &str) -> Option<&'static OperationModel> {
        self.rest_prefix()?;
        self.model()
            .operations
            .values()
            .find(|op| op.http.method == "POST" && op.http.request_uri == path)
    }
}

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
}

/// A reference to a shape (an operation's input, a member's target).
#[derive(Debug, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
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
    fn services_are_found_by_prefix_and_path() {
        assert_eq!(
            ModelService::with_target_prefix("AWSMPCommerceService_v20200301"),
            Some(ModelService::Agreement)
        );
        assert_eq!(
            ModelService::with_target_prefix("AWSMPMeteringService"),
            None
        );
        let op = ModelService::Discovery
            .rest_operation("/2026-02-05/getOffer")
            .unwrap();
        assert_eq!(op.name, "GetOffer");
        assert!(ModelService::Agreement.rest_operation("/").is_none());
        // The constants that spare Metering calls from parsing a model are the models' own.
        for service in ModelService::ALL {
            let metadata = &service.model().metadata;
            assert_eq!(service.target_prefix(), metadata.target_prefix.as_deref());
            let rest = metadata.protocols == ["rest-json"];
            assert_eq!(service.rest_prefix().is_some(), rest);
            if let Some(prefix) = service.rest_prefix() {
                assert_eq!(prefix, format!("/{}/", metadata.api_version));
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
