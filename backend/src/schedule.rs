//! When nightly runs happen: 01:00 in the portal's time zone.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Local time of the nightly run.
pub const NIGHTLY_AT: NaiveTime = match NaiveTime::from_hms_opt(1, 0, 0) {
    Some(t) => t,
    None => panic!("01:00 is a valid time"),
};

/// The first 01:00 in `tz` strictly after `after`.
///
/// Daylight-saving changes are handled by the time zone database: where 01:00
/// happens twice (clocks go back over it) the first one counts; where it does
/// not exist (clocks jump over it) the run happens at the first instant after
/// the jump.
pub fn next_nightly_run(tz: Tz, after: DateTime<Utc>) -> DateTime<Utc> {
    let mut date = after.with_timezone(&tz).date_naive();
    loop {
        let local = date.and_time(NIGHTLY_AT);
        let instant = tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                // 01:00 fell in a gap: take the first valid minute after it.
                (1..=180).find_map(|minutes| {
                    tz.from_local_datetime(&(local + chrono::Duration::minutes(minutes)))
                        .earliest()
                })
            })
            .map(|t| t.with_timezone(&Utc));
        if let Some(instant) = instant.filter(|t| *t > after) {
            return instant;
        }
        date = date + Days::new(1);
    }
}

/// The first nightly run for a sync configured to start on `date`: 01:00 on
/// that date, or, when that instant has passed (a past date means back-fill),
/// the next 01:00 after `now`.
pub fn first_nightly_run(tz: Tz, date: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    let just_before_date = tz
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc) - chrono::Duration::seconds(1))
        .unwrap_or(now);
    next_nightly_run(tz, just_before_date.max(now))
}

/// Tomorrow's date in `tz` (the default first sync date).
pub fn tomorrow(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive() + Days::new(1)
}

/// Parses an IANA time zone name, falling back to Europe/Madrid (the product's
/// home) for an unknown name, which is logged.
pub fn portal_time_zone(name: &str) -> Tz {
    name.parse().unwrap_or_else(|_| {
        tracing::warn!(time_zone = name, "unknown time zone; using Europe/Madrid");
        chrono_tz::Europe::Madrid
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn madrid_winter_and_summer() {
        let madrid = chrono_tz::Europe::Madrid;
        // 28 Nov 2026, winter (UTC+1): 01:00 local is 00:00 UTC.
        assert_eq!(
            next_nightly_run(madrid, utc("2026-11-28T21:00:00Z")),
            utc("2026-11-29T00:00:00Z")
        );
        // July, summer (UTC+2): 01:00 local is 23:00 UTC the day before.
        assert_eq!(
            next_nightly_run(madrid, utc("2026-07-01T10:00:00Z")),
            utc("2026-07-01T23:00:00Z")
        );
        // Exactly at the run instant: the next one is a day later.
        assert_eq!(
            next_nightly_run(madrid, utc("2026-11-29T00:00:00Z")),
            utc("2026-11-30T00:00:00Z")
        );
    }

    #[test]
    fn first_run_honours_the_configured_date() {
        let madrid = chrono_tz::Europe::Madrid;
        let now = utc("2026-11-28T21:00:00Z");
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // A future date: 01:00 local on that date.
        assert_eq!(
            first_nightly_run(madrid, date("2026-12-05"), now),
            utc("2026-12-05T00:00:00Z")
        );
        // Today or a past date (back-fill): the next 01:00 from now.
        for past in ["2026-11-28", "2025-01-01"] {
            assert_eq!(
                first_nightly_run(madrid, date(past), now),
                utc("2026-11-29T00:00:00Z")
            );
        }
        assert_eq!(tomorrow(madrid, now), date("2026-11-29"));
        // 23:30 UTC on the 28th is already the 29th in Madrid.
        assert_eq!(
            tomorrow(madrid, utc("2026-11-28T23:30:00Z")),
            date("2026-11-30")
        );
    }

    #[test]
    fn across_daylight_saving_changes() {
        let madrid = chrono_tz::Europe::Madrid;
        // Clocks go forward on 29 Mar 2026 at 02:00: the night before runs at
        // 00:00 UTC, the night after at 23:00 UTC.
        assert_eq!(
            next_nightly_run(madrid, utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T00:00:00Z")
        );
        assert_eq!(
            next_nightly_run(madrid, utc("2026-03-29T00:00:00Z")),
            utc("2026-03-29T23:00:00Z")
        );
        // Havana moves its clocks at 01:00 itself: 01:00 does not exist on the
        // spring day, so the run happens at the first instant after the jump.
        let havana = chrono_tz::America::Havana;
        let run = next_nightly_run(havana, utc("2026-03-08T00:00:00Z"));
        assert_eq!(run, utc("2026-03-08T05:00:00Z"));
    }
}
