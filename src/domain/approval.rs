//! Buyer approvals: a namespace setting lists the approval plans a buyer's organization
//! requires (`approvalPlans`). An agreement request of a buyer a plan applies to is a
//! `DRAFT` until the buyer starts an approval per plan; each approval walks its levels in
//! order — a level is approved once its required count of approvers approve, and its other
//! approvers are skipped — and one rejection rejects it. The organization's administrators
//! decide, as the organization approver or on another approver's behalf. An approval not
//! decided within `APPROVAL_DAYS` expires.
//!
//! Layer: domain. Pure.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kept::{add_bounded, Settles};
use super::names::TwelveDigitAccountId;
use super::time::Instant;

/// Plans a namespace lists at most (the model's `AgreementApprovalPlans` maximum).
pub const MAX_PLANS: usize = 10;
/// Levels a plan has at most, approvers a level has at most (the model's maxima).
pub const MAX_LEVELS: usize = 6;
pub const MAX_APPROVERS: usize = 10;
/// Days an approval may wait for its decisions before it expires.
pub const APPROVAL_DAYS: i64 = 30;
/// Approvals a namespace keeps (pending ones are never forgotten).
pub const MAX_APPROVALS: usize = 200;

/// An approver of a plan: an email address, a procurement system, or the administrators of
/// the buyer's AWS organization; exactly one member is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanApprover {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// The approver's name (an email approver's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procurement_tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

/// Who an approver is, once checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApproverKind {
    Email {
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    ProcurementTool {
        name: String,
    },
    Organization {
        organization_id: String,
    },
}

impl PlanApprover {
    pub fn kind(&self) -> Result<ApproverKind, String> {
        let short = |s: &str| !s.is_empty() && s.chars().count() <= 255;
        let name_ok = self.name.as_deref().is_none_or(short);
        match (&self.email_address, &self.procurement_tool, &self.organization_id) {
            (Some(address), None, None) if is_email(address) && name_ok => Ok(ApproverKind::Email {
                address: address.clone(),
                name: self.name.clone(),
            }),
            (None, Some(tool), None) if short(tool) && self.name.is_none() => {
                Ok(ApproverKind::ProcurementTool { name: tool.clone() })
            }
            (None, None, Some(id)) if is_organization_id(id) && self.name.is_none() => {
                Ok(ApproverKind::Organization {
                    organization_id: id.clone(),
                })
            }
            _ => Err("an approver is one of {\"emailAddress\": \"cfo@example.com\", \"name\"?}, {\"procurementTool\": \"Coupa\"} or {\"organizationId\": \"o-abcdefghij\"}".into()),
        }
    }
}

/// The model's `EmailAddress` pattern: `local@domain.tld`.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    text.len() <= 255
        && !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b))
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The model's `OrganizationId` pattern: `o-` and 10-32 lowercase letters or digits.
fn is_organization_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// A level of a plan: its approvers, of whom `required_approvals` must approve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "one")]
    pub required_approvals: u32,
    pub approvers: Vec<PlanApprover>,
}

fn one() -> u32 {
    1
}

/// An approval plan a buyer's organization requires (the `approvalPlans` setting).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalPlan {
    pub name: String,
    /// The buyers it applies to; none: every buyer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buyer_accounts: Vec<TwelveDigitAccountId>,
    /// The accounts that decide for the organization (its management account or delegated
    /// administrators).
    pub administrators: Vec<TwelveDigitAccountId>,
    pub levels: Vec<PlanLevel>,
}

impl ApprovalPlan {
    /// `aplan-` and 20 hex digits of a digest of its name: stable while the name is.
    pub fn reference(&self) -> String {
        let digest = hex::encode(Sha256::digest(format!("plan\u{0}{}", self.name)));
        format!("aplan-{}", &digest[..20])
    }

    /// Whether the plan applies to a request of `requester` (a 12-digit account, or the
    /// wildcard caller's key, to which only plans for every buyer apply).
    pub fn applies_to(&self, requester: &str) -> bool {
        self.buyer_accounts.is_empty() || self.buyer_accounts.iter().any(|b| **b == *requester)
    }

    pub fn check(&self, n: usize) -> Result<(), String> {
        let at = format!("approvalPlans[{n}]");
        if self.name.is_empty() || self.name.chars().count() > 255 {
            return Err(format!("{at}.name: 1-255 characters"));
        }
        if self.buyer_accounts.len() > 100 {
            return Err(format!("{at}.buyerAccounts: at most 100"));
        }
        if self.administrators.is_empty() || self.administrators.len() > 10 {
            return Err(format!("{at}.administrators: 1-10 12-digit accounts (the organization's management account or delegated administrators, who decide)"));
        }
        if self.levels.is_empty() || self.levels.len() > MAX_LEVELS {
            return Err(format!("{at}.levels: 1-{MAX_LEVELS} levels"));
        }
        for (l, level) in self.levels.iter().enumerate() {
            let at = format!("{at}.levels[{l}]");
            if level
                .name
                .as_ref()
                .is_some_and(|n| n.is_empty() || n.chars().count() > 255)
            {
                return Err(format!("{at}.name: 1-255 characters"));
            }
            let count = level.approvers.len();
            if count == 0 || count > MAX_APPROVERS {
                return Err(format!("{at}.approvers: 1-{MAX_APPROVERS} approvers"));
            }
            if level.required_approvals == 0 || level.required_approvals as usize > count {
                return Err(format!(
                    "{at}.requiredApprovals: 1 to the level's {count} approvers"
                ));
            }
            for approver in &level.approvers {
                approver
                    .kind()
                    .map_err(|e| format!("{at}.approvers: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Checks the `approvalPlans` setting: at most `MAX_PLANS`, each valid, names unique.
pub fn check_plans(plans: &[ApprovalPlan]) -> Result<(), String> {
    if plans.len() > MAX_PLANS {
        return Err(format!("approvalPlans: at most {MAX_PLANS} plans"));
    }
    for (n, plan) in plans.iter().enumerate() {
        plan.check(n)?;
        if plans[..n].iter().any(|p| p.name == plan.name) {
            return Err(format!(
                "approvalPlans[{n}].name: '{}' is listed twice",
                plan.name
            ));
        }
    }
    Ok(())
}

/// Where an approval stands (the model's `AgreementApprovalStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    PendingApproval,
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

impl ApprovalStatus {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalStatus::PendingApproval => "PENDING_APPROVAL",
            ApprovalStatus::Approved => "APPROVED",
            ApprovalStatus::Rejected => "REJECTED",
            ApprovalStatus::Expired => "EXPIRED",
            ApprovalStatus::Cancelled => "CANCELLED",
        }
    }
}

/// Where one approver's decision stands (the model's `ApproverOutcomeStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeStatus {
    Queued,
    PendingApproval,
    Approved,
    Rejected,
    Expired,
    Skipped,
}

impl OutcomeStatus {
    pub fn name(self) -> &'static str {
        match self {
            OutcomeStatus::Queued => "QUEUED",
            OutcomeStatus::PendingApproval => "PENDING_APPROVAL",
            OutcomeStatus::Approved => "APPROVED",
            OutcomeStatus::Rejected => "REJECTED",
            OutcomeStatus::Expired => "EXPIRED",
            OutcomeStatus::Skipped => "SKIPPED",
        }
    }
}

/// One approver's decision in an approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `aprout-…`
    pub id: String,
    pub approver: ApproverKind,
    pub status: OutcomeStatus,
    pub updated_at: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The purchase orders given with the decision: (charge id, reference if any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purchase_orders: Vec<(String, Option<String>)>,
    /// The principal that decided on the approver's behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
}

/// A level of an approval: its approvers' decisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Level {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub required_approvals: u32,
    pub outcomes: Vec<Outcome>,
}

/// An approval of an agreement request, for one plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementApproval {
    /// `apr-…`
    pub id: String,
    pub name: String,
    pub plan_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_note: Option<String>,
    pub agreement_request_id: String,
    /// The requester's account (or the wildcard caller's key).
    pub requester: String,
    /// The plan's administrators when it started.
    pub administrators: Vec<String>,
    pub status: ApprovalStatus,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub expires_at: Instant,
    pub levels: Vec<Level>,
}

/// Why a decision was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecisionError {
    /// The approval is no longer pending.
    Closed,
    /// The approver's level has not been reached.
    Queued,
    /// No such approver, or (without one named) no organization approver at the level.
    NoSuchApprover,
    /// The approver has decided already (or was skipped).
    Decided,
}

impl AgreementApproval {
    /// A new approval of `plan` for request `request_id`, its first level's approvers
    /// pending; `outcome_ids` gives each approver's id.
    pub fn start(
        id: String,
        plan: &ApprovalPlan,
        request_id: &str,
        requester: &str,
        note: Option<String>,
        now: Instant,
        outcome_ids: &mut dyn FnMut() -> String,
    ) -> AgreementApproval {
        let levels = plan
            .levels
            .iter()
            .enumerate()
            .map(|(l, level)| Level {
                name: level.name.clone(),
                required_approvals: level.required_approvals,
                outcomes: level
                    .approvers
                    .iter()
                    .filter_map(|a| a.kind().ok())
                    .map(|approver| Outcome {
                        id: outcome_ids(),
                        approver,
                        status: match l {
                            0 => OutcomeStatus::PendingApproval,
                            _ => OutcomeStatus::Queued,
                        },
                        updated_at: now,
                        note: None,
                        purchase_orders: Vec::new(),
                        overridden_by: None,
                    })
                    .collect(),
            })
            .collect();
        AgreementApproval {
            id,
            name: plan.name.clone(),
            plan_reference: plan.reference(),
            requester_note: note,
            agreement_request_id: request_id.to_string(),
            requester: requester.to_string(),
            administrators: plan.administrators.iter().map(|a| a.to_string()).collect(),
            status: ApprovalStatus::PendingApproval,
            created_at: now,
            updated_at: now,
            expires_at: now.plus_seconds(APPROVAL_DAYS * 86_400),
            levels,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.status == ApprovalStatus::PendingApproval
    }

    /// The outcome a decision is for: the one named, else the organization approver of the
    /// level being decided.
    fn target(&self, named: Option<&str>) -> Result<(usize, usize), DecisionError> {
        if !self.is_pending() {
            return Err(DecisionError::Closed);
        }
        let place = |pred: &dyn Fn(&Outcome) -> bool| {
            self.levels
                .iter()
                .enumerate()
                .find_map(|(l, level)| level.outcomes.iter().position(pred).map(|o| (l, o)))
        };
        let (l, o) = match named {
            Some(id) => place(&|o: &Outcome| o.id == id).ok_or(DecisionError::NoSuchApprover)?,
            None => place(&|o: &Outcome| {
                o.status == OutcomeStatus::PendingApproval
                    && matches!(o.approver, ApproverKind::Organization { .. })
            })
            .ok_or(DecisionError::NoSuchApprover)?,
        };
        match self.levels[l].outcomes[o].status {
            OutcomeStatus::PendingApproval => Ok((l, o)),
            OutcomeStatus::Queued => Err(DecisionError::Queued),
            _ => Err(DecisionError::Decided),
        }
    }

    /// Records an approval by the approver `named` (else the organization approver) at
    /// `now`, by `principal` when on its behalf; the level is approved once enough approve
    /// (its other approvers skipped, the next level's pending), the approval once its last
    /// level is.
    pub fn approve(
        &mut self,
        named: Option<&str>,
        principal: Option<String>,
        note: Option<String>,
        purchase_orders: Vec<(String, Option<String>)>,
        now: Instant,
    ) -> Result<(), DecisionError> {
        let (l, o) = self.target(named)?;
        let outcome = &mut self.levels[l].outcomes[o];
        outcome.status = OutcomeStatus::Approved;
        outcome.updated_at = now;
        outcome.note = note;
        outcome.purchase_orders = purchase_orders;
        outcome.overridden_by = principal;
        self.updated_at = now;
        let level = &mut self.levels[l];
        let approved = level
            .outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::Approved)
            .count();
        if approved < level.required_approvals as usize {
            return Ok(());
        }
        settle_rest(&mut level.outcomes, OutcomeStatus::Skipped, now);
        match self.levels.get_mut(l + 1) {
            Some(next) => {
                for outcome in &mut next.outcomes {
                    outcome.status = OutcomeStatus::PendingApproval;
                    outcome.updated_at = now;
                }
            }
            None => self.status = ApprovalStatus::Approved,
        }
        Ok(())
    }

    /// Records a rejection by the approver `named` (else the organization approver): the
    /// approval is rejected, every undecided approver skipped.
    pub fn reject(
        &mut self,
        named: Option<&str>,
        principal: Option<String>,
        note: String,
        now: Instant,
    ) -> Result<(), DecisionError> {
        let (l, o) = self.target(named)?;
        let outcome = &mut self.levels[l].outcomes[o];
        outcome.status = OutcomeStatus::Rejected;
        outcome.updated_at = now;
        outcome.note = Some(note);
        outcome.overridden_by = principal;
        self.close(ApprovalStatus::Rejected, OutcomeStatus::Skipped, now);
        Ok(())
    }

    /// Ends a pending approval with `status`, its undecided approvers `undecided`.
    pub fn close(&mut self, status: ApprovalStatus, undecided: OutcomeStatus, now: Instant) {
        if !self.is_pending() {
            return;
        }
        self.status = status;
        self.updated_at = now;
        for level in &mut self.levels {
            settle_rest(&mut level.outcomes, undecided, now);
        }
    }
}

/// Sets every outcome still queued or pending to `status`.
fn settle_rest(outcomes: &mut [Outcome], status: OutcomeStatus, now: Instant) {
    for outcome in outcomes {
        if matches!(
            outcome.status,
            OutcomeStatus::Queued | OutcomeStatus::PendingApproval
        ) {
            outcome.status = status;
            outcome.updated_at = now;
        }
    }
}

impl Settles for AgreementApproval {
    fn is_pending(&self) -> bool {
        AgreementApproval::is_pending(self)
    }
}

/// The namespace's approvals, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgreementApprovals(pub Vec<AgreementApproval>);

impl AgreementApprovals {
    pub fn get(&self, id: &str) -> Option<&AgreementApproval> {
        self.0.iter().find(|a| a.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut AgreementApproval> {
        self.0.iter_mut().find(|a| a.id == id)
    }

    /// Keeps `approvals`; beyond `MAX_APPROVALS` the oldest settled ones are forgotten.
    /// `false` (nothing kept) when there is no room for them.
    pub fn add(&mut self, approvals: Vec<AgreementApproval>) -> bool {
        add_bounded(&mut self.0, approvals, MAX_APPROVALS)
    }

    /// The approvals of request `id`.
    pub fn of_request<'a>(
        &'a mut self,
        id: &'a str,
    ) -> impl Iterator<Item = &'a mut AgreementApproval> + 'a {
        self.0
            .iter_mut()
            .filter(move |a| a.agreement_request_id == id)
    }

    /// When the earliest pending approval expires, if any is pending.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.0
            .iter()
            .filter(|a| a.is_pending())
            .map(|a| a.expires_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ApprovalPlan {
        serde_json::from_value(serde_json::json!({
            "name": "Procurement", "administrators": ["999900001111"],
            "levels": [
                {"name": "Team", "requiredApprovals": 1, "approvers": [
                    {"emailAddress": "lead@example.com"}, {"organizationId": "o-abcdefghij"}]},
                {"requiredApprovals": 2, "approvers": [
                    {"emailAddress": "cfo@example.com", "name": "CFO"}, {"procurementTool": "Coupa"}]}
            ]
        }))
        .unwrap()
    }

    fn approval() -> AgreementApproval {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("aprout-{n}")
        };
        AgreementApproval::start(
            "apr-1".into(),
            &plan(),
            "ar-1",
            "111122223333",
            None,
            Instant(0),
            &mut ids,
        )
    }

    #[test]
    fn levels_are_decided_in_order_and_one_rejection_rejects() {
        assert_eq!(check_plans(&[plan()]), Ok(()));
        let mut a = approval();
        // The second level waits; the organization approver decides the first.
        assert_eq!(
            a.approve(Some("aprout-3"), None, None, vec![], Instant(1)),
            Err(DecisionError::Queued)
        );
        a.approve(None, None, None, vec![], Instant(1)).unwrap();
        assert_eq!(a.levels[0].outcomes[0].status, OutcomeStatus::Skipped);
        assert_eq!(
            a.levels[1].outcomes[1].status,
            OutcomeStatus::PendingApproval
        );
        // No organization approver at the second level: one must be named.
        assert_eq!(
            a.approve(None, None, None, vec![], Instant(2)),
            Err(DecisionError::NoSuchApprover)
        );
        a.approve(
            Some("aprout-3"),
            Some("arn:aws:iam::999900001111:root".into()),
            None,
            vec![],
            Instant(2),
        )
        .unwrap();
        assert!(a.is_pending());
        a.approve(Some("aprout-4"), None, None, vec![], Instant(3))
            .unwrap();
        assert_eq!(a.status, ApprovalStatus::Approved);
        assert_eq!(
            a.approve(Some("aprout-4"), None, None, vec![], Instant(4)),
            Err(DecisionError::Closed)
        );

        let mut b = approval();
        b.reject(Some("aprout-1"), None, "too expensive".into(), Instant(1))
            .unwrap();
        assert_eq!(b.status, ApprovalStatus::Rejected);
        assert!(b.levels[1]
            .outcomes
            .iter()
            .all(|o| o.status == OutcomeStatus::Skipped));
    }

    #[test]
    fn plans_are_checked() {
        let mut bad = plan();
        bad.levels[1].required_approvals = 3;
        assert!(check_plans(&[bad])
            .unwrap_err()
            .contains("requiredApprovals"));
        let mut bad = plan();
        bad.levels[0].approvers[0].email_address = Some("not an address".into());
        assert!(check_plans(&[bad]).is_err());
        assert!(check_plans(&[plan(), plan()])
            .unwrap_err()
            .contains("twice"));
        assert!(plan().reference().starts_with("aplan-"));
        assert!(plan().applies_to("123456789012"));
    }
}
