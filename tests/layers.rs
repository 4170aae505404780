//! The crate map in `src/lib.rs` is true: each top-level module imports (`crate::…`) only
//! modules of the layers below its own, so the core reads from the outside in.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers, outermost first, as `src/lib.rs` lists them.
const LAYERS: &[&[&str]] = &[
    &["worker"],
    &["service", "admin"],
    &["control", "delivery"],
    &["namespace"],
    &["ops", "policy", "seed", "ui"],
    &["store"],
    &["protocol"],
    &["model"],
    &["domain"],
    &["error"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `crate::<module>` a file names outside its tests; in a top-level module's own file
/// (`src/x.rs`, `src/x/mod.rs`) `super::` is the crate too.
fn imports(text: &str, top_level: bool) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let prefixes: &[&str] = if top_level {
        &["crate::", "super::"]
    } else {
        &["crate::"]
    };
    prefixes
        .iter()
        .flat_map(|prefix| {
            code.match_indices(prefix).map(|(at, _)| {
                code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
        })
        .filter(|name| !name.is_empty() && name != "super")
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_one_of_its_own_layer_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        seen.insert(module.clone());
        let Some(own) = layer_of(&module) else {
            problems.push(format!("{module} is in no layer of the crate map"));
            continue;
        };
        let depth = relative.components().count();
        let top_level = depth == 1 || (depth == 2 && relative.ends_with("mod.rs"));
        for imported in imports(&std::fs::read_to_string(file).unwrap(), top_level) {
            if imported == module {
                continue;
            }
            match layer_of(&imported) {
                Some(layer) if layer > own => {}
                _ => problems.push(format!(
                    "{} imports crate::{imported}, which is not below {module}",
                    relative.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check reads the real tree: every layer's modules exist.
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            seen.contains(*module),
            "{module} is in the map but not in src/"
        );
    }
}

#[test]
fn the_check_sees_an_upward_import() {
    let found = imports(
        "use crate::service::x;\nfn f() { crate::domain::y(); }\n#[cfg(test)]\nuse crate::worker;",
        false,
    );
    assert_eq!(
        found,
        BTreeSet::from(["service".to_string(), "domain".to_string()])
    );
    let top = imports("use super::control::x;\nuse super::*;", true);
    assert_eq!(top, BTreeSet::from(["control".to_string()]));
    assert!(layer_of("service") < layer_of("domain"));
}
