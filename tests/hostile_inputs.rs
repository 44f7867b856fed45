//! Hostile and broken inputs (issue 21 point 4; `docs/reliability.md`, "Hostile inputs"):
//! the dataset loaders (JSON, JSONL, CSV), the `EXT-` id canonicaliser, W3C `traceparent` /
//! `baggage` extraction and the test server's OTLP decoding, on generated inputs (proptest)
//! and on raw bytes, through the same functions the `cargo fuzz` targets call
//! (`fuzz/targets.rs`). Each must not panic, must answer a malformed input with a typed
//! error that says something, and must not allocate out of proportion to its input (a
//! counting allocator measures what each call allocates). Incoming baggage never sets the
//! project, the source, or the receiving tracer's own session.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, Mutex};

use honeyhive::opentelemetry::baggage::BaggageExt as _;
use honeyhive::opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use honeyhive::opentelemetry_sdk::error::OTelSdkResult;
use honeyhive::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use honeyhive::{Config, Environment, HoneyHiveTracer, attributes as attr, baggage};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::prelude::*;
use prost::Message as _;

// ---------------------------------------------------------------------------------------
// What a call allocates, counted per thread (tests run on several threads at once).

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: nothing to count once the thread's locals are gone.
    let _ = ALLOCATED.try_with(|total| total.set(total.get().saturating_add(bytes)));
}

// SAFETY: every call goes to `System` unchanged; the counter only adds sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a call may allocate per byte of input (all it allocates, freed or not): parsed
/// values take tens of times their text (a `Value`, a protobuf `Span` and its flattened
/// copy); what grows faster than the input breaks it.
const BYTES_PER_INPUT_BYTE: usize = 600;
/// And a fixed allowance (buffers, the propagators' own state).
const BYTES_FIXED: usize = 256 * 1024;

/// Runs `target` on `data` and checks what it allocated.
fn run(target: fn(&[u8]), data: &[u8]) {
    let before = ALLOCATED.with(Cell::get);
    target(data);
    let allocated = ALLOCATED.with(Cell::get) - before;
    assert!(
        allocated <= BYTES_PER_INPUT_BYTE * data.len() + BYTES_FIXED,
        "{allocated} bytes allocated for {} bytes of input",
        data.len()
    );
}

// ---------------------------------------------------------------------------------------
// Inputs: JSON text with every kind of number lexeme and string, datapoints and datasets
// made of it, CSV, W3C headers, OTLP exports; each also cut short or with a byte changed.

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,4})?",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e-400".to_owned()),
        Just("01".to_owned()),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| serde_json::Value::from(s).to_string()),
        // Escapes, lone and paired surrogates, control characters.
        "\"(\\\\u[0-9a-fA-F]{4}|\\\\[nrtbf\"\\\\/]|[a-z])*\"",
        "\"\\\\u[dD][89abAB][0-9a-f]{2}\"",
    ]
}

fn json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number(),
        string(),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"inputs\"".to_owned()),
        Just("\"ground_truth\"".to_owned()),
        Just("\"metadata\"".to_owned()),
        Just("\"id\"".to_owned()),
        Just("\"datapoint_id\"".to_owned()),
        string(),
    ]
}

fn datapoint() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => json(),
        3 => (json(), prop::option::of(json()), prop::option::of(json())).prop_map(|(inputs, truth, id)| {
            let mut members = vec![format!("\"inputs\": {inputs}")];
            members.extend(truth.map(|t| format!("\"ground_truth\": {t}")));
            members.extend(id.map(|i| format!("\"id\": {i}")));
            format!("{{{}}}", members.join(", "))
        }),
    ]
}

fn dataset() -> impl Strategy<Value = String> {
    (prop::collection::vec(datapoint(), 0..4), any::<bool>()).prop_map(|(items, array)| match array
    {
        true => format!("[{}]", items.join(",\n")),
        false => items.join("\n"),
    })
}

fn csv() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just("inputs.q".to_owned()),
        Just("inputs.n".to_owned()),
        Just("ground_truth.a".to_owned()),
        Just("metadata.m".to_owned()),
        Just("id".to_owned()),
        Just("inputs.".to_owned()),
        "[a-z_.\" ]{0,10}",
    ];
    let cell = prop_oneof![
        "[a-z ]{0,8}",
        number(),
        Just("true".to_owned()),
        Just(String::new()),
        "\"([^\"]|\"\"){0,10}\"",
        "[,\"\r\n]{1,3}",
        any::<String>(),
    ];
    (
        prop::collection::vec(header, 0..5),
        prop::collection::vec(prop::collection::vec(cell, 0..6), 0..6),
        any::<bool>(),
    )
        .prop_map(|(headers, rows, crlf)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = headers.join(",") + end;
            for row in rows {
                text += &(row.join(",") + end);
            }
            text
        })
}

/// `text` cut at `cut` (a fraction of its length), or with one byte changed at it, or as
/// it is.
fn damaged(text: String, how: u8, at: f64, byte: u8) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    let at = ((bytes.len() as f64) * at) as usize;
    match how % 4 {
        0 => bytes.truncate(at),
        1 if at < bytes.len() => bytes[at] = byte,
        2 => bytes.insert(at.min(bytes.len()), byte),
        _ => {}
    }
    bytes
}

fn damage() -> impl Strategy<Value = (u8, f64, u8)> {
    (any::<u8>(), 0.0..1.0f64, any::<u8>())
}

/// Baggage keys that must never cross a boundary, spelled as a caller might try them.
const HOSTILE_KEYS: [&str; 14] = [
    "project",
    "source",
    "session",
    "session_name",
    "api_key",
    "honeyhive.project",
    "honeyhive.source",
    "honeyhive.session_id",
    "traceloop.association.properties.session_id",
    "traceloop.association.properties.project",
    "Session_Id",
    "session_id ",
    "%73ession_id",
    "session%5Fid",
];

fn baggage_header() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(HOSTILE_KEYS.to_vec()).prop_map(str::to_owned),
        2 => prop::sample::select(baggage::PROPAGATED_KEYS.to_vec()).prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
    ];
    let value = prop_oneof![
        "[a-zA-Z0-9-]{0,20}",
        "[ -~]{0,20}",
        "(%[0-9A-Fa-f]{2}){0,6}",
        Just("evil".to_owned())
    ];
    let entry =
        (key, value, prop::option::of("[a-z]{1,5}(=[a-z]{0,5})?")).prop_map(|(k, v, p)| match p {
            Some(p) => format!("{k}={v};{p}"),
            None => format!("{k}={v}"),
        });
    prop::collection::vec(entry, 0..10).prop_map(|entries| entries.join(","))
}

fn traceparent() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}",
        "00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]",
        "00-0{32}-[0-9a-f]{16}-01",
        "[ -~]{0,64}",
    ]
}

/// An OTLP/JSON export: spans with ids of any length (hex or not), attributes of every
/// kind of value, nested arrays and maps.
fn otlp_json() -> impl Strategy<Value = String> {
    let any_value = prop_oneof![
        "[a-z]{0,8}".prop_map(|s| format!("{{\"stringValue\": \"{s}\"}}")),
        any::<i64>().prop_map(|n| format!("{{\"intValue\": \"{n}\"}}")),
        number().prop_map(|n| format!("{{\"doubleValue\": {n}}}")),
        any::<bool>().prop_map(|b| format!("{{\"boolValue\": {b}}}")),
        "[A-Za-z0-9+/=]{0,12}".prop_map(|s| format!("{{\"bytesValue\": \"{s}\"}}")),
    ]
    .prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("{{\"arrayValue\": {{\"values\": [{}]}}}}", v.join(","))),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|kv| {
                let kv: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("{{\"key\": \"{k}\", \"value\": {v}}}"))
                    .collect();
                format!("{{\"kvlistValue\": {{\"values\": [{}]}}}}", kv.join(","))
            }),
        ]
    });
    let attributes = prop::collection::vec(("[a-z._]{1,12}", any_value), 0..4).prop_map(|kv| {
        let kv: Vec<String> = kv
            .into_iter()
            .map(|(k, v)| format!("{{\"key\": \"{k}\", \"value\": {v}}}"))
            .collect();
        format!("[{}]", kv.join(","))
    });
    let id = prop_oneof![
        "[0-9a-f]{32}",
        "[0-9a-f]{16}",
        "[0-9a-fA-F]{0,40}",
        "[ -~&&[^\"\\\\]]{0,8}"
    ];
    let span = (id.clone(), id, "[a-z ]{0,10}", attributes.clone(), 0..8i32, any::<u64>()).prop_map(
        |(trace, span, name, attributes, kind, start)| {
            format!(
                "{{\"traceId\": \"{trace}\", \"spanId\": \"{span}\", \"name\": \"{name}\", \
                 \"kind\": {kind}, \"startTimeUnixNano\": \"{start}\", \"attributes\": {attributes}, \
                 \"events\": [{{\"name\": \"e\", \"attributes\": {attributes}}}], \
                 \"status\": {{\"code\": {kind}, \"message\": \"m\"}}}}"
            )
        },
    );
    (attributes, prop::collection::vec(span, 0..4)).prop_map(|(resource, spans)| {
        format!(
            "{{\"resourceSpans\": [{{\"resource\": {{\"attributes\": {resource}}}, \
             \"scopeSpans\": [{{\"scope\": {{\"name\": \"s\"}}, \"spans\": [{}]}}]}}]}}",
            spans.join(",")
        )
    })
}

// ---------------------------------------------------------------------------------------
// The properties.

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dataset_json_loader(text in dataset(), (how, at, byte) in damage()) {
        run(targets::dataset_json, &damaged(text, how, at, byte));
    }

    #[test]
    fn dataset_csv_loader(text in csv(), (how, at, byte) in damage()) {
        run(targets::dataset_csv, &damaged(text, how, at, byte));
    }

    #[test]
    fn ext_id_canonicaliser(text in json(), (how, at, byte) in damage()) {
        run(targets::canonical_json, &damaged(text, how, at, byte));
    }

    #[test]
    fn w3c_extraction(tp in traceparent(), bag in baggage_header(), state in "[ -~]{0,30}") {
        run(targets::propagation, format!("{tp}\n{bag}\n{state}").as_bytes());
    }

    #[test]
    fn otlp_json_decoding(text in otlp_json(), (how, at, byte) in damage()) {
        run(targets::otlp_json, &damaged(text, how, at, byte));
    }

    /// Protobuf exports made from the JSON ones, then damaged.
    #[test]
    fn otlp_protobuf_decoding(text in otlp_json(), (how, at, byte) in damage()) {
        let bytes = match serde_json::from_str::<ExportTraceServiceRequest>(&text) {
            Ok(request) => request.encode_to_vec(),
            Err(_) => text.into_bytes(),
        };
        let at = ((bytes.len() as f64) * at) as usize;
        let mut bytes = bytes;
        match how % 3 {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => bytes[at] = byte,
            _ => {}
        }
        run(targets::otlp_protobuf, &bytes);
    }

    /// Raw bytes, for every target.
    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        for target in TARGETS {
            run(target, &data);
        }
    }
}

const TARGETS: [fn(&[u8]); 6] = [
    targets::dataset_json,
    targets::dataset_csv,
    targets::canonical_json,
    targets::propagation,
    targets::otlp_protobuf,
    targets::otlp_json,
];

// ---------------------------------------------------------------------------------------
// Inputs built to hurt, each a regression test or a limit the parsers must keep.

/// An export of one resource with many attributes and many empty spans (2 bytes each)
/// decodes in proportion to its size: each flattened span used to carry its own copy of
/// the resource's attributes, so the copies grew with attributes times spans (a 10 kB body
/// allocated about 50 MB).
#[test]
fn a_large_resource_is_not_copied_into_every_span() {
    let attributes = (0..500)
        .map(|i| KeyValue {
            key: format!("k{i}"),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("v{i}"))),
            }),
            ..KeyValue::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes,
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default(); 1_000],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let body = request.encode_to_vec();
    run(targets::otlp_protobuf, &body);
    let spans = honeyhive_runtime::testing::decode_spans(
        honeyhive_runtime::testing::OtlpEncoding::Protobuf,
        &body,
    )
    .unwrap();
    assert_eq!(spans.len(), 1_000);
    assert_eq!(spans[999].resource["k499"].as_str(), Some("v499"));
}

/// A protobuf field that declares a length of 2^62 bytes is an error at once; nothing of
/// that size is allocated.
#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation() {
    // Field 1 (resource_spans), wire type 2, then the varint of 2^62.
    let body = [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
    run(targets::otlp_protobuf, &body);
    let error = honeyhive_runtime::testing::decode_spans(
        honeyhive_runtime::testing::OtlpEncoding::Protobuf,
        &body,
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("body is not a protobuf"),
        "{error}"
    );
}

/// Nesting deeper than the parsers' recursion limits is an error, not a stack overflow:
/// JSON datasets and canonical JSON (serde_json stops at 128 levels), OTLP/JSON values,
/// protobuf values (prost stops at 100).
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    run(targets::dataset_json, deep.as_bytes());
    run(
        targets::dataset_json,
        format!("{{\"inputs\": {deep}").as_bytes(),
    );
    run(targets::canonical_json, deep.as_bytes());
    let value = "{\"arrayValue\": {\"values\": [".repeat(10_000);
    let otlp = format!(
        "{{\"resourceSpans\": [{{\"resource\": {{\"attributes\": [{{\"key\": \"k\", \"value\": {value}"
    );
    run(targets::otlp_json, otlp.as_bytes());
    // AnyValue { array_value: ArrayValue { values: [AnyValue { ... }] } }, 10,000 deep,
    // under a resource attribute; lengths written from the inside out.
    let mut nested: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut array = vec![0x0a];
        put_varint(&mut array, nested.len());
        array.extend_from_slice(&nested);
        let mut any = vec![0x2a];
        put_varint(&mut any, array.len());
        any.extend_from_slice(&array);
        nested = any;
    }
    run(targets::otlp_protobuf, &nested);
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A megabyte of baggage: extraction keeps at most the propagated keys, and allocates in
/// proportion to the header.
#[test]
fn a_megabyte_of_baggage_keeps_only_the_propagated_keys() {
    let entries: Vec<String> = (0..60_000).map(|i| format!("k{i}=v{i}")).collect();
    let data = format!("\nsession_id=s,{},project=evil\n", entries.join(","));
    run(targets::propagation, data.as_bytes());
    let cx = baggage::extract(&targets::headers(data.as_bytes()));
    assert!(cx.baggage().len() <= baggage::PROPAGATED_KEYS.len());
}

// ---------------------------------------------------------------------------------------
// Incoming baggage never sets the project, the source, or the receiving tracer's session.

/// Keeps every span it is given.
#[derive(Debug, Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Spans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..config() })]

    /// Whatever a caller sends (`project=`, `source=`, `honeyhive.session_id=`, keys in
    /// other cases or percent-encoded, properties, garbage), a span of the receiving tracer
    /// carries that tracer's project and source, its session is the tracer's own unless the
    /// caller propagated one under the one key the contract names (`session_id`: a
    /// downstream span joins its caller's session, `docs/span-attributes.md`), the tracer's
    /// own session (its id, what its session start and updates name) never changes, and no
    /// incoming entry becomes an attribute.
    #[test]
    fn incoming_baggage_cannot_set_project_source_or_session(
        tp in traceparent(),
        bag in baggage_header(),
    ) {
        let spans = Spans::default();
        let config = Config::builder()
            .environment(Environment::empty())
            .local_dir(std::env::temp_dir().join("honeyhive-hostile-baggage"))
            .project("our-project")
            .source("our-source")
            .span_exporter(spans.clone())
            .build()
            .unwrap();
        let tracer = HoneyHiveTracer::builder().config(config).build().unwrap();
        let own_session = tracer.session_id().to_owned();
        let headers = targets::headers(format!("{tp}\n{bag}").as_bytes());
        let cx = tracer.context_from_headers(&headers);
        tracer.otel_tracer().unwrap().start_with_context("handler", &cx);
        drop(cx);
        tracer.flush().unwrap();

        let spans = spans.0.lock().unwrap();
        if spans.is_empty() {
            // A caller that did not sample its trace (`-00`): the span is not recorded.
            let remote = baggage::extract(&headers);
            let context = remote.span().span_context().clone();
            prop_assert!(context.is_valid() && !context.is_sampled(), "{:?}", context);
            return Ok(());
        }
        prop_assert_eq!(spans.len(), 1);
        let span = &spans[0];
        for key in [attr::PROJECT, attr::TRACELOOP_PROJECT] {
            let value = attribute(span, key);
            prop_assert_eq!(value.as_deref(), Some("our-project"), "{}", key);
        }
        for key in [attr::SOURCE, attr::TRACELOOP_SOURCE] {
            let value = attribute(span, key);
            prop_assert_eq!(value.as_deref(), Some("our-source"), "{}", key);
        }
        let propagated = baggage::extract(&headers)
            .baggage()
            .get(baggage::SESSION_ID)
            .map(|v| v.as_str().to_owned());
        let expected = propagated.unwrap_or_else(|| own_session.clone());
        for key in [attr::SESSION_ID, attr::TRACELOOP_SESSION_ID] {
            let value = attribute(span, key);
            prop_assert_eq!(value.as_deref(), Some(expected.as_str()), "{}", key);
        }
        prop_assert_eq!(tracer.session_id(), own_session.as_str());
        let leaked: Vec<_> = span
            .attributes
            .iter()
            .filter(|kv| kv.key.as_str().starts_with(attr::BAGGAGE_PREFIX))
            .collect();
        prop_assert!(leaked.is_empty(), "incoming baggage became attributes: {:?}", leaked);
    }
}
