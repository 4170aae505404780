//! Tags of the Deployment Service's resources, named by ARN: a deployment parameter
//! (`…:AWSMarketplace/DeploymentParameter/dp-…`) or a product's deployment configuration
//! (`…:AWSMarketplace/DeploymentConfiguration/prod-…/data-as-a-service`). Only the seller
//! that owns one finds it. `TagResource` holds its tags to the model's `TagKey`/`TagValue`
//! rules and 50 per resource.

use serde_json::{json, Map, Value};

use super::{invalid, load, not_found, save_bounded, tags_of, text, Answer, Call};
use crate::domain::deployment::{
    check_tag, DeploymentConfigurations, DeploymentParameters, Tags, MAX_TAGS,
};
use crate::model::error::ModelError;
use crate::store::Store;

/// The resource an ARN names, and the document that holds it.
enum Found {
    Parameter(DeploymentParameters, usize),
    Configuration(DeploymentConfigurations, usize),
}

impl Found {
    fn tags(&mut self) -> &mut Tags {
        match self {
            Found::Parameter(doc, i) => &mut doc.0[*i].tags,
            Found::Configuration(doc, i) => &mut doc.configurations[*i].tags,
        }
    }

    fn save<S: Store + ?Sized>(&self, store: &mut S) -> Result<(), ModelError> {
        let refused = |m: String| invalid("tags", m);
        match self {
            Found::Parameter(doc, _) => save_bounded(store, doc, refused),
            Found::Configuration(doc, _) => save_bounded(store, doc, refused),
        }
    }
}

/// The caller's resource `resourceArn` names, or `ResourceNotFoundException`.
fn find<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    input: &Map<String, Value>,
) -> Result<Found, ModelError> {
    let arn = text(input, "resourceArn");
    let mine = |seller: &str| call.caller.account.as_deref().is_none_or(|a| a == seller);
    let mut parameters: DeploymentParameters = load(store)?;
    parameters.forget_expired(call.now);
    if let Some(i) = parameters
        .0
        .iter()
        .position(|p| p.arn() == arn && mine(&p.seller))
    {
        return Ok(Found::Parameter(parameters, i));
    }
    let configurations: DeploymentConfigurations = load(store)?;
    if let Some(i) = configurations
        .configurations
        .iter()
        .position(|c| c.arn() == arn && mine(&c.seller))
    {
        return Ok(Found::Configuration(configurations, i));
    }
    Err(not_found(format!(
        "Resource {arn} was not found: no deployment parameter or deployment configuration of the caller has that ARN"
    )))
}

pub fn tag<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let new = tags_of(input);
    for (key, value) in &new {
        check_tag(key, value).map_err(|m| invalid("tags", m))?;
    }
    let mut found = find(store, call, input)?;
    let tags = found.tags();
    tags.extend(new);
    if tags.len() > MAX_TAGS {
        return Err(invalid(
            "tags",
            format!(
                "A resource may carry at most {MAX_TAGS} tags; this would make {}",
                tags.len()
            ),
        ));
    }
    found.save(store)?;
    Ok(json!({}))
}

pub fn untag<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let keys: Vec<&str> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut found = find(store, call, input)?;
    let tags = found.tags();
    for key in keys {
        tags.remove(key);
    }
    found.save(store)?;
    Ok(json!({}))
}

pub fn list<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let mut found = find(store, call, input)?;
    Ok(json!({ "tags": found.tags() }))
}
