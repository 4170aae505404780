//! An operation's input checked against its model: the JSON type of every member, then
//! `required`, unions (exactly one member set), `length` of strings, lists and maps, `range`
//! of numbers, `enum` and `pattern` of strings. A wrong JSON type is a serialization error
//! (the input could not be read); every other broken rule is a `Violation`, worded as AWS's
//! validation messages are.
//!
//! Patterns must match the whole value, as AWS's Java front ends apply them (`Pattern.matches`)
//! and as the Metering checks already do: the models' id patterns (`(at-|ap-)[A-Za-z0-9]+`)
//! mean nothing as a search. `\p{C}` (Unicode "other": control, format, private use), which
//! `regex-lite` lacks, is spelt out as explicit ranges.

use serde_json::{Map, Value};

use super::{Kind, ServiceModel, Shape};
use crate::domain::constraints::aws_len;
use crate::domain::time::Instant;

/// At most this many violations are reported (AWS lists them all; a hostile input could
/// have thousands).
const MAX_VIOLATIONS: usize = 10;
/// The longest value a message quotes.
const MAX_QUOTED_CHARS: usize = 64;

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The member's path: `filters.1.member.name` (lists count from 1, as AWS's messages do).
    pub path: String,
    /// The path's member names, without list positions (`["filters", "name"]`).
    pub members: Vec<String>,
    /// Nothing was given for a required member.
    pub missing: bool,
    /// `Value '<v>' at '<path>' failed to satisfy constraint: Member must …`.
    pub message: String,
}

/// Why an input was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// A member of the wrong JSON type: `SerializationException`.
    Type(String),
    /// Rules broken (at most `MAX_VIOLATIONS`): `ValidationException`.
    Rules(Vec<Violation>),
}

impl Invalid {
    /// AWS's summary: `N validation error(s) detected: <message>; <message>`.
    pub fn summary(violations: &[Violation]) -> String {
        let n = violations.len();
        let noun = if n == 1 { "error" } else { "errors" };
        let list: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
        format!("{n} validation {noun} detected: {}", list.join("; "))
    }
}

/// Checks `input` against the structure shape `shape_name`.
pub fn input(
    model: &ServiceModel,
    shape_name: &str,
    input: &Map<String, Value>,
) -> Result<(), Invalid> {
    let Some(shape) = model.shape(shape_name) else {
        return Ok(());
    };
    let mut walk = Walk {
        model,
        violations: Vec::new(),
    };
    walk.structure(shape, input, &mut Vec::new())?;
    if walk.violations.is_empty() {
        Ok(())
    } else {
        Err(Invalid::Rules(walk.violations))
    }
}

/// A path segment: a member name or a list position (from 1).
enum Segment {
    Member(String),
    Position(usize),
}

fn dotted(path: &[Segment]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Segment::Member(m) => m.clone(),
            Segment::Position(i) => format!("{i}.member"),
        })
        .collect();
    parts.join(".")
}

struct Walk<'m> {
    model: &'m ServiceModel,
    violations: Vec<Violation>,
}

impl Walk<'_> {
    fn violate(&mut self, path: &[Segment], missing: bool, value: &str, rule: &str) {
        if self.violations.len() >= MAX_VIOLATIONS {
            return;
        }
        let at = dotted(path);
        let value = match value {
            "" => String::new(),
            v => format!("{v} "),
        };
        let message =
            format!("Value {value}at '{at}' failed to satisfy constraint: Member must {rule}");
        let members = path
            .iter()
            .filter_map(|s| match s {
                Segment::Member(m) => Some(m.clone()),
                Segment::Position(_) => None,
            })
            .collect();
        self.violations.push(Violation {
            path: at,
            members,
            missing,
            message,
        });
    }

    fn value(
        &mut self,
        shape: &Shape,
        value: &Value,
        path: &mut Vec<Segment>,
    ) -> Result<(), Invalid> {
        let wrong_type = |expected: &str| {
            Err(Invalid::Type(format!(
                "Value at '{}' must be {expected}, not {}",
                dotted(path),
                json_type(value)
            )))
        };
        match (shape.kind, value) {
            (Kind::Structure, Value::Object(map)) => self.structure(shape, map, path),
            (Kind::List, Value::Array(items)) => self.list(shape, items, path),
            (Kind::Map, Value::Object(map)) => self.map(shape, map, path),
            (Kind::String, Value::String(text)) => {
                self.string(shape, text, path);
                Ok(())
            }
            // An integer is 32 bits and a long 64, as the SDKs and AWS read them.
            (Kind::Integer, Value::Number(n))
                if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) =>
            {
                self.range(shape, n.as_f64().unwrap_or_default(), path);
                Ok(())
            }
            (Kind::Long, Value::Number(n)) if n.is_i64() => {
                self.range(shape, n.as_f64().unwrap_or_default(), path);
                Ok(())
            }
            (Kind::Double | Kind::Float, Value::Number(n)) => {
                self.range(shape, n.as_f64().unwrap_or_default(), path);
                Ok(())
            }
            // JSON carries timestamps as epoch seconds of the years 0000-9999 (the rest-json
            // door turns an `iso8601` shape's RFC 3339 text into them); blobs as base64 text.
            (Kind::Timestamp, Value::Number(n))
                if n.as_f64()
                    .and_then(Instant::try_from_epoch_seconds)
                    .is_some() =>
            {
                Ok(())
            }
            (Kind::Boolean, Value::Bool(_)) | (Kind::Blob, Value::String(_)) => Ok(()),
            // Only outputs come here as text (tests hold the mock's rest-json answers to
            // their model).
            (Kind::Timestamp, Value::String(s))
                if shape.timestamp_format.as_deref() == Some("iso8601")
                    && Instant::parse_rfc3339(s).is_some() =>
            {
                Ok(())
            }
            (Kind::Structure | Kind::Map, _) => wrong_type("an object"),
            (Kind::List, _) => wrong_type("a list"),
            (Kind::String | Kind::Blob, _) => wrong_type("a string"),
            (Kind::Integer, _) => wrong_type("a 32-bit integer"),
            (Kind::Long, _) => wrong_type("a 64-bit integer"),
            (Kind::Double | Kind::Float, _) => wrong_type("a number"),
            (Kind::Timestamp, Value::Number(n)) => Err(Invalid::Type(format!(
                "Value {n} at '{}' is not a timestamp: epoch seconds of the years 0000-9999",
                dotted(path)
            ))),
            (Kind::Timestamp, _) => wrong_type("a timestamp (epoch seconds)"),
            (Kind::Boolean, _) => wrong_type("a boolean"),
        }
    }

    fn structure(
        &mut self,
        shape: &Shape,
        map: &Map<String, Value>,
        path: &mut Vec<Segment>,
    ) -> Result<(), Invalid> {
        let mut set = 0;
        for (name, target) in &shape.members {
            let Some(value) = map.get(name).filter(|v| !v.is_null()) else {
                if shape.required.contains(name) {
                    path.push(Segment::Member(name.clone()));
                    self.violate(path, true, "null", "not be null");
                    path.pop();
                }
                continue;
            };
            set += 1;
            let Some(member) = self.model.shape(&target.shape) else {
                continue;
            };
            path.push(Segment::Member(name.clone()));
            let checked = self.value(member, value, path);
            path.pop();
            checked?;
        }
        if shape.union && set != 1 {
            let names: Vec<&str> = shape.members.keys().map(String::as_str).collect();
            self.violate(
                path,
                set == 0,
                &format!("with {set} members set"),
                &format!(
                    "have exactly one of these members set: [{}]",
                    names.join(", ")
                ),
            );
        }
        Ok(())
    }

    fn list(
        &mut self,
        shape: &Shape,
        items: &[Value],
        path: &mut Vec<Segment>,
    ) -> Result<(), Invalid> {
        self.length(
            shape,
            items.len(),
            &format!("with {} items", items.len()),
            path,
        );
        let Some(member) = shape
            .member
            .as_ref()
            .and_then(|m| self.model.shape(&m.shape))
        else {
            return Ok(());
        };
        for (i, item) in items.iter().enumerate() {
            path.push(Segment::Position(i + 1));
            let checked = if item.is_null() {
                self.violate(path, true, "null", "not be null");
                Ok(())
            } else {
                self.value(member, item, path)
            };
            path.pop();
            checked?;
        }
        Ok(())
    }

    fn map(
        &mut self,
        shape: &Shape,
        map: &Map<String, Value>,
        path: &mut Vec<Segment>,
    ) -> Result<(), Invalid> {
        self.length(
            shape,
            map.len(),
            &format!("with {} entries", map.len()),
            path,
        );
        let key = shape.key.as_ref().and_then(|k| self.model.shape(&k.shape));
        let value = shape
            .value
            .as_ref()
            .and_then(|v| self.model.shape(&v.shape));
        for (k, v) in map {
            path.push(Segment::Member(k.clone()));
            if let Some(key) = key {
                self.string(key, k, path);
            }
            let checked = match value {
                _ if v.is_null() => {
                    self.violate(path, true, "null", "not be null");
                    Ok(())
                }
                Some(value) => self.value(value, v, path),
                None => Ok(()),
            };
            path.pop();
            checked?;
        }
        Ok(())
    }

    fn string(&mut self, shape: &Shape, text: &str, path: &[Segment]) {
        // A secret is not echoed: its message (which the journal keeps) names only its place.
        let quoted = match shape.sensitive {
            true => String::new(),
            false => quote(text),
        };
        self.length(shape, aws_len(text), &quoted, path);
        if let Some(values) = &shape.values {
            if !values.iter().any(|v| v == text) {
                self.violate(
                    path,
                    false,
                    &quoted,
                    &format!("satisfy enum value set: [{}]", values.join(", ")),
                );
                return;
            }
        }
        if let (Some(source), Some(re)) = (&shape.pattern, pattern(shape)) {
            if !re.is_match(text) {
                self.violate(
                    path,
                    false,
                    &quoted,
                    &format!("satisfy regular expression pattern: {source}"),
                );
            }
        }
    }

    fn length(&mut self, shape: &Shape, len: usize, value: &str, path: &[Segment]) {
        let len = len as f64;
        if let Some(min) = shape.min.filter(|min| len < *min) {
            self.violate(
                path,
                false,
                value,
                &format!("have length greater than or equal to {min}"),
            );
        } else if let Some(max) = shape.max.filter(|max| len > *max) {
            self.violate(
                path,
                false,
                value,
                &format!("have length less than or equal to {max}"),
            );
        }
    }

    fn range(&mut self, shape: &Shape, n: f64, path: &[Segment]) {
        let value = format!("'{n}'");
        if let Some(min) = shape.min.filter(|min| n < *min) {
            self.violate(
                path,
                false,
                &value,
                &format!("have value greater than or equal to {min}"),
            );
        } else if let Some(max) = shape.max.filter(|max| n > *max) {
            self.violate(
                path,
                false,
                &value,
                &format!("have value less than or equal to {max}"),
            );
        }
    }
}

fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("'{shown}'")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Unicode's "other" characters as ranges: controls (Cc), format characters (Cf, Unicode 15),
/// private use (Co) on every plane and the noncharacters. Surrogates (Cs) cannot occur in
/// Rust text; unassigned code points (Cn, which change with each Unicode version) are not
/// listed, so they pass where Java would refuse them.
const OTHER_CHARACTERS: &str = concat!(
    r"\x{0}-\x{1F}\x{7F}-\x{9F}\x{AD}\x{600}-\x{605}\x{61C}\x{6DD}\x{70F}\x{890}-\x{891}",
    r"\x{8E2}\x{180E}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{206F}",
    r"\x{E000}-\x{F8FF}\x{FDD0}-\x{FDEF}\x{FEFF}\x{FFF9}-\x{FFFB}\x{FFFE}\x{FFFF}\x{110BD}",
    r"\x{110CD}\x{13430}-\x{1343F}\x{1BCA0}-\x{1BCA3}\x{1D173}-\x{1D17A}\x{E0001}",
    r"\x{E0020}-\x{E007F}\x{F0000}-\x{FFFFD}\x{100000}-\x{10FFFD}",
);

/// The shape's compiled `pattern` (`None` when it has none or it does not compile, which a
/// test rules out for the embedded models).
pub fn pattern(shape: &Shape) -> Option<&regex_lite::Regex> {
    shape
        .compiled
        .get_or_init(|| {
            let source = shape.pattern.as_ref()?;
            let source = source
                .replace(r"[^\p{C}]", &format!("[^{OTHER_CHARACTERS}]"))
                .replace(r"\p{C}", &format!("[{OTHER_CHARACTERS}]"));
            regex_lite::Regex::new(&format!("^(?:{source})$")).ok()
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelService;
    use serde_json::json;

    fn check(op: &str, input: Value) -> Result<(), Invalid> {
        let model = ModelService::Agreement.model();
        let shape = &model.operation(op).unwrap().input.as_ref().unwrap().shape;
        super::input(model, shape, input.as_object().unwrap())
    }

    fn rules(op: &str, input: Value) -> Vec<Violation> {
        match check(op, input) {
            Err(Invalid::Rules(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_input_passes() {
        assert_eq!(
            check(
                "DescribeAgreement",
                json!({"agreementId": "agmt-1234567890"})
            ),
            Ok(())
        );
    }

    #[test]
    fn each_constraint_kind_is_enforced() {
        let v = rules("DescribeAgreement", json!({}));
        assert_eq!((v[0].path.as_str(), v[0].missing), ("agreementId", true));
        assert!(
            v[0].message.contains("Member must not be null"),
            "{}",
            v[0].message
        );
        let v = rules("DescribeAgreement", json!({"agreementId": "has space"}));
        assert!(
            v[0].message.contains("regular expression pattern"),
            "{}",
            v[0].message
        );
        let v = rules("DescribeAgreement", json!({"agreementId": "a".repeat(65)}));
        assert!(
            v[0].message.contains("length less than or equal to 64"),
            "{}",
            v[0].message
        );
        let v = rules("SearchAgreements", json!({"maxResults": 0}));
        assert!(
            v[0].message.contains("value greater than or equal to 1"),
            "{}",
            v[0].message
        );
        let v = rules("SearchAgreements", json!({"filters": []}));
        assert!(
            v[0].message.contains("length greater than or equal to 1"),
            "{}",
            v[0].message
        );
        let v = rules(
            "SearchAgreements",
            json!({"sort": {"sortBy": "EndTime", "sortOrder": "UP"}}),
        );
        assert_eq!(v[0].path, "sort.sortOrder");
        assert!(v[0].message.contains("enum value set"), "{}", v[0].message);
        let v = rules(
            "SearchAgreements",
            json!({"filters": [{"name": "Status", "values": ["ACTIVE", "x"]}]}),
        );
        assert_eq!(v[0].members, ["filters", "values"], "{v:?}");
    }

    #[test]
    fn unions_take_exactly_one_member() {
        let term = |configuration: Value| {
            json!({"clientToken": "t", "intent": "NEW", "agreementProposalIdentifier": "ap-1",
                   "requestedTerms": [{"id": "term-1", "configuration": configuration}]})
        };
        let v = rules("CreateAgreementRequest", term(json!({})));
        assert!(v[0].message.contains("exactly one"), "{v:?}");
    }

    #[test]
    fn wrong_json_types_are_serialization_errors() {
        assert!(matches!(
            check("DescribeAgreement", json!({"agreementId": 5})),
            Err(Invalid::Type(_))
        ));
        assert!(matches!(
            check("SearchAgreements", json!({"maxResults": "5"})),
            Err(Invalid::Type(_))
        ));
        assert!(matches!(
            check("SearchAgreements", json!({"maxResults": 1.5})),
            Err(Invalid::Type(_))
        ));
    }

    #[test]
    fn other_characters_are_spelt_out() {
        let shape: Shape =
            serde_json::from_value(json!({"type": "string", "pattern": "[^\\p{C}]+"})).unwrap();
        let re = pattern(&shape).unwrap();
        assert!(re.is_match("plain text"));
        assert!(!re.is_match("\u{7}"));
    }

    #[test]
    fn violations_are_capped() {
        let filters: Vec<Value> = (0..10).map(|_| json!({"name": "", "values": []})).collect();
        let v = rules("SearchAgreements", json!({"filters": filters}));
        assert_eq!(v.len(), MAX_VIOLATIONS);
    }

    #[test]
    fn integers_are_32_bits_and_longs_64() {
        // A wider number cannot be read as the member, whatever its range.
        assert!(matches!(
            check("SearchAgreements", json!({"maxResults": 1u64 << 40})),
            Err(Invalid::Type(_))
        ));
    }

    #[test]
    fn nulls_inside_lists_are_refused_not_skipped() {
        let v = rules("SearchAgreements", json!({"filters": [null]}));
        assert_eq!(
            (v[0].path.as_str(), v[0].missing),
            ("filters.1.member", true)
        );
        assert!(v[0].message.contains("not be null"), "{}", v[0].message);
    }
}
