//! The Marketplace Deployment Service's operations, a seller's (the product's proposer):
//! deployment parameters for an agreement's buyer (`PutDeploymentParameter`), the
//! data-as-a-service deployment configuration and its jobs, and the tags of both kinds of
//! resource. Each is a function from its input (held to its model by the rest-json front
//! door), the call's context and the store to its output or a modeled error. Another account
//! finds none of a seller's products or resources (`ResourceNotFoundException`).

mod configurations;
mod parameters;
mod tags;

use serde_json::{Map, Value};
use std::rc::Rc;

use super::agreement::{json_size, storage, text, Answer, MAX_DOCUMENT_BYTES};
use super::Call;
use crate::domain::catalogue::Product;
use crate::domain::deployment::{check_tag, Tags};
use crate::domain::ids::IdSource;
use crate::domain::offer::{catalog_product_id, proposer_of};
use crate::model::error::ModelError;
use crate::model::{ModelService, OperationModel};
use crate::store::documents::{self, Document};
use crate::store::Store;

const SERVICE: ModelService = ModelService::Deployment;

/// Runs `operation` on its input.
pub fn dispatch<S: Store + ?Sized>(
    operation: &OperationModel,
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    match operation.name.as_str() {
        "PutDeploymentParameter" => parameters::put(input, call, store, ids),
        "StartDeploymentConfigurationJob" => configurations::start(input, call, store, ids),
        "GetDeploymentConfigurationJob" => configurations::get_job(input, call, store),
        "ListDeploymentConfigurationJobs" => configurations::list_jobs(input, call, store),
        "GetDeploymentConfiguration" => configurations::get(input, call, store),
        "TagResource" => tags::tag(input, call, store),
        "UntagResource" => tags::untag(input, call, store),
        "ListTagsForResource" => tags::list(input, call, store),
        name => Err(super::agreement::not_served(SERVICE, name)),
    }
}

/// The `tags` member of the input (the model checked it is a map of strings), each held to
/// the tag rules (`ValidationException` naming `tags`).
fn tags_of(input: &Map<String, Value>) -> Result<Tags, ModelError> {
    let tags: Tags = input
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in &tags {
        check_tag(key, value).map_err(|m| invalid("tags", m))?;
    }
    Ok(tags)
}

/// `ValidationException` about the member `field` (the service's has no reason member).
fn invalid(field: &str, message: String) -> ModelError {
    ModelError::validation(SERVICE, "", message.clone(), &[(field, &message)])
}

fn not_found(message: String) -> ModelError {
    ModelError::modeled(SERVICE, "ResourceNotFoundException", message)
}

/// `ConflictException` about the resource `id`.
fn conflict(id: &str, message: String) -> ModelError {
    ModelError::modeled(SERVICE, "ConflictException", message).with("resourceId", id)
}

/// `catalog` is `AWSMarketplace`, the one catalog.
fn check_catalog(input: &Map<String, Value>) -> Result<(), ModelError> {
    match text(input, "catalog") {
        "AWSMarketplace" => Ok(()),
        other => Err(invalid(
            "catalog",
            format!("Catalog {other} is not AWSMarketplace"),
        )),
    }
}

/// Whether the caller sells `product` (the wildcard caller is every seller).
fn sells(call: &Call<'_>, product: &Product) -> bool {
    call.caller
        .account
        .as_deref()
        .is_none_or(|account| account == proposer_of(product))
}

/// The product `productId` names (its `prod-…` id or its product code), if the caller sells
/// it.
fn sold_product<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    input: &Map<String, Value>,
) -> Result<Option<Product>, ModelError> {
    let id = text(input, "productId");
    let products = store.products().map_err(storage(SERVICE))?;
    Ok(products
        .into_iter()
        .find(|p| {
            (p.product_code == id || catalog_product_id(&p.product_code) == id) && sells(call, p)
        })
        .map(Rc::unwrap_or_clone))
}

/// `sold_product`, or `ResourceNotFoundException`.
fn require_product<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    input: &Map<String, Value>,
) -> Result<Product, ModelError> {
    sold_product(store, call, input)?.ok_or_else(|| {
        not_found(format!(
            "Product {} was not found: no product the caller sells has that id",
            text(input, "productId")
        ))
    })
}

fn load<D: Document, S: Store + ?Sized>(store: &S) -> Result<D, ModelError> {
    documents::load(store).map_err(|e| ModelError::of_service(SERVICE, &e))
}

/// Saves `doc` if it takes at most `MAX_DOCUMENT_BYTES` (what one stranger's requests can
/// make a namespace store is bytes); otherwise answers `refused` with how much it would take.
fn save_bounded<D: Document, S: Store + ?Sized>(
    store: &mut S,
    doc: &D,
    refused: impl FnOnce(String) -> ModelError,
) -> Result<(), ModelError> {
    let size = json_size(doc)?;
    if size > MAX_DOCUMENT_BYTES {
        return Err(refused(format!(
            "The namespace's {} would take {size} bytes, more than the {MAX_DOCUMENT_BYTES} it keeps: remove tags or parameters, or use shorter names",
            D::KEY
        )));
    }
    documents::save(store, doc).map_err(|e| ModelError::of_service(SERVICE, &e))
}
