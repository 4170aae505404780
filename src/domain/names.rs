//! The names the control API takes (product codes, dimensions, customers' identifiers,
//! accounts, licenses, agreements, URLs) as types that can only hold a valid value.
//!
//! Layer: domain. Each type parses once, where JSON enters (`#[serde(try_from)]`), so code
//! holding one never checks it again; the error says what the value must look like, and the
//! control API adds the path of the field it came from.

/// The longest Region name taken (AWS's are under 20: `ap-southeast-5`, `us-isob-east-1`).
pub const MAX_REGION_CHARS: usize = 32;

/// Whether `text` can be a Region name: 1-32 lowercase letters, digits and `-` (AWS's names,
/// and made-up ones such as `local` a test may sign with).
pub fn is_region(text: &str) -> bool {
    (1..=MAX_REGION_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::constraints::{aws_len, is_account_id, is_license_arn, is_product_code};

/// How much of a refused value an error message repeats.
const QUOTED_CHARS: usize = 80;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $valid:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                let valid: fn(&str) -> bool = $valid;
                if valid(&text) {
                    Ok(Self(text))
                } else {
                    Err(format!("'{}' {}", quoted(&text), $rule))
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                Self::try_from(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_type!(
    /// A product code: 1-255 characters of letters, digits and `-/=:_.@` (the model's
    /// `ProductCode`).
    ProductCode,
    |t| (1..=255).contains(&aws_len(t)) && is_product_code(t),
    "must be 1-255 characters of letters, digits and -/=:_.@"
);

name_type!(
    /// A metering dimension's name (the model's `UsageDimension`: 1-255 characters).
    Dimension,
    |t| (1..=255).contains(&aws_len(t)),
    "must be 1-255 characters"
);

name_type!(
    /// A legacy customer's `CustomerIdentifier` (1-255 characters).
    CustomerIdentifier,
    |t| (1..=255).contains(&aws_len(t)),
    "must be 1-255 characters"
);

name_type!(
    /// A buyer's `CustomerAWSAccountId` as the model allows it: 1-255 digits.
    AccountId,
    |t| aws_len(t) <= 255 && is_account_id(t),
    "must be digits (an AWS account id has 12)"
);

name_type!(
    /// An AWS account id as AWS issues them: exactly 12 digits (a seller's account, a new
    /// buyer's account).
    TwelveDigitAccountId,
    |t| t.len() == 12 && is_account_id(t),
    "must be 12 digits"
);

name_type!(
    /// A License Manager license ARN (the model's `LicenseArn`).
    LicenseArn,
    is_license_arn,
    "is not a license ARN (arn:aws:license-manager::<account>:license:l-…)"
);

name_type!(
    /// An agreement id (the model's `AgreementId`: 1-64 of `[A-Za-z0-9_/-]`).
    AgreementId,
    |t| {
        (1..=64).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '-'))
    },
    "must be 1-64 characters of letters, digits, _ / -"
);

name_type!(
    /// An absolute http:// or https:// URL without white space, of at most 2048 characters
    /// (where the mock sends a buyer or POSTs a notification, and what each event's
    /// deliveries repeat; which hosts are allowed is `policy::outbound`'s).
    HttpUrl,
    |t| {
        let rest = t.strip_prefix("http://").or_else(|| t.strip_prefix("https://"));
        t.len() <= 2048
            && rest.is_some_and(|rest| !rest.is_empty())
            && !t.chars().any(char::is_whitespace)
    },
    "must be an http:// or https:// URL of at most 2048 characters"
);

impl From<TwelveDigitAccountId> for AccountId {
    fn from(account: TwelveDigitAccountId) -> Self {
        AccountId(account.0)
    }
}

/// The start of `text`, cut at a character boundary, so a huge value does not fill the
/// error message.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_parse_and_read_as_text() {
        let code: ProductCode = "prod-1/a=b:c_d.e@f".parse().unwrap();
        assert_eq!(&*code, "prod-1/a=b:c_d.e@f");
        assert_eq!(code, "prod-1/a=b:c_d.e@f");
        assert!("1".parse::<AccountId>().is_ok());
        assert!("123456789012".parse::<TwelveDigitAccountId>().is_ok());
        assert!("arn:aws:license-manager::123456789012:license:l-1"
            .parse::<LicenseArn>()
            .is_ok());
        assert!("agmt-1/x_y".parse::<AgreementId>().is_ok());
        assert!("https://example.com/x".parse::<HttpUrl>().is_ok());
        assert!(format!("https://x/{}", "a".repeat(2038))
            .parse::<HttpUrl>()
            .is_ok());
    }

    #[test]
    fn invalid_names_are_refused_with_what_they_must_be() {
        let refused = [
            "".parse::<ProductCode>().err(),
            "has space".parse::<ProductCode>().err(),
            "x".repeat(256).parse::<ProductCode>().err(),
            "".parse::<Dimension>().err(),
            "".parse::<CustomerIdentifier>().err(),
            "12ab".parse::<AccountId>().err(),
            "".parse::<AccountId>().err(),
            "123".parse::<TwelveDigitAccountId>().err(),
            "nope".parse::<LicenseArn>().err(),
            "agmt 1".parse::<AgreementId>().err(),
            "a".repeat(65).parse::<AgreementId>().err(),
            "javascript:alert(1)".parse::<HttpUrl>().err(),
            "http://".parse::<HttpUrl>().err(),
            "http://a b".parse::<HttpUrl>().err(),
            format!("https://x/{}", "a".repeat(2039))
                .parse::<HttpUrl>()
                .err(),
        ];
        for (i, error) in refused.into_iter().enumerate() {
            let error = error.unwrap_or_else(|| panic!("case {i} was accepted"));
            assert!(
                error.contains("must") || error.contains("is not"),
                "{error}"
            );
        }
    }

    #[test]
    fn json_parses_through_the_same_rules() {
        let ok: ProductCode = serde_json::from_str("\"p1\"").unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"p1\"");
        let error = serde_json::from_str::<ProductCode>("\"a b\"").unwrap_err();
        assert!(
            error.to_string().contains("must be 1-255 characters"),
            "{error}"
        );
    }

    #[test]
    fn a_long_refused_value_is_quoted_in_part() {
        let error = "ü".repeat(10_000).parse::<ProductCode>().unwrap_err();
        assert!(error.chars().count() < 200, "{error}");
    }
}
