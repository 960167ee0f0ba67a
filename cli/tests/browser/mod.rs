//! A headless Chromium driven through chromedriver with the `fantoccini`
//! WebDriver client (plain HTTP on loopback), behind the blocking calls the
//! console's test reads as steps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// `name` on `PATH`, if there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A running chromedriver and one browser session.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Chromium's own `Emulation.setDeviceMetricsOverride` through
/// chromedriver's DevTools endpoint: the page itself 1280×800, whatever the
/// window's frame takes.
#[derive(Debug)]
struct Viewport;

impl WebDriverCompatibleCommand for Viewport {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false } });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (1280×800, a fresh
    /// profile, no network services) trusting the server key whose SPKI
    /// SHA-256 is `spki` — that key only.
    pub fn start(chromedriver: &Path, chromium: &Path, spki: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--ignore-certificate-errors-spki-list={spki}"),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver is ready when it accepts a session (bounded by
        // attempts, not by a clock). The port is one the system had free a
        // moment ago; if another program takes it first, chromedriver exits
        // and starts again on another (three tries).
        let mut last = String::new();
        let mut started = None;
        'tries: for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut driver = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let webdriver = format!("http://127.0.0.1:{port}");
            for _ in 0..200 {
                match runtime.block_on(builder.connect(&webdriver)) {
                    Ok(client) => {
                        started = Some((client, driver));
                        break 'tries;
                    }
                    Err(e) => last = format!("chromedriver on {webdriver}: {e}"),
                }
                if let Ok(Some(status)) = driver.try_wait() {
                    last = format!("chromedriver on {webdriver} exited ({status})");
                    continue 'tries;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = driver.kill();
            let _ = driver.wait();
        }
        let (client, driver) = started.unwrap_or_else(|| panic!("{last}"));
        runtime.block_on(client.issue_cmd(Viewport)).unwrap();
        Self {
            runtime,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens `url` and waits for it to load.
    pub fn open(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Reloads the current page (a GET of its URL).
    pub fn reload(&self) {
        self.runtime.block_on(self.client().refresh()).unwrap();
    }

    /// The current page's URL.
    pub fn url(&self) -> String {
        self.runtime
            .block_on(self.client().current_url())
            .unwrap()
            .to_string()
    }

    /// The element `css` selects (the first), or a panic naming the page.
    fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.runtime
            .block_on(self.client().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("no `{css}` on {}: {e}\n{}", self.url(), self.text("body")))
    }

    /// How many elements `css` selects.
    pub fn count(&self, css: &str) -> usize {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .map_or(0, |all| all.len())
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.runtime
            .block_on(element.click())
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Clicks the button or link `css` selects and waits until the page it
    /// leads to has loaded (the old document is gone and the new one is
    /// complete), checking a bounded number of times.
    pub fn follow(&self, css: &str) {
        self.script("window.__crossforestOldPage = true;", json!([]));
        self.click(css);
        for _ in 0..1200 {
            let loaded = self.script(
                "return window.__crossforestOldPage === undefined && document.readyState === 'complete';",
                json!([]),
            );
            if loaded == true {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("clicking `{css}` led to no new page on {}", self.url());
    }

    /// Types `text` into the field `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.runtime.block_on(element.clear()).unwrap();
        self.runtime.block_on(element.send_keys(text)).unwrap();
    }

    /// The rendered text of the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? (e.innerText || e.textContent) : null;";
        self.script(script, json!([css]))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page with `args` (a JSON array); its return value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        let Value::Array(args) = args else {
            panic!("script arguments must be an array: {args}")
        };
        self.runtime
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Saves a PNG of the viewport (or of the element `css` selects) to `path`.
    pub fn screenshot(&self, css: Option<&str>, path: &Path) {
        let png = match css {
            Some(css) => self.runtime.block_on(self.find(css).screenshot()),
            None => self.runtime.block_on(self.client().screenshot()),
        }
        .unwrap();
        std::fs::write(path, png).unwrap();
    }
}
