//! The fetch entry: answers the trivial `/_mock/ping` route itself and forwards every other
//! request, unchanged, to the Durable Object of its namespace (one object per namespace).

use worker::{event, Context, Env, Request, Response, Result};

use crate::error::ServiceError;
use crate::protocol::http::HttpResponse;
use crate::protocol::route;
use crate::protocol::{awsjson, cbor};

/// The Durable Object binding of wrangler.toml.
pub const NAMESPACES_BINDING: &str = "NAMESPACES";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if path == "/_mock/ping" {
        // The benchmark's baseline: the same worker, no Durable Object, no core.
        let pong = HttpResponse::new(200, "text/plain", "pong");
        return super::object::to_response(
            pong.with_header("x-amzn-RequestId", &super::object::random_uuid()),
        );
    }
    let (namespace, rpc_v2_cbor) = match route::split(&path) {
        Ok(routed) => (
            routed.namespace.to_string(),
            cbor::is_rpc_path(&routed.path),
        ),
        Err(message) => {
            let body = serde_json::json!({ "error": message });
            let response = HttpResponse::json(400, &body)
                .with_header("x-amzn-RequestId", &super::object::random_uuid());
            return super::object::to_response(response);
        }
    };
    let forwarded = async {
        let stub = env
            .durable_object(NAMESPACES_BINDING)?
            .id_from_name(&namespace)?
            .get_stub()?;
        stub.fetch_with_request(req).await
    };
    match forwarded.await {
        Ok(response) => Ok(response),
        Err(e) => {
            // Answered in the request's own protocol, so SDKs still read it as the service's.
            let error = ServiceError::internal(format!("namespace {namespace}: {e}"));
            let request_id = super::object::random_uuid();
            super::object::to_response(if rpc_v2_cbor {
                cbor::error(&error, &request_id)
            } else {
                awsjson::error(&error, &request_id)
            })
        }
    }
}
