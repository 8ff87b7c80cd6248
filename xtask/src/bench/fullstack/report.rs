//! The full-stack runs' sections of `BENCHMARKS.md`.
use std::fmt::Write as _;

use crate::bench::model::FullStackRun;

/// The whole local stack under a burst of incidents with injected faults.
pub fn burst_section(w: &mut String, run: &FullStackRun) {
    let r = &run.report;
    let n = |k: &str| r[k].as_u64().map_or("?".to_string(), |v| v.to_string());
    // A figure in seconds from one of the report's summaries (`p50`, `p99`, `max`).
    let secs_of = |summary: &serde_json::Value, k: &str| {
        summary[k]
            .as_f64()
            .map_or("?".to_string(), |v| format!("{v:.1}"))
    };
    let secs = |k: &str| secs_of(&r["execution_seconds"], k);
    let _ = writeln!(w, "\n## Full stack: a burst of incidents under faults\n");
    verdict(w, run);
    let _ = writeln!(
        w,
        "`tests/tests/burst/main.rs` at {} incidents: that many users created in moto, then their \
         CreateUser events delivered at once through the local PutEvents API (ten entries a \
         call, as CloudTrail's delivery does), routed by the template's rules to the engine, \
         which runs the real handlers in process against moto behind the fault proxy \
         (`tests/cordon-faults`): {} of the IAM, DynamoDB and SNS calls answered with \
         throttling, 500/503, a connection reset or a stall, or (IAM and DynamoDB, not SNS: \
         a standard topic cannot deduplicate a publish sent twice) forwarded and then their \
         answer lost, and IAM's mutating calls limited to {} per second (burst {}; IAM \
         publishes no rate, this is an assumption). Response policy: `auto` for \
         `iam.user-created`. The test build (`cargo test`'s profile), as the suite runs it.\n",
        n("incidents"),
        r["fault_fraction"]
            .as_f64()
            .map_or("?".to_string(), |f| format!("{:.0}%", f * 100.0)),
        r["iam_rate_limit"]["per_second"],
        r["iam_rate_limit"]["burst"],
    );
    let faults = r["faults_by_kind"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let _ = writeln!(w, "| | |\n|---|--:|");
    let _ = writeln!(w, "| incidents delivered | {} |", n("incidents"));
    let _ = writeln!(w, "| executions (one per event) | {} |", n("executions"));
    let _ = writeln!(
        w,
        "| contained and recorded, policy attached once | {} |",
        n("contained")
    );
    let _ = writeln!(w, "| lost (no execution or no record) | {} |", n("lost"));
    let _ = writeln!(
        w,
        "| doubled side effects (second attachment or notification) | {} |",
        n("doubled")
    );
    let _ = writeln!(
        w,
        "| executions that needed a redrive | {} |",
        n("needed_redrive")
    );
    let _ = writeln!(w, "| calls to AWS through the proxy | {} |", n("calls"));
    let _ = writeln!(
        w,
        "| faults injected | {} ({faults}) |",
        n("faults_injected")
    );
    let _ = writeln!(w, "| step retries spent | {} |", n("step_retries"));
    let _ = writeln!(
        w,
        "| execution time, p50 / p99 / max (s, execution start to end) | {} / {} / {} |",
        secs("p50"),
        secs("p99"),
        secs("max")
    );
    let attached = &r["attached_seconds"];
    let at = |k: &str| secs_of(attached, k);
    let _ = writeln!(
        w,
        "| time to contain, p50 / p99 / max (s, first event in to the deny policy attached, \
         as IAM's ListEntitiesForPolicy lists it, polled every {} s; {} of {} users seen) \
         | {} / {} / {} |",
        attached["poll_seconds"],
        attached["seen"],
        n("incidents"),
        at("p50"),
        at("p99"),
        at("max")
    );
    let cpu = &r["cpu_seconds"];
    let ms = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("?".to_string(), |s| format!("{:.0}", s * 1000.0))
    };
    let _ = writeln!(
        w,
        "| CPU per incident, first event in to last execution ended: the test process (rules, \
         engine, handlers and the fault proxy, in process) / moto (ms) | {} / {} |",
        ms(&cpu["per_incident"]["test_process"]),
        ms(&cpu["per_incident"]["moto"]),
    );
    let _ = writeln!(
        w,
        "| first event in to last execution ended (s) | {} |",
        r["wall_seconds"]
            .as_f64()
            .map_or("?".to_string(), |v| format!("{v:.1}"))
    );
    let _ = writeln!(
        w,
        "| the whole test, build check and set-up included (s) | {:.0} |",
        run.wall_seconds
    );
}

/// Whether the run's test held, said first.
fn verdict(w: &mut String, run: &FullStackRun) {
    let doubled = run.report["doubled"].as_u64().unwrap_or(0);
    let _ = if !run.passed {
        writeln!(
            w,
            "**FAILED**: the test's assertions did not hold in this run; the figures below are \
             what it measured (see the lost, doubled and redrive rows).\n"
        )
    } else if doubled == 0 {
        writeln!(
            w,
            "**Passed**: the test's assertions held (every incident contained and recorded once, \
             nothing lost, nothing doubled, no execution left running).\n"
        )
    } else {
        // Only the crash run tolerates a double: a kill between SNS accepting a publish
        // and notify recording it sends it again (notifications are at least once).
        writeln!(
            w,
            "**Passed**: the test's assertions held (every incident contained and recorded once, \
             nothing lost, no execution left running); {doubled} incident(s) were notified \
             more than once, which a kill between SNS accepting a publish and notify recording \
             it causes (notifications are at least once; the test fails on a missing one, or \
             on more than one extra per kill).\n"
        )
    };
}

/// The real `cordon local up` SIGKILLed mid-burst and restarted on its database.
pub fn crash_section(w: &mut String, run: &FullStackRun) {
    let r = &run.report;
    let n = |k: &str| r[k].as_u64().map_or("?".to_string(), |v| v.to_string());
    let secs = |k: &str| r[k].as_f64().map_or("?".to_string(), |v| format!("{v:.1}"));
    let _ = writeln!(w, "\n## Crash recovery under load\n");
    verdict(w, run);
    let _ = writeln!(
        w,
        "`cli/tests/crash_recovery.rs` with {} incidents: the `cordon` binary runs `cordon \
         local up` (response policy `auto`), a third of the CreateUser events is delivered, \
         the process is killed with SIGKILL a moment later and started again on the same \
         SQLite database, {} times; then every execution must end. Against moto directly \
         (no injected faults).\n",
        n("incidents"),
        n("kills")
    );
    let _ = writeln!(w, "| | |\n|---|--:|");
    let _ = writeln!(
        w,
        "| incidents acknowledged by PutEvents | {} |",
        n("incidents")
    );
    let _ = writeln!(w, "| executions (one per event) | {} |", n("executions"));
    let _ = writeln!(w, "| succeeded | {} |", n("succeeded"));
    let _ = writeln!(
        w,
        "| users contained, incident CONTAINED | {} |",
        n("contained")
    );
    let _ = writeln!(w, "| lost | {} |", n("lost"));
    let _ = writeln!(
        w,
        "| doubled (extra executions, second `contained` notification) | {} |",
        n("doubled")
    );
    let _ = writeln!(
        w,
        "| last restart to every execution ended (s) | {} |",
        secs("settle_seconds_after_last_restart")
    );
    let _ = writeln!(
        w,
        "| first delivery to every execution ended (s) | {} |",
        secs("wall_seconds")
    );
    let _ = writeln!(
        w,
        "| the whole test, build check and set-up included (s) | {:.0} |",
        run.wall_seconds
    );
}
