//! The engine's boundary, checked: it knows the forms a Task's `Resource` ARN takes (read in
//! `src/resource.rs` only, because they decide the integration pattern and the history
//! events). That it never carries a task out (no client of Lambda, HTTP or AWS) is a
//! dependency rule, checked with the others in the workspace's `tests/tests/tidy.rs`.
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a source file without its comments and unit tests (which may well name ARNs).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable source");
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn only_resource_rs_reads_resource_arns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 10, "found the engine's sources");
    let forms = [
        ":function:",
        ":lambda:",
        "arn:aws:states:::",
        ".waitForTaskToken",
        ".sync",
    ];
    for file in files {
        if file.ends_with("resource.rs") {
            continue;
        }
        let code = code(&file);
        for form in forms {
            assert!(
                !code.contains(form),
                "{} reads the resource form '{form}'; resource ARNs are read in resource.rs only",
                file.display()
            );
        }
    }
}
