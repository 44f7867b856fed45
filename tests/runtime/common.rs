use std::sync::{Arc, Mutex};
use std::time::Duration;

use honeyhive::{
    Environment, ExportSettings, HoneyHiveTracer, RetryPolicy, TracerBuilder, Warning,
    WarningHandler,
};
use honeyhive_runtime::testing::{RecordedSpan, TestServer};

pub const API_KEY: &str = "test-key";
pub const PROJECT: &str = "proj";
pub const WAIT: Duration = Duration::from_secs(30);

/// Fast retries and short batching delays, so fault tests take milliseconds, not seconds.
pub fn fast_export() -> ExportSettings {
    ExportSettings {
        scheduled_delay: Duration::from_millis(20),
        flush_timeout: Duration::from_secs(20),
        retry: RetryPolicy::default()
            .max_retries(4)
            .initial_backoff(Duration::from_millis(5))
            .max_backoff(Duration::from_millis(50)),
        ..ExportSettings::default()
    }
}

/// A tracer connected to `server`, reading nothing from the process environment.
pub fn connected(server: &TestServer) -> TracerBuilder {
    connected_to(&server.url())
}

/// A tracer connected to the HoneyHive API at `url`, reading nothing from the process
/// environment.
pub fn connected_to(url: &str) -> TracerBuilder {
    HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(url)
        .export_settings(fast_export())
}

/// The URL of a port on 127.0.0.1 where nothing listens: every connection is refused.
/// A different one at each call (tracers of one URL share a pipeline). Below 1024: a port
/// released by a test could be handed to another test's server, one of these never is
/// (servers take ephemeral ports).
pub fn unreachable_url() -> String {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 600 + (u32::from(n) + std::process::id()) % 400;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port as u16));
        let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err();
        if refused {
            return format!("http://{addr}");
        }
    }
}

/// A model transport with cassettes in `dir` used as `mode`, reading nothing from the
/// process environment (the model call and judge tests).
#[allow(dead_code)]
pub fn cassette_transport(
    mode: honeyhive::model::CacheMode,
    dir: impl AsRef<std::path::Path>,
    retry: RetryPolicy,
) -> honeyhive::model::ModelTransport {
    honeyhive::model::ModelTransport::builder()
        .environment(Environment::empty())
        .cache(mode)
        .cache_dir(dir.as_ref())
        .retry(retry)
        .build()
        .unwrap()
}

/// The cassettes committed under `tests/cassettes/`, replayed: what `HH_LLM_CACHE=replay`
/// makes of the examples that call models (`model_calls`, `judge`).
#[allow(dead_code)]
pub fn committed_cassettes() -> honeyhive::model::ModelTransport {
    cassette_transport(
        honeyhive::model::CacheMode::Replay,
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cassettes"),
        RetryPolicy::default(),
    )
}

/// A configuration connected to `server`, reading nothing from the process environment:
/// what experiments take (the runtime tests build tracers with [`connected`]).
#[allow(dead_code)]
pub fn connected_config(server: &TestServer) -> honeyhive::Config {
    honeyhive::Config::builder()
        .environment(Environment::empty())
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(server.url())
        .export_settings(fast_export())
        .build()
        .unwrap()
}

/// Collects warnings for assertions.
#[derive(Clone, Default)]
pub struct Warnings(Arc<Mutex<Vec<Warning>>>);

impl Warnings {
    pub fn handler(&self) -> WarningHandler {
        let seen = self.0.clone();
        WarningHandler::new(move |w| seen.lock().unwrap().push(w.clone()))
    }

    pub fn all(&self) -> Vec<Warning> {
        self.0.lock().unwrap().clone()
    }
}

pub fn str_attr<'a>(span: &'a RecordedSpan, key: &str) -> &'a str {
    span.str_attr(key)
        .unwrap_or_else(|| panic!("span {:?} lacks {key}: {:?}", span.name, span.attributes))
}

/// A fresh directory per test, so parallel tests never read each other's files.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("honeyhive-test-{name}-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The trace id of [`incoming`] headers.
pub const INCOMING_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The parent span id of [`incoming`] headers.
pub const INCOMING_PARENT: &str = "00f067aa0ba902b7";

/// The headers of a request from an instrumented caller: `traceparent` with
/// [`INCOMING_TRACE_ID`] and [`INCOMING_PARENT`] (`sampled` or not), and `baggage` when given.
pub fn incoming(sampled: bool, baggage: Option<&str>) -> http::HeaderMap {
    let flags = if sampled { "01" } else { "00" };
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{INCOMING_TRACE_ID}-{INCOMING_PARENT}-{flags}")
            .parse()
            .unwrap(),
    );
    if let Some(baggage) = baggage {
        headers.insert("baggage", baggage.parse().unwrap());
    }
    headers
}

/// Every file under `dir`, in its subfolders too.
#[allow(dead_code)]
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A span exporter that keeps the spans it is given.
#[allow(dead_code)]
#[derive(Debug, Clone, Default)]
pub struct KeepSpans(pub Arc<Mutex<Vec<honeyhive::opentelemetry_sdk::trace::SpanData>>>);

impl honeyhive::opentelemetry_sdk::trace::SpanExporter for KeepSpans {
    async fn export(
        &self,
        batch: Vec<honeyhive::opentelemetry_sdk::trace::SpanData>,
    ) -> honeyhive::opentelemetry_sdk::error::OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}
