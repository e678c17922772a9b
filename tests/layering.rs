//! The core's layers, as ARCHITECTURE.md draws them, checked on the source: a module may use
//! only modules of the layers below its own, so no import circle can form and the tree keeps
//! reading in the order the data flows. A new module must be given a layer here.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom first.
const LAYERS: &[&[&str]] = &[
    &["json", "time", "version", "error"],
    &["ids"],
    &["batch", "record"],
    &["payload"],
    &["storage"],
    &["store", "sync"],
    &["wasm"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules `text` names through `crate::` (`crate::a::b`, `crate::{a, b::c}`),
/// outside comments (a doc link to another layer is no dependency).
fn crate_uses(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = BTreeSet::new();
    for piece in code.split("crate::").skip(1) {
        let names: Vec<&str> = match piece.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![piece],
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.starts_with(|c: char| c.is_ascii_lowercase()) {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue; // the crate root declares and re-exports every module
        }
        let Some(own) = layer_of(&top) else {
            problems.push(format!(
                "{}: module {top} has no layer in tests/layering.rs",
                relative.display()
            ));
            continue;
        };
        for used in crate_uses(&fs::read_to_string(file).unwrap()) {
            checked += 1;
            match layer_of(&used) {
                Some(layer) if layer < own || used == top => {}
                Some(_) => problems.push(format!(
                    "{}: {top} (layer {own}) uses {used} (layer {})",
                    relative.display(),
                    layer_of(&used).unwrap()
                )),
                None => problems.push(format!(
                    "{}: uses crate::{used}, which has no layer",
                    relative.display()
                )),
            }
        }
    }
    assert!(
        checked > 20,
        "found only {checked} uses of crate:: modules: is the parsing broken?"
    );
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_parser_reads_both_forms_of_use() {
    let text = "use crate::json::{Scanner, Syntax};\nuse crate::{ids, time::IsoCache};\nlet x = crate::record::write_event;\n/// [`crate::wasm`]";
    assert_eq!(
        crate_uses(text),
        ["ids", "json", "record", "time"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
