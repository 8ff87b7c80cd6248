//! Dev automation: `cargo xtask <verb>`. The one entry point for building, testing,
//! linting, benchmarking and demoing Cordon. See the README's Commands block.
use std::process::{Command, ExitCode};

mod background;
mod bench;
mod fuzz;
mod moto;
mod util;

const USAGE: &str = "\
usage: cargo xtask <verb> [args]

verbs:
  demo [--interactive]          start moto and the local stack, simulate a backdoor user, watch
                                Cordon respond (approves from the emailed link unless --interactive)
  test [-- <cargo test args>]   start moto, run `cargo test --workspace` against it, stop moto
  lint                          rustfmt, clippy -D warnings, ASL checks, the IAM policy checks (parliament),
                                cfn-lint, sam validate --lint, checkov
  moto                          start moto in the foreground and print its endpoint (Ctrl-C stops it)
  bench [--quick]               measure the engine (beside aws-local-stepfunctions and moto), the durable
                                service, the full stack under faults and crashes, task cold start (beside
                                Python under awslambdaric) and fuzz; write BENCHMARKS.md (--quick: a smoke
                                run of dev builds without cold start and fuzzing, written under the
                                target dir)
  coldstart [--quick]           the task cold-start comparison alone, printed
  fuzz [--seconds N] [--sanitizer S] [TARGET..]
                                run every fuzz target under cargo-fuzz (nightly) for N seconds each
                                (S: none, the default, or address, leak, memory, thread)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (verb, rest) = match args.split_first() {
        Some((v, rest)) => (v.as_str(), rest),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match verb {
        "test" => test(rest),
        "demo" => demo(rest),
        "lint" => lint(),
        "moto" => moto_foreground(),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        "coldstart" => coldstart(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown verb `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {verb}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask test`: the README's test command and what `.ci/run` calls.
fn test(extra: &[String]) -> anyhow::Result<()> {
    let root = util::workspace_root()?;
    let venv = moto::ensure_venv(&root)?;
    // One test runs a real task binary under `cargo lambda watch`.
    let lambda = util::ensure_python_tool(
        &root,
        ".venv-lambda",
        &[CARGO_LAMBDA, ZIGLANG],
        "cargo-lambda",
    )?;
    // The IAM policy checks (tests/tests/iam_policies.rs) read AWS's service
    // authorization data and SAM's policy templates, and run parliament.
    let iam = iam_tools(&root)?;
    let server = moto::Moto::start(&root, &venv)?;
    eprintln!(
        "xtask: moto {} listening on {}",
        moto::MOTO_VERSION,
        server.endpoint()
    );
    let mut cmd = util::cargo(&root);
    cmd.args(["test", "--workspace"])
        .env("CORDON_CARGO_LAMBDA", lambda.join("bin/cargo-lambda"))
        .envs(iam);
    let extra = extra.strip_prefix(&["--".to_string()]).unwrap_or(extra);
    cmd.args(extra);
    server.export_to(&mut cmd);
    // `server` is dropped (and moto killed) on every path out of this function,
    // including a failing test run.
    util::run(&mut cmd, "cargo test --workspace")
}

/// Pinned versions of the infrastructure linters; each lives in its own venv because
/// their dependency trees conflict.
const CFN_LINT: &str = "cfn-lint==1.58.0";
const SAM_CLI: &str = "aws-sam-cli==1.170.0";
const CHECKOV: &str = "checkov==3.3.30";
/// The IAM policy linter (it ships AWS's service authorization data as
/// `iam_definition.json`), and the SAM translator (its `policy_templates.json` is what
/// cordon-template's copy of SAM's policy templates is checked against).
const PARLIAMENT: &str = "parliament==1.6.4";
const SAM_TRANSLATOR: &str = "aws-sam-translator==1.115.0";
/// cargo-lambda (prebuilt, from PyPI) and the zig it cross-compiles with.
const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";
const ZIGLANG: &str = "ziglang==0.17.1";

/// `cargo xtask demo`: the README's first command.
fn demo(args: &[String]) -> anyhow::Result<()> {
    let interactive = match args {
        [] => false,
        [flag] if flag == "--interactive" => true,
        other => {
            anyhow::bail!("unexpected arguments {other:?}; usage: cargo xtask demo [--interactive]")
        }
    };
    let root = util::workspace_root()?;
    let venv = moto::ensure_venv(&root)?;
    let server = moto::Moto::start(&root, &venv)?;
    eprintln!(
        "xtask: moto {} listening on {}",
        moto::MOTO_VERSION,
        server.endpoint()
    );
    let mut cmd = util::cargo(&root);
    cmd.args(["run", "--quiet", "-p", "cordon", "--", "demo", "--template"])
        .arg(root.join("infra/template.yaml"));
    if !interactive {
        cmd.arg("--approve");
    }
    server.export_to(&mut cmd);
    util::run(&mut cmd, "cordon demo")
}

fn lint() -> anyhow::Result<()> {
    let root = util::workspace_root()?;
    let template = root.join("infra/template.yaml");
    let forwarder = root.join("infra/forwarder.yaml");
    util::run(
        util::cargo(&root).args(["fmt", "--all", "--", "--check"]),
        "cargo fmt --check",
    )?;
    util::run(
        util::cargo(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "cargo clippy -D warnings",
    )?;
    // The engine's validation of the ASL, the substitutions in both directions and the
    // error names are tests, so `cargo xtask test` enforces them too.
    util::run(
        util::cargo(&root).args(["test", "-p", "cordon-tests", "--test", "asl_consistency"]),
        "ASL consistency checks",
    )?;
    // parliament over every role's resolved policies (unknown actions, malformed
    // statements, resources that do not fit the action), and the catalogue and SAM
    // policy templates checked against AWS's data; also run by `cargo xtask test`.
    let iam = iam_tools(&root)?;
    util::run(
        util::cargo(&root)
            .args(["test", "-p", "cordon-tests", "--test", "iam_policies"])
            .envs(iam),
        "IAM policy checks (parliament)",
    )?;
    let sam = util::ensure_python_tool(&root, ".venv-sam", &[SAM_CLI, CFN_LINT], "sam")?;
    util::run(
        Command::new(sam.join("bin/cfn-lint"))
            .arg(&template)
            .arg(&forwarder),
        "cfn-lint infra/*.yaml",
    )?;
    util::run(
        Command::new(sam.join("bin/sam"))
            .args(["validate", "--lint", "--region", "us-east-1", "-t"])
            .arg(&template)
            .env("SAM_CLI_TELEMETRY", "0"),
        "sam validate --lint",
    )?;
    let checkov = util::ensure_python_tool(&root, ".venv-checkov", &[CHECKOV], "checkov")?;
    // checkov exits non-zero on any failed check; skips must be justified inline in the
    // template (Metadata.checkov.skip[].comment).
    util::run(
        Command::new(checkov.join("bin/checkov"))
            .args([
                "--framework",
                "cloudformation",
                "--skip-download",
                "--compact",
                "--quiet",
                "-f",
            ])
            .arg(&template),
        "checkov (zero failed checks)",
    )?;
    Ok(())
}

/// Installs parliament and the SAM translator into `.venv-iam/` and returns the variables
/// `tests/tests/iam_policies.rs` reads.
fn iam_tools(root: &std::path::Path) -> anyhow::Result<Vec<(&'static str, std::path::PathBuf)>> {
    let venv = util::ensure_python_tool(
        root,
        ".venv-iam",
        &[PARLIAMENT, SAM_TRANSLATOR],
        "parliament",
    )?;
    let site = util::site_packages(&venv)?;
    Ok(vec![
        ("CORDON_PARLIAMENT", venv.join("bin/parliament")),
        (
            "CORDON_IAM_DEFINITION",
            site.join("parliament/iam_definition.json"),
        ),
        (
            "CORDON_SAM_POLICY_TEMPLATES",
            site.join("samtranslator/policy_templates_data/policy_templates.json"),
        ),
    ])
}

/// `cargo xtask coldstart [--quick]`: the task cold-start comparison alone (the section
/// `cargo xtask bench` writes into BENCHMARKS.md), printed to stdout.
fn coldstart(args: &[String]) -> anyhow::Result<()> {
    let quick = match args {
        [] => false,
        [q] if q == "--quick" => true,
        _ => anyhow::bail!("usage: cargo xtask coldstart [--quick]"),
    };
    let root = util::workspace_root()?;
    let venv = moto::ensure_venv(&root)?;
    let server = moto::Moto::start(&root, &venv)?;
    let measured = bench::coldstart::measure(&root, quick, &server.endpoint(), None)?;
    drop(server);
    let mut text = String::new();
    bench::coldstart::section(&mut text, &measured);
    print!("{text}");
    Ok(())
}

fn moto_foreground() -> anyhow::Result<()> {
    let root = util::workspace_root()?;
    let venv = moto::ensure_venv(&root)?;
    let server = moto::Moto::start(&root, &venv)?;
    println!("export AWS_ENDPOINT_URL={}", server.endpoint());
    println!("export AWS_REGION={}", moto::REGION);
    println!("export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing");
    eprintln!(
        "xtask: moto running (pid {}); press Ctrl-C to stop",
        server.pid()
    );
    server.wait()
}
