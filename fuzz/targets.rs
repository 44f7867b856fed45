//! The bodies of the fuzz targets, shared by the `cargo fuzz` binaries
//! (`fuzz/fuzz_targets/*.rs`) and by `tests/hostile_inputs.rs`, which runs them on generated
//! inputs within `cargo test --workspace` (no nightly needed). Each takes arbitrary bytes
//! and panics only on a bug: a panic of the code under test, an error that says nothing, or
//! a result that breaks what the input allows (more datapoints than lines, baggage keys that
//! must not cross a process boundary, output out of proportion to the input).
//!
//! See `docs/reliability.md` ("Hostile inputs").

use honeyhive::baggage;
use honeyhive::dataset::{Dataset, DatasetError, canonical};
use honeyhive::opentelemetry::baggage::BaggageExt as _;
use honeyhive::opentelemetry::trace::TraceContextExt as _;
use honeyhive_runtime::testing::{OtlpDecodeError, OtlpEncoding, RecordedSpan, decode_spans};
use http::{HeaderMap, HeaderValue};

/// `Dataset::from_json` (a JSON array, else JSONL) on `data` as UTF-8 text.
pub fn dataset_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_dataset(text, Dataset::from_json(text));
    }
}

/// `Dataset::from_csv` on `data` as UTF-8 text.
pub fn dataset_csv(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_dataset(text, Dataset::from_csv(text));
    }
}

fn check_dataset(text: &str, loaded: Result<Dataset, DatasetError>) {
    match loaded {
        Ok(dataset) => {
            // One datapoint per line at most (JSONL, CSV), per `{` at most (JSON).
            let bound = text.lines().count().max(text.matches('{').count());
            assert!(dataset.len() <= bound, "{} datapoints", dataset.len());
            assert!(dataset.id().starts_with("EXT-"), "{}", dataset.id());
            for datapoint in dataset.datapoints() {
                assert!(datapoint.id().starts_with("EXT-"), "{}", datapoint.id());
            }
            // Reading the datapoints as the user's types: a typed error when they do not fit.
            if let Err(error) = dataset.typed::<Question, serde_json::Value>() {
                assert_clear(&error.to_string());
            }
        }
        Err(error) => assert_clear(&error.to_string()),
    }
}

/// What a user's experiment might read its inputs as.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // read by serde only
struct Question {
    q: String,
    n: Option<i64>,
}

/// The `EXT-` id canonicaliser (`honeyhive::dataset::canonical`) on `data` as UTF-8 text:
/// its output is ASCII, canonical again unchanged, and within a few times the input.
pub fn canonical_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match canonical(text) {
        Ok(out) => {
            assert!(out.is_ascii(), "{out}");
            // `\uXXXX\uXXXX` for a 4-byte character (3x); `1e15` is `1000000000000000.0`.
            assert!(
                out.len() <= 6 * text.len() + 16,
                "{} -> {} bytes",
                text.len(),
                out.len()
            );
            assert_eq!(
                canonical(&out).as_deref().ok(),
                Some(out.as_str()),
                "not a fixed point"
            );
        }
        Err(error) => assert_clear(&error.to_string()),
    }
}

/// W3C extraction (`honeyhive::baggage::extract`) of `traceparent`, `baggage` and
/// `tracestate` headers: the lines of `data`, in that order (a header whose bytes are not a
/// header value is left out, as an HTTP server would have refused it).
pub fn propagation(data: &[u8]) {
    let headers = headers(data);
    let cx = baggage::extract(&headers);
    for (key, (value, _)) in cx.baggage().iter() {
        assert!(
            baggage::PROPAGATED_KEYS.contains(&key.as_str()),
            "baggage key {key:?} crossed the boundary"
        );
        assert!(value.as_str().len() <= data.len(), "{value:?}");
    }
    let span = cx.span();
    let context = span.span_context();
    if context.is_valid() {
        let sent = headers["traceparent"].to_str().unwrap_or_default();
        let trace_id = context.trace_id().to_string();
        assert!(
            sent.to_ascii_lowercase().contains(&trace_id),
            "{trace_id} from {sent:?}"
        );
        assert!(context.is_remote());
    }
}

/// The headers of [`propagation`]: `traceparent`, `baggage` and `tracestate` from the lines
/// of `data`.
pub fn headers(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let lines = data.split(|b| *b == b'\n');
    for (name, value) in ["traceparent", "baggage", "tracestate"]
        .into_iter()
        .zip(lines)
    {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The test server's decoding of a protobuf trace export.
pub fn otlp_protobuf(data: &[u8]) {
    check_otlp(data, decode_spans(OtlpEncoding::Protobuf, data));
}

/// The test server's decoding of an OTLP/JSON trace export.
pub fn otlp_json(data: &[u8]) {
    check_otlp(data, decode_spans(OtlpEncoding::Json, data));
}

fn check_otlp(data: &[u8], decoded: Result<Vec<RecordedSpan>, OtlpDecodeError>) {
    match decoded {
        // A span takes at least 2 bytes (an empty message: tag and length; `{}`).
        Ok(spans) => assert!(spans.len() <= data.len() / 2, "{} spans", spans.len()),
        Err(error) => assert_clear(&error.to_string()),
    }
}

/// An error message says something, and is not a panic's.
fn assert_clear(message: &str) {
    assert!(!message.trim().is_empty(), "an empty error message");
    assert!(!message.contains("panicked"), "{message}");
}
