//! Bounded payloads: attribute values cut to the value length limit (marked, on a
//! character boundary), attributes beyond the count limit dropped, both counted in the
//! drop warning; the OpenTelemetry variables honoured; an export the backend rejects as
//! too large (413) split and sent, never dropped whole.

use honeyhive::opentelemetry::KeyValue;
use honeyhive::opentelemetry::trace::{Span as _, Tracer as _};
use honeyhive::opentelemetry_sdk::trace::SpanData;
use honeyhive::{
    AttributeLimits, Config, Environment, ExportSettings, HoneyHiveTracer, Warning, trace,
};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{API_KEY, KeepSpans, PROJECT, Warnings, fast_export, temp_dir};

#[trace]
fn echo(text: &str) -> usize {
    text.len()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a honeyhive::opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn values_are_cut_and_attributes_dropped_at_the_limits_and_the_warning_counts_them() {
    let dir = temp_dir("limits");
    let warnings = Warnings::default();
    let kept = KeepSpans::default();
    let config = Config::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .export_settings(fast_export())
        .on_warning(warnings.handler())
        .span_exporter(kept.clone())
        .attribute_value_length_limit(64)
        .attribute_count_limit(40)
        .build()
        .unwrap();
    let tracer = HoneyHiveTracer::builder().config(config).build().unwrap();
    // Short enough to be deferred to the export thread, and long enough to be cut by the
    // capture itself; multi-byte characters around the cut.
    let medium = "é".repeat(60);
    let long = format!("{}{}", "a".repeat(40), "✓".repeat(5000));
    tracer.in_scope(|| {
        echo(&medium);
        echo(&long);
        // A span made with the OpenTelemetry API: cut by the export stage.
        let otel = tracer.otel_tracer().unwrap();
        let mut span = otel.start("by_hand");
        span.set_attribute(KeyValue::new("note", "n".repeat(500)));
        for i in 0..100 {
            span.set_attribute(KeyValue::new(format!("extra.{i}"), i64::from(i)));
        }
        span.end();
    });
    tracer.flush().unwrap();

    let spans = kept.0.lock().unwrap();
    let input = |i: usize| -> String {
        attr(&spans[i], "honeyhive_inputs.text")
            .unwrap()
            .as_str()
            .into_owned()
    };
    for (i, original) in [(0, &medium), (1, &long)] {
        let value = input(i);
        assert!(value.len() <= 64, "{value}");
        let (kept_part, marker) = value.split_once("...[truncated ").unwrap();
        assert!(original.starts_with(kept_part), "{value}");
        assert_eq!(
            marker,
            format!("{} bytes]", original.len() - kept_part.len())
        );
        let listed = attr(&spans[i], "honeyhive_truncated").unwrap().to_string();
        assert!(listed.contains("honeyhive_inputs.text"), "{listed}");
    }
    let by_hand = &spans[2];
    assert_eq!(by_hand.name, "by_hand");
    let note = attr(by_hand, "note").unwrap().as_str();
    assert!(
        note.starts_with("nnn") && note.ends_with("...[truncated 460 bytes]"),
        "{note}"
    );
    assert!(
        attr(by_hand, "honeyhive_truncated")
            .unwrap()
            .to_string()
            .contains("note")
    );
    // The count limit: the span kept 40 of its own attributes (the stamp first, then the
    // note, then extras) and counted the others.
    // Less what the export stage adds: `honeyhive_truncated`, the inferred event type.
    let own = by_hand
        .attributes
        .iter()
        .filter(|kv| {
            !matches!(
                kv.key.as_str(),
                "honeyhive_truncated" | "honeyhive_event_type"
            )
        })
        .count();
    assert_eq!(own, 40);
    assert!(attr(by_hand, "honeyhive.session_id").is_some());
    assert!(
        by_hand.dropped_attributes_count >= 61,
        "{}",
        by_hand.dropped_attributes_count
    );

    // One warning: nothing dropped, 3 values cut, the extra attributes dropped (counted
    // once per destination: the local store and the exporter).
    let all = warnings.all();
    let counted: Vec<_> = all
        .iter()
        .filter_map(|w| match w {
            Warning::SpansDropped {
                count,
                truncated_values,
                dropped_attributes,
                ..
            } => Some((*count, *truncated_values, *dropped_attributes)),
            _ => None,
        })
        .collect();
    assert_eq!(
        counted,
        [(0, 3, u64::from(by_hand.dropped_attributes_count))],
        "{all:?}"
    );
    let text = all
        .iter()
        .find(|w| matches!(w, Warning::SpansDropped { .. }))
        .unwrap()
        .to_string();
    assert!(
        text.contains("3 attribute value(s) were truncated"),
        "{text}"
    );
    assert!(text.contains("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"), "{text}");
}

#[test]
fn the_opentelemetry_limit_variables_are_honoured_and_checked() {
    let build = |pairs: &[(&str, &str)]| {
        Config::builder()
            .environment(Environment::from_pairs(pairs.iter().copied()))
            .build()
    };
    assert_eq!(
        build(&[]).unwrap().attribute_limits(),
        AttributeLimits::default()
    );
    let limits = build(&[
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "50"),
    ])
    .unwrap()
    .attribute_limits();
    assert_eq!((limits.value_length, limits.count), (100, 50));
    // The span-specific variables first, as the OpenTelemetry specification orders them.
    let limits = build(&[
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200"),
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "60"),
    ])
    .unwrap()
    .attribute_limits();
    assert_eq!((limits.value_length, limits.count), (200, 60));
    // The builder beats the environment.
    let config = Config::builder()
        .environment(Environment::from_pairs([(
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "100",
        )]))
        .attribute_value_length_limit(7)
        .build()
        .unwrap();
    assert_eq!(config.attribute_limits().value_length, 7);
    let err = build(&[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "lots")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") && err.contains("at least 1"),
        "{err}"
    );
    assert!(build(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0")]).is_err());
}

#[test]
fn an_export_rejected_as_too_large_is_split_and_every_span_arrives() {
    // Both destinations refuse bodies over 6 KiB: a batch of 30 spans with 400-byte inputs
    // is over; halves, then quarters, are not. One span alone is over too: it is sent cut
    // down.
    const MAX_BODY: usize = 6 * 1024;
    let honeyhive = TestServer::start();
    let collector = TestServer::start();
    for server in [&honeyhive, &collector] {
        server.inject(
            Route::Traces,
            Fault::reject_bodies_over(MAX_BODY).times(1000),
        );
    }
    let warnings = Warnings::default();
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::from_pairs([(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            collector.url(),
        )]))
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(honeyhive.url())
        .local_dir(temp_dir("limits-413"))
        .export_settings(ExportSettings {
            max_batch_size: 64,
            ..fast_export()
        })
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    let input = "q".repeat(400);
    let huge = "h".repeat(20 * 1024);
    tracer.in_scope(|| {
        for _ in 0..30 {
            echo(&input);
        }
        echo(&huge);
    });
    tracer.flush().unwrap();

    let stats = tracer.export_stats();
    assert_eq!(stats.dropped_spans, 0, "{stats:?} {:?}", warnings.all());
    assert_eq!(stats.kept_spans, 0, "{stats:?}");
    for (what, server) in [
        ("HoneyHive", &honeyhive),
        ("the OTLP destination", &collector),
    ] {
        let spans = server.spans();
        assert_eq!(spans.len(), 31, "{what}");
        let exports = server.requests_to(if std::ptr::eq(server, &honeyhive) {
            "/opentelemetry/v1/traces"
        } else {
            "/v1/traces"
        });
        assert!(
            exports.iter().any(|r| r.response_status == 413),
            "{what}: nothing was too large"
        );
        // The huge input arrived cut down, marked.
        let shrunk = spans
            .iter()
            .find_map(|s| {
                s.str_attr("honeyhive_inputs.text")
                    .filter(|t| t.starts_with('h'))
            })
            .unwrap();
        assert!(
            shrunk.len() <= 1024 && shrunk.ends_with(" bytes]"),
            "{what}: {shrunk}"
        );
        assert_eq!(
            spans
                .iter()
                .filter(|s| s.str_attr("honeyhive_inputs.text") == Some(input.as_str()))
                .count(),
            30,
            "{what}"
        );
    }
    assert!(
        !warnings
            .all()
            .iter()
            .any(|w| matches!(w, Warning::NotDelivered(_))),
        "{:?}",
        warnings.all()
    );
}
