//! Calendar dates for document data: today in UTC, ages, days between (epoch arithmetic from
//! the `mrz` crate).

use serde::Serialize;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Ymd {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Ymd {
    /// Today's date in UTC.
    pub fn today() -> Ymd {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Ymd::from_days(secs.div_euclid(86_400))
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        mrz::Date::new(self.year, self.month, self.day).to_epoch_days()
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Ymd {
        let d = mrz::Date::from_epoch_days(days);
        Ymd {
            year: d.year,
            month: d.month,
            day: d.day,
        }
    }

    /// Whole years from `self` to `on` (an age).
    pub fn years_until(&self, on: Ymd) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Ymd> {
        let mut it = s.splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month = it.next()?.parse().ok()?;
        let day = it.next()?.parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Ymd { year, month, day })
    }
}

impl std::fmt::Display for Ymd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_days() {
        for d in [-800_000i64, -1, 0, 1, 19_000, 20_000, 60_000] {
            assert_eq!(Ymd::from_days(d).days(), d);
        }
        assert_eq!(Ymd::parse("2000-03-01").unwrap().days(), 11_017);
    }

    #[test]
    fn computes_age() {
        let dob = Ymd::parse("1974-08-12").unwrap();
        assert_eq!(dob.years_until(Ymd::parse("2026-08-11").unwrap()), 51);
        assert_eq!(dob.years_until(Ymd::parse("2026-08-12").unwrap()), 52);
    }
}
