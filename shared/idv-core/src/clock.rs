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

/// Milliseconds since the Unix epoch of a [`timestamp`], or `None` if `ts` is not one.
pub fn parse(ts: &str) -> Option<u64> {
    let (date, clock) = ts.split_once(' ')?;
    let num = |s: Option<&str>| s?.parse::<u16>().ok();
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next())?, num(d.next())?, num(d.next())?);
    let mut c = clock.split(':');
    let (h, min, sec) = (num(c.next())?, num(c.next())?, num(c.next())?);
    let date = time::Date::from_calendar_date(
        i32::from(y),
        time::Month::try_from(u8::try_from(m).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(min).ok()?,
        u8::try_from(sec).ok()?,
    )
    .ok()?;
    let at = time::PrimitiveDateTime::new(date, t).assume_utc();
    u64::try_from(at.unix_timestamp()).ok().map(|s| s * 1000)
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_timestamp_reads_back() {
        let ms = 1_764_000_000_000;
        assert_eq!(super::parse(&super::timestamp_at(ms)), Some(ms));
        assert_eq!(super::parse("2026-13-01 00:00:00"), None);
        assert_eq!(super::parse("yesterday"), None);
    }
}
