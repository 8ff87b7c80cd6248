//! What the bench plans to measure and what it measured: the data `report.rs` renders.
use std::time::Duration;

use serde_json::Value;

/// Relative to the workspace root (generated at every run, see `definitions.rs`).
pub const DEFINITION: &str = super::definitions::SHAPED;
pub const INPUT: &str = "xtask/bench/cordon-shaped.input.json";
pub const OUTPUT: &str = "BENCHMARKS.md";

/// Stop starting new moto runs after this long (every run completes at least once).
pub const MOTO_BUDGET: Duration = Duration::from_secs(240);

/// How the bench programs (`engine-bench`, `service-bench`) are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// `cargo build --release --bin X`: the build the figures are for.
    Release,
    /// The dev profile, as `cargo xtask test` (`cargo test --workspace`) already built them,
    /// so a quick run after the suite compiles nothing. Its timings say nothing about speed.
    Dev,
}

impl Build {
    /// The cargo profile's directory under the target dir.
    pub fn dir(self) -> &'static str {
        match self {
            Build::Release => "release",
            Build::Dev => "debug",
        }
    }

    /// How the report names a bench program's build.
    pub fn describe(self) -> &'static str {
        match self {
            Build::Release => "release build",
            Build::Dev => "unoptimised dev-profile build",
        }
    }
}

/// How much to measure.
pub struct Plan {
    pub quick: bool,
    /// How the bench programs are compiled.
    pub build: Build,
    pub engine_sequential: usize,
    pub engine_concurrent: usize,
    pub engine_one_call: usize,
    pub engine_runs: usize,
    pub engine_warmup: usize,
    /// Sequential executions per run, runs per definition (alternating engine and peer),
    /// and unmeasured executions first in each process, for the aws-local-stepfunctions
    /// comparison.
    pub peer_executions: usize,
    pub peer_rounds: usize,
    pub peer_warmup: usize,
    pub moto_sequential: usize,
    pub moto_concurrent: usize,
    pub moto_runs: usize,
    pub moto_warmup: usize,
    pub service_executions: usize,
    pub service_in_flight: usize,
    pub service_runs: usize,
    pub service_warmup: usize,
    pub service_poll_ms: usize,
    pub service_max_seconds: usize,
    /// CreateUser incidents in the full-stack burst under faults (`fullstack.rs`).
    pub burst_incidents: usize,
    /// Incidents delivered across the three SIGKILLs of the crash-recovery run.
    pub crash_incidents: usize,
    /// Seconds each fuzz target runs (`cargo xtask fuzz`); `None`: not fuzzed (a quick
    /// run: building the targets alone takes minutes; `cargo xtask test` runs each
    /// target's fixed-iteration smoke test).
    pub fuzz_seconds: Option<u64>,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            quick: false,
            build: Build::Release,
            engine_sequential: 2000,
            engine_concurrent: 1000,
            engine_one_call: 500,
            engine_runs: 5,
            engine_warmup: 200,
            peer_executions: 2000,
            peer_rounds: 5,
            peer_warmup: 200,
            moto_sequential: 10,
            moto_concurrent: 25,
            moto_runs: 3,
            moto_warmup: 2,
            service_executions: 1000,
            service_in_flight: 64,
            service_runs: 3,
            service_warmup: 50,
            service_poll_ms: 20,
            service_max_seconds: 120,
            burst_incidents: 1000,
            crash_incidents: 300,
            fuzz_seconds: Some(20),
        }
    }

    pub fn quick() -> Plan {
        Plan {
            quick: true,
            build: Build::Dev,
            engine_sequential: 200,
            engine_concurrent: 200,
            engine_one_call: 50,
            engine_runs: 2,
            engine_warmup: 20,
            peer_executions: 200,
            peer_rounds: 2,
            peer_warmup: 20,
            moto_sequential: 3,
            moto_concurrent: 5,
            moto_runs: 1,
            moto_warmup: 1,
            service_executions: 200,
            service_in_flight: 64,
            service_runs: 1,
            service_warmup: 10,
            service_poll_ms: 20,
            service_max_seconds: 60,
            burst_incidents: 10,
            crash_incidents: 9,
            fuzz_seconds: None,
        }
    }
}

/// The timings of one mode: `executions` per run, the elapsed seconds of each run.
pub struct Mode {
    pub executions: usize,
    pub seconds: Vec<f64>,
}

impl Mode {
    pub fn sorted(&self) -> Vec<f64> {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        s
    }

    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub fn median(&self) -> f64 {
        median(&self.seconds)
    }

    /// Executions per second of the fastest run.
    pub fn best_rate(&self) -> f64 {
        self.executions as f64 / self.min()
    }

    /// Executions per second of the median run.
    pub fn median_rate(&self) -> f64 {
        self.executions as f64 / self.median()
    }

    /// Wall time per state transition (state entered) in the median run, in microseconds.
    pub fn us_per_transition(&self, transitions: usize) -> f64 {
        self.median() * 1e6 / (self.executions * transitions) as f64
    }
}

/// A figure with as many digits as are worth reading: none from 100, one from 10, else two.
pub fn readable(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

pub fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

pub struct EngineResults {
    pub clock: String,
    pub worker_threads: u64,
    pub transitions: usize,
    pub history_events: usize,
    pub output: Value,
    pub sequential: Mode,
    pub concurrent: Mode,
    pub one_call: Mode,
}

pub struct MotoResults {
    pub python: String,
    pub transitions: usize,
    pub output: Value,
    pub sequential: Mode,
    pub concurrent: Mode,
    /// moto's own startDate..stopDate of every measured sequential execution, in seconds.
    pub server_seconds: Vec<f64>,
}

/// Percentiles of one run's per-execution latencies, in milliseconds.
pub struct Latency {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// One measured run of the service: `executions` started at once, all SUCCEEDED.
pub struct ServiceRun {
    pub executions: usize,
    pub seconds: f64,
    pub describe_calls: usize,
    pub sweeps: usize,
    /// The most executions the service was driving at once (sampled).
    pub peak_active: usize,
    /// Client side: StartExecution sent until a DescribeExecution showed it finished.
    pub client: Latency,
    /// The service's own `stopDate - startDate`.
    pub server: Latency,
}

/// Sizes of the SQLite database and its WAL, in bytes.
pub struct DbFiles {
    pub db: u64,
    pub wal: u64,
    pub shm: u64,
}

pub struct ServiceResults {
    /// SQLite's `synchronous` setting the service ran with (`NORMAL` or `FULL`).
    pub synchronous: String,
    pub worker_threads: u64,
    pub in_flight: usize,
    pub poll_ms: u64,
    pub warmup: usize,
    pub functions: Vec<String>,
    pub transitions: usize,
    pub history_events: usize,
    pub output: Value,
    pub runs: Vec<ServiceRun>,
    /// Executions in the database at the end (probe + warm-up + measured), all SUCCEEDED.
    pub stored: usize,
    pub file_system: String,
    pub after_runs: DbFiles,
    pub after_shutdown: DbFiles,
    pub load_before: String,
    pub load_after: String,
}

impl ServiceResults {
    /// The runs as a [`Mode`] (executions per run, seconds of each run).
    pub fn mode(&self) -> Mode {
        Mode {
            executions: self.runs.first().map_or(0, |r| r.executions),
            seconds: self.runs.iter().map(|r| r.seconds).collect(),
        }
    }
}

/// Facts about where the numbers were measured.
pub struct Machine {
    pub date: String,
    pub nproc: usize,
    pub cpu: String,
    pub rustc: String,
    pub release_profile: String,
    pub load_before: String,
    pub load_after: String,
    /// Whether the target dir held no build when the bench started (a fresh clone's).
    pub fresh_target: bool,
    /// From the bench's start to the report (set last).
    pub wall_seconds: f64,
}

/// The longest a full `cargo xtask bench` may take on a fresh clone (issue 15).
pub const FRESH_CLONE_GOAL_SECONDS: f64 = 20.0 * 60.0;
/// `cargo xtask bench --quick`, CI's smoke test of the bench, after `cargo xtask test`.
pub const QUICK_GOAL_SECONDS: f64 = 3.0 * 60.0;

/// One full-stack test's figures (`fullstack.rs`).
pub struct FullStackRun {
    /// What the test wrote.
    pub report: Value,
    /// Compile and run, as the bench saw it.
    pub wall_seconds: f64,
    /// Whether the test's assertions held (every incident contained once, nothing lost).
    pub passed: bool,
}
