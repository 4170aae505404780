//! The errors of the services served from models: a modeled error shape's name, its message
//! and its other members (`reason`, `fields`, `resourceId`, …), answered with the HTTP status
//! the model gives the shape. Protocol errors raised before an operation is known (SigV4,
//! routing, serialization) keep their names and statuses from `crate::error`.

use serde_json::{json, Map, Value};

use super::validate::{Invalid, Violation};
use super::{ModelService, ServiceModel};
use crate::error::{ErrorKind, ServiceError};

/// An error of a model-served service.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelError {
    /// The error shape's name (`ValidationException`), or a protocol error's.
    pub name: String,
    pub message: String,
    /// The shape's members besides `message` (never `requestId`, which the encoder adds).
    pub members: Map<String, Value>,
    pub status: u16,
}

impl ModelError {
    /// A modeled error of `service`: its status is the model's for the shape.
    pub fn modeled(service: ModelService, name: &str, message: impl Into<String>) -> ModelError {
        let status = service.model().error_status(name).unwrap_or(400);
        ModelError {
            name: name.to_string(),
            message: message.into(),
            members: Map::new(),
            status,
        }
    }

    pub fn with(mut self, member: &str, value: impl Into<Value>) -> ModelError {
        self.members.insert(member.to_string(), value.into());
        self
    }

    /// `ValidationException` with the reason the model's enum names (where the service has
    /// one) and the fields at fault (the Deployment Service's shape names the first in
    /// `fieldName`).
    pub fn validation(
        service: ModelService,
        reason: &str,
        message: impl Into<String>,
        fields: &[(&str, &str)],
    ) -> ModelError {
        let error = ModelError::modeled(service, "ValidationException", message);
        let model = service.model();
        let error = if model.shape("ValidationExceptionReason").is_some() {
            error.with("reason", reason)
        } else {
            error
        };
        let error = if has_member(model, "ValidationException", "fieldName") {
            let first = fields.first().map_or("", |(name, _)| name);
            error.with("fieldName", first)
        } else {
            error
        };
        if !fields.is_empty() && has_member(model, "ValidationException", "fields") {
            let fields: Vec<Value> = fields
                .iter()
                .map(|(name, message)| json!({"name": name, "message": message}))
                .collect();
            error.with("fields", fields)
        } else {
            error
        }
    }

    /// The answer to input its model refuses.
    pub fn invalid(service: ModelService, invalid: Invalid) -> ModelError {
        match invalid {
            Invalid::Type(message) => ModelError::protocol(&ServiceError::new(
                ErrorKind::SerializationException,
                message,
            )),
            Invalid::Rules(violations) => {
                let reason = violations.first().map_or_else(
                    || service.generic_reason().to_string(),
                    |v| reason_of(service, v),
                );
                let fields: Vec<(&str, &str)> = violations
                    .iter()
                    .map(|v| (v.path.as_str(), v.message.as_str()))
                    .collect();
                ModelError::validation(service, &reason, Invalid::summary(&violations), &fields)
            }
        }
    }

    /// `ResourceNotFoundException` naming the resource (members the Agreement Service's shape
    /// has; Discovery's has only the message).
    pub fn not_found(
        service: ModelService,
        resource_type: &str,
        resource_id: &str,
        message: impl Into<String>,
    ) -> ModelError {
        let error = ModelError::modeled(service, "ResourceNotFoundException", message);
        if has_member(service.model(), "ResourceNotFoundException", "resourceId") {
            error
                .with("resourceId", resource_id)
                .with("resourceType", resource_type)
        } else {
            error
        }
    }

    /// An error raised outside the model (authentication, routing, storage): its name and
    /// status, except that a storage failure is the model's `InternalServerException`.
    pub fn of_service(service: ModelService, e: &ServiceError) -> ModelError {
        match e.kind {
            ErrorKind::InternalServiceErrorException => {
                ModelError::modeled(service, "InternalServerException", e.message.clone())
            }
            ErrorKind::ThrottlingException => {
                ModelError::modeled(service, "ThrottlingException", e.message.clone())
            }
            _ => ModelError::protocol(e),
        }
    }

    fn protocol(e: &ServiceError) -> ModelError {
        ModelError {
            name: e.kind.name().to_string(),
            message: e.message.clone(),
            members: Map::new(),
            status: e.status(),
        }
    }
}

fn has_member(model: &ServiceModel, shape: &str, member: &str) -> bool {
    model
        .shape(shape)
        .is_some_and(|s| s.members.contains_key(member))
}

/// The `ValidationExceptionReason` for a violation: `MISSING_`/`INVALID_` and the member's name
/// in upper snake case, tried with its parent's (singular) name first (`filters.1.member.name` is
/// `INVALID_FILTER_NAME`), then alone, then by its tail, else the service's generic reason.
fn reason_of(service: ModelService, violation: &Violation) -> String {
    let generic = service.generic_reason().to_string();
    let model = service.model();
    let Some(values) = model
        .shape("ValidationExceptionReason")
        .and_then(|s| s.values.as_ref())
    else {
        return generic;
    };
    let prefix = if violation.missing {
        "MISSING_"
    } else {
        "INVALID_"
    };
    let members = &violation.members;
    let mut candidates = Vec::new();
    if let [.., parent, member] = members.as_slice() {
        candidates.push(format!(
            "{prefix}{}_{}",
            upper_snake(&singular(parent)),
            upper_snake(member)
        ));
    }
    if let Some(member) = members.last() {
        for name in [member.clone(), singular(member)] {
            candidates.push(format!("{prefix}{}", upper_snake(&name)));
            if violation.missing {
                candidates.push(format!("INVALID_{}", upper_snake(&name)));
            }
        }
    }
    if let Some(member) = members.last() {
        // `cancellationReason` → `MISSING_REASON`: the value naming the longest tail of it.
        let member = upper_snake(member);
        let tail = values
            .iter()
            .filter_map(|v| v.strip_prefix(prefix))
            .filter(|tail| member.ends_with(&format!("_{tail}")))
            .max_by_key(|tail| tail.len());
        candidates.extend(tail.map(|tail| format!("{prefix}{tail}")));
    }
    candidates
        .into_iter()
        .find(|c| values.contains(c))
        .unwrap_or(generic)
}

/// A list member's name for one of its items (`entries` → `entry`, `filters` → `filter`).
fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        name.strip_suffix('s').unwrap_or(name).to_string()
    }
}

fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate;

    fn refused(op: &str, input: Value) -> ModelError {
        let model = ModelService::Agreement.model();
        let shape = &model.operation(op).unwrap().input.as_ref().unwrap().shape;
        let invalid = validate::input(model, shape, input.as_object().unwrap()).unwrap_err();
        ModelError::invalid(ModelService::Agreement, invalid)
    }

    #[test]
    fn reasons_name_the_member_at_fault() {
        let e = refused("DescribeAgreement", json!({}));
        assert_eq!((e.name.as_str(), e.status), ("ValidationException", 400));
        assert_eq!(e.members["reason"], "MISSING_AGREEMENT_ID");
        assert_eq!(e.members["fields"][0]["name"], "agreementId");
        let e = refused(
            "SearchAgreements",
            json!({"filters": [{"name": "no such", "values": ["x"]}]}),
        );
        assert_eq!(e.members["reason"], "INVALID_FILTER_NAME");
        let e = refused("SearchAgreements", json!({"maxResults": 99}));
        assert_eq!(e.members["reason"], "INVALID_MAX_RESULTS");
        let e = refused("SearchAgreements", json!({"sort": {"sortOrder": "UP"}}));
        assert_eq!(e.members["reason"], "INVALID_SORT_ORDER");
    }

    #[test]
    fn wrong_types_and_outside_errors_keep_their_protocol_names() {
        let e = refused("DescribeAgreement", json!({"agreementId": []}));
        assert_eq!(e.name, "SerializationException");
        let storage =
            ModelError::of_service(ModelService::Agreement, &ServiceError::internal("disk"));
        assert_eq!(
            (storage.name.as_str(), storage.status),
            ("InternalServerException", 500)
        );
        let throttled = ModelError::of_service(
            ModelService::Agreement,
            &ServiceError::new(ErrorKind::ThrottlingException, "Rate exceeded"),
        );
        assert_eq!(throttled.status, 429);
    }
}
