//! Instants in UTC as epoch milliseconds, and the calendar arithmetic the windows need
//! (hour floors, month starts, RFC 3339 text), with no clock of its own: the current time is
//! always passed in.

use serde::{Deserialize, Serialize};

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 86_400_000;

/// An instant in UTC, as milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Instant(pub i64);

impl Instant {
    /// Earliest and latest instants we represent (years 0000 to 9999), so arithmetic on any
    /// instant built by `try_from_epoch_seconds` or `parse_rfc3339` cannot overflow.
    pub const MIN: Instant = Instant(-62_167_219_200_000);
    pub const MAX: Instant = Instant(253_402_300_799_999);
    /// The earliest instant every SDK reads back (Python's datetime starts at year 1): the
    /// control API accepts no earlier time, since the mock may answer with it.
    pub const SDK_MIN: Instant = Instant(-62_135_596_800_000);

    /// Whether every SDK can parse this instant when the mock answers with it.
    pub fn is_readable_by_every_sdk(self) -> bool {
        (Self::SDK_MIN..=Self::MAX).contains(&self)
    }

    /// From epoch seconds as a client sends them (integer or fractional); `None` outside the
    /// years 0000-9999, which no AWS timestamp reaches.
    pub fn try_from_epoch_seconds(seconds: f64) -> Option<Instant> {
        let ms = (seconds * MS_PER_SECOND as f64).floor();
        (ms.is_finite() && ms >= Self::MIN.0 as f64 && ms <= Self::MAX.0 as f64)
            .then_some(Instant(ms as i64))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Epoch seconds as a JSON-friendly number (integral when there is no fraction).
    pub fn epoch_seconds(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }

    pub fn plus_seconds(self, seconds: i64) -> Instant {
        Instant(self.0.saturating_add(seconds.saturating_mul(MS_PER_SECOND)))
    }

    /// Rounded down to the start of its UTC hour.
    pub fn hour_floor(self) -> Instant {
        Instant(self.0.div_euclid(MS_PER_HOUR) * MS_PER_HOUR)
    }

    /// 00:00 UTC on the first day of this instant's month.
    pub fn month_start(self) -> Instant {
        let (y, m, _) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        Instant(days_from_civil(y, m, 1) * MS_PER_DAY)
    }

    /// 00:00 UTC on the first day of the month after this instant's month.
    pub fn next_month_start(self) -> Instant {
        let (y, m, _) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        Instant(days_from_civil(ny, nm, 1) * MS_PER_DAY)
    }

    /// `months` calendar months later, at the same time of day; a day the month lacks
    /// becomes its last day (January 31 plus one month is February 28 or 29).
    pub fn plus_months(self, months: u32) -> Instant {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let index = y * 12 + (m - 1) + i64::from(months);
        let (ny, nm) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        let nd = d.min(days_in_month(ny, nm));
        Instant(days_from_civil(ny, nm, nd) * MS_PER_DAY + ms_of_day).min(Instant::MAX)
    }

    /// RFC 3339 in UTC, with milliseconds only when there are some.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let (h, rest) = (ms_of_day / MS_PER_HOUR, ms_of_day % MS_PER_HOUR);
        let (min, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
        }
    }

    /// RFC 3339 with milliseconds always written, as SNS writes `Timestamp`.
    pub fn to_rfc3339_millis(self) -> String {
        let text = self.to_rfc3339();
        if self.0.rem_euclid(1000) == 0 {
            format!("{}.000Z", text.trim_end_matches('Z'))
        } else {
            text
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`; `None` for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Instant> {
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let s = text.get(from..to)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || s > 59
        {
            return None;
        }
        let mut i = 19;
        let mut ms = 0;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            let frac = &text[start..i.min(start + 3)];
            ms = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
        }
        let offset_ms = match &text[i..] {
            "Z" | "z" => 0,
            tz if tz.len() == 6
                && matches!(tz.as_bytes()[0], b'+' | b'-')
                && tz.as_bytes()[3] == b':' =>
            {
                let oh = num(i + 1, i + 3)?;
                let om = num(i + 4, i + 6)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let sign = if tz.starts_with('-') { -1 } else { 1 };
                sign * (oh * MS_PER_HOUR + om * 60_000)
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        let at =
            Instant(days * MS_PER_DAY + h * MS_PER_HOUR + mi * 60_000 + s * 1000 + ms - offset_ms);
        (Self::MIN..=Self::MAX).contains(&at).then_some(at)
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of `days_from_civil`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Serde for an instant written as RFC 3339 text (the control API's habit).
pub mod rfc3339 {
    use super::Instant;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Instant, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
        super::optional_rfc3339::deserialize(d)?
            .ok_or_else(|| serde::de::Error::custom("a time is required"))
    }
}

/// Serde for an optional instant written as RFC 3339 text (the control API's habit).
pub mod optional_rfc3339 {
    use super::Instant;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&at.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            Instant::parse_rfc3339(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "'{t}' is not an RFC 3339 time such as 2027-01-01T00:00:00Z"
                ))
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Instant {
        Instant::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn months_are_added_by_the_calendar() {
        assert_eq!(
            at("2026-01-31T10:00:00Z").plus_months(1),
            at("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            at("2026-03-10T12:30:00Z").plus_months(12),
            at("2027-03-10T12:30:00Z")
        );
        assert_eq!(
            at("2027-11-30T00:00:00Z").plus_months(3),
            at("2028-02-29T00:00:00Z")
        );
    }

    #[test]
    fn rfc3339_round_trips_and_knows_the_epoch() {
        assert_eq!(at("1970-01-01T00:00:00Z"), Instant(0));
        assert_eq!(at("2026-01-01T12:30:15.5Z").millis(), 1_767_270_615_500);
        assert_eq!(
            Instant(1_767_270_615_500).to_rfc3339(),
            "2026-01-01T12:30:15.500Z"
        );
        assert_eq!(at("2026-01-01T14:30:15+02:00"), at("2026-01-01T12:30:15Z"));
        assert_eq!(
            at("2024-02-29T00:00:00Z").to_rfc3339(),
            "2024-02-29T00:00:00Z"
        );
    }

    #[test]
    fn rfc3339_rejects_impossible_dates_and_junk() {
        for bad in [
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "yesterday at noon please",
            // Outside the years 0000 to 9999.
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
        ] {
            assert_eq!(Instant::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn hour_floor_rounds_down_including_before_the_epoch() {
        assert_eq!(
            at("2026-01-01T12:59:59.999Z").hour_floor(),
            at("2026-01-01T12:00:00Z")
        );
        assert_eq!(
            at("2026-01-01T12:00:00Z").hour_floor(),
            at("2026-01-01T12:00:00Z")
        );
        assert_eq!(Instant(-1).hour_floor(), Instant(-3_600_000));
    }

    #[test]
    fn month_boundaries_handle_year_ends_and_leap_years() {
        assert_eq!(
            at("2026-12-31T23:59:59Z").next_month_start(),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            at("2024-02-29T10:00:00Z").month_start(),
            at("2024-02-01T00:00:00Z")
        );
        assert_eq!(
            at("2024-02-29T10:00:00Z").next_month_start(),
            at("2024-03-01T00:00:00Z")
        );
    }

    #[test]
    fn epoch_seconds_accept_fractions_and_refuse_what_is_out_of_range() {
        assert_eq!(
            Instant::try_from_epoch_seconds(1_767_270_615.5),
            Some(Instant(1_767_270_615_500))
        );
        assert_eq!(Instant::try_from_epoch_seconds(1e300), None);
        assert_eq!(Instant::try_from_epoch_seconds(-1e300), None);
        assert_eq!(Instant::try_from_epoch_seconds(1e20), None);
        assert_eq!(Instant::try_from_epoch_seconds(-62_167_219_201.0), None);
        assert_eq!(Instant::try_from_epoch_seconds(f64::NAN), None);
        assert_eq!(
            Instant::try_from_epoch_seconds(253_402_300_799.0),
            Some(Instant(253_402_300_799_000))
        );
    }

    #[test]
    fn the_first_and_last_instants_every_sdk_reads_back_are_years_0001_and_9999() {
        assert_eq!(at("0001-01-01T00:00:00Z"), Instant::SDK_MIN);
        assert_eq!(at("9999-12-31T23:59:59.999Z"), Instant::MAX);
        assert_eq!(Instant::SDK_MIN.to_rfc3339(), "0001-01-01T00:00:00Z");
        assert!(Instant::SDK_MIN.is_readable_by_every_sdk());
        assert!(Instant::MAX.is_readable_by_every_sdk());
        assert!(!at("0000-12-31T23:59:59Z").is_readable_by_every_sdk());
        assert!(!at("0001-01-01T00:00:00+00:01").is_readable_by_every_sdk());
        // Wire timestamps of the year 0 still parse (the time windows refuse them).
        assert_eq!(
            Instant::try_from_epoch_seconds(-62_167_219_200.0),
            Some(Instant::MIN)
        );
    }
}
