//! A headless Chromium (Debian's `chromium`) driven over WebDriver through Debian's
//! `chromedriver` with `fantoccini`, for the tests of `report.html`: the page is opened,
//! clicked and read as a person's browser would. `.ci/run` installs both and sets
//! `HH_BROWSER_TESTS=1`, which makes the browser tests mandatory; elsewhere, without them,
//! a browser test says it skipped.
//!
//! Why WebDriver and not `chromium --dump-dom`: the checks click the page's filters and open
//! rows, which the command line cannot do; `fantoccini` is the WebDriver client, this file
//! only starts the driver and stops it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where Debian installs them (found on `PATH` too).
const CHROMIUM: &[&str] = &["/usr/bin/chromium", "chromium", "chromium-browser"];
const DRIVER: &[&str] = &["/usr/bin/chromedriver", "chromedriver"];
/// Set by `.ci/run`: a browser test may not skip.
pub const MANDATORY: &str = "HH_BROWSER_TESTS";

fn find(candidates: &[&str]) -> Option<String> {
    candidates.iter().find_map(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| (*c).to_owned())
    })
}

/// The driver process, in a process group of its own with the browser it starts: dropped
/// (also when a test fails midway), it ends them all.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// A browser session; the driver process ends with it.
pub struct Browser {
    client: Client,
    // Dropped after the client.
    _driver: Driver,
}

impl Browser {
    /// A headless Chromium, or `None` (said on stderr) when it is not installed and the
    /// browser tests are not mandatory.
    pub async fn start(test: &str) -> Option<Browser> {
        let (chromium, driver) = match (find(CHROMIUM), find(DRIVER)) {
            (Some(c), Some(d)) => (c, d),
            _ => {
                if std::env::var_os(MANDATORY).is_some_and(|v| v != "0") {
                    panic!(
                        "{test}: {MANDATORY} is set but chromium or chromedriver is missing: \
                         install Debian's chromium and chromium-driver (.ci/run does)"
                    );
                }
                eprintln!(
                    "{test}: skipped: no chromium and chromedriver on this machine (apt-get \
                     install chromium chromium-driver, or run .ci/run, which makes this test \
                     mandatory)"
                );
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Driver(
            Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("chromedriver starts"),
        );
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1600"]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // The driver takes a moment to listen: a refused connection is tried again.
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{test}: chromedriver gave no browser session: {e}"),
            }
        };
        Some(Browser {
            client,
            _driver: driver,
        })
    }

    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// Clicks the first element `css` selects.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("the script failed: {e}\n{script}"))
    }

    /// The page as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("a screenshot")
    }

    pub async fn quit(self) {
        let Browser { client, _driver } = self;
        client.close().await.expect("the session ends");
    }
}
