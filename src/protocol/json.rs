//! Reading awsJson1_1 request bodies into typed values, and collecting constraint violations.
//!
//! Layer: protocol. A member of the wrong JSON type is a `SerializationException` (raised at
//! once); a member that breaks a length, pattern, range or list-size rule is collected in
//! `Violations` so the `ValidationException` lists them all in the AWS wording:
//! `1 validation error detected: Value 'x' at 'usageRecords.1.member.dimension' failed to
//! satisfy constraint: Member must …`. JSON `null` counts as absent, as in AWS front ends.

use serde_json::{Map, Number, Value};

use crate::domain::time::Instant;
use crate::error::{ErrorKind, ServiceError};

/// A timestamp member as received: the number the client sent (echoed back verbatim) and
/// the instant it denotes.
#[derive(Clone, Debug, PartialEq)]
pub struct WireTimestamp {
    pub raw: Number,
    pub at: Instant,
}

impl WireTimestamp {
    /// `None` for a number outside the years 0000-9999 (not a timestamp at all).
    pub fn from_number(raw: Number) -> Option<WireTimestamp> {
        let at = Instant::try_from_epoch_seconds(raw.as_f64()?)?;
        Some(WireTimestamp { raw, at })
    }
}

/// The wire path of a member: the model name with a lower-case first letter.
fn member_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase());
    let name: String = first.into_iter().chain(chars).collect();
    if parent.is_empty() {
        name
    } else {
        format!("{parent}.{name}")
    }
}

/// The path of the n-th element (0-based) of a list member, AWS style (1-based).
pub fn element_path(list_path: &str, index: usize) -> String {
    format!("{list_path}.{}.member", index + 1)
}

fn serialization(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::SerializationException, message)
}

/// Parses a request body; an empty body is `{}` (operations without input send nothing).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(serialization(
            "Start of structure or map found where not expected: the request body must be a JSON object".into(),
        )),
        Err(e) => Err(serialization(format!("Malformed JSON in request body: {e}"))),
    }
}

/// A JSON object being read as a structure of the model, with its wire path.
#[derive(Clone, Copy)]
pub struct Structure<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// A member that was present, with the path to report it under.
pub struct Member<T> {
    pub value: T,
    pub path: String,
}

impl<'a> Structure<'a> {
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Structure { map, path }
    }

    /// The object itself, for echoing it back.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    pub fn path_of(&self, member: &str) -> String {
        member_path(self.path, member)
    }

    fn get(&self, member: &str) -> Option<&'a Value> {
        self.map.get(member).filter(|v| !v.is_null())
    }

    fn wrong_type(&self, member: &str, expected: &str, got: &Value) -> ServiceError {
        let found = match got {
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
            Value::Null => "null",
        };
        serialization(format!(
            "Expected {expected} for '{}' but found {found}",
            self.path_of(member)
        ))
    }

    pub fn string(&self, member: &str) -> Result<Option<Member<&'a str>>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(Member {
                value: s.as_str(),
                path: self.path_of(member),
            })),
            Some(other) => Err(self.wrong_type(member, "a string", other)),
        }
    }

    /// An integer member; values beyond i64 are saturated so range checks still report them.
    pub fn integer(&self, member: &str) -> Result<Option<Member<i64>>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let value = if let Some(i) = n.as_i64() {
                    i
                } else if n.as_u64().is_some() {
                    i64::MAX
                } else {
                    return Err(serialization(format!(
                        "Expected an integer for '{}' but found {n}",
                        self.path_of(member)
                    )));
                };
                Ok(Some(Member {
                    value,
                    path: self.path_of(member),
                }))
            }
            Some(other) => Err(self.wrong_type(member, "an integer", other)),
        }
    }

    pub fn boolean(&self, member: &str) -> Result<Option<bool>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(member, "a boolean", other)),
        }
    }

    pub fn timestamp(&self, member: &str) -> Result<Option<WireTimestamp>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Number(n)) => match WireTimestamp::from_number(n.clone()) {
                Some(t) => Ok(Some(t)),
                None => Err(serialization(format!(
                    "'{}' ({n}) is not a timestamp: epoch seconds must lie in the years 0000 to 9999",
                    self.path_of(member)
                ))),
            },
            Some(other) => Err(self.wrong_type(member, "epoch seconds (a number)", other)),
        }
    }

    /// A map member (a JSON object whose keys are data, not member names).
    pub fn map_member(
        &self,
        member: &str,
    ) -> Result<Option<Member<&'a Map<String, Value>>>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Member {
                value: map,
                path: self.path_of(member),
            })),
            Some(other) => Err(self.wrong_type(member, "a map", other)),
        }
    }

    pub fn list(&self, member: &str) -> Result<Option<Member<&'a [Value]>>, ServiceError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(Member {
                value: items.as_slice(),
                path: self.path_of(member),
            })),
            Some(other) => Err(self.wrong_type(member, "a list", other)),
        }
    }
}

/// Reads an element of a list of structures.
pub fn structure_element<'a>(
    value: &'a Value,
    path: &'a str,
) -> Result<Structure<'a>, ServiceError> {
    match value {
        Value::Object(map) => Ok(Structure::new(map, path)),
        _ => Err(serialization(format!(
            "Expected a structure at '{path}' but found {value}"
        ))),
    }
}

/// Reads an element of a list of strings.
pub fn string_element<'a>(value: &'a Value, path: &str) -> Result<&'a str, ServiceError> {
    match value {
        Value::String(text) => Ok(text),
        _ => Err(serialization(format!(
            "Expected a string at '{path}' but found {value}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn empty_body_is_an_empty_structure_and_non_objects_are_serialization_errors() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert!(parse_body(b"  \n").unwrap().is_empty());
        for bad in [&b"[]"[..], b"42", b"{", b"{\"a\":}", b"\"x\""] {
            let e = parse_body(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::SerializationException);
        }
    }

    #[test]
    fn wrong_member_types_are_serialization_errors_naming_the_member() {
        let m = obj(
            json!({"ProductCode": 5, "UsageQuantity": 1.5, "DryRun": "yes", "Timestamp": "now"}),
        );
        let s = Structure::new(&m, "");
        let e = s.string("ProductCode").err().unwrap();
        assert_eq!(e.kind, ErrorKind::SerializationException);
        assert!(e.message.contains("'productCode'"), "{}", e.message);
        assert!(s.integer("UsageQuantity").is_err());
        assert!(s.boolean("DryRun").is_err());
        assert!(s.timestamp("Timestamp").is_err());
    }

    #[test]
    fn null_members_are_absent_and_huge_integers_saturate() {
        let m = obj(serde_json::from_str(
            r#"{"ProductCode": null, "UsageQuantity": 99999999999999999999}"#,
        )
        .unwrap());
        let s = Structure::new(&m, "");
        assert!(s.string("ProductCode").unwrap().is_none());
        // 1e20 does not fit u64 and parses as a float: a type error, like a fraction.
        assert!(s.integer("UsageQuantity").is_err());
        let m = obj(json!({"UsageQuantity": 18446744073709551615u64}));
        let q = Structure::new(&m, "")
            .integer("UsageQuantity")
            .unwrap()
            .unwrap();
        assert_eq!(q.value, i64::MAX);
    }

    #[test]
    fn map_members_and_string_elements_check_their_json_types() {
        let m = obj(json!({"Filter": {"DIMENSION": ["a", 1]}, "List": []}));
        let s = Structure::new(&m, "");
        let filter = s.map_member("Filter").unwrap().unwrap();
        assert_eq!(filter.path, "filter");
        let values = filter.value["DIMENSION"].as_array().unwrap();
        assert_eq!(string_element(&values[0], "p").unwrap(), "a");
        let e = string_element(&values[1], "filter.DIMENSION.2.member").unwrap_err();
        assert_eq!(e.kind, ErrorKind::SerializationException);
        assert!(e.message.contains("filter.DIMENSION.2.member"));
        assert!(s.map_member("List").is_err());
        assert!(s.map_member("Missing").unwrap().is_none());
    }

    #[test]
    fn paths_are_lower_camel_with_one_based_list_elements() {
        assert_eq!(
            member_path("", "CustomerAWSAccountId"),
            "customerAWSAccountId"
        );
        assert_eq!(
            member_path(&element_path("usageRecords", 0), "Dimension"),
            "usageRecords.1.member.dimension"
        );
    }

    #[test]
    fn timestamps_keep_the_number_as_sent() {
        let m = obj(json!({"T": 1767270615.5, "U": 1767270615}));
        let s = Structure::new(&m, "");
        let t = s.timestamp("T").unwrap().unwrap();
        assert_eq!(t.at.millis(), 1_767_270_615_500);
        assert_eq!(t.raw.to_string(), "1767270615.5");
        assert_eq!(
            s.timestamp("U").unwrap().unwrap().raw.to_string(),
            "1767270615"
        );
    }
}
