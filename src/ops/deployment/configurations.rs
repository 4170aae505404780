//! Data-as-a-service deployment configurations: the seller publishes a product's fulfillment
//! URL by a job (`StartDeploymentConfigurationJob`), which stays `IN_PROGRESS` for
//! `JOB_SECONDS` of namespace time and then succeeds or fails by its URL's host
//! (domain::deployment); the newest succeeded job's configuration is the product's
//! (`GetDeploymentConfiguration`). One job of a product runs at a time; a `clientToken`
//! retried with the same input answers the original job.

use serde_json::{json, Map, Value};

use super::{
    conflict, invalid, load, not_found, require_product, save_bounded, sold_product, tags_of, text,
    Answer, Call, SERVICE,
};
use crate::domain::deployment::{
    check_fulfillment_url, Configuration, ConfigurationJob, DeploymentConfigurations, JobStatus,
    DATA_AS_A_SERVICE, MAX_JOBS,
};
use crate::domain::ids::IdSource;
use crate::domain::offer::{catalog_product_id, proposer_of};
use crate::domain::time::Instant;
use crate::ops::agreement::{fingerprint, new_id, page, requester, with_next};
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

/// The jobs a page lists when `maxResults` is not given (the model's default).
const DEFAULT_PAGE: usize = 20;

/// The configuration member of a job: its union with the fulfillment URL.
fn configuration(url: &str) -> Value {
    json!({"dataAsAService": {"fulfillmentUrl": url}})
}

/// A job as `Start…` and `List…` answer it; with its configuration's ARN (`full`), as
/// `GetDeploymentConfigurationJob` does, with its end and outcome too.
fn job_view(job: &ConfigurationJob, now: Instant, full: Option<&str>) -> Value {
    let status = job.status(now);
    let mut out = json!({
        "jobId": job.id,
        "status": status.name(),
        "configuration": configuration(&job.fulfillment_url),
        "createdAt": epoch_seconds(job.created_at),
    });
    let Some(arn) = full else {
        return out;
    };
    match status {
        JobStatus::InProgress => {}
        JobStatus::Succeeded => {
            out["configurationArn"] = json!(arn);
            out["endedAt"] = epoch_seconds(job.ends_at());
        }
        JobStatus::Failed { code, message } => {
            out["endedAt"] = epoch_seconds(job.ends_at());
            out["errorCode"] = json!(code);
            out["message"] = json!(message);
        }
    }
    out
}

pub fn start<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    super::check_catalog(input)?;
    let url = input
        .get("configuration")
        .and_then(|c| c.pointer("/dataAsAService/fulfillmentUrl"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_fulfillment_url(&url)
        .map_err(|m| invalid("configuration.dataAsAService.fulfillmentUrl", m))?;
    let product = require_product(store, call, input)?;
    let code = product.product_code.to_string();
    let mut kept: DeploymentConfigurations = load(store)?;
    let who = requester(call);
    let print = fingerprint(input);
    let token = input
        .get("clientToken")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(token) = &token {
        let earlier = kept
            .jobs
            .iter()
            .find(|j| j.requester == who && j.client_token.as_deref() == Some(token));
        match earlier {
            Some(j) if j.fingerprint == print => {
                return Ok(job_view(j, call.now, None));
            }
            Some(j) => {
                return Err(conflict(
                    &j.id,
                    format!(
                        "clientToken {token} was used for job {} with other parameters",
                        j.id
                    ),
                ))
            }
            None => {}
        }
    }
    if let Some(running) = kept
        .jobs_of(&code)
        .find(|j| j.status(call.now) == JobStatus::InProgress)
    {
        return Err(conflict(
            &running.id,
            format!(
                "Job {} of this product is in progress: start another once it has ended",
                running.id
            ),
        ));
    }
    let tags = tags_of(input)?;
    if !tags.is_empty() && kept.configuration(&code).is_some() {
        return Err(invalid(
            "tags",
            "The product's deployment configuration exists: only the request that creates it applies tags; use TagResource and UntagResource to change them".into(),
        ));
    }
    if kept.configuration(&code).is_none() {
        kept.configurations.push(Configuration {
            product_code: code.clone(),
            product_id: catalog_product_id(&code),
            seller: proposer_of(&product),
            tags,
        });
    }
    let job = ConfigurationJob {
        id: new_id("", ids, 32)?,
        product_code: code,
        fulfillment_url: url,
        created_at: call.now,
        requester: who,
        client_token: token,
        fingerprint: print,
    };
    let output = job_view(&job, call.now, None);
    kept.add_job(job, call.now);
    save_bounded(store, &kept, |m| conflict(text(input, "productId"), m))?;
    Ok(output)
}

pub fn get_job<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    super::check_catalog(input)?;
    let product = require_product(store, call, input)?;
    let kept: DeploymentConfigurations = load(store)?;
    let id = text(input, "jobId");
    let job = kept
        .jobs_of(&product.product_code)
        .find(|j| j.id == id)
        .ok_or_else(|| {
            not_found(format!(
                "Job {id} was not found for product {} (the namespace keeps its {MAX_JOBS} most recent jobs and each product's published one)",
                text(input, "productId")
            ))
        })?;
    let arn = kept
        .configuration(&product.product_code)
        .map(Configuration::arn)
        .unwrap_or_default();
    Ok(job_view(job, call.now, Some(&arn)))
}

pub fn list_jobs<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    super::check_catalog(input)?;
    // The model lists no ResourceNotFoundException here: a product the caller does not sell
    // has no jobs.
    let product = sold_product(store, call, input)?;
    let kept: DeploymentConfigurations = load(store)?;
    let jobs: Vec<Value> = product
        .as_ref()
        .map(|p| {
            kept.jobs_of(&p.product_code)
                .map(|j| job_view(j, call.now, None))
                .collect()
        })
        .unwrap_or_default();
    let listing = format!("deployment-jobs\n{}", text(input, "productId"));
    let (jobs, next) = page(SERVICE, jobs, input, call, &listing, DEFAULT_PAGE)?;
    Ok(with_next(json!({ "jobs": jobs }), next))
}

pub fn get<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    super::check_catalog(input)?;
    let product = require_product(store, call, input)?;
    let kept: DeploymentConfigurations = load(store)?;
    let url = kept
        .active_url(&product.product_code, call.now)
        .ok_or_else(|| {
            not_found(format!(
                "Product {} has no {DATA_AS_A_SERVICE} deployment configuration: no job of it has succeeded",
                text(input, "productId")
            ))
        })?;
    Ok(json!({ "configuration": configuration(url) }))
}
