//! The full run's builds that no figure times: the task binaries' release builds (for the
//! cold starts) and cargo-fuzz's install and the fuzz targets' build (for the fuzzing).
//!
//! They start with the bench, at the lowest CPU priority (`crate::background`), so they take
//! what the bench programs' own release build leaves idle (its single-threaded tail and
//! links). They are stopped (SIGSTOP) while the engine, service and moto benches measure,
//! which need a quiet machine, and resumed for the full-stack runs, which use about one CPU.
//! Both are waited for before the cold starts, which a running build would disturb.
use std::path::Path;

use anyhow::Context;

use crate::background::Background;
use crate::fuzz::Fuzzing;
use crate::util;

pub struct Builds {
    tasks: Background,
    fuzzing: Fuzzing,
    fuzz: Background,
}

/// What the waiting returns: the fuzzing, ready to run, and how the fuzz targets and the
/// task binaries were built, for the report.
pub struct Built {
    pub fuzzing: Fuzzing,
    pub fuzz: String,
    pub tasks: String,
}

impl Builds {
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let log_dir = util::target_dir(root).join("xtask-bench");
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("creating {}", log_dir.display()))?;
        let tasks = Background::start(
            "the task binaries' release builds",
            super::coldstart::release_builds(root),
            &log_dir.join("task-builds.log"),
        )?;
        let fuzzing = Fuzzing::new(root)?;
        let mut steps = fuzzing.setup_steps();
        steps.push(fuzzing.build_command());
        let fuzz = Background::start(
            "cargo-fuzz and the fuzz targets' build",
            steps,
            &log_dir.join("fuzz-build.log"),
        )?;
        Ok(Self {
            tasks,
            fuzzing,
            fuzz,
        })
    }

    /// Stops both while something measures.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.tasks.pause()?;
        self.fuzz.pause()
    }

    pub fn resume(&self) -> anyhow::Result<()> {
        self.tasks.resume()?;
        self.fuzz.resume()
    }

    /// Waits for both.
    pub fn finish(self) -> anyhow::Result<Built> {
        let fuzz = self.fuzz.finish()?;
        let tasks = self.tasks.finish()?;
        let how = self.fuzzing.build_description();
        Ok(Built {
            fuzzing: self.fuzzing,
            fuzz: format!(
                "Built once ({how}), after cargo-fuzz's install, {HOW}: done {fuzz:.0} s after \
                 the bench started"
            ),
            tasks: format!(
                "its release builds made {HOW}: done {tasks:.0} s after the bench started"
            ),
        })
    }
}

/// How the report says the background builds ran.
const HOW: &str = "in the background at the lowest CPU priority (`nice -n 19`) from the \
    bench's start, stopped (SIGSTOP) while the engine, service and moto benches measured and \
    resumed for the full-stack runs (which use about one of the machine's CPUs: see their CPU \
    row)";
