//! Embeds the service models the mock serves from their botocore files (`models/`): each
//! model is copied to `OUT_DIR` without its `documentation` strings, which are four fifths of
//! its bytes and which the worker never reads (src/model reads the rest once per isolate).

use std::{env, fs, path::Path};

use serde_json::Value;

/// The models read at run time (the Metering and Entitlement models are read by tests only).
const SERVED: [&str; 3] = [
    "marketplace-agreement-2020-03-01.service-2.json",
    "marketplace-discovery-2026-02-05.service-2.json",
    "marketplace-deployment-2023-01-25.service-2.json",
];

fn main() {
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in SERVED {
        let source = Path::new("models").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text =
            fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let mut model: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        strip_documentation(&mut model);
        fs::write(Path::new(&out).join(name), model.to_string()).expect("OUT_DIR is writable");
    }
}

fn strip_documentation(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("documentation");
            map.values_mut().for_each(strip_documentation);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_documentation),
        _ => {}
    }
}
