//! Task cold start (issue 15): the quarantine task's Rust bootstrap beside a Python 3.11 +
//! boto3 handler doing the same work (`xtask/bench/coldstart/quarantine.py`) under the
//! official `awslambdaric`, in the same run, against the same moto.
//!
//! Each sample is one fresh process under a loopback Lambda Runtime API
//! (`runtime_api.rs`) that holds one real quarantine input. Timed from just before
//! `Command::spawn` to
//! - the process's first `GET /2018-06-01/runtime/invocation/next` (init), and
//! - its `POST …/invocation/{id}/response` (init + one invocation against moto).
//!
//! The function's `AWS_ENDPOINT_URL` is a forwarder in front of moto (`proxy.rs`) that
//! timestamps every connection and request, so calls made before the first event are
//! counted, and named. Peak RSS is `VmHWM` from `/proc/<pid>/status`, read once the process
//! is back at `GET /next` after its response (idle), before it is killed.
//!
//! The quarantine input is the one the workflow builds: the record task (`open`) classifies
//! a CloudTrail `CreateUser` event for a fresh moto user and opens the incident, the enrich
//! task reads the user's facts, and the Quarantine state's payload is `{incidentId,
//! detection, facts}`; those two steps run the release binaries under the same emulator,
//! untimed. Each sample contains its own user (an active access key, a console password),
//! and the outcome is checked in IAM after each timed run.
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use crate::util;

mod model;
mod proxy;
mod report;
mod runtime_api;
mod sample;
mod setup;

use model::*;
pub use model::{ColdStart, Runtime};
use report::mib;
pub use report::section;
use sample::Ctx;

/// The release builds the measurement needs, in order. The bootstrap as `sam build`
/// makes it: the template's Metadata says `BuildMethod: rust-cargolambda`, `Binary:
/// cordon-quarantine`, i.e. `cargo lambda build --release --bin cordon-quarantine` from the
/// workspace root (`CodeUri: ..`): the workspace's release profile, this one binary's
/// features. Then the record and enrich tasks, which make each sample's input; they enable
/// the same features as the quarantine task (cordon-aws with `lambda`), so they reuse it.
pub fn release_builds(root: &Path) -> Vec<(Command, String)> {
    let mut quarantine = util::cargo(root);
    quarantine.args(["build", "--release", "--bin", QUARANTINE_BIN]);
    let mut inputs = util::cargo(root);
    inputs.args([
        "build",
        "--release",
        "--bin",
        RECORD_BIN,
        "--bin",
        ENRICH_BIN,
    ]);
    vec![
        (
            quarantine,
            format!("cargo build --release --bin {QUARANTINE_BIN}"),
        ),
        (
            inputs,
            format!("cargo build --release --bin {RECORD_BIN} --bin {ENRICH_BIN}"),
        ),
    ]
}

/// Builds the bootstrap ([`release_builds`]: nothing to do when `built_elsewhere` says how
/// the bench made them already), prepares the venv and moto,
/// and measures `10` samples per runtime (`2` when `quick`), alternating Rust and Python,
/// after one unrecorded warm-up each.
pub fn measure(
    root: &Path,
    quick: bool,
    moto_endpoint: &str,
    built_elsewhere: Option<String>,
) -> anyhow::Result<ColdStart> {
    let started = Instant::now();
    let samples = if quick { 2 } else { 10 };
    let warmup = 1;

    for (mut build, what) in release_builds(root) {
        eprintln!("xtask coldstart: {what}");
        util::run(&mut build, &what)?;
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let build = format!("cargo build --release --bin {QUARANTINE_BIN}");
    let built =
        built_elsewhere.unwrap_or_else(|| format!("after {build_seconds:.0} s of release builds"));
    let release = util::target_dir(root).join("release");
    let bootstrap = release.join(QUARANTINE_BIN);

    let venv = util::ensure_python_tool(root, VENV, &[AWSLAMBDARIC, BOTO3], "python3")?;
    let python = venv.join("bin/python");
    let python_version = super::host::command_line(Command::new(&python).arg("--version"));
    let python_packages = python_packages(&python)?;

    let work = util::target_dir(root).join("xtask-bench/coldstart");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let moto = setup::Moto::new(moto_endpoint);
    let stack = Stack::create(&moto)?;
    let proxy = proxy::Proxy::start(socket_addr(moto_endpoint)?)?;
    let template: Value = serde_json::from_str(&super::host::read(root, EVENT_TEMPLATE)?)
        .with_context(|| format!("{EVENT_TEMPLATE} is not JSON"))?;
    let handler_dir = root.join(HANDLER_DIR);

    let mut rust = Runtime::new(format!("<target>/release/{QUARANTINE_BIN}"));
    rust.size_bytes = file_size(&bootstrap)?;
    rust.size_what = format!(
        "the stripped release binary (`strip = true` in `[profile.release]`) that `sam build` \
         copies to `bootstrap`, built for this host ({})",
        host_triple(root)
    );
    let mut py = Runtime::new(format!(
        "{}/bin/python -m awslambdaric quarantine.handler",
        VENV
    ));
    py.size_bytes = file_size(&handler_dir.join(HANDLER_FILE))?;
    py.size_what = format!(
        "`{HANDLER_DIR}/{HANDLER_FILE}`: the deployment package (the python3.11 managed \
         runtime ships boto3 and awslambdaric)"
    );
    let site = util::site_packages(&venv)?;
    py.size_notes.push(format!(
        "what it imports from: `{VENV}`'s site-packages (boto3, botocore, awslambdaric and \
         their dependencies, with compiled `.pyc`) = {} in {} files; the interpreter \
         itself ({}) is not counted",
        mib(dir_size(&site)?.0),
        dir_size(&site)?.1,
        python_version
    ));

    let ctx = Ctx {
        moto: &moto,
        moto_endpoint,
        stack: &stack,
        proxy: &proxy,
        template: &template,
        release: &release,
        bootstrap: &bootstrap,
        python: &python,
        handler_dir: &handler_dir,
        work: &work,
    };
    let load_before = super::host::load_average();
    for round in 0..warmup + samples {
        let recorded = round >= warmup;
        for kind in [Kind::Rust, Kind::Python] {
            let tag = if recorded {
                format!("{}-{}", kind.label(), round - warmup + 1)
            } else {
                format!("{}-warmup", kind.label())
            };
            let sample = ctx
                .sample(kind, &tag)
                .with_context(|| format!("cold-start sample {tag}"))?;
            eprintln!(
                "xtask coldstart: {tag}: spawn→/next {:.1} ms, spawn→response {:.1} ms, \
                 peak RSS {} KiB, {} request(s) before /next",
                sample.to_first_next_ms,
                sample.to_response_ms,
                sample.peak_rss_kib,
                sample.calls_before_next.len()
            );
            if recorded {
                let r = match kind {
                    Kind::Rust => &mut rust,
                    Kind::Python => &mut py,
                };
                r.to_first_next_ms.push(sample.to_first_next_ms);
                r.to_response_ms.push(sample.to_response_ms);
                r.peak_rss_kib.push(sample.peak_rss_kib);
                r.rss_anon_kib.push(sample.rss_anon_kib);
                r.rss_file_kib.push(sample.rss_file_kib);
                r.to_first_call_ms.extend(sample.to_first_call_ms);
                r.invocation_aws_ms.push(sample.invocation_aws_ms);
                r.calls_before_next.push(sample.calls_before_next);
                r.connections_before_next
                    .push(sample.connections_before_next);
                r.calls.push(sample.calls);
            }
        }
    }
    Ok(ColdStart {
        samples,
        warmup,
        rust,
        python: py,
        build,
        host: host_triple(root),
        python_version,
        python_packages,
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_before,
        load_after: super::host::load_average(),
        built,
        measure_seconds: started.elapsed().as_secs_f64() - build_seconds,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::model::*;
    use super::*;

    fn runtime(next: &[f64], resp: &[f64], rss: &[u64], before: Vec<Vec<String>>) -> Runtime {
        let mut r = Runtime::new("x".into());
        r.to_first_next_ms = next.to_vec();
        r.to_response_ms = resp.to_vec();
        r.peak_rss_kib = rss.to_vec();
        r.rss_anon_kib = rss.to_vec();
        r.rss_file_kib = rss.to_vec();
        r.invocation_aws_ms = resp.to_vec();
        r.connections_before_next = before.iter().map(|c| usize::from(!c.is_empty())).collect();
        r.calls = before.clone();
        r.calls_before_next = before;
        r.size_bytes = 1;
        r
    }

    fn cold(rust: Runtime, python: Runtime) -> ColdStart {
        ColdStart {
            samples: 2,
            warmup: 1,
            rust,
            python,
            build: "cargo build".into(),
            host: "h".into(),
            python_version: "Python 3.11.7".into(),
            python_packages: "awslambdaric 4.2.2".into(),
            nproc: 2,
            load_before: "0".into(),
            load_after: "0".into(),
            built: "after 1 s of release builds".into(),
            measure_seconds: 1.0,
        }
    }

    #[test]
    fn the_section_gives_each_goal_its_verdict() {
        let none = || vec![Vec::new(), Vec::new()];
        let c = cold(
            runtime(
                &[10.0, 12.0],
                &[50.0, 60.0],
                &[9000, 9100],
                vec![vec!["iam:GetRole".into()], vec!["iam:GetRole".into()]],
            ),
            runtime(&[200.0, 220.0], &[900.0, 950.0], &[70000, 71000], none()),
        );
        let mut w = String::new();
        section(&mut w, &c);
        assert!(w.starts_with("## Task cold start"), "{w}");
        assert!(w.contains("| **19×** |"), "{w}");
        assert!(w.contains("**Not met**: short by a factor of 2.1"), "{w}");
        assert!(w.contains("Met, with 1140 KiB to spare."), "{w}");
        assert!(
            w.contains("**not met**: 1 request(s) on 1 connection(s)"),
            "{w}"
        );
        assert!(w.contains("`iam:GetRole` ×2"), "{w}");

        let fast = cold(
            runtime(&[1.0, 1.0], &[5.0, 5.0], &[11000, 11264], none()),
            runtime(&[200.0, 200.0], &[900.0, 900.0], &[70000, 70000], none()),
        );
        let mut w = String::new();
        section(&mut w, &fast);
        assert!(w.contains("200×"), "{w}");
        assert!(w.contains("Met.\n"), "{w}");
        assert!(w.contains("**Not met**: over by 1024 KiB (10 %)."), "{w}");
        assert!(w.contains("met: no connection reached the endpoint"), "{w}");
    }

    #[test]
    fn events_are_retargeted_and_ids_fresh() {
        let template =
            json!({"detail": {"requestParameters": {}, "responseElements": {"user": {}}}});
        let user = setup::User {
            name: "u".into(),
            arn: "arn:aws:iam::123456789012:user/u".into(),
            id: "AIDAX".into(),
            access_key: "AKIA".into(),
        };
        let a = create_user_event(&template, &user);
        let b = create_user_event(&template, &user);
        assert_eq!(a["detail"]["responseElements"]["user"]["userId"], "AIDAX");
        assert_ne!(a["detail"]["eventID"], b["detail"]["eventID"]);
        assert_eq!(uuid_like().len(), 36);
    }
}
