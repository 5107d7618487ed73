//! UTC calendar dates and times for records, serials and registry dates, without a time zone
//! database: proleptic Gregorian days since 1970-01-01 (H. Hinnant's algorithms).

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a time (seconds since 1970, UTC).
pub fn date(time: i64) -> String {
    let (y, m, d) = civil_from_days(time.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD hh:mm:ss` of a time (seconds since 1970, UTC).
pub fn date_time(time: i64) -> String {
    let rem = time.rem_euclid(DAY);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(time),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Reads `YYYY-MM-DD` (four-digit year, two-digit month and day) as the day's first second,
/// refusing dates that do not exist (`2026-02-30`).
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &text[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    (civil_from_days(days) == (year, month as u32, day as u32)).then_some(days * DAY)
}

/// The same day of the month `months` later (or the month's last day when it is shorter), at
/// the same time of day.
pub fn add_months(time: i64, months: i64) -> i64 {
    let (y, m, d) = civil_from_days(time.div_euclid(DAY));
    let index = y * 12 + i64::from(m) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    let mut day = d;
    while civil_from_days(days_from_civil(year, month, day)).1 != month {
        day -= 1;
    }
    days_from_civil(year, month, day) * DAY + time.rem_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(1_795_251_600), "2026-11-21 09:00:00");
        assert_eq!(parse_date("2026-11-21"), Some(1_795_219_200));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-2-3"), None);
        assert_eq!(parse_date("+026-02-03"), None);
        assert_eq!(
            date(add_months(parse_date("2024-01-31").unwrap(), 1)),
            "2024-02-29"
        );
        assert_eq!(
            date(add_months(parse_date("2026-11-29").unwrap(), 12)),
            "2027-11-29"
        );
        assert_eq!(
            date(add_months(parse_date("2026-11-29").unwrap(), -11)),
            "2025-12-29"
        );
    }
}
