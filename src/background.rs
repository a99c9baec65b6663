//! Background threads (the feed scheduler, the watch loop, the notifier) run at a lower CPU
//! priority than the threads answering queries, so that a long ingest or a re-indexing burst
//! never starves the API on a small machine. Linux nice values are per thread and inherited by
//! the threads a thread starts (an ingest's parse thread).
//!
//! `CASCADE_BACKGROUND_NICE` overrides the value (0 keeps background threads at the API's
//! priority; the test suite does so, since many processes share its machine's cores).

/// Nice value of background threads (0 is the default, 19 the lowest priority).
pub const BACKGROUND_NICE: i32 = 10;
pub const BACKGROUND_NICE_ENV: &str = "CASCADE_BACKGROUND_NICE";

/// The configured nice value: the environment's when it is a number in 0..=19.
fn nice() -> i32 {
    std::env::var(BACKGROUND_NICE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|n| (0..=19).contains(n))
        .unwrap_or(BACKGROUND_NICE)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::raw::{c_int, c_uint};

    /// `PRIO_PROCESS`: with a thread id as `who`, Linux applies the value to that thread.
    pub const PRIO_PROCESS: c_int = 0;

    extern "C" {
        pub fn setpriority(which: c_int, who: c_uint, prio: c_int) -> c_int;
        pub fn gettid() -> c_int;
    }
}

/// Lowers the calling thread's priority to [`BACKGROUND_NICE`] (or the environment's value);
/// logs and carries on when the system refuses.
pub fn lower_thread_priority() {
    let nice = nice();
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: both calls take plain integers and touch no memory of ours; gettid cannot
        // fail, and setpriority's failure is reported through its return value.
        let result = unsafe { sys::setpriority(sys::PRIO_PROCESS, sys::gettid() as u32, nice) };
        if result != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower a background thread's priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_lowered_thread_runs_at_the_background_nice_value() {
        let nice = std::thread::spawn(|| {
            if std::env::var_os(super::BACKGROUND_NICE_ENV).is_some() {
                return super::BACKGROUND_NICE;
            }
            super::lower_thread_priority();
            // Field 19 of /proc/thread-self/stat is the nice value (after the command name).
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            after_name.split(' ').nth(16).unwrap().parse::<i32>().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(nice, super::BACKGROUND_NICE);
    }
}
