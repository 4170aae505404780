//! A customer's subscription and its lifecycle: the states a subscription passes through,
//! the transitions the control API may make (the SNS actions `subscribe-success`,
//! `subscribe-fail`, `unsubscribe-pending`, `unsubscribe-success`), and whether usage of the
//! customer is accepted at a given time.
//!
//! Layer: domain. Pure rules; the namespace clock's "now" is always passed in.

use serde::{Deserialize, Serialize};

use super::time::Instant;

/// How long after `unsubscribe-pending` final records are still accepted (docs/decisions.md).
pub const FINAL_REPORTING_WINDOW_MS: i64 = 3_600_000;

/// Where a customer's subscription stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionState {
    /// The buyer has started subscribing; no `subscribe-success` yet.
    Pending,
    /// After `subscribe-success`: usage is accepted.
    #[default]
    Subscribed,
    /// After `subscribe-fail` (payment failed): no usage.
    SubscribeFailed,
    /// After `unsubscribe-pending`: one final hour of usage.
    UnsubscribePending,
    /// After `unsubscribe-success`: no usage.
    Unsubscribed,
}

/// A lifecycle action: the `action` of the subscription topic's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleAction {
    SubscribeSuccess,
    SubscribeFail,
    UnsubscribePending,
    UnsubscribeSuccess,
}

impl LifecycleAction {
    pub fn name(self) -> &'static str {
        match self {
            LifecycleAction::SubscribeSuccess => "subscribe-success",
            LifecycleAction::SubscribeFail => "subscribe-fail",
            LifecycleAction::UnsubscribePending => "unsubscribe-pending",
            LifecycleAction::UnsubscribeSuccess => "unsubscribe-success",
        }
    }
}

impl SubscriptionState {
    /// The state after `action`, or why the action makes no sense now. A buyer may
    /// re-subscribe at any point after subscribing ended or failed, and before
    /// `unsubscribe-success` (then AWS skips that message and sends `subscribe-success`).
    pub fn after(self, action: LifecycleAction) -> Result<SubscriptionState, String> {
        use LifecycleAction as A;
        use SubscriptionState as S;
        match (self, action) {
            (
                S::Pending | S::SubscribeFailed | S::UnsubscribePending | S::Unsubscribed,
                A::SubscribeSuccess,
            ) => Ok(S::Subscribed),
            (S::Pending | S::SubscribeFailed | S::Unsubscribed, A::SubscribeFail) => {
                Ok(S::SubscribeFailed)
            }
            (S::Subscribed, A::UnsubscribePending) => Ok(S::UnsubscribePending),
            (S::Subscribed | S::UnsubscribePending, A::UnsubscribeSuccess) => Ok(S::Unsubscribed),
            (state, action) => Err(format!(
                "{} does not apply to a subscription that is {}",
                action.name(),
                state.describe()
            )),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SubscriptionState::Pending => "pending",
            SubscriptionState::Subscribed => "subscribed",
            SubscriptionState::SubscribeFailed => "subscribe-failed",
            SubscriptionState::UnsubscribePending => "unsubscribe-pending",
            SubscriptionState::Unsubscribed => "unsubscribed",
        }
    }

    /// Whether the customer's entitlements are current, so GetEntitlements lists them: from
    /// `subscribe-success` until `unsubscribe-success` ends the agreement (the pending
    /// unsubscribe included, whatever the time: the contract still runs).
    pub fn grants_entitlements(self) -> bool {
        matches!(
            self,
            SubscriptionState::Subscribed | SubscriptionState::UnsubscribePending
        )
    }

    /// Whether usage of the customer is accepted at `now`; `since` is when the state began.
    pub fn accepts_usage(self, since: Option<Instant>, now: Instant) -> bool {
        match self {
            SubscriptionState::Subscribed => true,
            SubscriptionState::UnsubscribePending => {
                since.is_none_or(|s| now.0 < s.0.saturating_add(FINAL_REPORTING_WINDOW_MS))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleAction as A;
    use SubscriptionState as S;

    #[test]
    fn the_documented_lifecycle_is_allowed() {
        let mut s = S::Pending;
        for action in [
            A::SubscribeSuccess,
            A::UnsubscribePending,
            A::UnsubscribeSuccess,
        ] {
            s = s.after(action).unwrap();
        }
        assert_eq!(s, S::Unsubscribed);
        assert_eq!(s.after(A::SubscribeSuccess), Ok(S::Subscribed));
    }

    #[test]
    fn resubscribing_during_the_final_hour_skips_unsubscribe_success() {
        assert_eq!(
            S::UnsubscribePending.after(A::SubscribeSuccess),
            Ok(S::Subscribed)
        );
    }

    #[test]
    fn senseless_transitions_are_refused_with_a_reason() {
        for (state, action) in [
            (S::Subscribed, A::SubscribeSuccess),
            (S::Subscribed, A::SubscribeFail),
            (S::Pending, A::UnsubscribePending),
            (S::Unsubscribed, A::UnsubscribeSuccess),
            (S::Pending, A::UnsubscribeSuccess),
            (S::UnsubscribePending, A::UnsubscribePending),
        ] {
            let reason = state.after(action).unwrap_err();
            assert!(reason.contains(action.name()), "{reason}");
        }
    }

    #[test]
    fn usage_is_accepted_for_one_hour_after_unsubscribe_pending() {
        let at = Instant(1_000_000_000_000);
        let s = S::UnsubscribePending;
        assert!(s.accepts_usage(Some(at), at));
        assert!(s.accepts_usage(Some(at), Instant(at.0 + FINAL_REPORTING_WINDOW_MS - 1)));
        assert!(!s.accepts_usage(Some(at), Instant(at.0 + FINAL_REPORTING_WINDOW_MS)));
    }

    #[test]
    fn only_subscribed_customers_are_metered_otherwise() {
        let now = Instant(0);
        assert!(S::Subscribed.accepts_usage(None, now));
        for s in [S::Pending, S::SubscribeFailed, S::Unsubscribed] {
            assert!(!s.accepts_usage(None, now), "{s:?}");
        }
    }

    #[test]
    fn entitlements_are_current_while_subscribed_or_unsubscribe_pending() {
        assert!(S::Subscribed.grants_entitlements());
        assert!(S::UnsubscribePending.grants_entitlements());
        for s in [S::Pending, S::SubscribeFailed, S::Unsubscribed] {
            assert!(!s.grants_entitlements(), "{s:?}");
        }
    }

    #[test]
    fn actions_round_trip_their_names() {
        for a in [
            A::SubscribeSuccess,
            A::SubscribeFail,
            A::UnsubscribePending,
            A::UnsubscribeSuccess,
        ] {
            assert_eq!(serde_json::to_value(a).unwrap(), a.name());
            assert_eq!(serde_json::from_value::<A>(a.name().into()).unwrap(), a);
        }
        assert!(serde_json::from_value::<A>("entitlement-updated".into()).is_err());
    }
}
