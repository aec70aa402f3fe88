//! No function over 150 lines, read with `syn` (free functions, methods, trait defaults; the
//! generated catalog data excepted). Issue 20 started with a ratchet list of ten longer ones;
//! the last left it when each was split along its sections, so there is no waiver left.

use std::path::{Path, PathBuf};
use syn::visit::{self, Visit};

const MAX_LINES: usize = 150;

struct Lengths {
    out: Vec<(String, usize)>,
}

impl Lengths {
    /// From the `fn` keyword to the closing brace (doc comments and attributes not counted).
    fn record(&mut self, sig: &syn::Signature, body: &syn::Block) {
        let first = sig.fn_token.span.start().line;
        let last = body.brace_token.span.close().end().line;
        self.out.push((sig.ident.to_string(), last - first + 1));
    }
}

impl<'ast> Visit<'ast> for Lengths {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(&f.sig, &f.block);
        visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(&f.sig, &f.block);
        visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            self.record(&f.sig, body);
        }
        visit::visit_trait_item_fn(self, f);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// (file relative to the workspace, function, lines) of every function.
fn every_function() -> Vec<(String, String, usize)> {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "sim/src",
        "mock-provider/src",
        "reports/src",
        "drive/src",
        "src",
    ] {
        rust_files(&ws.join(dir), &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&ws).unwrap().display().to_string();
        if rel == "sim/src/catalog/builtin.rs" {
            continue; // generated rows (scripts/gen-builtin-catalog.py)
        }
        let ast = syn::parse_file(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mut v = Lengths { out: Vec::new() };
        v.visit_file(&ast);
        out.extend(v.out.into_iter().map(|(name, n)| (rel.clone(), name, n)));
    }
    out
}

#[test]
fn no_function_grows_past_150_lines() {
    let all = every_function();
    assert!(all.len() > 500, "only {} functions found", all.len());
    let problems: Vec<String> = all
        .iter()
        .filter(|(_, _, lines)| *lines > MAX_LINES)
        .map(|(file, name, lines)| {
            format!("{file}: `{name}` is {lines} lines (at most {MAX_LINES}): split it")
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scenario_validation_is_split_along_its_sections() {
    // Issue 20's two worst: `validate` was 702 lines, `model_override` 287.
    let all = every_function();
    for name in ["validate", "model_override"] {
        let (_, _, lines) = all
            .iter()
            .find(|(f, n, _)| f == "sim/src/scenario/validate.rs" && n == name)
            .unwrap_or_else(|| panic!("{name} exists"));
        assert!(*lines <= 60, "{name} is {lines} lines");
    }
}
