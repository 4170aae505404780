//! Usage quantities as exact decimals: an integer `Quantity` and a `QuantityAsDecimal`
//! string are one value type, compared and summed exactly (no floats anywhere).

use std::fmt;

/// Millionths of a unit: the decimal pattern allows six fraction digits.
const SCALE: u64 = 1_000_000;

/// The largest integer quantity of the model (`UsageQuantity` max).
pub const MAX_INTEGER_QUANTITY: i64 = 2_147_483_647;

/// The pattern of `UsageQuantityAsDecimalString` and `AllocatedUsageQuantityAsDecimalString`.
pub const DECIMAL_PATTERN: &str = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,6})?$";

/// An exact, non-negative quantity with six decimal places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    micros: u64,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { micros: 0 };

    /// From an integer member; `None` outside 0..=2147483647.
    pub fn from_integer(value: i64) -> Option<Quantity> {
        (0..=MAX_INTEGER_QUANTITY)
            .contains(&value)
            .then(|| Quantity {
                micros: value as u64 * SCALE,
            })
    }

    /// From a decimal string matching `DECIMAL_PATTERN`; `None` otherwise.
    pub fn parse_decimal(text: &str) -> Option<Quantity> {
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let int_ok = int_part == "0"
            || (matches!(int_part.len(), 1..=10)
                && !int_part.starts_with('0')
                && int_part.bytes().all(|b| b.is_ascii_digit()));
        if !int_ok {
            return None;
        }
        let mut micros = int_part.parse::<u64>().ok()? * SCALE;
        if let Some(frac) = frac_part {
            if !matches!(frac.len(), 1..=6) || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{frac:0<6}");
            micros += padded.parse::<u64>().ok()?;
        }
        Some(Quantity { micros })
    }

    pub fn from_micros(micros: u64) -> Quantity {
        Quantity { micros }
    }

    pub fn micros(self) -> u64 {
        self.micros
    }

    /// The exact sum of many quantities (u128 cannot overflow for 2500 of them).
    pub fn sum(items: impl IntoIterator<Item = Quantity>) -> u128 {
        items.into_iter().map(|q| q.micros as u128).sum()
    }
}

/// A price per unit (USD), written as decimal text like a quantity (`"0.10"`, up to six
/// fraction digits), for the bill preview.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(Quantity);

impl Price {
    pub fn micros(self) -> u64 {
        self.0.micros
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Price {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Quantity::parse_decimal(&text).map(Price).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "'{text}' is not a price: a decimal string with up to six fraction digits, such as \"0.10\""
            ))
        })
    }
}

/// Canonical decimal text: no trailing zeros, no trailing point (`3`, `2.5`, `0.000001`).
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = (self.micros / SCALE, self.micros % SCALE);
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_and_decimal_forms_of_the_same_amount_are_equal() {
        let three = Quantity::from_integer(3).unwrap();
        assert_eq!(Quantity::parse_decimal("3"), Some(three));
        assert_eq!(Quantity::parse_decimal("3.0"), Some(three));
        assert_eq!(Quantity::parse_decimal("3.000000"), Some(three));
        assert_ne!(Quantity::parse_decimal("3.000001"), Some(three));
    }

    #[test]
    fn decimal_pattern_is_enforced_exactly() {
        for good in ["0", "0.5", "1", "9999999999.999999", "10.25", "1.000001"] {
            assert!(Quantity::parse_decimal(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "01",
            "00",
            "-1",
            "+1",
            "1.",
            ".5",
            "1.1234567",
            "99999999999",
            "1e3",
            "1,5",
            " 1",
            "1 ",
            "0x10",
            "١",
        ] {
            assert!(Quantity::parse_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn integer_range_is_0_to_i32_max() {
        assert!(Quantity::from_integer(-1).is_none());
        assert!(Quantity::from_integer(2_147_483_648).is_none());
        assert_eq!(
            Quantity::from_integer(2_147_483_647).unwrap().to_string(),
            "2147483647"
        );
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(Quantity::parse_decimal("2.500").unwrap().to_string(), "2.5");
        assert_eq!(
            Quantity::parse_decimal("0.000001").unwrap().to_string(),
            "0.000001"
        );
        assert_eq!(Quantity::ZERO.to_string(), "0");
    }

    #[test]
    fn sums_are_exact_where_floats_are_not() {
        let tenth = Quantity::parse_decimal("0.1").unwrap();
        let two_tenths = Quantity::parse_decimal("0.2").unwrap();
        assert_eq!(
            Quantity::sum([tenth, two_tenths]),
            Quantity::parse_decimal("0.3").unwrap().micros() as u128
        );
        let max = Quantity::parse_decimal("9999999999.999999").unwrap();
        assert_eq!(Quantity::sum(vec![max; 2500]), 2500 * max.micros() as u128);
    }
}
