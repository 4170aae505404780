//! Wrong admin tokens, throttled: a client (its address as the edge names it) may present a
//! wrong admin token `MAX_WRONG_PER_MINUTE` times a minute; beyond that every admin call of
//! that client, with any token, answers 429 until its minute is over, so a guess's answer no
//! longer says whether it was right. The entry worker keeps one tally per isolate, bounded.
//!
//! Layer: policy. Pure: the time is given.

use std::collections::VecDeque;

/// Wrong admin tokens one client may present in a minute.
pub const MAX_WRONG_PER_MINUTE: u32 = 30;
/// Clients a tally remembers; beyond, the least recently wrong is forgotten.
pub const MAX_CLIENTS: usize = 1024;

const MINUTE_MS: i64 = 60_000;

/// Each client's wrong tokens in its current minute.
#[derive(Debug, Default)]
pub struct WrongGuesses {
    /// (client, when its minute began, wrong tokens in it), least recently wrong first.
    clients: VecDeque<(String, i64, u32)>,
}

impl WrongGuesses {
    /// Seconds until `client` may call the admin API again, if it is throttled at `now_ms`.
    pub fn throttled(&self, client: &str, now_ms: i64) -> Option<u64> {
        let (_, start, wrong) = self.clients.iter().find(|(c, _, _)| c == client)?;
        let ends = start.saturating_add(MINUTE_MS);
        (*wrong >= MAX_WRONG_PER_MINUTE && now_ms < ends)
            .then(|| u64::try_from((ends - now_ms + 999) / 1000).unwrap_or(1))
    }

    /// Counts a wrong token of `client` at `now_ms`.
    pub fn record(&mut self, client: &str, now_ms: i64) {
        let (start, wrong) = match self.clients.iter().position(|(c, _, _)| c == client) {
            Some(i) => {
                let (_, start, wrong) = self.clients.remove(i).unwrap_or_default();
                match now_ms < start.saturating_add(MINUTE_MS) {
                    true => (start, wrong),
                    false => (now_ms, 0),
                }
            }
            None => (now_ms, 0),
        };
        self.clients
            .push_back((client.to_string(), start, wrong.saturating_add(1)));
        while self.clients.len() > MAX_CLIENTS {
            self.clients.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_throttled_for_the_rest_of_its_minute_after_too_many_wrong_tokens() {
        let mut g = WrongGuesses::default();
        for _ in 0..MAX_WRONG_PER_MINUTE - 1 {
            g.record("a", 1_000);
        }
        assert_eq!(g.throttled("a", 1_000), None);
        g.record("a", 2_000);
        assert_eq!(g.throttled("a", 2_000), Some(59));
        assert_eq!(g.throttled("b", 2_000), None);
        // The minute over, it may try again, counting afresh.
        assert_eq!(g.throttled("a", 61_000), None);
        g.record("a", 61_000);
        assert_eq!(g.throttled("a", 61_500), None);
    }

    #[test]
    fn the_tally_is_bounded() {
        let mut g = WrongGuesses::default();
        for i in 0..MAX_CLIENTS + 10 {
            g.record(&format!("client-{i}"), 0);
        }
        assert_eq!(g.clients.len(), MAX_CLIENTS);
        assert!(!g.clients.iter().any(|(c, _, _)| c == "client-0"));
    }
}
