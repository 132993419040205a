//! How retention writes times and durations for people (in rule
//! descriptions, reasons and reports).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A time as people read it: to the second, in UTC.
pub(crate) fn when(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A duration in the largest whole unit that divides it (`30d`, `12h`,
/// `45m`, else seconds).
pub(crate) fn age(d: Duration) -> String {
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}
