//! The exporter seam: a user's `SpanExporter` registered with `span_exporter`, and the
//! standard OTLP/HTTP destination of `OTEL_EXPORTER_OTLP_*`, each receive every span of a
//! 200-datapoint experiment (many tasks and threads at once), complete, with its own
//! datapoint's session and evaluation ids: the same spans HoneyHive receives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use honeyhive::dataset::Dataset;
use honeyhive::opentelemetry::Value;
use honeyhive::opentelemetry_sdk::error::OTelSdkResult;
use honeyhive::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use honeyhive::{Config, Environment, evaluators};
use honeyhive_runtime::testing::{AttrValue, RecordedSpan, TestServer};

use crate::common::{API_KEY, PROJECT, fast_export};
use crate::support::{Question, dataset_json, exact_match, judged, pipeline};

const DATAPOINTS: u32 = 200;
/// Root, pipeline, retrieve, generate, polish, two evaluators, judge_step.
const SPANS_PER_DATAPOINT: usize = 8;
const COLLECTOR_KEY: &str = "collector-key";

/// A user's exporter: keeps every span it is given, and notes any export that starts
/// while another is under way (the SDK's contract is that they never overlap).
#[derive(Debug, Clone, Default)]
struct Collecting {
    spans: Arc<Mutex<Vec<SpanData>>>,
    exporting: Arc<AtomicBool>,
    overlaps: Arc<AtomicUsize>,
}

impl SpanExporter for Collecting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.exporting.swap(true, Ordering::SeqCst) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        // Long enough for an overlapping call to show.
        tokio::task::yield_now().await;
        self.spans.lock().unwrap().extend(batch);
        self.exporting.store(false, Ordering::SeqCst);
        Ok(())
    }
}

const SESSION: &str = "honeyhive.session_id";
const RUN: &str = "honeyhive_metadata.run_id";
const DATASET: &str = "honeyhive_metadata.dataset_id";
const DATAPOINT: &str = "honeyhive_metadata.datapoint_id";
const PROJECT_KEY: &str = "honeyhive.project";
const SOURCE: &str = "honeyhive.source";
const EVENT_TYPE: &str = "honeyhive_event_type";

/// What a span says about where it belongs: its name and these attributes.
const LABEL_KEYS: [&str; 7] = [
    SESSION,
    RUN,
    DATASET,
    DATAPOINT,
    PROJECT_KEY,
    SOURCE,
    EVENT_TYPE,
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Labels {
    name: String,
    values: BTreeMap<&'static str, String>,
}

impl Labels {
    fn of(name: &str, get: impl Fn(&str) -> Option<String>) -> Labels {
        let values = LABEL_KEYS
            .iter()
            .map(|&key| {
                let value = get(key).unwrap_or_else(|| format!("<no {key} on {name}>"));
                (key, value)
            })
            .collect();
        Labels {
            name: name.to_owned(),
            values,
        }
    }

    fn get(&self, key: &str) -> &str {
        &self.values[key]
    }
}

fn recorded(spans: &[RecordedSpan]) -> BTreeMap<String, Labels> {
    spans
        .iter()
        .map(|s| {
            let labels = Labels::of(&s.name, |key| {
                s.attr(key).and_then(AttrValue::as_str).map(str::to_owned)
            });
            (s.span_id.clone(), labels)
        })
        .collect()
}

fn exported(spans: &[SpanData]) -> BTreeMap<String, Labels> {
    spans
        .iter()
        .map(|s| {
            let labels = Labels::of(&s.name, |key| {
                s.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .and_then(|kv| match &kv.value {
                        Value::String(text) => Some(text.as_str().to_owned()),
                        _ => None,
                    })
            });
            (s.span_context.span_id().to_string(), labels)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_user_exporter_and_the_otlp_destination_get_every_span_with_its_own_ids() {
    let honeyhive = TestServer::builder().api_key(API_KEY).start();
    // The collector accepts only its own credentials, given in the standard header variable.
    let collector = TestServer::builder().api_key(COLLECTOR_KEY).start();
    let collecting = Collecting::default();
    let env = Environment::from_pairs([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{COLLECTOR_KEY},x-tenant=acme"),
        ),
    ]);
    let config = Config::builder()
        .environment(env)
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(honeyhive.url())
        .export_settings(fast_export())
        .span_exporter(collecting.clone())
        .build()
        .unwrap();
    let dataset = Dataset::from_json(&dataset_json(DATAPOINTS)).unwrap();
    let report = honeyhive::experiment::Experiment::<Question, _>::new("qa")
        .config(config)
        .environment(Environment::empty())
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, judged])
        .max_concurrency(32)
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(report.failed_count, 0);

    let total = DATAPOINTS as usize * SPANS_PER_DATAPOINT;
    let at_honeyhive = recorded(&honeyhive.spans());
    assert_eq!(at_honeyhive.len(), total);

    // Which datapoint each session belongs to, by the session starts HoneyHive saw.
    let datapoint_of: BTreeMap<String, String> = honeyhive
        .sessions()
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap().to_owned(),
                s["metadata"]["datapoint_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(datapoint_of.len(), DATAPOINTS as usize);

    let at_user = exported(&collecting.spans.lock().unwrap());
    let at_collector = recorded(&collector.spans());
    for (who, spans) in [
        ("the user's exporter", &at_user),
        ("the collector", &at_collector),
    ] {
        assert_eq!(spans.len(), total, "{who} got {} spans", spans.len());
        let mut mislabelled = Vec::new();
        for (id, labels) in spans {
            if datapoint_of.get(labels.get(SESSION)).map(String::as_str)
                != Some(labels.get(DATAPOINT))
                || labels.get(RUN) != report.run_id
                || labels.get(DATASET) != dataset.id()
                || labels.get(PROJECT_KEY) != PROJECT
                || labels.get(SOURCE) != "evaluation"
            {
                mislabelled.push(labels);
            }
            // The very span HoneyHive got, with the same labels.
            assert_eq!(at_honeyhive.get(id), Some(labels), "{who}: span {id}");
        }
        assert!(mislabelled.is_empty(), "{who}: {mislabelled:#?}");
        let per_session = spans.values().fold(BTreeMap::new(), |mut n, l| {
            *n.entry(l.get(SESSION)).or_insert(0) += 1;
            n
        });
        assert!(
            per_session.values().all(|n| *n == SPANS_PER_DATAPOINT),
            "{who}: {per_session:?}"
        );
    }
    assert_eq!(
        collecting.overlaps.load(Ordering::SeqCst),
        0,
        "exports overlapped"
    );

    // The collector got its own headers and never the HoneyHive key.
    let exports = collector.requests_to("/v1/traces");
    assert!(!exports.is_empty());
    for request in &exports {
        assert_eq!(request.response_status, 200);
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {COLLECTOR_KEY}").as_str())
        );
        assert_eq!(request.header("x-tenant"), Some("acme"));
        assert_eq!(request.header("x-source"), None);
    }
    let names: BTreeSet<&str> = at_collector.values().map(|l| l.name.as_str()).collect();
    for name in [
        "qa",
        "pipeline",
        "retrieve",
        "generate",
        "polish",
        "judge_step",
    ] {
        assert!(names.contains(name), "no {name} span in {names:?}");
    }
}
