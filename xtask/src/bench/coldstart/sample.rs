//! One cold-start sample: a fresh process under the Runtime API emulator, its user and
//! quarantine input prepared untimed, then timed to its first `/next` and its response.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::model::*;
use super::runtime_api::{Ending, RuntimeApi};
use super::{proxy, setup};
use crate::moto::REGION;

/// What one sample measured.
pub(super) struct Sample {
    pub(super) to_first_next_ms: f64,
    pub(super) to_response_ms: f64,
    pub(super) peak_rss_kib: u64,
    pub(super) rss_anon_kib: u64,
    pub(super) rss_file_kib: u64,
    /// Spawn to the first AWS request, when that came before the first `/next`.
    pub(super) to_first_call_ms: Option<f64>,
    pub(super) invocation_aws_ms: f64,
    pub(super) calls_before_next: Vec<String>,
    pub(super) connections_before_next: usize,
    pub(super) calls: Vec<String>,
}

pub(super) struct Ctx<'a> {
    pub(super) moto: &'a setup::Moto,
    pub(super) moto_endpoint: &'a str,
    pub(super) stack: &'a Stack,
    pub(super) proxy: &'a proxy::Proxy,
    pub(super) template: &'a Value,
    pub(super) release: &'a Path,
    pub(super) bootstrap: &'a Path,
    pub(super) python: &'a Path,
    pub(super) handler_dir: &'a Path,
    pub(super) work: &'a Path,
}

impl Ctx<'_> {
    /// Prepares a user and its quarantine input (untimed), then times one cold start.
    pub(super) fn sample(&self, kind: Kind, tag: &str) -> anyhow::Result<Sample> {
        let user = self
            .moto
            .user(&format!("backdoor-{tag}-{}", &token()[..8]))?;
        let input = self.quarantine_input(&user, tag)?;
        let function = format!("cordon-coldstart-QuarantineFunction-{}", kind.label());
        let mut cmd = match kind {
            Kind::Rust => {
                let dir = self.work.join("task");
                std::fs::create_dir_all(&dir)?;
                let mut cmd = Command::new(self.bootstrap);
                cmd.env_clear()
                    .current_dir(&dir)
                    .env("LAMBDA_TASK_ROOT", &dir)
                    .env("_HANDLER", "bootstrap")
                    .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023");
                cmd
            }
            Kind::Python => {
                let mut cmd = Command::new(self.python);
                cmd.env_clear()
                    .args(["-m", "awslambdaric", "quarantine.handler"])
                    .current_dir(self.handler_dir)
                    .env("LAMBDA_TASK_ROOT", self.handler_dir)
                    .env("_HANDLER", "quarantine.handler")
                    .env("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
                    // Lambda's task root is read-only: nothing is written beside the handler.
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                cmd
            }
        };
        let env = self.stack.environment(
            &self.stack.function_role_arn,
            &[(
                "CORDON_FORCE_MFA_POLICY_ARN",
                &self.stack.force_mfa_policy_arn,
            )],
        );
        let log = self.work.join(format!("{tag}.log"));
        let (timed, response) = self.invoke(
            &mut cmd,
            &function,
            &env,
            &self.proxy.endpoint(),
            &input,
            &log,
            true,
        )?;
        let timed = timed.context("a timed run without its figures")?;
        self.check(&user, &response).with_context(|| {
            format!(
                "the {} quarantine's outcome (log: {})",
                kind.label(),
                log.display()
            )
        })?;
        Ok(timed)
    }

    /// The Quarantine state's payload for `user`, as the workflow builds it: the record
    /// task opens the incident for a `CreateUser` event, enrich reads the facts.
    fn quarantine_input(&self, user: &setup::User, tag: &str) -> anyhow::Result<Value> {
        let event = create_user_event(self.template, user);
        let opened = self.setup_function(
            RECORD_BIN,
            &json!({
                "action": "open",
                "event": event,
                "executionArn": format!(
                    "arn:aws:states:{REGION}:{ACCOUNT}:execution:cordon-incident:{tag}-{}",
                    &token()[..8]
                ),
            }),
            &format!("{tag}-record"),
        )?;
        if opened["outcome"] != "opened" {
            bail!("the record task did not open an incident: {opened}");
        }
        let enriched = self.setup_function(
            ENRICH_BIN,
            &json!({"incidentId": opened["incidentId"], "detection": opened["detection"]}),
            &format!("{tag}-enrich"),
        )?;
        if enriched["facts"]["userId"] != user.id.as_str() {
            bail!("enrich read other facts than the user's: {enriched}");
        }
        Ok(json!({
            "incidentId": opened["incidentId"],
            "detection": opened["detection"],
            "facts": enriched["facts"],
        }))
    }

    /// Runs a release task binary for one event, straight against moto (not timed).
    fn setup_function(&self, bin: &str, event: &Value, tag: &str) -> anyhow::Result<Value> {
        let role = self
            .stack
            .own_role_arns
            .iter()
            .find(|a| {
                a.contains(if bin == RECORD_BIN {
                    "RecordFunctionRole"
                } else {
                    "EnrichFunctionRole"
                })
            })
            .cloned()
            .unwrap_or_default();
        let env = self.stack.environment(&role, &[]);
        let mut cmd = Command::new(self.release.join(bin));
        cmd.env_clear().current_dir(self.work);
        let log = self.work.join(format!("{tag}.log"));
        let (_, response) = self.invoke(
            &mut cmd,
            &format!("cordon-coldstart-{bin}"),
            &env,
            self.moto_endpoint,
            event,
            &log,
            false,
        )?;
        Ok(response)
    }

    /// Starts `cmd` as a Lambda runtime process with one event waiting; returns its
    /// figures (when `timed`) and its response.
    #[allow(clippy::too_many_arguments)]
    fn invoke(
        &self,
        cmd: &mut Command,
        function: &str,
        env: &[(String, String)],
        aws_endpoint: &str,
        event: &Value,
        log: &Path,
        timed: bool,
    ) -> anyhow::Result<(Option<Sample>, Value)> {
        let request_id = uuid_like();
        let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}");
        let api = RuntimeApi::start(event, &function_arn, &request_id)?;
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        // The sandbox's environment only (`cmd` starts from an empty one): nothing of the
        // developer's shell leaks in.
        cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2024/01/01/[$LATEST]coldstart",
            )
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let spawned_at = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let mut child = Killed(child);
        let outcome = api
            .wait_ending(INVOCATION_TIMEOUT)
            .with_context(|| format!("{:?} (log: {})", cmd.get_program(), log.display()))?;
        let body = match &outcome.ending {
            Ending::Response(body) => body.clone(),
            Ending::Error(kind, body) | Ending::InitError(kind, body) => bail!(
                "{:?} answered with an error {kind}: {} (log: {})",
                cmd.get_program(),
                String::from_utf8_lossy(body),
                log.display()
            ),
        };
        let response: Value = serde_json::from_slice(&body).with_context(|| {
            format!(
                "the response is not JSON: {}",
                String::from_utf8_lossy(&body)
            )
        })?;
        if !timed {
            return Ok((None, response));
        }
        let first_next = outcome
            .first_next
            .context("a response without a GET /next first")?;
        // Idle again (asking for the next event): its peak is behind it.
        if !api.wait_idle(Duration::from_secs(5)) {
            eprintln!("xtask coldstart: warning: the process did not ask for a second event");
        }
        let memory = memory_kib(child.0.id())?;
        child.stop();
        let connections_before_next = self
            .proxy
            .connections_since(spawned_at)
            .iter()
            .filter(|t| **t < first_next)
            .count();
        let all = self.proxy.calls_since(spawned_at);
        let calls_before_next = all
            .iter()
            .filter(|c| c.at < first_next)
            .map(|c| c.operation.clone())
            .collect();
        let ms = |t: Instant| t.duration_since(spawned_at).as_secs_f64() * 1e3;
        let to_first_call_ms = all.first().filter(|c| c.at < first_next).map(|c| ms(c.at));
        Ok((
            Some(Sample {
                to_first_next_ms: ms(first_next),
                to_response_ms: ms(outcome.ended_at),
                peak_rss_kib: memory.hwm,
                rss_anon_kib: memory.anon,
                rss_file_kib: memory.file,
                to_first_call_ms,
                invocation_aws_ms: self.proxy.busy(first_next, outcome.ended_at).as_secs_f64()
                    * 1e3,
                calls_before_next,
                connections_before_next,
                calls: all.into_iter().map(|c| c.operation).collect(),
            }),
            response,
        ))
    }

    /// The quarantine did what it must: both deny-all policies attached, the key
    /// deactivated, the password deleted (its answer and IAM agree).
    fn check(&self, user: &setup::User, response: &Value) -> anyhow::Result<()> {
        let mut wanted = vec![
            self.stack.quarantine_policy_arn.clone(),
            "arn:aws:iam::aws:policy/AWSDenyAll".to_owned(),
        ];
        wanted.sort();
        let mut answered: Vec<String> = response["policyArns"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        answered.sort();
        if answered != wanted
            || response["remediation"]["deactivatedKeys"] != json!([user.access_key])
            || response["remediation"]["loginProfileDeleted"] != json!(true)
            || response["snapshotSaved"] != json!(true)
            || response["alreadyAttached"] != json!(false)
            || response["userName"] != user.name.as_str()
        {
            bail!("unexpected answer: {response}");
        }
        let (policies, statuses, login) = self.moto.contained(&user.name)?;
        if policies != wanted || statuses != ["Inactive"] || login {
            bail!(
                "IAM disagrees: policies {policies:?}, key statuses {statuses:?}, password {login}"
            );
        }
        Ok(())
    }
}

/// A child killed (and reaped) when dropped, by its own handle.
pub(super) struct Killed(Child);

impl Killed {
    pub(super) fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.stop();
    }
}
