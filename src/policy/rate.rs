//! The per-namespace request rate of locked deployments: a token bucket that lives in the
//! namespace's Durable Object (in memory: a restart only refills it). Only requests that
//! carried the namespace's credential take a token, so strangers cannot throttle a team.

use super::deployment::RateLimit;

#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    /// Host time of the last refill, epoch milliseconds.
    at_ms: i64,
}

impl TokenBucket {
    pub fn new(limit: RateLimit, now_ms: i64) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.burst,
            at_ms: now_ms,
        }
    }

    /// Whether a token is there now (nothing is taken).
    pub fn has_room(&self, now_ms: i64) -> bool {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst) >= 1.0
    }

    /// Takes a token; `Err(seconds)` says how long until one is there.
    pub fn take(&mut self, now_ms: i64) -> Result<(), u64> {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        self.at_ms = now_ms.max(self.at_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.limit.per_second)
                .ceil()
                .max(1.0) as u64)
        }
    }

    /// The same bucket under a (possibly changed) limit.
    pub fn with_limit(mut self, limit: RateLimit) -> TokenBucket {
        self.limit = limit;
        self.tokens = self.tokens.min(limit.burst);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limit = RateLimit {
            per_second: 2.0,
            burst: 3.0,
        };
        let mut bucket = TokenBucket::new(limit, 0);
        for _ in 0..3 {
            assert_eq!(bucket.take(0), Ok(()));
        }
        assert!(!bucket.has_room(0));
        assert_eq!(bucket.take(0), Err(1));
        assert!(bucket.has_room(500));
        assert_eq!(bucket.take(499), Err(1));
        assert_eq!(bucket.take(500), Ok(()));
        assert!(bucket.take(500).is_err());
        assert_eq!(
            bucket.take(60_000),
            Ok(()),
            "refilled, but never above the burst"
        );
        assert_eq!(bucket.take(60_000), Ok(()));
        assert_eq!(bucket.take(60_000), Ok(()));
        assert!(bucket.take(60_000).is_err());
    }
}
