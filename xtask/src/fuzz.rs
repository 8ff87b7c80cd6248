//! `cargo xtask fuzz [--seconds N] [TARGET...]`: every fuzz target of tests/cordon-fuzz
//! under libFuzzer (cargo-fuzz, on the nightly toolchain), each for N seconds (default 60),
//! seeded from the shared fixtures and conformance cases. Prints one line per target (its
//! run length, executions and result) and writes them as a Markdown table to
//! `<target dir>/fuzz/RESULTS.md` for the bench report; a crash fails the command and
//! leaves its input under `fuzz/artifacts/<target>/`.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::util;

/// cargo-fuzz, installed into `.cargo-tools/` of the checkout on first use.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The targets, in `tests/cordon-fuzz`'s order.
pub const TARGETS: &[&str] = &[
    "event",
    "asl",
    "intrinsics",
    "choice",
    "jsonpath",
    "pattern",
    "put_events",
    "sfn_api",
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds: u64 = 60;
    let mut chosen = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--seconds takes a whole number of seconds")?;
            }
            name if TARGETS.contains(&name) => chosen.push(name),
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask fuzz [--seconds N] [{}]",
                TARGETS.join("|")
            ),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    let root = util::workspace_root()?;
    fuzz(&root, seconds, &chosen).map(drop)
}

/// Fuzzes each of `chosen` for `seconds`; the results as a Markdown table (also written to
/// `<target dir>/fuzz/RESULTS.md`). A crash is an error, after every target has run.
pub fn fuzz(root: &Path, seconds: u64, chosen: &[&str]) -> anyhow::Result<String> {
    ensure_nightly()?;
    let cargo_fuzz = ensure_cargo_fuzz(root)?;
    let path = std::env::join_paths(
        std::iter::once(
            cargo_fuzz
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        )
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .context("building PATH")?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let corpus = root.join("fuzz/corpus");
    util::run(
        util::cargo(root)
            .args([
                "run",
                "--quiet",
                "-p",
                "cordon-fuzz",
                "--example",
                "seeds",
                "--",
            ])
            .arg(&corpus),
        "writing the seed corpus",
    )?;

    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for &target in chosen {
        let started = Instant::now();
        // Through rustup's `cargo +nightly`, which finds `cargo-fuzz` on PATH and tells it
        // which cargo to build with.
        let output = Command::new("cargo")
            .current_dir(root.join("fuzz"))
            .env("PATH", &path)
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .args(["+nightly", "fuzz", "run", "--target-dir"])
            .arg(target_dir.join("fuzz"))
            .arg(target)
            .arg(corpus.join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=4096")
            .arg("-timeout=10")
            .output()
            .with_context(|| format!("running cargo fuzz for {target}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let runs = log
            .lines()
            .rev()
            .find_map(|l| {
                l.strip_prefix("Done ")
                    .and_then(|r| r.split_whitespace().next())
            })
            .unwrap_or("?")
            .to_owned();
        let result = if output.status.success() {
            "no crash".to_owned()
        } else {
            failed.push(target);
            eprintln!("{log}");
            format!("FAILED ({})", output.status)
        };
        let line = format!(
            "| `{target}` | {seconds} s ({:.0} s with the build) | {runs} | {result} |",
            started.elapsed().as_secs_f64()
        );
        println!("{line}");
        rows.push(line);
    }
    let report = format!(
        "| target | fuzzed for | executions | result |\n|---|---|---|---|\n{}\n",
        rows.join("\n")
    );
    write_report(&target_dir, &report)?;
    if !failed.is_empty() {
        bail!(
            "fuzz targets crashed: {}; the inputs are in fuzz/artifacts/",
            failed.join(", ")
        );
    }
    Ok(report)
}

fn write_report(target_dir: &Path, report: &str) -> anyhow::Result<()> {
    let dir = target_dir.join("fuzz");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("RESULTS.md");
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// cargo-fuzz needs nightly (`-Zsanitizer`); the machine's toolchains are fixed, so say
/// what is missing rather than fetch one.
fn ensure_nightly() -> anyhow::Result<()> {
    let out = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .context("running rustup (cargo-fuzz needs the nightly toolchain through rustup)")?;
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("nightly"))
    {
        bail!("cargo-fuzz needs the nightly toolchain: `rustup toolchain install nightly`");
    }
    Ok(())
}

/// `<root>/.cargo-tools/bin/cargo-fuzz`, installed with `cargo install --locked` when
/// absent or of another version.
fn ensure_cargo_fuzz(root: &Path) -> anyhow::Result<PathBuf> {
    let tools = root.join(".cargo-tools");
    let binary = tools.join("bin/cargo-fuzz");
    let version = Command::new(&binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains(CARGO_FUZZ_VERSION) {
        eprintln!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} into .cargo-tools/");
        util::run(
            util::cargo(root)
                .args([
                    "install",
                    "--locked",
                    "cargo-fuzz",
                    "--version",
                    CARGO_FUZZ_VERSION,
                ])
                .arg("--root")
                .arg(&tools),
            "cargo install cargo-fuzz",
        )?;
    }
    Ok(binary)
}
