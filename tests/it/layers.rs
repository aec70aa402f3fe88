//! No import loop in any crate: the module graph read with a real Rust parser (`syn`), not a
//! grep, so inline paths (`crate::capacity::binding(..)`), grouped `use` trees, `super::` and
//! paths inside macro calls all count.
//!
//! For every module with two or more child modules (the crate root first), the graph has one
//! node per child; a reference from anywhere inside child `a` (its submodules, inline `mod
//! tests`, bodies, types, macros) to anything inside sibling `b` is an edge `a -> b`. Items of
//! the parent itself (`lib.rs`, `main.rs`, `mod.rs`) are the shared base of its children and
//! not a node: the binary's `main.rs` dispatches to `cmd`, which may name `crate::Cli`.
//! `crate::Name` through a `pub use` of the crate root counts as the module it re-exports.
//! Doc comments and string literals are not references.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

type ModPath = Vec<String>;

/// One reference: the module it is written in, the path as written (already absolute when it
/// began with `crate`), where it was found.
#[derive(Debug, Clone)]
struct RawRef {
    from: ModPath,
    segments: Vec<String>,
    file: PathBuf,
}

#[derive(Debug, Default)]
struct Crate {
    /// Every module (file or inline), the root is the empty path.
    modules: BTreeSet<ModPath>,
    refs: Vec<RawRef>,
    /// `pub use` at the crate root: exported name -> path it re-exports (relative to the root).
    root_exports: HashMap<String, Vec<String>>,
}

/// An edge with the first reference that made it, for the failure message.
#[derive(Debug, Clone)]
struct Evidence {
    file: PathBuf,
    path: String,
}

/// The sibling graph under one parent module.
#[derive(Debug)]
struct Level {
    parent: ModPath,
    edges: BTreeMap<(String, String), Evidence>,
}

struct Collector<'a> {
    file: &'a Path,
    /// (module path, directory of its file children), innermost last.
    stack: Vec<(ModPath, PathBuf)>,
    refs: Vec<RawRef>,
    /// `mod x;` declarations: the child's module path and the directory its file lives in.
    decls: Vec<(ModPath, PathBuf)>,
    inline: Vec<ModPath>,
    root_exports: Vec<(String, Vec<String>)>,
}

impl Collector<'_> {
    fn module(&self) -> ModPath {
        self.stack
            .last()
            .map(|(m, _)| m.clone())
            .unwrap_or_default()
    }

    fn push_ref(&mut self, segments: Vec<String>) {
        if segments.is_empty() {
            return;
        }
        self.refs.push(RawRef {
            from: self.module(),
            segments,
            file: self.file.to_path_buf(),
        });
    }
}

/// Every path a `use` tree names, with the exported name (last ident or rename) beside it.
fn flatten_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                let last = prefix.last().cloned().unwrap_or_default();
                out.push((prefix.clone(), last));
            } else {
                let mut p = prefix.clone();
                p.push(name.clone());
                out.push((p, name));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            let name = r.ident.to_string();
            if name != "self" {
                p.push(name);
            }
            out.push((p, r.rename.to_string()));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), "*".to_string())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// Paths written inside macro calls (`format!("{}", crate::money::x(..))`, `$crate::..`):
/// maximal runs of `ident :: ident :: ...` in the flattened token stream.
fn macro_paths(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let flat = flatten_tokens(tokens);
    let mut i = 0;
    while i < flat.len() {
        let starts_path = matches!(&flat[i], Tok::Ident(_))
            && !(i >= 2 && matches!(flat[i - 1], Tok::Colon) && matches!(flat[i - 2], Tok::Colon));
        if !starts_path {
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        let mut j = i;
        while let Tok::Ident(name) = &flat[j] {
            segments.push(name.clone());
            if j + 3 < flat.len()
                && matches!(flat[j + 1], Tok::Colon)
                && matches!(flat[j + 2], Tok::Colon)
                && matches!(flat[j + 3], Tok::Ident(_))
            {
                j += 3;
            } else {
                break;
            }
        }
        if segments.len() > 1 {
            out.push(segments);
        }
        i = j + 1;
    }
}

enum Tok {
    Ident(String),
    Colon,
    Other,
}

fn flatten_tokens(tokens: TokenStream) -> Vec<Tok> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            TokenTree::Group(g) => {
                out.push(Tok::Other);
                out.extend(flatten_tokens(g.stream()));
                out.push(Tok::Other);
            }
            TokenTree::Ident(i) => out.push(Tok::Ident(i.to_string())),
            // `$crate::x` in macro_rules: the `$` is dropped, `crate` starts the path.
            TokenTree::Punct(p) if p.as_char() == '$' => {}
            TokenTree::Punct(p) if p.as_char() == ':' => out.push(Tok::Colon),
            _ => out.push(Tok::Other),
        }
    }
    out
}

fn is_pub(vis: &syn::Visibility) -> bool {
    !matches!(vis, syn::Visibility::Inherited)
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let (module, dir) = self.stack.last().cloned().unwrap_or_default();
        let mut child = module;
        child.push(m.ident.to_string());
        match &m.content {
            None => self.decls.push((child, dir)),
            Some((_, items)) => {
                self.inline.push(child.clone());
                let child_dir = dir.join(m.ident.to_string());
                self.stack.push((child, child_dir));
                for item in items {
                    self.visit_item(item);
                }
                self.stack.pop();
            }
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut flat = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut flat);
        let at_root = self.module().is_empty();
        for (path, name) in flat {
            if at_root && is_pub(&u.vis) {
                // A re-export of the facade: not a dependency of the root's own code.
                self.root_exports.push((name, path));
            } else {
                self.push_ref(path);
            }
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.push_ref(segments);
        }
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let mut paths = Vec::new();
        macro_paths(m.tokens.clone(), &mut paths);
        for p in paths {
            self.push_ref(p);
        }
        visit::visit_macro(self, m);
    }
}

/// Reads a crate from its root file, following `mod x;` to `x.rs` or `x/mod.rs`.
fn load_crate(root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Result<Crate, String> {
    let mut krate = Crate::default();
    let root_dir = root.parent().map(Path::to_path_buf).unwrap_or_default();
    // (module path, file, directory of its `mod x;` children)
    let mut queue = vec![(ModPath::new(), root.to_path_buf(), root_dir)];
    while let Some((module, file, dir)) = queue.pop() {
        let source = read(&file).ok_or_else(|| format!("cannot read {}", file.display()))?;
        let ast = syn::parse_file(&source).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut c = Collector {
            file: &file,
            stack: vec![(module.clone(), dir)],
            refs: Vec::new(),
            decls: Vec::new(),
            inline: Vec::new(),
            root_exports: Vec::new(),
        };
        c.visit_file(&ast);
        krate.modules.insert(module);
        krate.modules.extend(c.inline);
        krate.refs.extend(c.refs);
        for (name, path) in c.root_exports {
            krate.root_exports.insert(name, path);
        }
        for (child, parent_dir) in c.decls {
            let name = child.last().cloned().unwrap_or_default();
            let flat = parent_dir.join(format!("{name}.rs"));
            let nested = parent_dir.join(&name).join("mod.rs");
            let file = if read(&flat).is_some() {
                flat
            } else if read(&nested).is_some() {
                nested
            } else {
                return Err(format!(
                    "mod {name}: neither {} nor {}",
                    flat.display(),
                    nested.display()
                ));
            };
            queue.push((child, file, parent_dir.join(&name)));
        }
    }
    Ok(krate)
}

/// The module a reference lands in, or None for external crates, std, locals and generics.
fn resolve(krate: &Crate, r: &RawRef) -> Option<ModPath> {
    let first = r.segments.first()?.as_str();
    let mut abs: Vec<String> = match first {
        "crate" => r.segments[1..].to_vec(),
        "self" => [r.from.clone(), r.segments[1..].to_vec()].concat(),
        "super" => {
            let mut base = r.from.clone();
            let mut rest = &r.segments[..];
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
            [base, rest.to_vec()].concat()
        }
        name => {
            // A child module of the current one (`mod raw; use raw::X;`), else not ours.
            let mut child = r.from.clone();
            child.push(name.to_string());
            if !krate.modules.contains(&child) {
                return None;
            }
            [r.from.clone(), r.segments[1..].to_vec()].concat()
        }
    };
    // `crate::Catalog` (a root re-export) counts as the module it re-exports; one hop is
    // enough for these crates' flat facades, a bound keeps a malformed one from looping.
    for _ in 0..4 {
        let top = abs.first()?;
        if krate.modules.contains(&vec![top.clone()]) {
            break;
        }
        let target = krate.root_exports.get(top)?;
        abs = [target.clone(), abs[1..].to_vec()].concat();
    }
    let mut module = ModPath::new();
    for seg in abs {
        let mut next = module.clone();
        next.push(seg);
        if krate.modules.contains(&next) {
            module = next;
        } else {
            break;
        }
    }
    Some(module)
}

/// The sibling graphs of every module with two or more children.
fn levels(krate: &Crate) -> Vec<Level> {
    let resolved: Vec<(ModPath, ModPath, Evidence)> = krate
        .refs
        .iter()
        .filter_map(|r| {
            let to = resolve(krate, r)?;
            let evidence = Evidence {
                file: r.file.clone(),
                path: r.segments.join("::"),
            };
            Some((r.from.clone(), to, evidence))
        })
        .collect();
    let mut out = Vec::new();
    for parent in &krate.modules {
        let children = krate
            .modules
            .iter()
            .filter(|m| m.len() == parent.len() + 1 && m.starts_with(parent))
            .count();
        if children < 2 {
            continue;
        }
        let mut edges = BTreeMap::new();
        for (from, to, evidence) in &resolved {
            let (Some(a), Some(b)) = (child_under(parent, from), child_under(parent, to)) else {
                continue;
            };
            if a != b {
                edges.entry((a, b)).or_insert_with(|| evidence.clone());
            }
        }
        out.push(Level {
            parent: parent.clone(),
            edges,
        });
    }
    out
}

fn child_under(parent: &ModPath, m: &ModPath) -> Option<String> {
    if m.len() > parent.len() && m.starts_with(parent) {
        Some(m[parent.len()].clone())
    } else {
        None
    }
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(edges: &BTreeMap<(String, String), Evidence>) -> Vec<Vec<String>> {
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        nodes.insert(a);
        nodes.insert(b);
        adj.entry(a).or_default().push(b);
    }
    struct Tarjan<'a> {
        adj: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn strong(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for &w in self.adj.get(v).map(Vec::as_slice).unwrap_or(&[]) {
                if !self.index.contains_key(w) {
                    self.strong(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    scc.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    self.out.push(scc);
                }
            }
        }
    }
    let mut t = Tarjan {
        adj: &adj,
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in nodes {
        if !t.index.contains_key(v) {
            t.strong(v);
        }
    }
    t.out
}

/// The shortest cycle from `start` back to it inside `scc` (breadth first).
fn shortest_cycle(
    start: &str,
    scc: &[String],
    edges: &BTreeMap<(String, String), Evidence>,
) -> Vec<String> {
    let inside = |n: &str| scc.iter().any(|s| s == n);
    let mut prev: HashMap<String, String> = HashMap::new();
    let mut frontier = vec![start.to_string()];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for v in &frontier {
            for (a, b) in edges.keys() {
                if a != v || !inside(b) {
                    continue;
                }
                if b == start {
                    let mut path = vec![start.to_string()];
                    let mut cur = v.clone();
                    while cur != start {
                        path.push(cur.clone());
                        cur = prev[&cur].clone();
                    }
                    path.push(start.to_string());
                    let n = path.len();
                    path[1..n - 1].reverse();
                    return path;
                }
                if !prev.contains_key(b) {
                    prev.insert(b.clone(), v.clone());
                    next.push(b.clone());
                }
            }
        }
        frontier = next;
    }
    Vec::new()
}

/// Every loop in the crate rooted at `root`, one paragraph each.
fn loops(name: &str, root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Vec<String> {
    let krate = match load_crate(root, read) {
        Ok(k) => k,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let mut out = Vec::new();
    for level in levels(&krate) {
        for scc in cycles(&level.edges) {
            let under = if level.parent.is_empty() {
                "crate root".to_string()
            } else {
                level.parent.join("::")
            };
            let mut text = format!("{name} ({under}): loop among {{{}}}", scc.join(", "));
            let mut seen = BTreeSet::new();
            for start in &scc {
                let cycle = shortest_cycle(start, &scc, &level.edges);
                let mut canonical = cycle[..cycle.len().saturating_sub(1)].to_vec();
                canonical.sort();
                if !seen.insert(canonical) {
                    continue;
                }
                text.push_str(&format!("\n  cycle: {}", cycle.join(" -> ")));
                for pair in cycle.windows(2) {
                    let e = &level.edges[&(pair[0].clone(), pair[1].clone())];
                    text.push_str(&format!(
                        "\n    {} -> {}: `{}` in {}",
                        pair[0],
                        pair[1],
                        e.path,
                        e.file.display()
                    ));
                }
            }
            out.push(text);
        }
    }
    out
}

fn read_disk(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

#[test]
fn no_import_loop_in_any_crate() {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let crates = [
        ("burnrate-llm-sim", "sim/src/lib.rs"),
        ("burnrate-llm-mock", "mock-provider/src/lib.rs"),
        ("burnrate-llm-reports", "reports/src/lib.rs"),
        ("burnrate-llm-drive", "drive/src/lib.rs"),
        ("burnrate (binary)", "src/main.rs"),
    ];
    let mut found = Vec::new();
    for (name, root) in crates {
        let root = ws.join(root);
        // The parse itself must have seen the crate: a path typo must not pass as "no loop".
        let krate = load_crate(&root, &read_disk).expect("the crate parses");
        assert!(
            krate.modules.len() > 3,
            "{name}: only {} modules found",
            krate.modules.len()
        );
        found.extend(loops(name, &root, &read_disk));
    }
    assert!(found.is_empty(), "import loops:\n{}", found.join("\n"));
}

fn in_memory(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
    let map: HashMap<PathBuf, String> = files
        .iter()
        .map(|(p, s)| (PathBuf::from(p), s.to_string()))
        .collect();
    move |p: &Path| map.get(p).cloned()
}

#[test]
fn a_loop_through_inline_paths_and_grouped_uses_is_found() {
    let read = in_memory(&[
        (
            "s/lib.rs",
            "mod run; mod capacity; mod engine; pub use engine::Engine;",
        ),
        // Inline path in an expression: invisible to `grep "use crate::"`.
        (
            "s/run.rs",
            "pub fn go() { let _ = crate::capacity::search(); }",
        ),
        (
            "s/capacity.rs",
            "use crate::{engine::Engine, run::go};\npub fn search() { go(); }",
        ),
        ("s/engine.rs", "pub struct Engine;"),
    ]);
    let found = loops("s", Path::new("s/lib.rs"), &read);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("cycle: capacity -> run -> capacity"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("`crate::capacity::search` in s/run.rs"),
        "{}",
        found[0]
    );
}

#[test]
fn loops_through_super_macros_re_exports_and_directory_modules_are_found() {
    let read = in_memory(&[
        ("s/lib.rs", "mod a; mod b; mod d; pub use b::Thing;"),
        // `crate::Thing` is b's re-export; the macro's path counts too.
        (
            "s/a.rs",
            "fn f() -> crate::Thing { todo!() }\nmod tests { fn t() { assert!(super::super::d::x()); } }",
        ),
        (
            "s/b.rs",
            "pub struct Thing; fn g() { println!(\"{}\", crate::a::NAME); }",
        ),
        ("s/d/mod.rs", "mod p; mod q; pub fn x() -> bool { true }"),
        ("s/d/p.rs", "use super::q::Q; pub struct P;"),
        ("s/d/q.rs", "pub struct Q(super::p::P);"),
    ]);
    let found = loops("s", Path::new("s/lib.rs"), &read);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f.contains("crate root): loop among {a, b}")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.contains("(d): loop among {p, q}")),
        "{found:?}"
    );
}

#[test]
fn a_layered_crate_passes() {
    let read = in_memory(&[
        (
            "s/lib.rs",
            "mod study; mod run; mod engine; mod stats; pub use run::simulate;",
        ),
        (
            "s/study.rs",
            "use crate::{run::simulate, stats::q};\nfn f() { simulate(); q(); }",
        ),
        (
            "s/run.rs",
            "pub fn simulate() { crate::engine::step(); let _ = crate::stats::q(); }",
        ),
        (
            "s/engine.rs",
            "pub fn step() {}\n#[cfg(test)] mod tests { use super::*; fn t() { step(); } }",
        ),
        ("s/stats.rs", "pub fn q() -> f64 { std::f64::consts::PI }"),
    ]);
    let found = loops("s", Path::new("s/lib.rs"), &read);
    assert!(found.is_empty(), "{found:?}");
    let krate = load_crate(Path::new("s/lib.rs"), &read).expect("parses");
    let root = levels(&krate)
        .into_iter()
        .find(|l| l.parent.is_empty())
        .expect("root level");
    let edges: Vec<String> = root
        .edges
        .keys()
        .map(|(a, b)| format!("{a}->{b}"))
        .collect();
    assert_eq!(
        edges,
        ["run->engine", "run->stats", "study->run", "study->stats"]
    );
}
