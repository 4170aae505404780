//! Exact non-negative decimals of a fixed scale, for quantities, amounts and charges (the
//! bill preview, contract prices): no floats anywhere money is counted.
//!
//! Layer: domain. Pure.

use std::fmt;

use serde::Serialize;

/// An exact non-negative decimal with `scale` fraction digits (6 for quantities, 12 for
/// amounts: a quantity times a price, 2 for charges), shown without trailing zeros, except
/// charges, which show their cents as money does (`3.20`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal {
    units: u128,
    scale: u32,
}

impl Decimal {
    /// A quantity of `micros` millionths.
    pub fn quantity(micros: u128) -> Decimal {
        Decimal {
            units: micros,
            scale: 6,
        }
    }

    /// An amount of `picos` 10^-12 (a quantity times a price).
    pub fn amount(picos: u128) -> Decimal {
        Decimal {
            units: picos,
            scale: 12,
        }
    }

    /// Rounded half up to hundredths (cents).
    pub fn cents(self) -> Decimal {
        let step = 10u128.pow(self.scale - 2);
        let cents = (self.units + step / 2) / step;
        Decimal {
            units: cents,
            scale: 2,
        }
    }

    /// A charge of `micros` millionths of a dollar, rounded half up to cents.
    pub fn charge_from_micros(micros: u128) -> Decimal {
        Decimal::quantity(micros).cents()
    }

    /// No money: what an empty bill charges.
    pub fn zero_cents() -> Decimal {
        Decimal { units: 0, scale: 2 }
    }

    pub fn plus(self, other: Decimal) -> Decimal {
        debug_assert_eq!(self.scale, other.scale);
        Decimal {
            units: self.units + other.units,
            scale: self.scale,
        }
    }

    /// `self` less `other`, never below zero.
    pub fn minus(self, other: Decimal) -> Decimal {
        debug_assert_eq!(self.scale, other.scale);
        Decimal {
            units: self.units.saturating_sub(other.units),
            scale: self.scale,
        }
    }

    /// An amount of `cents` hundredths.
    pub fn of_cents(cents: u128) -> Decimal {
        Decimal {
            units: cents,
            scale: 2,
        }
    }

    /// Whole hundredths, for a decimal of scale 2.
    pub fn units(self) -> u128 {
        self.units
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = 10u128.pow(self.scale);
        let (int, frac) = (self.units / one, self.units % one);
        if self.scale == 2 {
            return write!(f, "{int}.{frac:02}");
        }
        if frac == 0 {
            return write!(f, "{int}");
        }
        let digits = format!("{frac:0width$}", width = self.scale as usize);
        write!(f, "{int}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
