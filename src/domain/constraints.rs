//! The model's member constraints (lengths, patterns, ranges, list sizes) as plain checks,
//! and `Violations`, the collector that turns broken constraints into one
//! `ValidationException` in the AWS wording.
//!
//! Layer: domain. Patterns are checked by hand-written matchers equivalent to the model's
//! regular expressions (no regex engine in the wasm bundle); messages quote the model's
//! pattern text so users can look it up.

use crate::error::{ErrorKind, ServiceError};

pub const PRODUCT_CODE_PATTERN: &str = "^[-a-zA-Z0-9/=:_.@]*$";
pub const ACCOUNT_ID_PATTERN: &str = "^[0-9]+$";
pub const NON_EMPTY_PATTERN: &str = r"[\s\S]+";
pub const LICENSE_ARN_PATTERN: &str = "^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$";
pub const TAG_PATTERN: &str = r"^[a-zA-Z0-9+ -=._:\/@]+$";
/// The Entitlement model's `NonEmptyString`.
pub const NON_WHITESPACE_PATTERN: &str = r"\S+";

/// Length as the service counts it (Java strings: UTF-16 code units).
pub fn aws_len(text: &str) -> usize {
    text.encode_utf16().count()
}

pub fn is_product_code(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-/=:_.@".contains(&b))
}

/// The whole text matches Java's `\S+`: not empty, and none of Java's `\s` characters
/// (space, tab, line feed, vertical tab, form feed, carriage return; ASCII only).
pub fn is_non_whitespace(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r'))
}

pub fn is_account_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly the model's `LicenseArn` regex: five `:`-free fields, then a resource that may
/// contain `:`.
pub fn is_license_arn(text: &str) -> bool {
    let mut parts = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"_/.-".contains(&b);
    let field = |s: &str, first_alnum: bool, max: usize| {
        let bytes = s.as_bytes();
        bytes.len() <= max
            && (!first_alnum || bytes.first().is_some_and(|b| b.is_ascii_alphanumeric()))
            && bytes.iter().all(|&b| plain(b))
    };
    partition.starts_with("aws")
        && partition[3..]
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-')
        && field(service, true, 63)
        && field(region, false, 63)
        && field(account, false, 63)
        && resource.len() <= 1024
        && resource
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && resource
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_/+=,@.-".contains(&b))
}

/// Which characters a tag key or value may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagCharset {
    /// The seller guide's list: letters, digits and `+ -=._:/@`.
    Documented,
    /// The model's regex read literally, where ` -=` is the range 0x20–0x3D.
    ModelRegex,
}

impl TagCharset {
    /// The allowed characters, for error messages.
    pub fn description(self) -> &'static str {
        match self {
            TagCharset::Documented => "letters, digits and + -=._:/@",
            TagCharset::ModelRegex => {
                "letters, digits, + ._:/@ and the characters from space to '='"
            }
        }
    }

    pub fn allows(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                TagCharset::Documented => "+ -=._:/@".contains(c),
                TagCharset::ModelRegex => {
                    ('\u{20}'..='\u{3d}').contains(&c) || "+._:/@".contains(c)
                }
            }
    }
}

/// How a violating value is shown in the message.
pub enum Shown<'a> {
    Null,
    Text(&'a str),
    Number(i64),
    /// A list, shown by its size (AWS prints the elements; a count keeps messages short).
    List(usize),
}

/// At most this many violations are spelled out; the count in the message stays exact.
const MAX_LISTED: usize = 25;

/// Collected constraint violations of one request.
#[derive(Default)]
pub struct Violations {
    items: Vec<String>,
    unlisted: usize,
}

impl Violations {
    pub fn add(&mut self, shown: Shown<'_>, path: &str, constraint: &str) {
        let value = match shown {
            Shown::Null => "null".to_string(),
            Shown::Text(t) => {
                let clipped: String = t.chars().take(128).collect();
                let ellipsis = if clipped.len() < t.len() { "…" } else { "" };
                format!("'{clipped}{ellipsis}'")
            }
            Shown::Number(n) => format!("'{n}'"),
            Shown::List(n) => format!("'[{n} elements]'"),
        };
        self.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn missing(&mut self, path: &str) {
        self.add(Shown::Null, path, "Member must not be null");
    }

    /// Checks a string's length against the model's min and max.
    pub fn length(&mut self, text: &str, path: &str, min: usize, max: Option<usize>) {
        let len = aws_len(text);
        if len < min {
            self.add(
                Shown::Text(text),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if let Some(max) = max.filter(|&max| len > max) {
            self.add(
                Shown::Text(text),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn pattern(&mut self, text: &str, path: &str, matches: bool, pattern: &str) {
        if !matches {
            self.add(
                Shown::Text(text),
                path,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn range(&mut self, value: i64, path: &str, min: i64, max: i64) {
        if value < min {
            self.add(
                Shown::Number(value),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.add(
                Shown::Number(value),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn list_size(&mut self, len: usize, path: &str, min: usize, max: usize) {
        if len < min {
            self.add(
                Shown::List(len),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.add(
                Shown::List(len),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A rule of docs/decisions.md that is not a model constraint but is reported the same way.
    pub fn rule(&mut self, path: &str, text: &str) {
        self.push(format!("{text} at '{path}'"));
    }

    /// Keeps the message, or only counts it once `MAX_LISTED` are kept, so a hostile request
    /// cannot make the error larger than a few kilobytes.
    fn push(&mut self, item: String) {
        if self.items.len() < MAX_LISTED {
            self.items.push(item);
        } else {
            self.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `Ok` when nothing was violated, else the `ValidationException` listing everything.
    pub fn into_result(self) -> Result<(), ServiceError> {
        self.into_result_as(ErrorKind::ValidationException)
    }

    /// `Ok` when nothing was violated, else an error of `kind` listing everything (for a
    /// service whose model names its own error for bad input).
    pub fn into_result_as(self, kind: ErrorKind) -> Result<(), ServiceError> {
        let more = match self.unlisted {
            0 => String::new(),
            n => format!("; and {n} more"),
        };
        match self.items.len() + self.unlisted {
            0 => Ok(()),
            1 => Err(ServiceError::new(
                kind,
                format!("1 validation error detected: {}", self.items[0]),
            )),
            n => Err(ServiceError::new(
                kind,
                format!(
                    "{n} validation errors detected: {}{more}",
                    self.items.join("; ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_messages_follow_the_aws_wording() {
        let mut v = Violations::default();
        v.missing("productCode");
        let e = v.into_result().unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null"
        );
        let mut v = Violations::default();
        v.add(
            Shown::Text("x"),
            "a",
            "Member must have length greater than or equal to 2",
        );
        v.add(
            Shown::Number(-1),
            "b.1.member.quantity",
            "Member must have value greater than or equal to 0",
        );
        let e = v.into_result().unwrap_err();
        assert!(e
            .message
            .starts_with("2 validation errors detected: Value 'x' at 'a'"));
        assert!(e.message.contains("; Value '-1' at 'b.1.member.quantity'"));
    }

    #[test]
    fn thousands_of_violations_make_a_short_message_with_the_true_count() {
        let mut v = Violations::default();
        for i in 0..100_000 {
            v.missing(&format!("usageRecords.{i}.member.dimension"));
        }
        let e = v.into_result().unwrap_err();
        assert!(e.message.starts_with("100000 validation errors detected: "));
        assert!(e.message.ends_with("; and 99975 more"));
        assert!(e.message.len() < 10_000);
    }

    #[test]
    fn length_counts_utf16_units_like_the_service() {
        assert_eq!(aws_len("abc"), 3);
        assert_eq!(aws_len("é"), 1);
        assert_eq!(aws_len("😀"), 2);
        let mut v = Violations::default();
        v.length(&"😀".repeat(128), "dimension", 1, Some(255));
        assert!(!v.is_empty());
    }

    #[test]
    fn product_codes_follow_the_model_pattern() {
        assert!(is_product_code(""));
        assert!(is_product_code("abc-DEF_1/2=3:4.5@6"));
        assert!(!is_product_code("has space"));
        assert!(!is_product_code("semi;colon"));
        assert!(!is_product_code("ü"));
    }

    #[test]
    fn non_whitespace_follows_javas_backslash_s_plus() {
        assert!(is_non_whitespace("eyJ0b2tlbiI6MX0"));
        assert!(
            is_non_whitespace("a\u{a0}b"),
            "no-break space is not \\s in Java"
        );
        for bad in ["", " ", "a b", "a\tb", "a\u{0B}b", "a\u{0C}b", "a\r", "\n"] {
            assert!(!is_non_whitespace(bad), "{bad:?}");
        }
    }

    #[test]
    fn violations_can_be_reported_as_another_error_kind() {
        let mut v = Violations::default();
        v.missing("productCode");
        let e = v
            .into_result_as(ErrorKind::InvalidParameterException)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameterException);
        assert!(e
            .message
            .starts_with("1 validation error detected: Value null"));
    }

    #[test]
    fn account_ids_are_digits_only() {
        assert!(is_account_id("123456789012"));
        assert!(is_account_id("1"));
        assert!(!is_account_id(""));
        assert!(!is_account_id("12345678901a"));
        assert!(!is_account_id("-1"));
    }

    #[test]
    fn license_arns_follow_the_model_regex() {
        for good in [
            "arn:aws:license-manager::111122223333:license:l-EXAMPLE2da7646d6861033667f20e895",
            "arn:aws-cn:license-manager:cn-north-1:1:license/x",
            "arn:aws:s::a:b:c:d",
        ] {
            assert!(is_license_arn(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:license-manager::111122223333",
            "arn:azure:license-manager::1:license:x",
            "arn:aws1:license-manager::1:license:x",
            "arn:aws:-bad::1:license:x",
            "arn:aws:lm::1::starts-with-colon",
            "arn:aws:lm::1:has space",
            "not-an-arn",
        ] {
            assert!(!is_license_arn(bad), "{bad}");
        }
        let long_resource = format!("arn:aws:lm::1:{}", "a".repeat(1025));
        assert!(!is_license_arn(&long_resource));
    }

    #[test]
    fn tag_charsets_differ_exactly_where_the_model_regex_is_loose() {
        for c in ['a', 'Z', '0', '+', ' ', '-', '=', '.', '_', ':', '/', '@'] {
            assert!(TagCharset::Documented.allows(c), "{c}");
            assert!(TagCharset::ModelRegex.allows(c), "{c}");
        }
        for c in ['!', '#', '$', '%', '&', '(', ',', ';', '<'] {
            assert!(!TagCharset::Documented.allows(c), "{c}");
            assert!(TagCharset::ModelRegex.allows(c), "{c}");
        }
        for c in ['>', '?', '[', '\\', '~', 'é', '\n'] {
            assert!(!TagCharset::Documented.allows(c), "{c}");
            assert!(!TagCharset::ModelRegex.allows(c), "{c}");
        }
    }
}
