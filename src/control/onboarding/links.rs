//! Sign-up links: a locked namespace's simulated sign-up page without the control token in
//! the buyer's browser (which would send it to the fulfillment URL and whatever that page
//! loads). `POST /_mock/marketplace/signup-links` (with the token) fixes a sign-up's
//! parameters and answers a one-time, short-lived `…/marketplace/subscribe?link=<id>`; the
//! page and its POST then need only the link.
//!
//! Layer: control (onboarding).

use serde_json::{json, Map, Value};

use super::super::{bad, internal, Answer, ControlError};
use super::customers::{hex, object_body};
use super::signup::check_link_params;
use crate::domain::registration::{
    SignupLink, SignupLinks, MAX_SIGNUP_LINKS, MAX_SIGNUP_LINK_SECONDS, SIGNUP_LINK_SECONDS,
};
use crate::domain::time::Instant;
use crate::namespace::Namespace;
use crate::policy::secrets::sha256;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::route::DEFAULT_NAMESPACE;
use crate::store::{documents, Store};

/// The query parameter that carries a link's id.
pub const LINK: &str = "link";

fn digest(id: &str) -> String {
    hex::encode(sha256(id.as_bytes()))
}

/// `POST /_mock/marketplace/signup-links`: `{"productCode", <customer>?, "offerType"?, …,
/// "expiresInSeconds"?}` → 201 `{"link", "expiresAt"}`. The parameters are those of the
/// sign-up (checked now, as the sign-up will read them), but for `format` (the link is the
/// browser's) and, in a locked deployment, `fulfillmentUrl` (the product's is used).
pub fn signup_link<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut params = object_body(req)?;
    let seconds = match params.remove("expiresInSeconds") {
        None => SIGNUP_LINK_SECONDS,
        Some(v) => v
            .as_i64()
            .filter(|s| (1..=MAX_SIGNUP_LINK_SECONDS).contains(s))
            .ok_or_else(|| {
                bad(format!(
                    "expiresInSeconds must be a whole number of 1 to {MAX_SIGNUP_LINK_SECONDS}"
                ))
            })?,
    };
    if params.contains_key("format") {
        return Err(bad("a sign-up link is for a browser: it takes no format"));
    }
    check_link_params(ns, params.clone())?;
    let now = ns.host_now;
    let mut links: SignupLinks = documents::load(&*ns.store).map_err(internal)?;
    links.prune(now);
    if links.links.len() >= MAX_SIGNUP_LINKS {
        return Err(ControlError(
            409,
            format!("the namespace holds {MAX_SIGNUP_LINKS} unused sign-up links: use or let some expire first"),
        ));
    }
    let id = hex(ns, 64)?;
    let expires_at = Instant(now.millis() + seconds * 1000);
    links.links.push(SignupLink {
        digest: digest(&id),
        params,
        expires_at,
    });
    documents::save(ns.store, &links).map_err(internal)?;
    let prefix = if ns.name == DEFAULT_NAMESPACE {
        String::new()
    } else {
        format!("/ns/{}", ns.name)
    };
    Ok(HttpResponse::json(
        201,
        &json!({
            "link": format!("{prefix}/_mock/marketplace/subscribe?{LINK}={id}"),
            "expiresAt": expires_at.to_rfc3339(),
        }),
    ))
}

/// A sign-up request's link, if it names one: the query must hold only it, and a POST no
/// field (the page's form sends none).
pub fn link_of(req: &HttpRequest) -> Result<Option<String>, ControlError> {
    let query = req.query_pairs();
    let Some((_, id)) = query.iter().find(|(k, _)| k == LINK) else {
        return Ok(None);
    };
    let form_fields = req.method == "POST" && !req.body.iter().all(u8::is_ascii_whitespace);
    if query.len() > 1 || form_fields {
        return Err(bad(
            "a sign-up link carries its parameters: send nothing but the link",
        ));
    }
    Ok(Some(id.clone()))
}

/// The parameters of the live link `id`, and its digest (to take it when used).
pub fn link_params<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    id: &str,
) -> Result<(Map<String, Value>, String), ControlError> {
    let digest = digest(id);
    let links: SignupLinks = documents::load(&*ns.store).map_err(internal)?;
    match links.find(&digest, ns.host_now) {
        Some(link) => Ok((link.params.clone(), digest)),
        None => Err(ControlError(
            404,
            "this sign-up link is unknown, used or expired: ask for a new one (POST /_mock/marketplace/signup-links)".into(),
        )),
    }
}

/// Takes the link of `digest` out: it signed a buyer up.
pub fn use_link<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    digest: &str,
) -> Result<(), ControlError> {
    let mut links: SignupLinks = documents::load(&*ns.store).map_err(internal)?;
    if links.take(digest, ns.host_now).is_none() {
        return Err(ControlError(
            404,
            "this sign-up link was used meanwhile".into(),
        ));
    }
    links.prune(ns.host_now);
    documents::save(ns.store, &links).map_err(internal)?;
    Ok(())
}
