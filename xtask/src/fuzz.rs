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

/// Where cargo-fuzz is installed, in the checkout.
const CARGO_TOOLS: &str = ".cargo-tools";

/// The sanitizer `cargo fuzz` builds with unless `--sanitizer` says otherwise: none. No crate
/// the targets link has unsafe code (each says `#![forbid(unsafe_code)]`), so AddressSanitizer
/// would check only the dependencies' unsafe code, and it costs much: measured here, the
/// build took 380 CPU-seconds with it and 217 without, and in 20 s `event` ran 242,375
/// inputs with it and 1,171,023 without (`sfn_api`: 50,140 and 338,451).
const DEFAULT_SANITIZER: &str = "none";

/// What `cargo fuzz --sanitizer` accepts.
const SANITIZERS: &[&str] = &["none", "address", "leak", "memory", "thread"];

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
    let usage = || {
        format!(
            "usage: cargo xtask fuzz [--seconds N] [--sanitizer {}] [{}]",
            SANITIZERS.join("|"),
            TARGETS.join("|")
        )
    };
    let mut seconds: u64 = 60;
    let mut sanitizer = DEFAULT_SANITIZER;
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
            "--sanitizer" => {
                let value = args.next().map(String::as_str);
                sanitizer = SANITIZERS
                    .iter()
                    .copied()
                    .find(|s| Some(*s) == value)
                    .with_context(|| {
                        format!("--sanitizer takes one of {}", SANITIZERS.join(", "))
                    })?;
            }
            name if TARGETS.contains(&name) => chosen.push(name),
            other => bail!("unknown argument {other:?}; {}", usage()),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    let root = util::workspace_root()?;
    let mut fuzzing = Fuzzing::prepare(&root)?;
    fuzzing.sanitizer = sanitizer;
    let started = Instant::now();
    let (mut build, what) = fuzzing.build_command();
    util::run(&mut build, &what)?;
    let built = format!(
        "Built once in {:.0} s ({})",
        started.elapsed().as_secs_f64(),
        fuzzing.build_description()
    );
    fuzzing.run(seconds, &chosen, &built).map(drop)
}

/// Where cargo-fuzz, the corpus and the fuzz builds live: what setting up, building and
/// running the targets needs.
pub struct Fuzzing {
    root: PathBuf,
    /// `PATH` with cargo-fuzz's directory first.
    path: std::ffi::OsString,
    target_dir: PathBuf,
    corpus: PathBuf,
    /// `cargo fuzz --sanitizer` ([`DEFAULT_SANITIZER`] unless `--sanitizer` says).
    sanitizer: &'static str,
}

impl Fuzzing {
    /// Ready to build: [`Fuzzing::new`], then its [`Fuzzing::setup_steps`] run here.
    pub fn prepare(root: &Path) -> anyhow::Result<Self> {
        let fuzzing = Self::new(root)?;
        for (mut step, what) in fuzzing.setup_steps() {
            util::run(&mut step, &what)?;
        }
        Ok(fuzzing)
    }

    /// Where everything goes (the nightly toolchain is checked here); nothing is built or
    /// written until [`Fuzzing::setup_steps`] run.
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        ensure_nightly()?;
        let path = std::env::join_paths(std::iter::once(root.join(CARGO_TOOLS).join("bin")).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .context("building PATH")?;
        Ok(Self {
            root: root.to_path_buf(),
            path,
            target_dir: util::target_dir(root),
            corpus: root.join("fuzz/corpus"),
            sanitizer: DEFAULT_SANITIZER,
        })
    }

    /// What building the targets needs first: cargo-fuzz installed into `.cargo-tools/`
    /// (nothing when that version is there).
    pub fn setup_steps(&self) -> Vec<(Command, String)> {
        cargo_fuzz_install(&self.root).into_iter().collect()
    }

    /// Writes every target's seeds into the corpus, with the `seeds` example of
    /// tests/cordon-fuzz built as `cargo test --workspace` builds the workspace (the same
    /// features, in the dev profile), so after the suite or the bench's full-stack runs it
    /// only links the example.
    fn write_seeds(&self) -> anyhow::Result<()> {
        let mut build = util::cargo(&self.root);
        build.args(["build", "--quiet", "--workspace", "--example", "seeds"]);
        util::run(&mut build, "cargo build --workspace --example seeds")?;
        let mut seeds = Command::new(self.target_dir.join("debug/examples/seeds"));
        seeds.arg(&self.corpus);
        util::run(&mut seeds, "writing the seed corpus")
    }

    /// `cargo +nightly fuzz <args> --target-dir <target>/fuzz`, through rustup's `cargo
    /// +nightly`, which finds `cargo-fuzz` on PATH and tells it which cargo to build with.
    /// Its own target dir: it never waits on the workspace's build lock.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(self.root.join("fuzz"))
            .env("PATH", &self.path)
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .args(["+nightly", "fuzz"])
            .args(args)
            .args(["--sanitizer", self.sanitizer])
            .arg("--target-dir")
            .arg(self.target_dir.join("fuzz"));
        cmd
    }

    /// `cargo fuzz build`, for [`crate::background::Background`].
    pub fn build_command(&self) -> (Command, String) {
        (self.command(&["build"]), "cargo fuzz build".to_owned())
    }

    /// How [`Fuzzing::build_command`] builds, for the report.
    pub fn build_description(&self) -> String {
        let sanitizer = match self.sanitizer {
            "none" => "no sanitizer: no crate the targets link has unsafe code".to_owned(),
            "address" => "AddressSanitizer".to_owned(),
            other => format!("`--sanitizer {other}`"),
        };
        format!("`cargo fuzz build`: release, {sanitizer}")
    }

    /// Seeds the corpus, then runs each of `chosen` (built) for `seconds`, one per CPU at a
    /// time; the results as a Markdown table after `built`, which says how the targets were
    /// built.
    pub fn run(&self, seconds: u64, chosen: &[&str], built: &str) -> anyhow::Result<String> {
        self.write_seeds()?;
        // One target per CPU: each is single-threaded, so each gets the time it asks for on
        // a core of its own.
        let parallel = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(chosen.len())
            .max(1);
        let queue = std::sync::Mutex::new(chosen.iter().copied().enumerate());
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..parallel {
                scope.spawn(|| {
                    while let Some((i, target)) = next(&queue) {
                        let outcome = self.fuzz_one(target, seconds);
                        lock(&results).push((i, target, outcome));
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        results.sort_by_key(|(i, ..)| *i);

        let mut rows = Vec::new();
        let mut failed = Vec::new();
        for (_, target, outcome) in results {
            let (runs, result) = match outcome {
                Ok(Outcome {
                    runs,
                    crashed: None,
                }) => (runs, "no crash".to_owned()),
                Ok(Outcome {
                    runs,
                    crashed: Some((status, log)),
                }) => {
                    eprintln!("{log}");
                    failed.push(target);
                    (runs, format!("FAILED ({status})"))
                }
                Err(e) => {
                    failed.push(target);
                    ("?".to_owned(), format!("FAILED (could not run: {e:#})"))
                }
            };
            let line = format!("| `{target}` | {seconds} s | {runs} | {result} |");
            println!("{line}");
            rows.push(line);
        }
        let report = format!(
            "{built}; then {parallel} target(s) at a time, one per CPU.\n\n\
             | target | fuzzed for | executions | result |\n|---|---|---|---|\n{}\n",
            rows.join("\n")
        );
        write_report(&self.target_dir, &report)?;
        if !failed.is_empty() {
            bail!(
                "fuzz targets crashed: {}; the inputs are in fuzz/artifacts/",
                failed.join(", ")
            );
        }
        Ok(report)
    }

    /// Runs one built target on its corpus for `seconds`.
    fn fuzz_one(&self, target: &str, seconds: u64) -> anyhow::Result<Outcome> {
        let output = self
            .command(&["run"])
            .arg(target)
            .arg(self.corpus.join(target))
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
        let crashed = (!output.status.success()).then(|| (output.status, log.into_owned()));
        Ok(Outcome { runs, crashed })
    }
}

/// What one target's run did: its executions, and the exit status and log of a crash.
struct Outcome {
    runs: String,
    crashed: Option<(std::process::ExitStatus, String)>,
}

fn next<T: Iterator>(queue: &std::sync::Mutex<T>) -> Option<T::Item> {
    lock(queue).next()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// `cargo install --locked cargo-fuzz` into `.cargo-tools/`, unless that version is there already.
fn cargo_fuzz_install(root: &Path) -> Option<(Command, String)> {
    let tools = root.join(CARGO_TOOLS);
    let version = Command::new(tools.join("bin/cargo-fuzz"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if version.contains(CARGO_FUZZ_VERSION) {
        return None;
    }
    let mut install = util::cargo(root);
    install
        .args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .arg("--root")
        .arg(&tools);
    Some((
        install,
        format!("cargo install cargo-fuzz {CARGO_FUZZ_VERSION} into {CARGO_TOOLS}/"),
    ))
}
