//! Fuzz target `http_headers`: the input (lossy UTF-8) as the response headers cascade reads
//! from registries and feeds: `Retry-After` (`http::parse_retry_after`, `http::retry_delay`)
//! and HTTP dates (`http::parse_http_date`). Property: `retry_delay` never exceeds its cap.
#![no_main]

use std::time::{Duration, SystemTime};

use cascade::http::{parse_http_date, parse_retry_after, retry_delay};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_000_000);
    let _ = parse_http_date(&value);
    let _ = parse_retry_after(&value, now);
    let _ = parse_retry_after(&value, SystemTime::UNIX_EPOCH);
    let max_wait = Duration::from_secs(300);
    for attempt in [0, 1, 7, 63, 64, u32::MAX] {
        let delay = retry_delay(Some(&value), attempt, max_wait, now);
        assert!(delay <= max_wait, "retry_delay {delay:?} over the {max_wait:?} cap");
    }
});
