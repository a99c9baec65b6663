//! HTTP client helpers shared by every outgoing client (registries, feeds, later webhooks):
//! which failures to retry, how long to wait (`Retry-After` or exponential backoff) and HTTP
//! date parsing. Pure functions; no client lives here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First backoff wait when the server gave no `Retry-After`; doubles per attempt.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

/// True for statuses worth another attempt: 429 and 5xx.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501 && status != 505
}

/// True for transport failures worth another attempt (I/O, timeouts, refused connections).
pub fn is_transient(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed)
}

/// `INITIAL_BACKOFF * 2^(attempt-1)`.
pub fn backoff(attempt: u32) -> Duration {
    INITIAL_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
}

/// How long to wait before the next attempt: `Retry-After` (seconds or an HTTP date) when
/// present and valid, else exponential backoff; never more than `max_wait`.
pub fn retry_delay(retry_after: Option<&str>, attempt: u32, max_wait: Duration, now: SystemTime) -> Duration {
    retry_after.and_then(|v| parse_retry_after(v, now)).unwrap_or_else(|| backoff(attempt)).min(max_wait)
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses the three HTTP date formats (RFC 9110 §5.6.7): IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`).
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (day, month, year, time) = match parts.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, year.parse::<i64>().ok()?, *time),
        [_, date, time, "GMT"] => {
            let mut fields = date.split('-');
            let (day, month, yy) = (fields.next()?, fields.next()?, fields.next()?.parse::<i64>().ok()?);
            if fields.next().is_some() {
                return None;
            }
            let year = if yy < 100 {
                if yy < 70 {
                    2000 + yy
                } else {
                    1900 + yy
                }
            } else {
                yy
            };
            (day, month, year, *time)
        }
        [_, month, day, time, year] => (*day, *month, year.parse::<i64>().ok()?, *time),
        _ => return None,
    };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let mut hms = time.split(':').map(|f| f.parse::<u32>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days * 86_400 + i64::from(h * 3600 + m * 60 + sec)).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the usual era/day-of-era method).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let cases = [
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("0", Some(0)),
            ("Sun, 06 Nov 1994 08:49:47 GMT", Some(10)),
            ("Sunday, 06-Nov-94 08:50:37 GMT", Some(60)),
            ("Sun Nov  6 08:49:40 1994", Some(3)),
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
            ("-1", None),
            ("1.5", None),
            ("soon", None),
            ("Sun, 06 Foo 1994 08:49:47 GMT", None),
            ("Sun, 06 Nov 1994 25:49:47 GMT", None),
            ("", None),
        ];
        for (value, secs) in cases {
            assert_eq!(parse_retry_after(value, now), secs.map(Duration::from_secs), "{value:?}");
        }
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_835_438_400))
        );
    }

    #[test]
    fn retry_delay_honours_retry_after_then_backs_off_and_caps() {
        let now = SystemTime::now();
        let cap = Duration::from_secs(30);
        assert_eq!(retry_delay(Some("1"), 1, cap, now), Duration::from_secs(1));
        assert_eq!(retry_delay(Some("3600"), 1, cap, now), cap);
        assert_eq!(retry_delay(None, 1, cap, now), Duration::from_millis(500));
        assert_eq!(retry_delay(None, 2, cap, now), Duration::from_secs(1));
        assert_eq!(retry_delay(Some("garbage"), 3, cap, now), Duration::from_secs(2));
        assert_eq!(retry_delay(None, 40, cap, now), cap);
        assert_eq!(retry_delay(None, 1, Duration::ZERO, now), Duration::ZERO);
    }

    #[test]
    fn retryable_statuses() {
        for (status, retry) in [
            (429, true),
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (501, false),
            (505, false),
            (404, false),
            (401, false),
            (200, false),
        ] {
            assert_eq!(is_retryable_status(status), retry, "{status}");
        }
    }
}
