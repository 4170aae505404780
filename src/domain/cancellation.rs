//! Cancellation requests: the seller asks to end an agreement, the buyer approves or rejects
//! it, the seller may withdraw it, and a request left pending is approved after
//! `AUTO_APPROVAL_DAYS` (as AWS documents). The namespace keeps its most recent
//! `MAX_CANCELLATION_REQUESTS`, every pending one among them.
//!
//! Layer: domain. Pure.

use serde::{Deserialize, Serialize};

use super::kept::{add_bounded, Settles};
use super::time::Instant;

/// Cancellation requests a namespace keeps (pending ones are never forgotten).
pub const MAX_CANCELLATION_REQUESTS: usize = 100;
/// Days after which a pending request is approved.
pub const AUTO_APPROVAL_DAYS: i64 = 7;

/// Where a cancellation request stands (the model's `AgreementCancellationRequestStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancellationStatus {
    PendingApproval,
    Approved,
    Rejected,
    Cancelled,
}

impl CancellationStatus {
    pub fn name(self) -> &'static str {
        match self {
            CancellationStatus::PendingApproval => "PENDING_APPROVAL",
            CancellationStatus::Approved => "APPROVED",
            CancellationStatus::Rejected => "REJECTED",
            CancellationStatus::Cancelled => "CANCELLED",
        }
    }

    /// The moment's name in the event log.
    pub fn action(self) -> &'static str {
        match self {
            CancellationStatus::PendingApproval => "cancellation-request-pending-approval",
            CancellationStatus::Approved => "cancellation-request-approved",
            CancellationStatus::Rejected => "cancellation-request-rejected",
            CancellationStatus::Cancelled => "cancellation-request-cancelled",
        }
    }

    /// The words of its EventBridge detail-type (`Agreement Cancellation Request <these> -
    /// Proposer`).
    pub fn event_words(self) -> &'static str {
        match self {
            CancellationStatus::PendingApproval => "Pending Approval",
            CancellationStatus::Approved => "Approved",
            CancellationStatus::Rejected => "Rejected",
            CancellationStatus::Cancelled => "Cancelled",
        }
    }
}

/// A seller's request to cancel an agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationRequest {
    pub id: String,
    pub agreement_id: String,
    pub product_code: String,
    pub reason_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: CancellationStatus,
    /// Why it was withdrawn or rejected, or how it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// Who sent it: a 12-digit account, or the wildcard caller's key (as agreement requests).
    pub requester: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// A digest of the request's members but its client token: a retry has the same.
    pub fingerprint: String,
}

impl CancellationRequest {
    /// When a pending request is approved by itself.
    pub fn auto_approval_at(&self) -> Instant {
        self.created_at.plus_seconds(AUTO_APPROVAL_DAYS * 86_400)
    }

    pub fn is_pending(&self) -> bool {
        self.status == CancellationStatus::PendingApproval
    }
}

impl Settles for CancellationRequest {
    fn is_pending(&self) -> bool {
        CancellationRequest::is_pending(self)
    }
}

/// The namespace's cancellation requests, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CancellationRequests(pub Vec<CancellationRequest>);

impl CancellationRequests {
    pub fn get(&self, id: &str) -> Option<&CancellationRequest> {
        self.0.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut CancellationRequest> {
        self.0.iter_mut().find(|r| r.id == id)
    }

    /// The pending request of `agreement_id`, if any (one at a time).
    pub fn pending_for(&self, agreement_id: &str) -> Option<&CancellationRequest> {
        self.0
            .iter()
            .find(|r| r.agreement_id == agreement_id && r.is_pending())
    }

    /// Keeps `request`; beyond `MAX_CANCELLATION_REQUESTS` the oldest settled ones are
    /// forgotten. `false` (nothing kept) when every kept request is pending.
    pub fn add(&mut self, request: CancellationRequest) -> bool {
        add_bounded(&mut self.0, vec![request], MAX_CANCELLATION_REQUESTS)
    }

    /// When the earliest pending request is approved by itself, if any is pending.
    pub fn next_auto_approval(&self) -> Option<Instant> {
        self.0
            .iter()
            .filter(|r| r.is_pending())
            .map(CancellationRequest::auto_approval_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, status: CancellationStatus, at: i64) -> CancellationRequest {
        CancellationRequest {
            id: id.into(),
            agreement_id: format!("agmt-{id}"),
            product_code: "p".into(),
            reason_code: "OTHER".into(),
            description: None,
            status,
            status_message: None,
            created_at: Instant(at),
            updated_at: Instant(at),
            requester: "999988887777".into(),
            client_token: None,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn settled_requests_make_room_and_pending_ones_are_kept() {
        let mut requests = CancellationRequests::default();
        for i in 0..MAX_CANCELLATION_REQUESTS {
            let status = match i {
                0 => CancellationStatus::PendingApproval,
                _ => CancellationStatus::Rejected,
            };
            assert!(requests.add(request(&format!("acr-{i}"), status, i as i64)));
        }
        assert!(requests.add(request("acr-new", CancellationStatus::PendingApproval, 500)));
        assert!(requests.get("acr-0").is_some() && requests.get("acr-1").is_none());
        assert_eq!(requests.0.len(), MAX_CANCELLATION_REQUESTS);
        assert_eq!(
            requests.next_auto_approval(),
            Some(Instant(AUTO_APPROVAL_DAYS * 86_400_000))
        );
        let full = CancellationRequests(
            (0..MAX_CANCELLATION_REQUESTS)
                .map(|i| request(&format!("acr-p{i}"), CancellationStatus::PendingApproval, 0))
                .collect(),
        );
        let mut full = full;
        assert!(!full.add(request("acr-x", CancellationStatus::PendingApproval, 0)));
        assert!(full.pending_for("agmt-acr-p3").is_some());
    }
}
