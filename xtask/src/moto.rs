//! The local AWS API emulator: moto in server mode, from a project-local venv.
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub const MOTO_VERSION: &str = "5.2.5";
pub const REGION: &str = "us-east-1";

/// Creates `.venv` with `moto[server]==MOTO_VERSION` unless it is already there.
/// Returns the venv directory.
pub fn ensure_venv(root: &Path) -> anyhow::Result<PathBuf> {
    crate::util::ensure_python_tool(
        root,
        ".venv",
        &[&format!("moto[server]=={MOTO_VERSION}")],
        "moto_server",
    )
}

/// A running moto server, killed by PID when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub fn start(root: &Path, venv: &Path) -> anyhow::Result<Moto> {
        let port = cordon_loopback::free_port().context("finding a free loopback port")?;
        let log_dir = root.join("target");
        std::fs::create_dir_all(&log_dir)?;
        let log_path = log_dir.join(format!("moto-{port}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting .venv/bin/moto_server")?;
        let mut moto = Moto { child, port };
        moto.wait_ready(Duration::from_secs(60))
            .with_context(|| format!("moto did not start; see {}", log_path.display()))?;
        Ok(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Points AWS SDKs and CLIs run by `cmd` at this moto.
    pub fn export_to(&self, cmd: &mut Command) {
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
    }

    pub fn wait(mut self) -> anyhow::Result<()> {
        let status = self.child.wait()?;
        bail!("moto exited ({status})")
    }

    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("moto exited early ({status})");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("moto was not listening on {addr} after {timeout:?}")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
