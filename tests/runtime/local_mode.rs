//! The embedded local default: no API key, nothing on the network, everything on disk.

use honeyhive::local_store::{SessionRecord, read_sessions, read_spans, run_dir};
use honeyhive::opentelemetry::trace::Tracer;
use honeyhive::{Enrichment, Environment, HoneyHiveTracer, attributes as attr};

use crate::common::temp_dir;

#[test]
fn sessions_spans_and_updates_land_in_the_local_store() {
    let dir = temp_dir("local");
    // HH_API_URL points at a closed port: if local mode tried the network, it would fail.
    let env = Environment::from_pairs([
        ("HH_LOCAL_DIR", dir.to_str().unwrap()),
        ("HH_API_URL", "http://127.0.0.1:9"),
    ]);
    let tracer = HoneyHiveTracer::builder()
        .environment(env)
        .project("offline")
        .session_name("local-session")
        .run_id("local-run")
        .datapoint_id("dp-0")
        .build()
        .unwrap();
    assert!(!tracer.config().is_connected());
    tracer.in_scope(|| {
        tracer.otel_tracer().unwrap().in_span("step", |_| {
            honeyhive::enrich_span(
                Enrichment::new()
                    .metric("tokens", 7)
                    .metadata("model", "stub"),
            );
        });
    });
    honeyhive::enrich_session(Enrichment::new().metric("ignored-outside-scope", 1));
    tracer.in_scope(|| honeyhive::enrich_session(Enrichment::new().metric("score", 1.0)));
    tracer.flush().unwrap();

    // A tracer with a run id records into its run's folder of the store.
    assert!(read_spans(&dir).unwrap().is_empty());
    assert!(read_sessions(&dir).unwrap().is_empty());
    let run = run_dir(&dir, "local-run");
    let spans = read_spans(&run).unwrap();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "step");
    assert_eq!(span.attributes[attr::SESSION_ID], tracer.session_id());
    assert_eq!(span.attributes[attr::PROJECT], "offline");
    assert_eq!(span.attributes[attr::RUN_ID], "local-run");
    assert_eq!(span.attributes[attr::DATAPOINT_ID], "dp-0");
    assert_eq!(span.attributes["honeyhive_metrics.tokens"], 7);
    assert_eq!(span.attributes["honeyhive_metadata.model"], "stub");
    assert_eq!(span.attributes[attr::EVENT_TYPE], "tool");

    let sessions = read_sessions(&run).unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    match &sessions[0] {
        SessionRecord::SessionStart { session, .. } => {
            assert_eq!(session.session_id, tracer.session_id());
            assert_eq!(session.metadata["run_id"], "local-run");
        }
        other => panic!("{other:?}"),
    }
    match &sessions[1] {
        SessionRecord::EventUpdate { update, .. } => {
            assert_eq!(update["event_id"], tracer.session_id());
            assert_eq!(update["metrics"]["score"], 1.0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn disabled_tracing_records_nothing() {
    let dir = temp_dir("disabled");
    let env = Environment::from_pairs([
        ("HH_DISABLED", "1"),
        ("HH_LOCAL_DIR", dir.to_str().unwrap()),
    ]);
    let tracer = HoneyHiveTracer::builder().environment(env).build().unwrap();
    assert!(!tracer.is_enabled());
    assert!(tracer.otel_tracer().is_none());
    let value = tracer.in_scope(|| HoneyHiveTracer::current().map(|t| t.session_id().to_owned()));
    assert_eq!(value, None, "a disabled tracer enters nothing");
    tracer.flush().unwrap();
    assert!(read_spans(&dir).unwrap().is_empty());
    assert!(read_sessions(&dir).unwrap().is_empty());
}
