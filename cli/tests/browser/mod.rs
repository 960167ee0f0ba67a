//! A headless Chromium driven through chromedriver (WebDriver over HTTP on
//! loopback): just what the console's tests need, with no client crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

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
    driver: Child,
    address: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(
            &self.address,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One WebDriver call; its `value`, or the WebDriver error.
fn call(address: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let body = read_response(&mut stream)?;
    let value: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let value = value["value"].clone();
    if let Some(error) = value.get("error") {
        return Err(format!("{error}: {}", value["message"]));
    }
    Ok(value)
}

/// Reads one HTTP response's body: up to its `Content-Length` (chromedriver
/// keeps the connection open), or to the end.
fn read_response(stream: &mut TcpStream) -> Result<String, String> {
    let mut reader = std::io::BufReader::new(stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("the connection closed before the headers ended".into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        }
        None => {
            reader.read_to_end(&mut body).map_err(|e| e.to_string())?;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (1280×800, a fresh
    /// profile, no network services) trusting the server key whose SPKI
    /// SHA-256 is `spki` — that key only.
    pub fn start(chromedriver: &Path, chromium: &Path, spki: &str) -> Self {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address = format!("127.0.0.1:{port}");
        // Ready when /status answers (bounded by attempts, not by a clock).
        let mut ready = false;
        for _ in 0..200 {
            if call(&address, "GET", "/status", None).is_ok_and(|v| v["ready"] == true) {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ready, "chromedriver did not start on {address}");
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
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args }
            }}
        });
        let created = call(&address, "POST", "/session", Some(capabilities)).unwrap();
        let session = created["sessionId"].as_str().unwrap().to_owned();
        let browser = Self {
            driver,
            address,
            session,
            _profile: profile,
        };
        // The page itself 1280×800, whatever the window's frame takes.
        browser.call(
            "POST",
            "/goog/cdp/execute",
            Some(
                json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false } }),
            ),
        );
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        call(&self.address, method, &path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current page's URL.
    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// The element `css` selects (the first), or a panic naming the page.
    pub fn find(&self, css: &str) -> String {
        let found = call(
            &self.address,
            "POST",
            &format!("/session/{}/element", self.session),
            Some(json!({ "using": "css selector", "value": css })),
        );
        match found {
            Ok(element) => element[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("`{css}`: not an element: {element}"))
                .to_owned(),
            Err(e) => panic!("no `{css}` on {}: {e}\n{}", self.url(), self.text("body")),
        }
    }

    /// How many elements `css` selects.
    pub fn count(&self, css: &str) -> usize {
        self.call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    /// Clicks the element `css` selects (and waits for a navigation it starts).
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
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
        self.call(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The rendered text of the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? (e.innerText || e.textContent) : null;";
        self.script(script, json!([css]))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page with `args`; its return value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Saves a PNG of the viewport (or of the element `css` selects) to `path`.
    pub fn screenshot(&self, css: Option<&str>, path: &Path) {
        let png = match css {
            Some(css) => {
                let element = self.find(css);
                self.call("GET", &format!("/element/{element}/screenshot"), None)
            }
            None => self.call("GET", "/screenshot", None),
        };
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}
