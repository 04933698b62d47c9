//! Times as the dialects print them.

/// `YYYY-MM-DD HH:MM:SS` in UTC, as the Kairos examples print times.
pub fn timestamp() -> String {
    timestamp_at(idv_store::now_ms())
}

/// [`timestamp`] of `ms` milliseconds since the Unix epoch.
pub fn timestamp_at(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS +00:00`, as LINK's `/ping` prints its date.
pub fn link_date() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] +00:00"
        ))
        .unwrap_or_default()
}

/// `D:YYYYMMDDHHMMSSZ`, the PDF date of a signature.
pub fn pdf_date() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "D:[year][month][day][hour][minute][second]Z"
        ))
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn unix() -> u64 {
    idv_store::now_ms() / 1000
}
