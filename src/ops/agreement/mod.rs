//! The Agreement Service's and Discovery's operations: each a function from its input (already
//! held to its model by the front door), the call's context and the store to its output or a
//! modeled error. An operation the mock does not serve yet answers `ValidationException` with
//! the model's reason `UNSUPPORTED_ACTION`, an error every operation's model lists.

use serde_json::{Map, Value};

use super::Call;
use crate::domain::ids::IdSource;
use crate::model::error::ModelError;
use crate::model::{ModelService, OperationModel};
use crate::store::Store;

/// An operation's answer.
pub type Answer = Result<Value, ModelError>;

/// Runs `operation` of `service` on its input.
pub fn dispatch<S: Store + ?Sized>(
    service: ModelService,
    operation: &OperationModel,
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let _ = (input, call, store, ids);
    Err(not_served(service, &operation.name))
}

/// The answer of an operation the mock does not serve yet.
pub fn not_served(service: ModelService, operation: &str) -> ModelError {
    let reason = match service {
        ModelService::Agreement => "UNSUPPORTED_ACTION",
        ModelService::Discovery => service.generic_reason(),
    };
    ModelError::validation(
        service,
        reason,
        format!("{operation} is not served by metering-mock yet: its model is known and its input was valid, but the mock has no behaviour for it"),
        &[],
    )
}
