//! When a failed webhook delivery is tried again.

use super::settings::WebhookSettings;
use rand::Rng;
use std::time::Duration;

/// Exponential backoff with jitter: base·2^(n−1) capped, then a random point in its upper half
/// (spreads retries without ever retrying sooner than half the schedule). A receiver's
/// Retry-After is honoured up to the cap.
pub(super) fn retry_delay(
    s: &WebhookSettings,
    attempts: i32,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> chrono::Duration {
    let exp = s.retry_base.saturating_mul(1u32 << (attempts - 1).clamp(0, 20) as u32).min(s.retry_cap);
    let jittered = exp.mul_f64(rng.gen_range(0.5..=1.0));
    let delay = retry_after.map_or(jittered, |r| r.max(jittered)).min(s.retry_cap);
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let s = WebhookSettings {
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(3600),
            ..WebhookSettings::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (attempt, full) in [(1, 5), (2, 10), (3, 20), (5, 80), (10, 2560), (11, 3600), (40, 3600)] {
            for _ in 0..50 {
                let d = retry_delay(&s, attempt, None, &mut rng).num_milliseconds();
                assert!(d >= full * 500 && d <= full * 1000, "attempt {attempt}: {d} ms");
            }
        }
        let honoured = retry_delay(&s, 1, Some(Duration::from_secs(120)), &mut rng);
        assert_eq!(honoured.num_seconds(), 120);
        let capped = retry_delay(&s, 1, Some(Duration::from_secs(86_400)), &mut rng);
        assert_eq!(capped.num_seconds(), 3600);
    }
}
