//! `PutDeploymentParameter`: the seller puts a named secret for the buyer of one of its
//! product's agreements; a name the agreement already has gets a new version (its tags stay
//! as the first request made them). The secret is never kept, nor ever answered: the
//! namespace keeps its length and the request's digest, which tells a retry (the same
//! `clientToken` and members: the same answer, no new version) from a reuse of the token
//! (`ConflictException`). A parameter whose `expirationDate` passed by the namespace clock is
//! deleted.

use serde_json::{json, Map, Value};

use super::{
    conflict, invalid, load, not_found, require_product, save_bounded, tags_of, text, Answer, Call,
    SERVICE,
};
use crate::domain::deployment::{
    DeploymentParameter, DeploymentParameters, VersionToken, MAX_PARAMETERS_PER_AGREEMENT,
};
use crate::domain::ids::IdSource;
use crate::domain::offer::proposer_of;
use crate::model::error::ModelError;
use crate::ops::agreement::{agreement, fingerprint, new_id, requester, time_member};
use crate::store::Store;

pub fn put<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    super::check_catalog(input)?;
    let product = require_product(store, call, input)?;
    let agreement_id = text(input, "agreementId");
    let found = agreement(store, agreement_id)?;
    if found.is_none_or(|(p, _)| p.product_code != product.product_code) {
        return Err(not_found(format!(
            "Agreement {agreement_id} was not found: no agreement of product {} has that id",
            text(input, "productId")
        )));
    }
    let parameter = input
        .get("deploymentParameter")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let name = text(&parameter, "name");
    let secret_bytes = text(&parameter, "secretString").len();
    let expires_at = time_member(input, "expirationDate");
    if let Some(at) = expires_at.filter(|at| *at <= call.now) {
        return Err(invalid(
            "expirationDate",
            format!(
                "expirationDate {} is not in the future (the namespace's time is {})",
                at.to_rfc3339(),
                call.now.to_rfc3339()
            ),
        ));
    }
    let mut kept: DeploymentParameters = load(store)?;
    kept.forget_expired(call.now);
    let who = requester(call);
    let print = fingerprint(input);
    if let Some(token) = input.get("clientToken").and_then(Value::as_str) {
        let earlier = kept.0.iter().find_map(|p| {
            let t = p
                .tokens
                .iter()
                .find(|t| t.requester == who && t.client_token == token)?;
            Some((p, t))
        });
        match earlier {
            Some((p, t)) if t.fingerprint == print => return Ok(answer(p)),
            Some((p, _)) => {
                return Err(conflict(
                    &p.id,
                    format!(
                        "clientToken {token} was used for a version of {} with other parameters",
                        p.id
                    ),
                ))
            }
            None => {}
        }
    }
    let token = input
        .get("clientToken")
        .and_then(Value::as_str)
        .map(|t| VersionToken {
            requester: who,
            client_token: t.to_string(),
            fingerprint: print,
        });
    let existing = kept
        .0
        .iter()
        .position(|p| p.agreement_id == agreement_id && p.name == name);
    let index = match existing {
        Some(i) => {
            let p = &mut kept.0[i];
            p.versions = p.versions.saturating_add(1);
            p.secret_bytes = secret_bytes;
            p.updated_at = call.now;
            if expires_at.is_some() {
                p.expires_at = expires_at;
            }
            i
        }
        None => {
            if kept.of_agreement(agreement_id).count() >= MAX_PARAMETERS_PER_AGREEMENT {
                return Err(quota(format!(
                    "Agreement {agreement_id} has {MAX_PARAMETERS_PER_AGREEMENT} deployment parameters, the most it may have: put a new version of one of them instead"
                )));
            }
            let tags = tags_of(input)?;
            kept.0.push(DeploymentParameter {
                id: new_id("dp-", ids, 24)?,
                product_code: product.product_code.to_string(),
                agreement_id: agreement_id.to_string(),
                name: name.to_string(),
                seller: proposer_of(&product),
                tags,
                expires_at,
                created_at: call.now,
                updated_at: call.now,
                versions: 1,
                secret_bytes,
                tokens: Vec::new(),
            });
            kept.0.len() - 1
        }
    };
    if let Some(token) = token {
        kept.0[index].remember(token);
    }
    let output = answer(&kept.0[index]);
    save_bounded(store, &kept, quota)?;
    Ok(output)
}

fn quota(message: String) -> ModelError {
    ModelError::modeled(SERVICE, "ServiceQuotaExceededException", message)
}

fn answer(p: &DeploymentParameter) -> Value {
    let mut out = json!({
        "resourceArn": p.arn(),
        "agreementId": p.agreement_id,
        "deploymentParameterId": p.id,
    });
    if !p.tags.is_empty() {
        out["tags"] = json!(p.tags);
    }
    out
}
