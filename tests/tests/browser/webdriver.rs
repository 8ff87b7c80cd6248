//! A tiny W3C WebDriver client: chromedriver on a loopback port, headless Chromium, plain
//! HTTP/JSON through `ureq` (blocking; call it from `tokio::task::block_in_place`).
//!
//! Missing binaries fail the test with instructions: a browser test never passes by
//! skipping.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

const INSTALL: &str = "The browser tests drive Debian's Chromium through chromedriver. Install \
both with\n  sudo apt-get install chromium chromium-driver\nor point CORDON_CHROMEDRIVER and \
CORDON_CHROMIUM at a chromedriver and a matching Chrome/Chromium binary.";

fn binary(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{what} not found at {} (override with {var}).\n{INSTALL}",
        path.display()
    );
    path
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            // Loopback only: never through a proxy from the environment.
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(cordon_aws::testing::unique(prefix));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A chromedriver process and one headless Chromium session. Dropping it ends the session
/// and kills chromedriver (Chromium exits with its session).
pub struct Browser {
    agent: ureq::Agent,
    base: String,
    session: String,
    child: Child,
    profile: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session
    /// with a fresh profile.
    pub fn start() -> Browser {
        let driver = binary(
            "CORDON_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        );
        let chromium = binary("CORDON_CHROMIUM", "/usr/bin/chromium", "Chromium");
        let profile = TempDir::new("cordon-browser");
        let mut last_error = None;
        // The free port can be taken between picking and binding: try a few.
        for _ in 0..3 {
            let port = cordon_loopback::free_port().expect("picking a free loopback port");
            let log = profile.0.join("chromedriver.log");
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}\n{INSTALL}", driver.display()));
            let mut starting = Starting {
                child: Some(child),
                base: format!("http://127.0.0.1:{port}"),
            };
            match starting.session(&chromium, &profile.0) {
                Ok((agent, session)) => {
                    let child = starting.child.take().expect("the chromedriver child");
                    return Browser {
                        agent,
                        base: starting.base.clone(),
                        session,
                        child,
                        profile,
                    };
                }
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    let tail: String = log
                        .lines()
                        .rev()
                        .take(30)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n");
                    last_error = Some(format!("{e:#}\nchromedriver log (tail):\n{tail}"));
                }
            }
        }
        panic!(
            "could not start a headless Chromium session through {}: {}\n{INSTALL}",
            driver.display(),
            last_error.unwrap_or_default()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn get(&self, path: &str) -> anyhow::Result<Value> {
        call(&self.agent, "GET", &self.url(path), None)
    }

    fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        call(&self.agent, "POST", &self.url(path), Some(body))
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }))
            .unwrap_or_else(|e| panic!("opening {url}: {e:#}"));
    }

    pub fn back(&self) {
        self.post("/back", json!({}))
            .unwrap_or_else(|e| panic!("going back: {e:#}"));
    }

    pub fn refresh(&self) {
        self.post("/refresh", json!({}))
            .unwrap_or_else(|e| panic!("reloading: {e:#}"));
    }

    /// The names of the cookies the current page's site has set (HttpOnly ones included).
    pub fn cookie_names(&self) -> Vec<String> {
        self.get("/cookie")
            .unwrap_or_else(|e| panic!("reading the cookies: {e:#}"))
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets every cookie of the current page's site (a fresh browser for the next case).
    pub fn delete_cookies(&self) {
        call(&self.agent, "DELETE", &self.url("/cookie"), None)
            .unwrap_or_else(|e| panic!("deleting the cookies: {e:#}"));
    }

    pub fn current_url(&self) -> String {
        self.get("/url")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Runs `script` (a function body) in the page; WebDriver scripts are not subject to
    /// the page's CSP.
    pub fn execute(&self, script: &str) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
    }

    /// The first element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<Element<'_>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .ok()?;
        let id = found.as_array()?.first()?.get(ELEMENT_KEY)?.as_str()?;
        Some(Element {
            browser: self,
            id: id.to_string(),
        })
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.post(
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
    }

    pub fn element(&self, css: &str) -> Element<'_> {
        self.find(css).unwrap_or_else(|| {
            panic!(
                "no element matches {css} on {}:\n{}",
                self.current_url(),
                self.body_text()
            )
        })
    }

    /// The `<h1>` of the current page ("" while none is there).
    pub fn heading(&self) -> String {
        self.find("h1").map(|h| h.text()).unwrap_or_default()
    }

    /// The visible text of the page.
    pub fn body_text(&self) -> String {
        self.find("body").map(|b| b.text()).unwrap_or_default()
    }

    /// The HTTP status the current document was served with (Navigation Timing Level 2).
    pub fn status(&self) -> u64 {
        let v = self
            .execute(
                "const n = performance.getEntriesByType('navigation')[0]; \
                 return n ? n.responseStatus : null;",
            )
            .unwrap_or_else(|e| panic!("reading the response status: {e:#}"));
        v.as_u64()
            .unwrap_or_else(|| panic!("the browser reported no response status: {v}"))
    }

    /// Waits (at most `limit`) until the page's `<h1>` is `expected`; clicks return before
    /// the navigation they start has finished.
    pub fn wait_for_heading(&self, expected: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let ready = self
                .execute("return document.readyState;")
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            let heading = self.heading();
            if heading == expected && ready.as_deref() == Some("complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed \"{expected}\" within {limit:?}; it shows \"{heading}\" at {}:\n{}",
                self.current_url(),
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens a new tab and switches to it; returns its handle.
    pub fn new_tab(&self) -> String {
        let v = self
            .post("/window/new", json!({ "type": "tab" }))
            .unwrap_or_else(|e| panic!("opening a tab: {e:#}"));
        let handle = v["handle"]
            .as_str()
            .unwrap_or_else(|| panic!("no handle for the new tab: {v}"))
            .to_string();
        self.switch_to(&handle);
        handle
    }

    pub fn window(&self) -> String {
        self.get("/window")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .expect("the current window handle")
    }

    pub fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle }))
            .unwrap_or_else(|e| panic!("switching to window {handle}: {e:#}"));
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = self
            .get("/screenshot")
            .unwrap_or_else(|e| panic!("taking a screenshot: {e:#}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot is not a PNG ({} bytes)",
            png.len()
        );
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.profile;
    }
}

/// chromedriver while the session is being created; kills it if that fails.
struct Starting {
    child: Option<Child>,
    base: String,
}

impl Starting {
    fn session(
        &mut self,
        chromium: &Path,
        profile: &Path,
    ) -> anyhow::Result<(ureq::Agent, String)> {
        let agent = agent(Duration::from_secs(90));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("chromedriver exited at start ({status})");
            }
            match call(&agent, "GET", &format!("{}/status", self.base), None) {
                Ok(v) if v["ready"] == json!(true) => break,
                _ if Instant::now() > deadline => {
                    bail!(
                        "chromedriver did not become ready at {} within 30s",
                        self.base
                    )
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let user_data = profile.join("profile");
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": 30000, "script": 10000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1100,1000",
                            format!("--user-data-dir={}", user_data.display()),
                        ],
                    },
                },
            },
        });
        let v = call(
            &agent,
            "POST",
            &format!("{}/session", self.base),
            Some(caps),
        )
        .context("creating the WebDriver session")?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {v}"))?
            .to_string();
        Ok((agent, id))
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One WebDriver command; returns its `value` or the WebDriver error.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .send(body.unwrap_or_else(|| json!({})).to_string()),
    }
    .with_context(|| format!("{method} {url}"))?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .with_context(|| format!("reading the response to {method} {url}"))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{method} {url}: the response is not JSON: {text}"))?;
    if !status.is_success() {
        bail!(
            "{method} {url}: HTTP {status}: {} {}",
            v["value"]["error"],
            v["value"]["message"]
        );
    }
    Ok(v["value"].clone())
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub fn click(&self) {
        self.browser
            .post(&self.path("/click"), json!({}))
            .unwrap_or_else(|e| panic!("clicking: {e:#}"));
    }

    pub fn type_text(&self, text: &str) {
        self.browser
            .post(&self.path("/value"), json!({ "text": text }))
            .unwrap_or_else(|e| panic!("typing: {e:#}"));
    }

    pub fn text(&self) -> String {
        self.browser
            .get(&self.path("/text"))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The element's property (`value`, `type`, ...), as a string.
    pub fn property(&self, name: &str) -> Option<String> {
        self.browser
            .get(&self.path(&format!("/property/{name}")))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }
}
