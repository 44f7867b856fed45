//! `#[trace]` on functions returning `impl Stream`: the span ends with the stream (not the
//! body), its items folded into the output, the time to the first item recorded; a failed
//! item fails it, a dropped stream cancels it; the span is current while items are made.
//! Read back from the local JSONL store.

use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use honeyhive::local_store::{SpanRecord, read_spans};
use honeyhive::{Environment, HoneyHiveTracer, trace};
use serde::Serialize;
use serde_json::{Value, json};

fn tracer(test: &str) -> (HoneyHiveTracer, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "honeyhive-streams-{test}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .session_name(test)
        .datapoint_id("dp-1")
        .build()
        .unwrap();
    (tracer, dir)
}

async fn spans(tracer: &HoneyHiveTracer, dir: &std::path::Path) -> Vec<SpanRecord> {
    tracer.flush_async().await.unwrap();
    let spans = read_spans(dir).unwrap();
    std::fs::remove_dir_all(dir).ok();
    spans
}

fn named<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "spans named {name}: {spans:#?}");
    found[0]
}

fn duration_ms(span: &SpanRecord) -> f64 {
    (span.end_unix_nanos - span.start_unix_nanos) as f64 / 1e6
}

/// A sync fn whose body only builds the stream: the words come later, 20 ms apart.
#[trace]
fn words(sentence: &'static str) -> impl Stream<Item = String> {
    futures_util::stream::iter(sentence.split_inclusive(' ').map(str::to_owned)).then(
        |word| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            word
        },
    )
}

#[derive(Serialize)]
struct Chunk {
    n: u32,
}

/// An async fn returning a stream of `Result`s: the third item is an error.
#[trace]
async fn numbers(fail_at: u32) -> impl Stream<Item = Result<Chunk, String>> {
    tokio::task::yield_now().await;
    futures_util::stream::iter(1..=5).map(move |n| {
        if n == fail_at {
            Err(format!("item {n} failed"))
        } else {
            Ok(Chunk { n })
        }
    })
}

#[trace]
fn step(n: u32) -> u32 {
    n * 10
}

/// Items made by a traced step each: those spans are children of the stream's span.
#[trace(skip_output)]
fn stepped() -> impl Stream<Item = u32> + Send + Unpin {
    futures_util::stream::iter(1..=3).map(step)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streams_span_ends_with_its_last_item_and_folds_the_text() {
    let (tracer, dir) = tracer("text");
    let text: String = tracer
        .instrument(async {
            words("Paris is the capital")
                .collect::<Vec<_>>()
                .await
                .concat()
        })
        .await;
    assert_eq!(text, "Paris is the capital");
    let spans = spans(&tracer, &dir).await;
    let span = named(&spans, "words");
    assert_eq!(span.status, "unset");
    assert_eq!(
        span.attributes["honeyhive_outputs.result"],
        json!("Paris is the capital")
    );
    assert_eq!(
        span.attributes["honeyhive_inputs.sentence"],
        json!("Paris is the capital")
    );
    assert_eq!(span.attributes["honeyhive_metrics.stream_items"], json!(4));
    // Four items 20 ms apart: the span covers them all, not just the body.
    assert!(duration_ms(span) >= 75.0, "{} ms", duration_ms(span));
    let duration = span.attributes["honeyhive_duration_ms"].as_f64().unwrap();
    assert!((duration - duration_ms(span)).abs() < 0.01, "{duration}");
    let first = span.attributes["honeyhive_metrics.time_to_first_token_ms"]
        .as_f64()
        .unwrap();
    assert!(
        first >= 15.0 && first + 40.0 < duration,
        "{first} of {duration}"
    );
    assert_eq!(
        span.attributes["honeyhive_metadata.datapoint_id"],
        json!("dp-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_item_fails_the_span_with_the_items_before_it() {
    let (tracer, dir) = tracer("error");
    let items = tracer
        .instrument(async { numbers(3).await.collect::<Vec<_>>().await })
        .await;
    assert_eq!(items.len(), 5, "the stream itself goes on");
    let spans = spans(&tracer, &dir).await;
    let span = named(&spans, "numbers");
    assert_eq!(span.status, "error");
    assert_eq!(span.attributes["honeyhive_error"], json!("item 3 failed"));
    assert_eq!(span.attributes["honeyhive_outputs.result.0.n"], json!(1));
    assert_eq!(span.attributes["honeyhive_outputs.result.1.n"], json!(2));
    assert!(!span.attributes.contains_key("honeyhive_outputs.result.2.n"));
    assert_eq!(span.events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_ends_its_span_cancelled_with_the_partial_output() {
    let (tracer, dir) = tracer("dropped");
    let first_two = tracer
        .instrument(async {
            let mut stream = Box::pin(words("one two three four five"));
            let mut got = Vec::new();
            for _ in 0..2 {
                got.push(stream.next().await.unwrap());
            }
            got.concat()
        })
        .await;
    assert_eq!(first_two, "one two ");
    let spans = spans(&tracer, &dir).await;
    let span = named(&spans, "words");
    assert_eq!(span.status, "error");
    assert_eq!(span.status_message.as_deref(), Some("cancelled"));
    assert_eq!(span.attributes["honeyhive_error"], json!("cancelled"));
    assert_eq!(
        span.attributes["honeyhive_outputs.result"],
        json!("one two ")
    );
    assert!(span.events.is_empty(), "a cancellation is not an exception");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_made_while_items_are_made_are_children_of_the_streams_span() {
    let (tracer, dir) = tracer("children");
    let sum: u32 = tracer
        .instrument(async { stepped().collect::<Vec<_>>().await.into_iter().sum() })
        .await;
    assert_eq!(sum, 60);
    let spans = spans(&tracer, &dir).await;
    let parent = named(&spans, "stepped");
    assert!(!parent.attributes.contains_key("honeyhive_outputs.result"));
    assert_eq!(
        parent.attributes["honeyhive_metrics.stream_items"],
        json!(3)
    );
    let steps: Vec<_> = spans.iter().filter(|s| s.name == "step").collect();
    assert_eq!(steps.len(), 3);
    for step in steps {
        assert_eq!(
            step.parent_span_id.as_deref(),
            Some(parent.span_id.as_str())
        );
    }
}

#[tokio::test]
async fn without_a_tracer_a_traced_stream_is_the_stream() {
    let items: Vec<Value> = words("a b").map(Value::String).collect().await;
    assert_eq!(items, [json!("a "), json!("b")]);
}
