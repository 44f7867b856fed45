//! Exporters beside HoneyHive: a user's `SpanExporter` (`span_exporter`) and the standard
//! OTLP/HTTP destination of the `OTEL_EXPORTER_OTLP_*` variables. Pipelines are shared per
//! destination, and a destination includes its exporters; the OTLP destination has the same
//! retries and drop accounting as HoneyHive.

use std::sync::{Arc, Mutex};

use honeyhive::opentelemetry::trace::Tracer as _;
use honeyhive::opentelemetry_sdk::error::OTelSdkResult;
use honeyhive::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use honeyhive::{Config, Environment, HoneyHiveTracer, OtlpProtocol, Warning, trace};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{API_KEY, PROJECT, Warnings, fast_export, temp_dir};

/// Keeps the names and sessions of the spans it is given.
#[derive(Debug, Clone, Default)]
struct Names(Arc<Mutex<Vec<(String, String)>>>);

impl SpanExporter for Names {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut names = self.0.lock().unwrap();
        for span in batch {
            let session = span
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "honeyhive.session_id")
                .map(|kv| kv.value.to_string())
                .unwrap_or_default();
            names.push((span.name.into_owned(), session));
        }
        Ok(())
    }
}

impl Names {
    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[trace]
fn step(x: u32) -> u32 {
    x + 1
}

fn local(dir: &std::path::Path) -> honeyhive::ConfigBuilder {
    Config::builder()
        .environment(Environment::empty())
        .local_dir(dir)
        .export_settings(fast_export())
}

#[test]
fn tracers_of_one_config_share_its_exporter_and_other_exporters_get_other_pipelines() {
    let dir = temp_dir("exporter-sharing");
    let (first, second) = (Names::default(), Names::default());
    let config = local(&dir).span_exporter(first.clone()).build().unwrap();
    let a = HoneyHiveTracer::builder()
        .config(config.clone())
        .build()
        .unwrap();
    let b = HoneyHiveTracer::builder().config(config).build().unwrap();
    let other = HoneyHiveTracer::builder()
        .config(local(&dir).span_exporter(second.clone()).build().unwrap())
        .build()
        .unwrap();
    a.in_scope(|| step(1));
    b.in_scope(|| step(2));
    other.in_scope(|| step(3));
    for tracer in [&a, &b, &other] {
        tracer.flush().unwrap();
    }

    // One pipeline for `a` and `b` (the local store and the exporter, each counted)...
    assert_eq!(a.export_stats(), b.export_stats());
    assert_eq!(a.export_stats().exported_spans, 4);
    let mut got = first.all();
    got.sort();
    let mut want = vec![
        ("step".to_owned(), a.session_id().to_owned()),
        ("step".to_owned(), b.session_id().to_owned()),
    ];
    want.sort();
    assert_eq!(got, want);
    // ... and another for the configuration with another exporter.
    assert_eq!(other.export_stats().exported_spans, 2);
    assert_eq!(
        second.all(),
        [("step".to_owned(), other.session_id().to_owned())]
    );
    // The local store got every span of both pipelines.
    assert_eq!(honeyhive::local_store::read_spans(&dir).unwrap().len(), 3);
}

#[test]
fn the_tracer_builder_takes_an_exporter_too_and_it_sees_sdk_spans_stamped() {
    let dir = temp_dir("exporter-builder");
    let names = Names::default();
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .span_exporter(names.clone())
        .build()
        .unwrap();
    tracer.in_scope(|| {
        tracer
            .otel_tracer()
            .unwrap()
            .in_span("by-hand", |_| step(4));
    });
    tracer.flush().unwrap();
    let mut got = names.all();
    got.sort();
    let session = tracer.session_id().to_owned();
    assert_eq!(
        got,
        [
            ("by-hand".to_owned(), session.clone()),
            ("step".to_owned(), session)
        ]
    );
}

/// A tracer connected to `honeyhive`, with the OTLP destination `env` configures.
fn with_otlp(
    honeyhive: &TestServer,
    env: &[(&str, String)],
    warnings: &Warnings,
) -> HoneyHiveTracer {
    HoneyHiveTracer::builder()
        .environment(Environment::from_pairs(env.iter().cloned()))
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(honeyhive.url())
        .export_settings(fast_export())
        .on_warning(warnings.handler())
        .build()
        .unwrap()
}

#[test]
fn the_otlp_destination_gets_the_spans_honeyhive_gets_in_either_encoding() {
    for protocol in ["http/protobuf", "http/json"] {
        let honeyhive = TestServer::start();
        let collector = TestServer::start();
        let warnings = Warnings::default();
        // The traces variable is used as it is: the collector's standard path, given whole.
        let env = [
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{}/v1/traces", collector.url()),
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol.to_owned()),
        ];
        let tracer = with_otlp(&honeyhive, &env, &warnings);
        assert_eq!(
            tracer.config().otlp_destination().unwrap().protocol(),
            if protocol == "http/json" {
                OtlpProtocol::HttpJson
            } else {
                OtlpProtocol::HttpProtobuf
            }
        );
        tracer.in_scope(|| {
            for x in 0..5 {
                step(x);
            }
        });
        tracer.flush().unwrap();
        let ids = |server: &TestServer| {
            let mut spans: Vec<(String, String)> = server
                .spans()
                .into_iter()
                .map(|s| {
                    let session = s.str_attr("honeyhive.session_id").unwrap().to_owned();
                    (s.span_id, session)
                })
                .collect();
            spans.sort();
            spans
        };
        assert_eq!(ids(&collector).len(), 5, "{protocol}");
        assert_eq!(ids(&collector), ids(&honeyhive), "{protocol}");
        let content_type = collector.requests_to("/v1/traces")[0]
            .header("content-type")
            .unwrap()
            .to_owned();
        assert_eq!(
            content_type,
            if protocol == "http/json" {
                "application/json"
            } else {
                "application/x-protobuf"
            }
        );
        assert!(warnings.all().is_empty(), "{:?}", warnings.all());
    }
}

#[test]
fn a_failing_otlp_destination_is_retried_then_counted_and_honeyhive_is_unaffected() {
    let honeyhive = TestServer::start();
    let collector = TestServer::start();
    let warnings = Warnings::default();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())];
    let tracer = with_otlp(&honeyhive, &env, &warnings);

    // Two failures, then success: retried, nothing lost.
    collector.inject(Route::Traces, Fault::status(503).times(2));
    tracer.in_scope(|| step(1));
    tracer.flush().unwrap();
    let statuses: Vec<u16> = collector
        .requests_to("/v1/traces")
        .iter()
        .map(|r| r.response_status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(tracer.export_stats().dropped_spans, 0);

    // Always failing: after the retries, the spans are counted as dropped, once, with a
    // warning naming the endpoint; HoneyHive still gets them.
    collector.inject(Route::Traces, Fault::status(500).times(100));
    tracer.in_scope(|| {
        step(2);
        step(3);
    });
    tracer.flush().unwrap();
    assert_eq!(honeyhive.spans().len(), 3);
    assert_eq!(tracer.export_stats().dropped_spans, 2);
    let dropped: Vec<Warning> = warnings.all();
    assert!(
        matches!(dropped.as_slice(), [Warning::SpansDropped { count: 2, reason, .. }]
            if reason.contains(&format!("{}/v1/traces", collector.url())) && reason.contains("500")),
        "{dropped:?}"
    );
}

#[test]
fn a_bad_otlp_variable_is_a_configuration_error_naming_it() {
    let err = Config::builder()
        .environment(Environment::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
}
