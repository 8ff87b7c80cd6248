use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root: xtask lives in `<root>/xtask`.
pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask must live one level below the workspace root")
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// A `cargo` command (the same cargo that runs xtask) in the workspace root.
pub fn cargo(root: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    cmd
}

/// Runs a command to completion, failing with `what` if it exits non-zero.
pub fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Ensures `<root>/<venv>` exists with exactly `requirements` installed, and returns it.
/// A marker file records what was installed, so a second call is free and a changed pin
/// reinstalls. `probe` is a script in `bin/` that must exist afterwards.
pub fn ensure_python_tool(
    root: &Path,
    venv: &str,
    requirements: &[&str],
    probe: &str,
) -> anyhow::Result<PathBuf> {
    let dir = root.join(venv);
    let marker = dir.join(".cordon-requirements");
    let wanted = requirements.join("\n");
    let installed = std::fs::read_to_string(&marker).unwrap_or_default();
    if installed == wanted && dir.join("bin").join(probe).exists() {
        return Ok(dir);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    if !dir.join("bin/pip").exists() {
        eprintln!("xtask: creating {venv}/ with {python}");
        run(
            Command::new(&python).arg("-m").arg("venv").arg(&dir),
            "python3 -m venv (is python3 with the venv module installed?)",
        )?;
    }
    eprintln!("xtask: installing {} into {venv}/", requirements.join(" "));
    run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(requirements),
        &format!("pip install {}", requirements.join(" ")),
    )?;
    if !dir.join("bin").join(probe).exists() {
        bail!("{venv}/bin/{probe} is missing after pip install");
    }
    std::fs::write(&marker, wanted).with_context(|| format!("writing {}", marker.display()))?;
    Ok(dir)
}

/// The `site-packages` folder of the venv at `venv` (`lib/python3.X/site-packages`).
pub fn site_packages(venv: &Path) -> anyhow::Result<PathBuf> {
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).with_context(|| format!("reading {}", lib.display()))?;
    entries
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .with_context(|| format!("no python*/site-packages in {}", lib.display()))
}
