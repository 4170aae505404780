//! Tags of the Deployment Service's resources, named by ARN: a deployment parameter
//! (`…:AWSMarketplace/DeploymentParameter/dp-…`) or a product's deployment configuration
//! (`…:AWSMarketplace/DeploymentConfiguration/prod-…/data-as-a-service`). Only the seller
//! that owns one finds it. `TagResource` holds its tags to the model's `TagKey`/`TagValue`
//! rules and 50 per resource.

use serde_json::{json, Map, Value};

use super::{invalid, load, not_found, save_bounded, sells, tags_of, text, Answer, Call, SERVICE};
use crate::domain::deployment::{DeploymentConfigurations, DeploymentParameters, Tags, MAX_TAGS};
use crate::model::error::ModelError;
use crate::ops::agreement::storage;
use crate::store::Store;

/// The resource an ARN names, and the document that holds it.
enum Found {
    Parameter(DeploymentParameters, usize),
    Configuration(DeploymentConfigurations, usize),
}

impl Found {
    fn tags(&self) -> &Tags {
        match self {
            Found::Parameter(doc, i) => &doc.0[*i].tags,
            Found::Configuration(doc, i) => &doc.configurations[*i].tags,
        }
    }

    fn tags_mut(&mut self) -> &mut Tags {
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
    // Whose it is, as the other operations judge it: the seller of its product now.
    let mine = |code: &str| -> Result<bool, ModelError> {
        let product = store.product(code).map_err(storage(SERVICE))?;
        Ok(product.is_some_and(|p| sells(call, &p)))
    };
    let mut parameters: DeploymentParameters = load(store)?;
    parameters.forget_expired(call.now);
    if let Some(i) = parameters.0.iter().position(|p| p.arn() == arn) {
        if mine(&parameters.0[i].product_code)? {
            return Ok(Found::Parameter(parameters, i));
        }
    }
    let configurations: DeploymentConfigurations = load(store)?;
    if let Some(i) = configurations
        .configurations
        .iter()
        .position(|c| c.arn() == arn)
    {
        if mine(&configurations.configurations[i].product_code)? {
            return Ok(Found::Configuration(configurations, i));
        }
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
    let new = tags_of(input)?;
    let mut found = find(store, call, input)?;
    let tags = found.tags_mut();
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
    let tags = found.tags_mut();
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
    let found = find(store, call, input)?;
    Ok(json!({ "tags": found.tags() }))
}
