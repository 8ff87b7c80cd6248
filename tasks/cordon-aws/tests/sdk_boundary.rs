//! The layout invariant ARCHITECTURE.md states: among the crates the Lambdas are built
//! from, only cordon-aws depends on the AWS SDK. The task crates build their dependencies
//! from `cordon_aws::Aws` and the traits, so their public APIs cannot name an SDK type.
//! (Their tests may use the SDK to inspect the emulator: dev-dependencies are allowed.)
use std::path::Path;

/// The `[dependencies]` (and target-specific dependencies) of a manifest, by name.
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
fn only_cordon_aws_depends_on_the_aws_sdk() {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = Vec::new();
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&tasks).expect("the tasks folder") {
        let dir = entry.expect("a folder entry").path();
        let crate_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let manifest = dir.join("Cargo.toml");
        if crate_name == "cordon-aws" || !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).expect("a readable manifest");
        for dep in dependencies(&text) {
            if dep.starts_with("aws-") || dep.starts_with("aws_") {
                offenders.push(format!("{crate_name} depends on {dep}"));
            }
        }
        checked.push(crate_name);
    }
    assert!(
        checked.len() >= 8,
        "expected cordon-core and the seven task crates next to cordon-aws, found {checked:?}"
    );
    assert!(
        offenders.is_empty(),
        "task crates reach AWS only through cordon-aws (take `&cordon_aws::Aws` in \
         `Deps::build` and ask it for adapters): {offenders:?}"
    );
}

#[test]
fn the_manifest_reader_sees_dependencies_only() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\naws-config.workspace = true\n\
                    serde = \"1\"\n\n[dev-dependencies]\naws-sdk-sqs.workspace = true\n";
    assert_eq!(dependencies(manifest), vec!["aws-config", "serde"]);
}
