//! The one way a duration reads, on screen and in action outcomes alike
//! (model is the lowest layer both the app and the UI may use).

use std::time::Duration;

/// A run, step or wait duration: "42s", "1m 05s", "1h 02m", and past a day
/// "2d 03h" (minutes no longer matter then).
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
        s => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(65)), "1m 05s");
        assert_eq!(duration(Duration::from_secs(3_720)), "1h 02m");
        assert_eq!(duration(Duration::from_secs(86_399)), "23h 59m");
    }

    #[test]
    fn past_a_day_durations_read_in_days_and_hours() {
        assert_eq!(duration(Duration::from_secs(86_400)), "1d 00h");
        assert_eq!(
            duration(Duration::from_secs(2 * 86_400 + 3 * 3_600 + 59)),
            "2d 03h"
        );
    }
}
