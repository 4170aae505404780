//! What the Agreement Service tests share: the parties' accounts, calls held to their
//! model's output shape, the namespace clock and the event log.

use super::{Answer, Mock};
use metering_mock::model::{validate, Kind, ModelService, ServiceModel};
use serde_json::{json, Value};

pub const SELLER: &str = "999988887777";
pub const BUYER: &str = "111122223333";
pub const STRANGER: &str = "444455556666";

/// An Agreement Service call over awsJson1_0 (`cbor: false`) or rpc-v2-cbor, its 200 answer
/// checked against the operation's output shape.
pub fn agreement(mock: &mut Mock, key: &str, cbor: bool, op: &str, input: Value) -> Answer {
    let answer = mock.agreement_as(key, cbor, op, input);
    conforms(ModelService::Agreement, op, &answer);
    answer
}

pub fn discovery(mock: &mut Mock, key: &str, op: &str, input: Value) -> Answer {
    let model = ModelService::Discovery.model();
    let path = model.operation(op).unwrap().http.request_uri.clone();
    let answer = mock.discovery_as(key, &path, input);
    conforms(ModelService::Discovery, op, &answer);
    answer
}

/// A Deployment Service call as an SDK makes it from `input`: its `uri` members
/// percent-encoded into the path, its `querystring` members in the query, the rest in the
/// body (none for a GET or DELETE); the answer held to the model.
pub fn deployment(mock: &mut Mock, key: &str, op: &str, input: Value) -> Answer {
    let model = ModelService::Deployment.model();
    let operation = model.operation(op).unwrap();
    let shape = model
        .shape(&operation.input.as_ref().unwrap().shape)
        .unwrap();
    let mut path = operation.http.request_uri.clone();
    let mut query = Vec::new();
    let mut body = serde_json::Map::new();
    for (name, value) in input.as_object().unwrap() {
        let member = shape.members.get(name);
        let wire_name = member
            .and_then(|m| m.location_name.clone())
            .unwrap_or(name.clone());
        let text = |v: &Value| v.as_str().map_or(v.to_string(), str::to_string);
        match member.and_then(|m| m.location.as_deref()) {
            Some("uri") => {
                path = path.replace(&format!("{{{wire_name}}}"), &percent_encode(&text(value)))
            }
            Some("querystring") => match value {
                Value::Array(items) => {
                    for item in items {
                        query.push(format!("{wire_name}={}", percent_encode(&text(item))));
                    }
                }
                v => query.push(format!("{wire_name}={}", percent_encode(&text(v)))),
            },
            _ => {
                body.insert(name.clone(), value.clone());
            }
        }
    }
    let method = operation.http.method.clone();
    let body = (method == "POST").then_some(Value::Object(body));
    let answer = mock.rest_as(key, &method, &path, &query.join("&"), body);
    conforms(ModelService::Deployment, op, &answer);
    answer
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn conforms(service: ModelService, op: &str, answer: &Answer) {
    let model = service.model();
    if answer.status == 204 {
        let code = model.operation(op).unwrap().http.response_code;
        assert_eq!(code, Some(204), "{op} answered 204");
        assert!(answer.response.body.is_empty());
        return;
    }
    if answer.status != 200 {
        // An error is one the operation's model lists, with the members of its shape, and a
        // ValidationException's reason one of the model's.
        let name = answer.error_name();
        assert!(
            model.operation(op).unwrap().lists_error(name),
            "{op} answered {name}, which its model does not list: {}",
            answer.body
        );
        let mut unknown = Vec::new();
        let body: serde_json::Map<String, Value> = answer
            .body
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !["__type", "code", "Code"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        members_unknown(model, name, &Value::Object(body), op, &mut unknown);
        assert!(
            unknown.is_empty(),
            "{op}: {name} answers members its shape lacks: {unknown:?}"
        );
        let reasons = model
            .shape("ValidationExceptionReason")
            .and_then(|s| s.values.as_ref());
        if let (Some(reason), Some(values), "ValidationException") =
            (answer.body.get("reason"), reasons, name)
        {
            assert!(
                values.iter().any(|v| v == reason),
                "{op}: reason {reason} is not the model's"
            );
        }
        return;
    }
    let shape = &model.operation(op).unwrap().output.as_ref().unwrap().shape;
    let checked = validate::input(model, shape, answer.body.as_object().unwrap());
    assert_eq!(checked, Ok(()), "{op}: {}", answer.body);
    let mut unknown = Vec::new();
    members_unknown(model, shape, &answer.body, op, &mut unknown);
    assert!(
        unknown.is_empty(),
        "{op} answers members its model lacks: {unknown:?}"
    );
}

/// Every member of `value` that its shape does not list (the validator ignores them).
pub fn members_unknown(
    model: &ServiceModel,
    shape: &str,
    value: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    let Some(shape) = model.shape(shape) else {
        return;
    };
    match value {
        Value::Object(map) if shape.kind == Kind::Structure => {
            for (name, v) in map {
                match shape.members.get(name) {
                    Some(member) => {
                        members_unknown(model, &member.shape, v, &format!("{path}.{name}"), out)
                    }
                    None => out.push(format!("{path}.{name}")),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Some(member) = &shape.member {
                    members_unknown(model, &member.shape, item, &format!("{path}[]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Each of `offer_terms` (Discovery's `OfferTerm` unions) requested by its id, the contract
/// term with `configuration` when given.
pub fn requested_terms(offer_terms: &Value, configuration: Option<&Value>) -> Vec<Value> {
    offer_terms
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let (kind, body) = t.as_object().unwrap().iter().next().unwrap();
            match (kind.as_str(), configuration) {
                ("configurableUpfrontPricingTerm", Some(c)) => {
                    json!({"id": body["id"], "configuration": c})
                }
                _ => json!({"id": body["id"]}),
            }
        })
        .collect()
}

/// `BUYER`'s agreement on offer `offer_id`: every term requested by id (the contract term
/// with `contract`, when given), quoted and accepted; answers the agreement id.
pub fn buy_offer(mock: &mut Mock, offer_id: &str, contract: Option<&Value>) -> String {
    let offer = discovery(mock, BUYER, "GetOffer", json!({ "offerId": offer_id }));
    let terms = discovery(mock, BUYER, "GetOfferTerms", json!({ "offerId": offer_id }));
    let quote = agreement(
        mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        json!({"intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"],
               "requestedTerms": requested_terms(&terms.body["offerTerms"], contract)}),
    );
    accept(mock, &quote)
}

/// A contract term's configuration: `value` units of `key` for `selector` (`P12M`).
pub fn contract_of(selector: &str, key: &str, value: i64) -> Value {
    json!({"configurableUpfrontPricingTermConfiguration": {"selectorValue": selector,
        "dimensions": [{"dimensionKey": key, "dimensionValue": value}]}})
}

/// How many moments the namespace's event log holds.
pub fn event_count(mock: &mut Mock) -> u64 {
    mock.control("GET", "/events", None).body["events"]
        .as_array()
        .unwrap()
        .len() as u64
}

/// Freezes the namespace clock at `at`.
pub fn set_clock(mock: &mut Mock, at: &str) {
    let answer = mock.control("PUT", "/clock", Some(json!({ "frozenAt": at })));
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// The buyer (`BUYER`) accepts `quote`, which must be a 200; answers the agreement id.
pub fn accept(mock: &mut Mock, quote: &Answer) -> String {
    assert_eq!(quote.status, 200, "{}", quote.body);
    let accepted = agreement(
        mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": quote.body["agreementRequestId"]}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    accepted.body["agreementId"].as_str().unwrap().to_string()
}
