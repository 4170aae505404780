//! The time windows in which usage is accepted (docs/decisions.md), as pure functions of the
//! record's timestamp, the namespace's "now" and its settings.

use super::settings::Settings;
use super::time::Instant;

/// MeterUsage: from `meterUsageMaxAgeSeconds` ago (inclusive: "more than six hours after the
/// event" is refused) to `maxFutureSeconds` ahead. `Err` carries the reason.
pub fn check_meter_usage(timestamp: Instant, now: Instant, s: &Settings) -> Result<(), String> {
    check_future(timestamp, now, s)?;
    if timestamp < now.plus_seconds(-s.meter_usage_max_age_seconds) {
        return Err(format!(
            "Timestamp {} is more than {} seconds before the current time {}",
            timestamp.to_rfc3339(),
            s.meter_usage_max_age_seconds,
            now.to_rfc3339()
        ));
    }
    Ok(())
}

/// BatchMeterUsage: younger than `batchMeterUsageMaxAgeSeconds` ("not accepted 24 hours or
/// more after an event"), not beyond `maxFutureSeconds` ahead, and usage of an earlier month
/// only until `monthEndGraceSeconds` after that month ends.
pub fn check_batch(timestamp: Instant, now: Instant, s: &Settings) -> Result<(), String> {
    check_future(timestamp, now, s)?;
    if timestamp <= now.plus_seconds(-s.batch_meter_usage_max_age_seconds) {
        return Err(format!(
            "Timestamp {} is {} seconds or more before the current time {}",
            timestamp.to_rfc3339(),
            s.batch_meter_usage_max_age_seconds,
            now.to_rfc3339()
        ));
    }
    if let Some(grace) = s.month_end_grace_seconds {
        let deadline = timestamp.next_month_start().plus_seconds(grace);
        if now >= deadline {
            return Err(format!(
                "Usage for the month of {} was accepted until {}; it is now {}",
                timestamp.month_start().to_rfc3339(),
                deadline.to_rfc3339(),
                now.to_rfc3339()
            ));
        }
    }
    Ok(())
}

/// When no usage of the month starting at `month_start` is accepted any more: the latest
/// of MeterUsage's window and BatchMeterUsage's (cut by the month-end rule) after the month
/// ends.
pub fn month_closes_at(month_start: Instant, s: &Settings) -> Instant {
    let batch = match s.month_end_grace_seconds {
        Some(grace) => s.batch_meter_usage_max_age_seconds.min(grace),
        None => s.batch_meter_usage_max_age_seconds,
    };
    let after = s.meter_usage_max_age_seconds.max(batch).max(0);
    month_start.next_month_start().plus_seconds(after)
}

fn check_future(timestamp: Instant, now: Instant, s: &Settings) -> Result<(), String> {
    if timestamp > now.plus_seconds(s.max_future_seconds) {
        return Err(format!(
            "Timestamp {} is more than {} seconds after the current time {}",
            timestamp.to_rfc3339(),
            s.max_future_seconds,
            now.to_rfc3339()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Instant {
        Instant::parse_rfc3339(text).unwrap()
    }

    const MS: i64 = 1;

    #[test]
    fn meter_usage_accepts_exactly_six_hours_back_and_five_minutes_ahead() {
        let s = Settings::default();
        let now = at("2026-03-10T12:00:00Z");
        assert!(check_meter_usage(at("2026-03-10T06:00:00Z"), now, &s).is_ok());
        assert!(check_meter_usage(Instant(at("2026-03-10T06:00:00Z").0 - MS), now, &s).is_err());
        assert!(check_meter_usage(at("2026-03-10T12:05:00Z"), now, &s).is_ok());
        assert!(check_meter_usage(Instant(at("2026-03-10T12:05:00Z").0 + MS), now, &s).is_err());
    }

    #[test]
    fn batch_refuses_records_24_hours_old_or_more() {
        let s = Settings::default();
        let now = at("2026-03-10T12:00:00Z");
        assert!(check_batch(Instant(at("2026-03-09T12:00:00Z").0 + MS), now, &s).is_ok());
        assert!(check_batch(at("2026-03-09T12:00:00Z"), now, &s).is_err());
        assert!(check_batch(at("2026-03-10T12:05:00Z"), now, &s).is_ok());
        assert!(check_batch(at("2026-03-10T12:05:01Z"), now, &s).is_err());
    }

    #[test]
    fn last_month_is_accepted_until_six_in_the_morning_of_the_first() {
        let s = Settings::default();
        let event = at("2026-03-31T23:30:00Z");
        assert!(check_batch(event, Instant(at("2026-04-01T06:00:00Z").0 - MS), &s).is_ok());
        let late = check_batch(event, at("2026-04-01T06:00:00Z"), &s);
        assert!(late
            .unwrap_err()
            .contains("accepted until 2026-04-01T06:00:00Z"));
        // Year end too.
        assert!(check_batch(at("2026-12-31T23:00:00Z"), at("2027-01-01T07:00:00Z"), &s).is_err());
        // Same month: only the 24 h rule applies.
        assert!(check_batch(at("2026-04-01T06:30:00Z"), at("2026-04-02T06:00:00Z"), &s).is_ok());
    }

    #[test]
    fn the_month_end_rule_and_the_windows_follow_the_settings() {
        let s = Settings {
            month_end_grace_seconds: None,
            ..Settings::default()
        };
        assert!(check_batch(at("2026-03-31T23:30:00Z"), at("2026-04-01T07:00:00Z"), &s).is_ok());
        let old = Settings {
            batch_meter_usage_max_age_seconds: 6 * 3600,
            ..Settings::default()
        };
        let now = at("2026-03-10T12:00:00Z");
        assert!(check_batch(at("2026-03-10T06:00:00Z"), now, &old).is_err());
        assert!(check_batch(at("2026-03-10T06:00:01Z"), now, &old).is_ok());
        let strict = Settings {
            max_future_seconds: 0,
            ..Settings::default()
        };
        assert!(check_meter_usage(Instant(now.0 + MS), now, &strict).is_err());
    }
}
