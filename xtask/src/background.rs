//! Builds that run at the lowest CPU priority while the bench does something else.
//!
//! A build under `nice -n 19` takes only what the rest leaves idle: the single-threaded tail
//! of another build, or the CPU the full-stack runs leave. Where even that would disturb a
//! measurement, [`Background::pause`] stops it outright. The bench's use is `bench/builds.rs`.
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Commands run one after another under `nice -n 19`, their output appended to a log.
pub struct Background {
    what: String,
    started: Instant,
    /// The command running now, for `Drop` to kill.
    running: Arc<Mutex<Option<Child>>>,
    cancelled: Arc<AtomicBool>,
    /// While set, the running step is stopped (SIGSTOP) and the next one does not start.
    paused: Arc<AtomicBool>,
    /// Ends when the last step has; returns when that was.
    thread: Option<JoinHandle<anyhow::Result<Instant>>>,
}

impl Background {
    /// Starts `steps` (each a command and what it is, for errors) in order, each only if
    /// the one before succeeded, with stdout and stderr to `log`.
    pub fn start(what: &str, steps: Vec<(Command, String)>, log: &Path) -> anyhow::Result<Self> {
        let file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut niced = Vec::with_capacity(steps.len());
        for (cmd, label) in &steps {
            let mut n = lowest_priority(cmd);
            n.stdout(file.try_clone()?).stderr(file.try_clone()?);
            niced.push((n, label.clone()));
        }
        let running = Arc::new(Mutex::new(None));
        let cancelled = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (running, cancelled, paused) = (running.clone(), cancelled.clone(), paused.clone());
            move || run_steps(niced, &running, &cancelled, &paused)
        });
        eprintln!(
            "xtask: {what}: started in the background at nice 19 (log: {})",
            log.display()
        );
        Ok(Self {
            what: what.to_owned(),
            started: Instant::now(),
            running,
            cancelled,
            paused,
            thread: Some(thread),
        })
    }

    /// Stops the running step's whole process group (SIGSTOP: it keeps its memory but takes
    /// no CPU) and holds back the next step, until [`Background::resume`]. Should xtask die
    /// without dropping this (a Ctrl-C), the group is orphaned with stopped members, and
    /// the kernel sends it SIGHUP and then SIGCONT: nothing is left stopped holding cargo's
    /// build lock.
    pub fn pause(&self) -> anyhow::Result<()> {
        let running = lock(&self.running);
        self.paused.store(true, Ordering::SeqCst);
        signal_group(running.as_ref(), "STOP")
    }

    /// Continues what [`Background::pause`] stopped.
    pub fn resume(&self) -> anyhow::Result<()> {
        let running = lock(&self.running);
        self.paused.store(false, Ordering::SeqCst);
        signal_group(running.as_ref(), "CONT")
    }

    /// Waits for every step; the seconds from the start to the last step's end (not to
    /// this call: the steps may have ended long before).
    pub fn finish(mut self) -> anyhow::Result<f64> {
        eprintln!("xtask: waiting for {}", self.what);
        let thread = self.thread.take().context("finished twice")?;
        let ended = match thread.join() {
            Ok(outcome) => outcome.with_context(|| self.what.clone())?,
            Err(_) => bail!("{}: the thread running it panicked", self.what),
        };
        Ok(ended.duration_since(self.started).as_secs_f64())
    }
}

/// A bench that fails before [`Background::finish`] leaves nothing running.
impl Drop for Background {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(child) = lock(&self.running).as_mut() {
            // The whole group: cargo's compilers outlive a killed cargo. SIGKILL ends a
            // stopped process too.
            let _ = signal_group(Some(child), "KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `nice -n 19` and then `cmd`'s program, arguments, directory and environment, in a
/// process group of its own.
fn lowest_priority(cmd: &Command) -> Command {
    use std::os::unix::process::CommandExt;
    let mut niced = Command::new("nice");
    niced.process_group(0);
    niced
        .args(["-n", "19"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        niced.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => niced.env(key, value),
            None => niced.env_remove(key),
        };
    }
    niced
}

/// Sends `signal` to the process group `child` leads (its own: see [`lowest_priority`]).
/// `kill` fails only when the group has already exited (the step ended between two polls),
/// which leaves nothing to signal, so its status is not an error.
fn signal_group(child: Option<&Child>, signal: &str) -> anyhow::Result<()> {
    if let Some(child) = child {
        Command::new("kill")
            .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
            .stderr(std::process::Stdio::null())
            .status()
            .context("running kill")?;
    }
    Ok(())
}

fn run_steps(
    steps: Vec<(Command, String)>,
    running: &Mutex<Option<Child>>,
    cancelled: &AtomicBool,
    paused: &AtomicBool,
) -> anyhow::Result<Instant> {
    for (mut cmd, label) in steps {
        loop {
            // Spawned under the lock, so that `Drop` either sees the flag set first or
            // finds this child to kill, and `pause` either holds this step back or finds
            // it to stop.
            let mut slot = lock(running);
            if cancelled.load(Ordering::SeqCst) {
                bail!("cancelled before {label}");
            }
            if !paused.load(Ordering::SeqCst) {
                *slot = Some(cmd.spawn().with_context(|| format!("starting {label}"))?);
                break;
            }
            drop(slot);
            std::thread::sleep(Duration::from_millis(200));
        }
        let started = Instant::now();
        let status = loop {
            let status = lock(running)
                .as_mut()
                .map(Child::try_wait)
                .transpose()
                .with_context(|| format!("waiting for {label}"))?
                .flatten();
            if let Some(status) = status {
                break status;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        *lock(running) = None;
        if !status.success() {
            bail!("{label} failed ({status})");
        }
        eprintln!(
            "xtask: {label}: done in the background in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Instant::now())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> (Command, String) {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        (cmd, script.to_owned())
    }

    #[test]
    fn steps_run_in_order_and_a_failure_stops_the_rest() {
        let dir = std::env::temp_dir().join(format!("xtask-background-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");

        let ok = Background::start(
            "two steps",
            vec![shell("echo one"), shell("echo two")],
            &log,
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        let seconds = ok.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
        // Measured to the last step's end, not to `finish`.
        assert!(seconds < 2.0, "{seconds} s");

        let failed = Background::start(
            "a failing step",
            vec![shell("echo first; exit 3"), shell("echo never")],
            &log,
        )
        .unwrap();
        let error = format!("{:#}", failed.finish().unwrap_err());
        assert!(error.contains("echo first; exit 3 failed"), "{error}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "first\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_paused_step_makes_no_progress_until_resumed() {
        let dir =
            std::env::temp_dir().join(format!("xtask-background-pause-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let lines = || std::fs::read_to_string(&log).unwrap().lines().count();
        // 20 lines, one every 0.1 s, each from a child process (`sleep`) of the step's shell.
        let ticking = Background::start(
            "a ticking step",
            vec![
                shell("i=0; while [ $i -lt 20 ]; do echo tick; sleep 0.1; i=$((i+1)); done"),
                shell("echo after"),
            ],
            &log,
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        ticking.pause().unwrap();
        // A line being written as the signal lands may still appear.
        std::thread::sleep(Duration::from_millis(200));
        let paused_at = lines();
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(lines(), paused_at, "the step ran on while paused");
        assert!(
            paused_at < 20,
            "the step finished before the pause: {paused_at} lines"
        );
        ticking.resume().unwrap();
        ticking.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&log).unwrap().lines().last(),
            Some("after")
        );
        assert_eq!(lines(), 21);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dropping_it_kills_the_running_step() {
        let dir =
            std::env::temp_dir().join(format!("xtask-background-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let started = Instant::now();
        let running = Background::start(
            "a long step",
            vec![shell("sleep 30"), shell("echo never")],
            &dir.join("log"),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(running);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the step was not killed"
        );
        assert_eq!(std::fs::read_to_string(dir.join("log")).unwrap(), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
