//! Tidy checks on the workspace's layout (rust-analyzer style: they run in `cargo test`).
//!
//! For the `src/` tree of every workspace member:
//! - No import circle between files: if `a.rs` uses `b.rs`, nothing `b.rs` uses (directly
//!   or not) uses `a.rs`. A `mod.rs` may use its children, so children never use their
//!   `mod.rs`; shared items live in a sibling file.
//! - No source file over 800 lines, unless its opening doc comment says why it reads best
//!   whole (a line containing "reads best whole").
//!
//! And for every member's `Cargo.toml`, the dependency rules ARCHITECTURE.md states (which
//! crate may know AWS, Lambda, HTTP or YAML).
//!
//! The import graph is read from the text: `use` trees and inline `crate::`/`super::`/
//! `self::`/`child::` paths, with comments, string literals and `#[cfg(test)]` modules
//! left out. A path counts as a use of the deepest module file it names.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

type ModPath = Vec<String>;

/// The `src/` folder of every workspace member, read from the root `Cargo.toml`.
fn member_src_dirs() -> Vec<PathBuf> {
    let root = cordon_tests::workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("root Cargo.toml");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("the root Cargo.toml lists its members");
    let dirs: Vec<PathBuf> = members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root.join(m).join("src"))
        .collect();
    assert!(dirs.len() > 10, "members read from Cargo.toml: {dirs:?}");
    for dir in &dirs {
        assert!(dir.is_dir(), "{} is not a folder", dir.display());
    }
    dirs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `src/classify/mod.rs` → `["classify"]`, `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut segs: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs
        .last()
        .is_some_and(|s| s == "mod" || s == "lib" || s == "main")
    {
        segs.pop();
    }
    segs
}

/// The code without comments, string/char literals and a trailing `#[cfg(test)] mod`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i)
            if text[i + "#[cfg(test)]".len()..]
                .trim_start()
                .starts_with("mod ") =>
        {
            &text[..i]
        }
        _ => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push(' ');
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`crate::a::{b, c::{d, e}}`) into its paths.
fn expand_use(tree: &str) -> Vec<ModPath> {
    fn walk(s: &[char], i: &mut usize, prefix: &ModPath, out: &mut Vec<ModPath>) {
        let mut path = prefix.clone();
        let mut seg = String::new();
        while *i < s.len() {
            let c = s[*i];
            if is_ident(c) {
                seg.push(c);
                *i += 1;
            } else if c == ':' {
                if !seg.is_empty() {
                    path.push(std::mem::take(&mut seg));
                }
                *i += 1;
            } else if c == '{' {
                *i += 1;
                loop {
                    walk(s, i, &path, out);
                    match s.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            } else if c == ',' || c == '}' {
                break;
            } else if c.is_whitespace() {
                // `a as b`: the alias does not change what is used.
                let rest: String = s[*i..].iter().take(4).collect();
                if rest.trim_start().starts_with("as ") {
                    while *i < s.len() && s[*i] != ',' && s[*i] != '}' {
                        *i += 1;
                    }
                    break;
                }
                *i += 1;
            } else {
                *i += 1;
            }
        }
        if !seg.is_empty() {
            path.push(seg);
        }
        if path.len() > prefix.len() {
            out.push(path);
        }
    }
    let chars: Vec<char> = tree.chars().collect();
    let mut out = Vec::new();
    walk(&chars, &mut 0, &Vec::new(), &mut out);
    out
}

/// Every path the code names that starts at `crate`, `super`, `self` or a child module.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<ModPath> {
    let mut out = Vec::new();
    // `use` trees.
    let mut rest = code;
    while let Some(pos) = rest.find("use ") {
        let before = rest[..pos].chars().last();
        rest = &rest[pos + 4..];
        if before.is_some_and(is_ident) {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        out.extend(expand_use(&rest[..end]));
        rest = &rest[end..];
    }
    // Inline paths: `crate::a::b`, `super::x`, `child::ITEM`.
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                segs.push(chars[start..j].iter().collect::<String>());
                if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                    j += 2;
                    if !chars.get(j).copied().is_some_and(is_ident) {
                        break;
                    }
                } else {
                    break;
                }
            }
            let first = segs[0].as_str();
            let rooted = matches!(first, "crate" | "super" | "self") || children.contains(first);
            if segs.len() > 1 && rooted {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The module file a path names: its longest prefix that is a module of the crate.
fn resolve(from: &ModPath, path: &ModPath, modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut full: ModPath = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => from[..from.len().saturating_sub(1)].to_vec(),
        Some("self") => from.clone(),
        Some(child) => {
            let mut m = from.clone();
            m.push(child.to_string());
            if !modules.contains(&m) {
                return None; // an external crate
            }
            from.clone()
        }
        None => return None,
    };
    let skip = usize::from(matches!(
        path.first().map(String::as_str),
        Some("crate" | "super" | "self")
    ));
    full.extend(path[skip..].iter().cloned());
    (0..=full.len())
        .rev()
        .map(|k| full[..k].to_vec())
        .find(|m| modules.contains(m))
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "lib".to_string()
    } else {
        m.join("/")
    }
}

/// The import graph of one crate's `src/`. A crate with both `lib.rs` and `main.rs` has
/// two roots; `main.rs` reaches the library only through the crate's name, so it is read
/// as a separate module (`main`).
fn import_graph(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let has_lib = src.join("lib.rs").is_file();
    let module = |f: &Path| -> ModPath {
        if has_lib && f == src.join("main.rs") {
            vec!["main".to_string()]
        } else {
            module_of(src, f)
        }
    };
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module(f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let from = module(file);
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == from.len() + 1 && m.starts_with(&from))
            .filter_map(|m| m.last().cloned())
            .collect();
        let uses: BTreeSet<ModPath> = paths_in(&code_of(&text), &children)
            .iter()
            .filter_map(|p| resolve(&from, p, &modules))
            .filter(|m| *m != from)
            .collect();
        graph.insert(from, uses);
    }
    graph
}

/// One cycle through `graph`, if there is any.
fn find_cycle(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        m: &ModPath,
        graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        done: &mut BTreeSet<ModPath>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(pos) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(m.clone());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.clone());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_import_circle_between_files() {
    let key = |s: &str| -> ModPath { s.split('/').map(str::to_string).collect() };
    // The reader must see the edges it is meant to see, or the check proves nothing.
    let core = import_graph(&cordon_tests::workspace_root().join("tasks/cordon-core/src"));
    let edge = |a: &str, b: &str| core.get(&key(a)).is_some_and(|uses| uses.contains(&key(b)));
    assert!(edge("classify", "classify/signin"), "inline child path");
    assert!(edge("classify/signin", "classify/call"), "use super::");
    assert!(edge("policy/facts", "policy_document"), "use crate::");

    let mut circles = Vec::new();
    for src in member_src_dirs() {
        if let Some(cycle) = find_cycle(&import_graph(&src)) {
            let shown: Vec<String> = cycle.iter().map(name).collect();
            circles.push(format!("{}: {}", src.display(), shown.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_finds_circles() {
    let graph: BTreeMap<ModPath, BTreeSet<ModPath>> = [
        (vec!["a".to_string()], [vec!["b".to_string()]].into()),
        (vec!["b".to_string()], [vec!["a".to_string()]].into()),
    ]
    .into();
    assert!(find_cycle(&graph).is_some());
    let modules: BTreeSet<ModPath> = [vec![], vec!["x".into()], vec!["x".into(), "y".into()]]
        .into_iter()
        .collect();
    let children = ["y".to_string()].into();
    let code = code_of("use y::{A, B as C};\n// use crate::nope;\nfn f() { super::z(); }");
    let found: Vec<Option<ModPath>> = paths_in(&code, &children)
        .iter()
        .map(|p| resolve(&vec!["x".into()], p, &modules))
        .collect();
    assert!(
        found.contains(&Some(vec!["x".into(), "y".into()])),
        "{found:?}"
    );
    assert!(
        found.contains(&Some(vec![])),
        "super:: from x is lib: {found:?}"
    );
}

#[test]
fn no_source_file_is_too_long() {
    let mut too_long = Vec::new();
    for src in member_src_dirs() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let lines = text.lines().count();
            let says_why = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .any(|l| l.contains("reads best whole"));
            if lines > MAX_LINES && !says_why {
                too_long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "split these by concern (at most {MAX_LINES} lines, or say at the top why the file \
         reads best whole):\n{}",
        too_long.join("\n")
    );
}

/// The `[dependencies]` (and target-specific dependencies) of a manifest, by name.
/// Dev-dependencies are not counted: tests may inspect the emulator with the SDK.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]"
                || (line.starts_with("[target.") && line.ends_with(".dependencies]"));
            continue;
        }
        if in_dependencies
            && let Some((name, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            // `name = …` or `name.workspace = true`.
            let name = name.split('.').next().unwrap_or_default();
            names.push(name.trim().trim_matches('"').to_string());
        }
    }
    names
}

#[test]
fn the_manifest_reader_sees_dependencies_only() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\naws-config.workspace = true\n\
                    serde = \"1\"\n\n[dev-dependencies]\naws-sdk-sqs.workspace = true\n";
    assert_eq!(dependencies(manifest), vec!["aws-config", "serde"]);
}

/// Which crate may depend on what. Each rule is an invariant ARCHITECTURE.md states.
#[test]
fn dependency_rules_hold() {
    let root = cordon_tests::workspace_root();
    let members: Vec<(String, Vec<String>)> = member_src_dirs()
        .iter()
        .map(|src| {
            let dir = src.parent().expect("a member folder");
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("a manifest");
            let name = dir
                .strip_prefix(&root)
                .expect("inside the workspace")
                .to_string_lossy()
                .into_owned();
            (name, dependencies(&manifest))
        })
        .collect();
    let mut broken = Vec::new();
    let mut check = |member: &str, deps: &[String], forbidden: &[&str], why: &str| {
        for dep in deps {
            if forbidden.iter().any(|f| dep.starts_with(f)) {
                broken.push(format!("{member} depends on {dep}: {why}"));
            }
        }
    };
    for (member, deps) in &members {
        let is_task_side = member.starts_with("tasks/") && member != "tasks/cordon-aws";
        if is_task_side {
            check(
                member,
                deps,
                &["aws-", "aws_"],
                "the domain and the task crates reach AWS only through cordon-aws \
                 (`Deps::build` takes `&cordon_aws::Aws`)",
            );
        }
        if member == "tasks/cordon-core" {
            check(
                member,
                deps,
                &["tokio", "hyper", "lambda_http", "rusqlite"],
                "cordon-core is pure: no I/O, no runtime",
            );
        }
        if member == "statemachine/cordon-engine" {
            check(
                member,
                deps,
                &[
                    "aws-", "lambda", "hyper", "reqwest", "ureq", "http", "rusqlite",
                ],
                "the engine never carries a task out or persists: a TaskDispatcher does, \
                 and cordon-sfn-local persists",
            );
        }
        if member != "infra/cordon-template" {
            check(
                member,
                deps,
                &["serde_yaml", "serde_yml", "yaml-rust"],
                "infra/template.yaml has one reader, cordon-template",
            );
        }
    }
    assert!(
        members.iter().any(|(m, _)| m == "tasks/cordon-core"),
        "members read: {members:?}"
    );
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n{}",
        broken.join("\n")
    );
}
