//! The cold-start comparison's data and helpers: the pinned reference, the goals, what
//! one runtime measured, the stack in moto, and what the samples read of a process.
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::setup;

/// The reference's runtime interface client and SDK, pinned.
pub const AWSLAMBDARIC: &str = "awslambdaric==4.2.2";
pub const BOTO3: &str = "boto3==1.44.8";
pub(super) const VENV: &str = ".venv-coldstart";
/// The reference handler's folder (its `LAMBDA_TASK_ROOT`).
pub(super) const HANDLER_DIR: &str = "xtask/bench/coldstart";
pub(super) const HANDLER_FILE: &str = "quarantine.py";

/// The measured binary, and the two that prepare each sample's input.
pub(super) const QUARANTINE_BIN: &str = "cordon-quarantine";
pub(super) const RECORD_BIN: &str = "cordon-record";
pub(super) const ENRICH_BIN: &str = "cordon-enrich";

/// moto's account.
pub(super) const ACCOUNT: &str = "123456789012";
/// A CloudTrail `CreateUser` by an IAM user, re-targeted at each sample's user.
pub(super) const EVENT_TEMPLATE: &str = "xtask/bench/cordon-shaped.input.json";

/// Issue 15's goals.
pub const SPEEDUP_GOAL: f64 = 40.0;
pub const RSS_GOAL_KIB: u64 = 10 * 1024;

/// The response policy of the run: both remediation switches on, so one invocation
/// snapshots, attaches both deny-all policies, deactivates the key and deletes the console
/// password (the heaviest path of the quarantine task for a user).
pub(super) const RESPONSE_POLICY: &str =
    r#"{"deactivate_access_keys": true, "delete_login_profile": true}"#;

/// How long one process may take to answer.
pub(super) const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// One runtime's figures, one entry per sample.
pub struct Runtime {
    /// What was started.
    pub command: String,
    pub to_first_next_ms: Vec<f64>,
    pub to_response_ms: Vec<f64>,
    pub peak_rss_kib: Vec<u64>,
    /// Resident memory when the peak was read (idle after the response): anonymous and
    /// file-backed (the mapped binary and libraries), KiB.
    pub rss_anon_kib: Vec<u64>,
    pub rss_file_kib: Vec<u64>,
    /// Spawn to the first AWS request, for samples with a request before the first `/next`.
    pub to_first_call_ms: Vec<f64>,
    /// Within the invocation (first `/next` → response): time with a request to moto open.
    pub invocation_aws_ms: Vec<f64>,
    /// Requests the process sent before its first `GET /next`, per sample.
    pub calls_before_next: Vec<Vec<String>>,
    /// TCP connections it opened before its first `GET /next`, per sample.
    pub connections_before_next: Vec<usize>,
    /// Every request of the sample (init and invocation), per sample.
    pub calls: Vec<Vec<String>>,
    /// The deployable artifact's size and what that is.
    pub size_bytes: u64,
    pub size_what: String,
    /// Further sizes worth knowing (the Python interpreter's libraries, …).
    pub size_notes: Vec<String>,
}

impl Runtime {
    pub(super) fn new(command: String) -> Runtime {
        Runtime {
            command,
            to_first_next_ms: Vec::new(),
            to_response_ms: Vec::new(),
            peak_rss_kib: Vec::new(),
            rss_anon_kib: Vec::new(),
            rss_file_kib: Vec::new(),
            to_first_call_ms: Vec::new(),
            invocation_aws_ms: Vec::new(),
            calls_before_next: Vec::new(),
            connections_before_next: Vec::new(),
            calls: Vec::new(),
            size_bytes: 0,
            size_what: String::new(),
            size_notes: Vec::new(),
        }
    }

    /// Response minus first `/next`: the invocation alone, per sample.
    pub(super) fn invocation_ms(&self) -> Vec<f64> {
        self.to_response_ms
            .iter()
            .zip(&self.to_first_next_ms)
            .map(|(r, n)| r - n)
            .collect()
    }
}

/// What `measure` found.
pub struct ColdStart {
    pub samples: usize,
    pub warmup: usize,
    pub rust: Runtime,
    pub python: Runtime,
    /// How the bootstrap was built.
    pub build: String,
    pub host: String,
    pub python_version: String,
    /// `awslambdaric X, boto3 Y, botocore Z`.
    pub python_packages: String,
    pub nproc: usize,
    pub load_before: String,
    pub load_after: String,
    /// How long the release builds took, and when they were made.
    pub built: String,
    /// Setup and every sample.
    pub measure_seconds: f64,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Rust,
    Python,
}

impl Kind {
    pub(super) fn label(self) -> &'static str {
        match self {
            Kind::Rust => "rust",
            Kind::Python => "python",
        }
    }
}

/// The stack's resources in moto, named as a deployed stack names them.
pub(super) struct Stack {
    pub(super) table: String,
    pub(super) quarantine_policy_arn: String,
    pub(super) force_mfa_policy_arn: String,
    pub(super) function_role_arn: String,
    pub(super) own_role_arns: Vec<String>,
}

impl Stack {
    pub(super) fn create(moto: &setup::Moto) -> anyhow::Result<Stack> {
        let stack = format!("cordon-cs{}", &token()[..6]);
        let mut own_role_arns = Vec::new();
        let mut function_role_arn = String::new();
        // The template's CORDON_OWN_ROLE_ARNS: these seven roles, in this order.
        for function in [
            "Record",
            "Enrich",
            "Quarantine",
            "Tag",
            "Notify",
            "Release",
            "Approval",
        ] {
            let name = format!("{stack}-{function}FunctionRole-{}", &token()[..12]);
            let arn = moto.role(&name)?;
            if function == "Quarantine" {
                function_role_arn = arn.clone();
            }
            own_role_arns.push(arn);
        }
        let quarantine_policy_arn = moto.policy(
            &format!("{stack}-AutomatedSecurityQuarantine"),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"CordonQuarantineDenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        )?;
        let force_mfa_policy_arn = moto.policy(
            &format!("{stack}-CordonForceMFA"),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllExceptListedIfNoMFA","Effect":"Deny","NotAction":["iam:ChangePassword","iam:GetUser"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
        )?;
        let table = format!("{stack}-IncidentTable");
        moto.table(&table)?;
        Ok(Stack {
            table,
            quarantine_policy_arn,
            force_mfa_policy_arn,
            function_role_arn,
            own_role_arns,
        })
    }

    /// `infra/template.yaml`'s Globals environment, plus the function's own variables.
    pub(super) fn environment(
        &self,
        function_role_arn: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("RUST_LOG", "info"),
            ("CORDON_TABLE_NAME", self.table.as_str()),
            (
                "CORDON_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:cordon-coldstart-IncidentTopic",
            ),
            ("CORDON_QUARANTINE_POLICY_ARN", &self.quarantine_policy_arn),
            ("CORDON_RESPONSE_POLICY", RESPONSE_POLICY),
            ("CORDON_ALLOWLISTED_ACTORS", ""),
            ("CORDON_PROTECTED_PRINCIPALS", ""),
            ("CORDON_APPROVAL_TIMEOUT_SECONDS", "3600"),
            ("CORDON_ACCOUNT_ID", ACCOUNT),
            (
                "CORDON_DENY_ALL_POLICY_ARN",
                "arn:aws:iam::aws:policy/AWSDenyAll",
            ),
            ("CORDON_FUNCTION_ROLE_ARN", function_role_arn),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.push(("CORDON_OWN_ROLE_ARNS".into(), self.own_role_arns.join(",")));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }
}

/// The template event, re-targeted at `user`, with fresh ids and the current time.
pub(super) fn create_user_event(template: &Value, user: &setup::User) -> Value {
    let mut e = template.clone();
    let now = crate::bench::host::utc_now().replace(' ', "T");
    e["id"] = json!(uuid_like());
    e["time"] = json!(now);
    let d = &mut e["detail"];
    d["eventTime"] = json!(now);
    d["eventID"] = json!(uuid_like());
    d["requestID"] = json!(uuid_like());
    d["requestParameters"]["userName"] = json!(user.name);
    d["responseElements"]["user"]["userName"] = json!(user.name);
    d["responseElements"]["user"]["userId"] = json!(user.id);
    d["responseElements"]["user"]["arn"] = json!(user.arn);
    e
}

/// 32 hex digits, different at every call: the time, the process id and a counter, mixed.
pub(super) fn token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64 over each input, so consecutive calls differ in every digit.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(nanos ^ u64::from(std::process::id()).rotate_left(32) ^ n);
    let b = mix(a ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    format!("{a:016x}{b:016x}")
}

pub(super) fn uuid_like() -> String {
    let t = token();
    format!(
        "{}-{}-{}-{}-{}",
        &t[..8],
        &t[8..12],
        &t[12..16],
        &t[16..20],
        &t[20..32]
    )
}

pub(super) fn socket_addr(endpoint: &str) -> anyhow::Result<SocketAddr> {
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    authority
        .to_socket_addrs()
        .with_context(|| format!("moto endpoint {endpoint}"))?
        .next()
        .with_context(|| format!("moto endpoint {endpoint} has no address"))
}

pub(super) struct Memory {
    /// `VmHWM`: the peak resident set.
    pub(super) hwm: u64,
    /// `RssAnon` and `RssFile` now.
    pub(super) anon: u64,
    pub(super) file: u64,
}

/// The process's peak resident set and what is resident now, in KiB.
pub(super) fn memory_kib(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in {path}"))
    };
    Ok(Memory {
        hwm: field("VmHWM:")?,
        anon: field("RssAnon:")?,
        file: field("RssFile:")?,
    })
}

pub(super) fn file_size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// Bytes and files under `dir`.
pub(super) fn dir_size(dir: &Path) -> anyhow::Result<(u64, usize)> {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                bytes += meta.len();
                files += 1;
            }
        }
    }
    Ok((bytes, files))
}

/// `rustc -vV`'s host triple.
pub(super) fn host_triple(root: &Path) -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(rustc)
        .arg("-vV")
        .current_dir(root)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown host".to_owned())
}

/// The installed versions of the reference's packages (fails if they do not import).
pub(super) fn python_packages(python: &Path) -> anyhow::Result<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m, awslambdaric, boto3; \
             print(', '.join(f'{p} {m.version(p)}' for p in ('awslambdaric', 'boto3', 'botocore')))",
        ])
        .stdin(Stdio::null())
        .output()
        .context("asking the venv's python for its packages")?;
    if !out.status.success() {
        bail!(
            "awslambdaric or boto3 do not import in {VENV}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
