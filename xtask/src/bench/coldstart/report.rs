//! The "Task cold start" section of BENCHMARKS.md, from what [`super::measure`] measured.
use std::fmt::Write as _;

use super::model::*;
use crate::bench::model::{median, readable};
use crate::moto::MOTO_VERSION;

pub(super) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn spread(xs: &[f64]) -> String {
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "**{} ms** ({}–{})",
        readable(median(xs)),
        readable(min),
        readable(max)
    )
}

fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.1}×")
    }
}

fn kib_max(xs: &[u64]) -> u64 {
    xs.iter().copied().max().unwrap_or(0)
}

fn kib_median(xs: &[u64]) -> f64 {
    median(&xs.iter().map(|&k| k as f64).collect::<Vec<_>>())
}

/// `iam:GetRole ×7, dynamodb:UpdateItem` (counts, in first-seen order).
fn tally(calls: &[String]) -> String {
    if calls.is_empty() {
        return "none".to_owned();
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for c in calls {
        match seen.iter_mut().find(|(k, _)| *k == c.as_str()) {
            Some((_, n)) => *n += 1,
            None => seen.push((c.as_str(), 1)),
        }
    }
    seen.iter()
        .map(|(k, n)| {
            if *n == 1 {
                format!("`{k}`")
            } else {
                format!("`{k}` ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sorted(calls: &[String]) -> Vec<String> {
    let mut v = calls.to_vec();
    v.sort();
    v
}

/// The `## Task cold start` section of `BENCHMARKS.md`.
pub fn section(w: &mut String, c: &ColdStart) {
    let (r, p) = (&c.rust, &c.python);
    let _ = writeln!(w, "## Task cold start\n");
    let _ = writeln!(
        w,
        "The quarantine task's Rust bootstrap (`{}`) beside a Python reference doing the same \
         work (`{HANDLER_DIR}/{HANDLER_FILE}`: {}, boto3) under the official runtime interface \
         client (`python -m awslambdaric quarantine.handler`; {}), in the same run, against \
         the same moto {MOTO_VERSION}: {} samples each, alternating Rust and Python, after {} \
         unrecorded warm-up each. Every sample is a new process with one real quarantine \
         input waiting at a loopback Lambda Runtime API. Measured by \
         `xtask/src/bench/coldstart.rs` in {:.0} s ({}) on {} \
         CPUs (load average {} before, {} after).\n",
        QUARANTINE_BIN,
        c.python_version,
        c.python_packages,
        c.samples,
        c.warmup,
        c.measure_seconds,
        c.built,
        c.nproc,
        c.load_before,
        c.load_after,
    );

    let next_ratio = median(&p.to_first_next_ms) / median(&r.to_first_next_ms);
    let resp_ratio = median(&p.to_response_ms) / median(&r.to_response_ms);
    let inv_ratio = median(&p.invocation_ms()) / median(&r.invocation_ms());
    let rss_ratio = kib_median(&p.peak_rss_kib) / kib_median(&r.peak_rss_kib);
    let max_calls = |rt: &Runtime| rt.calls_before_next.iter().map(Vec::len).max().unwrap_or(0);
    let max_conns = |rt: &Runtime| {
        rt.connections_before_next
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
    };
    let _ = writeln!(
        w,
        "| median (min–max) over {} samples | Rust `{QUARANTINE_BIN}` | Python 3.11 + boto3, awslambdaric | Python ÷ Rust |",
        c.samples
    );
    let _ = writeln!(w, "|---|---|---|---|");
    let _ = writeln!(
        w,
        "| spawn → first `GET /invocation/next` (init) | {} | {} | **{}** |",
        spread(&r.to_first_next_ms),
        spread(&p.to_first_next_ms),
        ratio(next_ratio)
    );
    let _ = writeln!(
        w,
        "| spawn → first response (init + one quarantine) | {} | {} | **{}** |",
        spread(&r.to_response_ms),
        spread(&p.to_response_ms),
        ratio(resp_ratio)
    );
    let _ = writeln!(
        w,
        "| the invocation alone (first `/next` → response) | {} | {} | {} |",
        spread(&r.invocation_ms()),
        spread(&p.invocation_ms()),
        ratio(inv_ratio)
    );
    let _ = writeln!(
        w,
        "| of which a request to moto was open | {} | {} | |",
        spread(&r.invocation_aws_ms),
        spread(&p.invocation_aws_ms),
    );
    let _ = writeln!(
        w,
        "| peak RSS (`VmHWM`), median (max) | **{:.0} KiB** ({} KiB) | {:.0} KiB ({} KiB) | {} |",
        kib_median(&r.peak_rss_kib),
        kib_max(&r.peak_rss_kib),
        kib_median(&p.peak_rss_kib),
        kib_max(&p.peak_rss_kib),
        ratio(rss_ratio)
    );
    let _ = writeln!(
        w,
        "| resident when idle after the response: anonymous + file-backed, median | {:.0} + {:.0} KiB | {:.0} + {:.0} KiB | |",
        kib_median(&r.rss_anon_kib),
        kib_median(&r.rss_file_kib),
        kib_median(&p.rss_anon_kib),
        kib_median(&p.rss_file_kib),
    );
    let _ = writeln!(
        w,
        "| size | {} bytes ({}) | {} bytes | |",
        r.size_bytes,
        mib(r.size_bytes),
        p.size_bytes
    );
    let _ = writeln!(
        w,
        "| AWS requests (connections) before the first `/next`, most in a sample | {} ({}) | {} ({}) | |",
        max_calls(r),
        max_conns(r),
        max_calls(p),
        max_conns(p)
    );
    let _ = writeln!(
        w,
        "| AWS requests per sample (init + invocation) | {} | {} | |\n",
        median(&r.calls.iter().map(|c| c.len() as f64).collect::<Vec<_>>()),
        median(&p.calls.iter().map(|c| c.len() as f64).collect::<Vec<_>>()),
    );

    // The goals, each with its verdict and margin.
    let _ = writeln!(w, "Against issue 15's goals:\n");
    let rust_next = median(&r.to_first_next_ms);
    let _ = writeln!(
        w,
        "- **Cold start ≥ {SPEEDUP_GOAL:.0}× faster than Python** (spawn → first `/next`, \
         medians): {}. {}",
        ratio(next_ratio),
        if next_ratio >= SPEEDUP_GOAL {
            "Met.".to_owned()
        } else {
            format!(
                "**Not met**: short by a factor of {:.1} (the Rust init would have to take \
                 {} ms or less against Python's {} ms; it took {} ms).",
                SPEEDUP_GOAL / next_ratio,
                readable(median(&p.to_first_next_ms) / SPEEDUP_GOAL),
                readable(median(&p.to_first_next_ms)),
                readable(rust_next)
            )
        }
    );
    let _ = writeln!(
        w,
        "  Spawn → first response (init and the whole quarantine against moto, whose own \
         time both sides pay): {}{}.",
        ratio(resp_ratio),
        if resp_ratio >= SPEEDUP_GOAL {
            String::new()
        } else {
            format!(
                "; the Rust invocation spends {} of its {} ms (medians) with a request to \
                 moto open",
                readable(median(&r.invocation_aws_ms)),
                readable(median(&r.invocation_ms()))
            )
        }
    );
    let rss = kib_max(&r.peak_rss_kib);
    let _ = writeln!(
        w,
        "- **Peak RSS ≤ 10 MiB** (Rust, the highest sample): {} KiB = {:.2} MiB. {}",
        rss,
        rss as f64 / 1024.0,
        if rss <= RSS_GOAL_KIB {
            format!("Met, with {} KiB to spare.", RSS_GOAL_KIB - rss)
        } else {
            format!(
                "**Not met**: over by {} KiB ({:.0} %).",
                rss - RSS_GOAL_KIB,
                (rss - RSS_GOAL_KIB) as f64 * 100.0 / RSS_GOAL_KIB as f64
            )
        }
    );
    let before: Vec<String> = r.calls_before_next.iter().flatten().cloned().collect();
    let _ = writeln!(
        w,
        "- **No network call before the first event** (Rust): {}",
        if before.is_empty() && max_conns(r) == 0 {
            format!(
                "met: no connection reached the endpoint before the first `/next` in any of \
                 the {} samples.",
                c.samples
            )
        } else {
            format!(
                "**not met**: {} request(s) on {} connection(s) before the first `/next` in \
                 the worst sample ({} over all samples: {}).",
                max_calls(r),
                max_conns(r),
                before.len(),
                tally(&before)
            )
        }
    );
    if !r.to_first_call_ms.is_empty() {
        let _ = writeln!(
            w,
            "  Spawn → the first of those requests: {} (median, min–max), against {} to \
             the first `/next`.",
            spread(&r.to_first_call_ms),
            spread(&r.to_first_next_ms)
        );
    }
    let pb: Vec<String> = p.calls_before_next.iter().flatten().cloned().collect();
    let _ = writeln!(
        w,
        "  The Python reference: {} before its first `/next` (it resolves the identities at \
         its first invocation).\n",
        if pb.is_empty() {
            "none".to_owned()
        } else {
            tally(&pb)
        }
    );

    // The same work, shown.
    let first = |rt: &Runtime| rt.calls.first().cloned().unwrap_or_default();
    let same = sorted(&first(r)) == sorted(&first(p));
    let _ = writeln!(
        w,
        "The requests of the first recorded sample, as the forwarder in front of moto saw \
         them ({}):\n",
        if same {
            "the same requests on both sides, in counts"
        } else {
            "**they differ**"
        }
    );
    let _ = writeln!(w, "- Rust: {}", tally(&first(r)));
    let _ = writeln!(w, "- Python: {}\n", tally(&first(p)));

    let _ = writeln!(w, "Sizes:\n");
    let _ = writeln!(w, "- Rust: {} bytes, {}.", r.size_bytes, r.size_what);
    let _ = writeln!(w, "- Python: {} bytes, {}.", p.size_bytes, p.size_what);
    for note in &p.size_notes {
        let _ = writeln!(w, "  Beside it, {note}.");
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "Method:\n");
    let _ = writeln!(
        w,
        "- **Build**: `{}` (`infra/template.yaml`: `BuildMethod: rust-cargolambda`, \
         `Binary: {QUARANTINE_BIN}`, `CodeUri: ..`), the workspace's release profile, for \
         {} (the template deploys arm64, which `sam build` cross-compiles with cargo-lambda \
         and zig).",
        c.build, c.host
    );
    let _ = writeln!(
        w,
        "- **Started**: `{}` (Rust), `{}` (Python, from `{HANDLER_DIR}`).",
        r.command, p.command
    );
    let _ = writeln!(
        w,
        "- **Timed**: from just before `std::process::Command::spawn` to the emulator having \
         read the headers of the first `GET /2018-06-01/runtime/invocation/next`, and the \
         whole body of `POST /2018-06-01/runtime/invocation/{{id}}/response`. Each process \
         gets the sandbox's environment only: the Globals and QuarantineFunction variables \
         of the template (`CORDON_FUNCTION_ROLE_ARN`, the seven `CORDON_OWN_ROLE_ARNS`, the \
         policy ARNs, the table), `AWS_LAMBDA_RUNTIME_API` and the other `AWS_LAMBDA_*` \
         variables, static credentials, and `AWS_ENDPOINT_URL`."
    );
    let _ = writeln!(
        w,
        "- **The input**: the Quarantine state's payload (`incidentId`, `detection`, `facts`) \
         for a CloudTrail `CreateUser` of a fresh moto user (an active access key, a console \
         password), made by the release record task (`open`) and enrich task under the same \
         emulator, untimed. The response policy turns both remediation switches on \
         (`{RESPONSE_POLICY}`), so each invocation snapshots the user, attaches the \
         customer-managed deny-all and `AWSDenyAll`, deactivates the key, deletes the \
         password and appends the timeline entry; after every timed run the answer and IAM \
         are checked for exactly that."
    );
    let _ = writeln!(
        w,
        "- **Network before the first event**: the function's `AWS_ENDPOINT_URL` is a \
         loopback forwarder in front of moto that timestamps every connection and request \
         (service from the `Authorization` credential scope, operation from `X-Amz-Target` \
         or `Action=`); those before the first `/next` are counted. Both runtimes pay the \
         forwarder's hop."
    );
    let _ = writeln!(
        w,
        "- **Peak RSS**: `VmHWM` of `/proc/<pid>/status`, read after the response once the \
         runtime is back at `GET /next`, then the process is killed."
    );
    let _ = writeln!(w, "\nNotes:\n");
    let (rb, pb) = (max_calls(r), max_calls(p));
    if rb > pb {
        let _ = writeln!(
            w,
            "- The Rust task made {rb} of its requests before its first `/next`, the Python \
             reference made them in its invocation: the init row counts them against Rust, the \
             invocation row against Python; spawn → first response covers the same requests \
             on both sides."
        );
    }
    let _ = writeln!(
        w,
        "- This is a process cold start on a warm machine: the binary, the interpreter and \
         site-packages are in the page cache (one warm-up run of each first), and there is no \
         Firecracker VM, code download or extension start, which Lambda adds to both. The \
         ratio is of the part each runtime controls."
    );
    let _ = writeln!(
        w,
        "- moto is a Python server on the same {} CPUs: the Rust invocation had a request \
         to it open for {} of its {} ms (medians), so spawn → first response measures moto \
         as much as the task. Against AWS each call's latency is added to both sides alike.",
        c.nproc,
        readable(median(&r.invocation_aws_ms)),
        readable(median(&r.invocation_ms()))
    );
    let busiest = [&c.load_before, &c.load_after]
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    if busiest > c.nproc as f64 {
        let _ = writeln!(
            w,
            "- **The host was busy** (1-minute load average up to {busiest:.2} on {} CPUs): \
             every figure is slower than on an idle machine; Rust and Python samples \
             alternate, so both sides shared the load.",
            c.nproc
        );
    }
    let _ = writeln!(
        w,
        "- The Python reference reproduces the user path of `tasks/cordon-quarantine` \
         (identities, facts, identity check, snapshot, deny-all policies, remediation, \
         timeline entry, one log line and one metrics line); it is not a product and is \
         checked only on this path."
    );
}
