//! `#[trace]` end to end: the full attribute set of every span, compared with
//! `docs/span-attributes.md` (sections 1 and 2), read back from the local JSONL store.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use honeyhive::local_store::{SpanRecord, read_spans, run_dir};
use honeyhive::{Environment, HoneyHiveTracer, TracerBuilder, Warning, WarningHandler, trace};
use serde::Serialize;
use serde_json::{Map, Value, json};

const PROJECT: &str = "trace-tests";

/// A fresh store per test, so tests running in parallel never read each other's spans.
fn local(test: &str) -> (TracerBuilder, PathBuf) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "honeyhive-trace-{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let builder = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .project(PROJECT)
        .session_name(test);
    (builder, dir)
}

fn evaluation(test: &str) -> (HoneyHiveTracer, PathBuf) {
    let (builder, dir) = local(test);
    let tracer = builder
        .source("evaluation")
        .run_id("run-1")
        .dataset_id("dataset-1")
        .datapoint_id("datapoint-1")
        .build()
        .unwrap();
    (tracer, dir)
}

fn plain(test: &str) -> (HoneyHiveTracer, PathBuf) {
    let (builder, dir) = local(test);
    (builder.build().unwrap(), dir)
}

fn spans(tracer: &HoneyHiveTracer, dir: &PathBuf) -> Vec<SpanRecord> {
    tracer.flush().unwrap();
    let spans = read_spans(&folder(tracer, dir)).unwrap();
    std::fs::remove_dir_all(dir).ok();
    spans
}

/// Where `tracer`'s spans are in the local store at `dir`: its run's folder when it has a
/// run id, else the top.
fn folder(tracer: &HoneyHiveTracer, dir: &Path) -> PathBuf {
    match &tracer.evaluation_ids().run_id {
        Some(run) => run_dir(dir, run),
        None => dir.to_owned(),
    }
}

fn named<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "spans named {name}: {spans:#?}");
    found[0]
}

/// What the span processor stamps on every span of `tracer` (section 1).
fn session(tracer: &HoneyHiveTracer) -> Value {
    let mut m = json!({
        "honeyhive.session_id": tracer.session_id(),
        "traceloop.association.properties.session_id": tracer.session_id(),
        "honeyhive.project": PROJECT,
        "traceloop.association.properties.project": PROJECT,
        "honeyhive.source": tracer.source(),
        "traceloop.association.properties.source": tracer.source(),
    });
    let ids = tracer.evaluation_ids();
    for (key, id) in [
        ("honeyhive_metadata.run_id", &ids.run_id),
        ("honeyhive_metadata.dataset_id", &ids.dataset_id),
        ("honeyhive_metadata.datapoint_id", &ids.datapoint_id),
    ] {
        if let Some(id) = id {
            m[key] = json!(id);
        }
    }
    m
}

/// `session(tracer)` plus `extra`.
fn with(tracer: &HoneyHiveTracer, extra: Value) -> Value {
    let mut m = session(tracer);
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

/// The attributes of a `#[trace]` span named `name` of `event_type`: the session's, the
/// event's, then `extra`.
fn event(tracer: &HoneyHiveTracer, event_type: &str, name: &str, extra: Value) -> Value {
    let mut m = with(
        tracer,
        json!({"honeyhive_event_type": event_type, "honeyhive_event_name": name}),
    );
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

/// Compares every attribute of `span` with `expected`; `honeyhive_duration_ms` must be
/// present on every traced span, the span's own interval in milliseconds, and is left out
/// of the comparison.
fn assert_attributes(span: &SpanRecord, expected: Value) {
    let mut got: Map<String, Value> = span.attributes.clone();
    let duration = got
        .remove("honeyhive_duration_ms")
        .unwrap_or_else(|| panic!("{} has no honeyhive_duration_ms", span.name));
    let interval_ms = (span.end_unix_nanos - span.start_unix_nanos) as f64 / 1e6;
    assert!(
        duration
            .as_f64()
            .is_some_and(|d| d >= 0.0 && (d - interval_ms).abs() < 1e-6),
        "{}: duration {duration}, interval {interval_ms} ms",
        span.name
    );
    assert_eq!(
        Value::Object(got),
        expected,
        "attributes of span {}",
        span.name
    );
}

fn assert_ok_status(span: &SpanRecord) {
    assert_eq!(span.status, "unset", "{span:#?}");
    assert!(
        span.status_message.is_none() && span.events.is_empty(),
        "{span:#?}"
    );
}

/// Error status with `message` and exactly one `exception` event.
fn assert_exception(span: &SpanRecord, exception_type: &str, message: &str) {
    assert_eq!(span.status, "error", "{span:#?}");
    assert_eq!(span.status_message.as_deref(), Some(message));
    assert_eq!(span.events.len(), 1, "{span:#?}");
    assert_eq!(span.events[0].name, "exception");
    assert_eq!(
        Value::Object(span.events[0].attributes.clone()),
        json!({"exception.type": exception_type, "exception.message": message})
    );
}

// ---------------------------------------------------------------------------------------
// Nested sync and async calls in an evaluation.

#[derive(Serialize, Clone)]
struct Document {
    id: u32,
    text: String,
}

#[trace(event_type = "chain")]
async fn answer(question: String, top_k: usize) -> String {
    tokio::task::yield_now().await;
    // Another task, possibly on another worker thread: the context goes with it.
    let documents = honeyhive::spawn(retrieve(question.clone(), top_k))
        .await
        .unwrap();
    format!("{} documents for {question}", documents.len())
}

#[trace]
async fn retrieve(query: String, top_k: usize) -> Vec<Document> {
    tokio::task::yield_now().await;
    let mut documents: Vec<Document> = (0..3)
        .map(|id| Document {
            id,
            text: format!("{query} {id}"),
        })
        .collect();
    documents.retain(|d| rank(d) > 0);
    tokio::task::yield_now().await;
    documents.truncate(top_k);
    documents
}

#[trace(event_type = "tool")]
fn rank(document: &Document) -> u32 {
    document.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_sync_and_async_calls_three_deep_carry_the_evaluation_ids() {
    let (tracer, dir) = evaluation("nested");
    let out = tracer.instrument(answer("rust".into(), 1)).await;
    assert_eq!(out, "1 documents for rust");
    let spans = spans(&tracer, &dir);
    assert_eq!(spans.len(), 5, "{spans:#?}");

    let root = named(&spans, "answer");
    let middle = named(&spans, "retrieve");
    let ranks: Vec<_> = spans.iter().filter(|s| s.name == "rank").collect();
    assert_eq!(ranks.len(), 3);

    assert_eq!(root.parent_span_id, None);
    assert_eq!(middle.parent_span_id.as_ref(), Some(&root.span_id));
    for r in &ranks {
        assert_eq!(r.parent_span_id.as_ref(), Some(&middle.span_id));
    }
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id));

    assert_attributes(
        root,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "chain",
                "honeyhive_event_name": "answer",
                "honeyhive_inputs.question": "rust",
                "honeyhive_inputs.top_k": 1,
                "honeyhive_outputs.result": "1 documents for rust",
            }),
        ),
    );
    assert_attributes(
        middle,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "retrieve",
                "honeyhive_inputs.query": "rust",
                "honeyhive_inputs.top_k": 1,
                "honeyhive_outputs.result.0.id": 1,
                "honeyhive_outputs.result.0.text": "rust 1",
            }),
        ),
    );
    let mut ranked: Vec<i64> = ranks
        .iter()
        .map(|r| {
            r.attributes["honeyhive_inputs.document.id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ranked.sort();
    assert_eq!(ranked, [0, 1, 2]);
    for r in &ranks {
        let id = r.attributes["honeyhive_inputs.document.id"]
            .as_i64()
            .unwrap();
        assert_attributes(
            r,
            with(
                &tracer,
                json!({
                    "honeyhive_event_type": "tool",
                    "honeyhive_event_name": "rank",
                    "honeyhive_inputs.document.id": id,
                    "honeyhive_inputs.document.text": format!("rust {id}"),
                    "honeyhive_outputs.result": id,
                }),
            ),
        );
    }
    for s in &spans {
        assert_ok_status(s);
    }
}

/// A future that is pending on its first poll and ready on the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[trace]
async fn hop(label: &'static str) -> String {
    YieldOnce(false).await;
    // Called on the second poll, on another thread than the first.
    leaf(label)
}

#[trace]
fn leaf(label: &str) -> String {
    let _ = label;
    format!("{:?}", std::thread::current().id())
}

#[test]
fn the_span_is_current_on_every_poll_on_any_thread() {
    let (tracer, dir) = evaluation("threads");
    let mut future = Box::pin(tracer.instrument(hop("x")));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    let first = format!("{:?}", std::thread::current().id());
    let second = std::thread::spawn(move || {
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(id) => id,
            Poll::Pending => panic!("still pending"),
        }
    })
    .join()
    .unwrap();
    assert_ne!(first, second);
    let spans = spans(&tracer, &dir);
    let parent = named(&spans, "hop");
    let child = named(&spans, "leaf");
    assert_eq!(child.parent_span_id.as_ref(), Some(&parent.span_id));
    assert_eq!(
        child.attributes["honeyhive_metadata.datapoint_id"],
        "datapoint-1"
    );
    assert_attributes(
        child,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "leaf",
                "honeyhive_inputs.label": "x",
                "honeyhive_outputs.result": second,
            }),
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Errors, panics, cancellation.

#[derive(Debug, PartialEq)]
struct QuotaExceeded {
    limit: u32,
}

impl Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quota of {} requests exceeded", self.limit)
    }
}

impl std::error::Error for QuotaExceeded {}

#[trace(event_type = "model")]
fn call_model(prompt: &str, limit: u32) -> Result<String, QuotaExceeded> {
    if prompt.is_empty() {
        // Early return: still recorded.
        return Ok("empty".into());
    }
    Err(QuotaExceeded { limit })
}

#[trace]
fn with_question_mark(prompt: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let answer = call_model(prompt, 3)?;
    Ok(answer.len())
}

#[test]
fn err_sets_error_status_one_exception_event_and_is_returned_unchanged() {
    let (tracer, dir) = plain("err");
    let err = tracer.in_scope(|| call_model("hello", 7)).unwrap_err();
    assert_eq!(err, QuotaExceeded { limit: 7 });
    assert_eq!(tracer.in_scope(|| call_model("", 7)).unwrap(), "empty");
    let spans = spans(&tracer, &dir);
    assert_eq!(
        spans.len(),
        2,
        "one span per call, no extra error span: {spans:#?}"
    );

    let failed = &spans[0];
    assert_exception(
        failed,
        std::any::type_name::<QuotaExceeded>(),
        "quota of 7 requests exceeded",
    );
    assert_attributes(
        failed,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "model",
                "honeyhive_event_name": "call_model",
                "honeyhive_inputs.prompt": "hello",
                "honeyhive_inputs.limit": 7,
                "honeyhive_error": "quota of 7 requests exceeded",
            }),
        ),
    );
    let early = &spans[1];
    assert_ok_status(early);
    assert_attributes(
        early,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "model",
                "honeyhive_event_name": "call_model",
                "honeyhive_inputs.prompt": "",
                "honeyhive_inputs.limit": 7,
                "honeyhive_outputs.result": "empty",
            }),
        ),
    );
}

#[test]
fn question_mark_records_the_error_on_each_span_it_crosses() {
    let (tracer, dir) = plain("question-mark");
    let err = tracer.in_scope(|| with_question_mark("hi")).unwrap_err();
    assert_eq!(err.to_string(), "quota of 3 requests exceeded");
    let spans = spans(&tracer, &dir);
    let inner = named(&spans, "call_model");
    let outer = named(&spans, "with_question_mark");
    assert_eq!(inner.parent_span_id.as_ref(), Some(&outer.span_id));
    assert_exception(
        outer,
        std::any::type_name::<Box<dyn std::error::Error>>(),
        "quota of 3 requests exceeded",
    );
    assert_attributes(
        outer,
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "with_question_mark",
                "honeyhive_inputs.prompt": "hi",
                "honeyhive_error": "quota of 3 requests exceeded",
            }),
        ),
    );
}

#[trace]
fn explode(code: u32) -> u32 {
    if code > 0 {
        panic!("boom {code}");
    }
    code
}

#[trace]
fn calls_explode(code: u32) -> u32 {
    explode(code) + 1
}

#[test]
fn a_panic_is_recorded_then_unwinding_resumes() {
    let (tracer, dir) = plain("panic");
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tracer.in_scope(|| calls_explode(4))
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 4");
    let spans = spans(&tracer, &dir);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let inner = named(&spans, "explode");
    let outer = named(&spans, "calls_explode");
    assert_eq!(inner.parent_span_id.as_ref(), Some(&outer.span_id));
    for (span, name) in [(inner, "explode"), (outer, "calls_explode")] {
        assert_exception(span, "panic", "boom 4");
        assert_attributes(
            span,
            with(
                &tracer,
                json!({
                    "honeyhive_event_type": "tool",
                    "honeyhive_event_name": name,
                    "honeyhive_inputs.code": 4,
                    "honeyhive_error": "boom 4",
                }),
            ),
        );
    }
}

#[trace]
async fn explode_async(code: u32) -> u32 {
    tokio::task::yield_now().await;
    if code > 0 {
        panic!("async boom");
    }
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_panic_is_recorded_then_unwinding_resumes() {
    let (tracer, dir) = plain("panic-async");
    let join = tokio::spawn(tracer.instrument(explode_async(1))).await;
    let payload = join.unwrap_err().into_panic();
    assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "async boom");
    let spans = spans(&tracer, &dir);
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_exception(&spans[0], "panic", "async boom");
    assert_attributes(
        &spans[0],
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "explode_async",
                "honeyhive_inputs.code": 1,
                "honeyhive_error": "async boom",
            }),
        ),
    );
}

#[trace]
async fn waits_forever(ticket: u32) -> u32 {
    waits_forever_inner(ticket).await
}

#[trace(event_type = "model")]
async fn waits_forever_inner(ticket: u32) -> u32 {
    std::future::pending::<()>().await;
    ticket
}

#[test]
fn a_future_dropped_before_completion_ends_its_spans_as_cancelled() {
    let (tracer, dir) = plain("cancelled");
    {
        let mut future = pin!(tracer.instrument(waits_forever(9)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
    } // dropped here
    let spans = spans(&tracer, &dir);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let outer = named(&spans, "waits_forever");
    let inner = named(&spans, "waits_forever_inner");
    assert_eq!(inner.parent_span_id.as_ref(), Some(&outer.span_id));
    for (span, name, event_type) in [
        (outer, "waits_forever", "tool"),
        (inner, "waits_forever_inner", "model"),
    ] {
        assert_eq!(span.status, "error");
        assert_eq!(span.status_message.as_deref(), Some("cancelled"));
        assert!(span.events.is_empty(), "a cancellation is not an exception");
        assert_attributes(
            span,
            with(
                &tracer,
                json!({
                    "honeyhive_event_type": event_type,
                    "honeyhive_event_name": name,
                    "honeyhive_inputs.ticket": 9,
                    "honeyhive_error": "cancelled",
                }),
            ),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_cancelled_and_the_tracer_keeps_working() {
    let (tracer, dir) = plain("timeout");
    let timed_out = tokio::time::timeout(
        std::time::Duration::from_millis(20),
        tracer.instrument(waits_forever_inner(1)),
    )
    .await;
    assert!(timed_out.is_err());
    assert_eq!(
        tracer.instrument(answer("q".into(), 0)).await,
        "0 documents for q"
    );
    tracer.flush_async().await.unwrap();
    let spans = read_spans(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        named(&spans, "waits_forever_inner").attributes["honeyhive_error"],
        "cancelled"
    );
    assert_eq!(named(&spans, "answer").parent_span_id, None);
    assert_ok_status(named(&spans, "answer"));
}

// ---------------------------------------------------------------------------------------
// Methods, generics, naming.

#[derive(Serialize)]
struct Store<T> {
    items: Vec<(String, T)>,
}

impl<T: Serialize + Clone> Store<T> {
    #[trace]
    fn put<K: Display + Serialize>(&mut self, key: K, value: T) -> usize {
        self.items.push((key.to_string(), value));
        self.items.len()
    }

    #[trace]
    fn new() -> Self {
        Store { items: Vec::new() }
    }

    #[trace(name = "Store::snapshot")]
    fn snapshot(&self) -> Vec<(String, T)> {
        self.items.clone()
    }
}

trait Greeter {
    fn language(&self) -> String;

    #[trace]
    fn greet(&self, whom: &str) -> String {
        format!("{} greeting for {whom}", self.language())
    }
}

#[derive(Serialize)]
struct English;

impl Greeter for English {
    #[trace]
    fn language(&self) -> String {
        "english".into()
    }
}

#[test]
fn generic_methods_are_named_type_method_and_capture_their_arguments() {
    let (tracer, dir) = evaluation("generic");
    tracer.in_scope(|| {
        let mut store: Store<Vec<u8>> = Store::new();
        assert_eq!(store.put("k", vec![1, 2]), 1);
        assert_eq!(store.put(7u64, vec![]), 2);
        assert_eq!(store.snapshot().len(), 2);
        assert_eq!(English.greet("you"), "english greeting for you");
    });
    let spans = spans(&tracer, &dir);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Store::new",
            "Store::put",
            "Store::put",
            "Store::snapshot",
            "English::language",
            "English::greet"
        ]
    );
    let tool = |name: &str, extra: Value| event(&tracer, "tool", name, extra);
    assert_attributes(&spans[0], tool("Store::new", json!({})));
    assert_attributes(
        &spans[1],
        tool(
            "Store::put",
            json!({
                "honeyhive_inputs.key": "k",
                "honeyhive_inputs.value.0": 1,
                "honeyhive_inputs.value.1": 2,
                "honeyhive_outputs.result": 1,
            }),
        ),
    );
    assert_attributes(
        &spans[2],
        tool(
            "Store::put",
            json!({"honeyhive_inputs.key": 7, "honeyhive_outputs.result": 2}),
        ),
    );
    assert_attributes(
        &spans[3],
        tool(
            "Store::snapshot",
            json!({
                "honeyhive_outputs.result.0.0": "k",
                "honeyhive_outputs.result.0.1.0": 1,
                "honeyhive_outputs.result.0.1.1": 2,
                "honeyhive_outputs.result.1.0": "7",
            }),
        ),
    );
    assert_attributes(
        &spans[4],
        tool(
            "English::language",
            json!({"honeyhive_outputs.result": "english"}),
        ),
    );
    assert_eq!(spans[4].parent_span_id.as_ref(), Some(&spans[5].span_id));
    assert_attributes(
        &spans[5],
        tool(
            "English::greet",
            json!({
                "honeyhive_inputs.whom": "you",
                "honeyhive_outputs.result": "english greeting for you",
            }),
        ),
    );
}

struct Bot {
    name: String,
}

impl Bot {
    #[trace(name = "bot_reply", metadata(bot = self.name.as_str()))]
    async fn reply(&self, message: String) -> String {
        tokio::task::yield_now().await;
        format!("{}: {message}", self.name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_methods_take_the_name_option_and_metadata_from_self() {
    let (tracer, dir) = plain("async-method");
    let bot = Bot { name: "b".into() };
    assert_eq!(tracer.instrument(bot.reply("hi".into())).await, "b: hi");
    tracer.flush_async().await.unwrap();
    let spans = read_spans(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_attributes(
        named(&spans, "bot_reply"),
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "bot_reply",
                "honeyhive_inputs.message": "hi",
                "honeyhive_metadata.bot": "b",
                "honeyhive_outputs.result": "b: hi",
            }),
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Options.

struct Client;

#[trace(skip(client, api_key))]
fn skip_some(client: &Client, api_key: &str, prompt: &str) -> usize {
    let _ = (client, api_key);
    prompt.len()
}

#[trace(skip_all)]
fn skip_everything(client: &Client, prompt: &str) -> usize {
    let _ = client;
    prompt.len()
}

#[trace(skip_output)]
fn skip_the_output(prompt: &str) -> Result<Client, String> {
    if prompt.is_empty() {
        Err("empty prompt".into())
    } else {
        Ok(Client)
    }
}

#[test]
fn skip_skip_all_and_skip_output_leave_values_out() {
    let (tracer, dir) = plain("skip");
    tracer.in_scope(|| {
        skip_some(&Client, "sk-secret", "hello");
        skip_everything(&Client, "hello");
        assert!(skip_the_output("p").is_ok());
        assert!(skip_the_output("").is_err());
    });
    let spans = spans(&tracer, &dir);
    assert_eq!(spans.len(), 4);
    let base = |name: &str, extra: Value| event(&tracer, "tool", name, extra);
    assert_attributes(
        &spans[0],
        base(
            "skip_some",
            json!({"honeyhive_inputs.prompt": "hello", "honeyhive_outputs.result": 5}),
        ),
    );
    assert!(
        !serde_json::to_string(&spans[0])
            .unwrap()
            .contains("sk-secret"),
        "a skipped secret reached the span"
    );
    assert_attributes(
        &spans[1],
        base("skip_everything", json!({"honeyhive_outputs.result": 5})),
    );
    assert_attributes(
        &spans[2],
        base("skip_the_output", json!({"honeyhive_inputs.prompt": "p"})),
    );
    assert_exception(&spans[3], std::any::type_name::<String>(), "empty prompt");
    assert_attributes(
        &spans[3],
        base(
            "skip_the_output",
            json!({"honeyhive_inputs.prompt": "", "honeyhive_error": "empty prompt"}),
        ),
    );
}

const MODEL: &str = "gpt-4o";

#[derive(Serialize)]
struct Limits {
    max_tokens: u32,
    stop: Vec<&'static str>,
}

#[trace(
    event_type = "model",
    metadata(team = "search", "prompt.chars" = prompt.len(), nothing = Option::<u8>::None),
    config(model = MODEL, temperature = 0.5, limits = Limits { max_tokens: 64, stop: vec!["\n"] })
)]
fn complete(prompt: &str) -> String {
    prompt.to_uppercase()
}

#[test]
fn metadata_and_config_are_flattened_under_their_prefixes() {
    let (tracer, dir) = evaluation("metadata");
    assert_eq!(tracer.in_scope(|| complete("hey")), "HEY");
    let spans = spans(&tracer, &dir);
    assert_attributes(
        &spans[0],
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "model",
                "honeyhive_event_name": "complete",
                "honeyhive_inputs.prompt": "hey",
                "honeyhive_outputs.result": "HEY",
                "honeyhive_metadata.team": "search",
                "honeyhive_metadata.prompt.chars": 3,
                "honeyhive_config.model": "gpt-4o",
                "honeyhive_config.temperature": 0.5,
                "honeyhive_config.limits.max_tokens": 64,
                "honeyhive_config.limits.stop.0": "\n",
            }),
        ),
    );
}

#[trace(
    event_type = "session",
    metrics(words = answer.split_whitespace().count(), "score.raw" = 0.75),
    feedback(reviewed = false, labels = ["helpful", "short"])
)]
fn judged(answer: &str) -> usize {
    answer.len()
}

#[trace(event_type = "generic", feedback(rating = 4u8))]
fn anything(x: u8) -> u8 {
    x
}

#[test]
fn metrics_and_feedback_options_and_the_session_and_generic_event_types() {
    let (tracer, dir) = evaluation("metrics-feedback");
    tracer.in_scope(|| (judged("two words"), anything(7)));
    let spans = spans(&tracer, &dir);
    assert_attributes(
        named(&spans, "judged"),
        event(
            &tracer,
            "session",
            "judged",
            json!({
                "honeyhive_inputs.answer": "two words",
                "honeyhive_outputs.result": 9,
                "honeyhive_metrics.words": 2,
                "honeyhive_metrics.score.raw": 0.75,
                "honeyhive_feedback.reviewed": false,
                "honeyhive_feedback.labels.0": "helpful",
                "honeyhive_feedback.labels.1": "short",
            }),
        ),
    );
    assert_attributes(
        named(&spans, "anything"),
        event(
            &tracer,
            "generic",
            "anything",
            json!({
                "honeyhive_inputs.x": 7,
                "honeyhive_outputs.result": 7,
                "honeyhive_feedback.rating": 4,
            }),
        ),
    );
}

#[derive(Serialize)]
struct Pair {
    left: u8,
    right: u8,
}

#[trace]
fn patterns((a, b): (u8, u8), Pair { left, .. }: Pair, _: u8) -> u8 {
    a + b + left
}

#[test]
fn pattern_parameters_are_captured_per_binding() {
    let (tracer, dir) = plain("patterns");
    tracer.in_scope(|| patterns((1, 2), Pair { left: 3, right: 4 }, 5));
    let spans = spans(&tracer, &dir);
    assert_attributes(
        &spans[0],
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "patterns",
                "honeyhive_inputs.a": 1,
                "honeyhive_inputs.b": 2,
                "honeyhive_inputs.left": 3,
                "honeyhive_outputs.result": 6,
            }),
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Failures of tracing never fail the call.

#[trace]
fn unserialisable_at_run_time(map: HashMap<(u8, u8), u8>) -> usize {
    map.len()
}

#[test]
fn a_value_that_fails_to_serialise_is_a_warning_not_an_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let (builder, dir) = local("capture-failed");
    let tracer = builder
        .on_warning(WarningHandler::new(move |w: &Warning| {
            sink.lock().unwrap().push(w.clone())
        }))
        .build()
        .unwrap();
    let map = HashMap::from([((1, 2), 3)]);
    assert_eq!(tracer.in_scope(|| unserialisable_at_run_time(map)), 1);
    let spans = spans(&tracer, &dir);
    assert_attributes(
        &spans[0],
        with(
            &tracer,
            json!({
                "honeyhive_event_type": "tool",
                "honeyhive_event_name": "unserialisable_at_run_time",
                "honeyhive_outputs.result": 1,
            }),
        ),
    );
    let warnings = seen.lock().unwrap().clone();
    assert!(
        matches!(&warnings[..], [Warning::CaptureFailed { key, .. }] if key == "honeyhive_inputs.map"),
        "{warnings:?}"
    );
}

#[test]
fn without_a_current_tracer_nothing_is_recorded() {
    let (tracer, dir) = plain("no-tracer");
    assert_eq!(calls_explode(0), 1);
    let (disabled, disabled_dir) = local("disabled");
    let disabled = disabled.disabled(true).build().unwrap();
    assert_eq!(disabled.in_scope(|| calls_explode(0)), 1);
    assert!(spans(&tracer, &dir).is_empty());
    assert!(spans(&disabled, &disabled_dir).is_empty());
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn traced_futures_are_send_when_the_body_is() {
    let f = answer("q".into(), 1);
    assert_send(&f);
    let f = Bot { name: "b".into() };
    let g = f.reply("x".into());
    assert_send(&g);
}

// ---------------------------------------------------------------------------------------
// The remaining shapes: `self` by value, `async fn` in traits, `where` clauses, `impl Trait`
// in argument and return position, `unsafe fn`, and `enrich_span` from inside a body.

#[derive(Serialize, Clone)]
struct Token {
    value: String,
}

impl Token {
    #[trace(skip(self))]
    fn into_value(self, suffix: &str) -> String {
        honeyhive::enrich_span(honeyhive::Enrichment::new().metric("length", self.value.len()));
        format!("{}{suffix}", self.value)
    }
}

trait Planner {
    #[trace]
    async fn plan(&self, goal: String) -> Vec<String> {
        vec![goal]
    }

    async fn act(&self, step: u32) -> u32;
}

impl Planner for Token {
    #[trace(event_type = "chain")]
    async fn act(&self, step: u32) -> u32 {
        self.plan(format!("step {step}")).await.len() as u32 + step
    }
}

#[trace(skip(items))]
fn summarize<T>(items: impl IntoIterator<Item = T>, label: impl Serialize) -> impl Serialize
where
    T: Display,
{
    let _ = label;
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// # Safety
/// `p` must point to a valid `u32`.
#[trace(skip(p))]
unsafe fn read_raw(p: *const u32, offset: u32) -> u32 {
    unsafe { *p + offset }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_by_value_async_trait_methods_where_clauses_impl_trait_and_unsafe() {
    let (tracer, dir) = evaluation("shapes");
    let token = Token {
        value: "abc".into(),
    };
    let (consumed, acted, summary, raw) = tracer
        .instrument(async {
            let acted = token.act(2).await;
            let summary = summarize([1, 2], "numbers");
            let raw = unsafe { read_raw(&40, 2) };
            (token.clone().into_value("!"), acted, summary, raw)
        })
        .await;
    assert_eq!((consumed.as_str(), acted, raw), ("abc!", 3, 42));
    assert_eq!(serde_json::to_value(&summary).unwrap(), "1,2");
    tracer.flush_async().await.unwrap();
    let spans = read_spans(&folder(&tracer, &dir)).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let expect = |name: &str, event_type: &str, extra: Value| {
        assert_attributes(named(&spans, name), event(&tracer, event_type, name, extra));
    };
    expect(
        "Token::plan",
        "tool",
        json!({"honeyhive_inputs.goal": "step 2", "honeyhive_outputs.result.0": "step 2"}),
    );
    expect(
        "Token::act",
        "chain",
        json!({"honeyhive_inputs.step": 2, "honeyhive_outputs.result": 3}),
    );
    assert_eq!(
        named(&spans, "Token::plan").parent_span_id.as_ref(),
        Some(&named(&spans, "Token::act").span_id)
    );
    expect(
        "summarize",
        "tool",
        json!({"honeyhive_inputs.label": "numbers", "honeyhive_outputs.result": "1,2"}),
    );
    expect(
        "read_raw",
        "tool",
        json!({"honeyhive_inputs.offset": 2, "honeyhive_outputs.result": 42}),
    );
    expect(
        "Token::into_value",
        "tool",
        json!({
            "honeyhive_inputs.suffix": "!",
            "honeyhive_outputs.result": "abc!",
            "honeyhive_metrics.length": 3,
        }),
    );
}

// ---------------------------------------------------------------------------------------
// Event type inference (section 2) on `#[trace]` spans.

/// Sets `key = value` on the current span, as another crate's instrumentation would.
fn annotate(key: &'static str, value: &'static str) {
    use honeyhive::opentelemetry::trace::TraceContextExt as _;
    honeyhive::opentelemetry::Context::map_current(|cx| {
        cx.span()
            .set_attribute(honeyhive::opentelemetry::KeyValue::new(key, value))
    });
}

#[trace]
fn chat_completion(prompt: &str) -> usize {
    annotate("gen_ai.operation.name", "chat");
    prompt.len()
}

#[trace]
fn agent_step(step: u32) -> u32 {
    annotate("openinference.span.kind", "AGENT");
    step
}

#[trace]
fn says_nothing(step: u32) -> u32 {
    step
}

#[trace(event_type = "tool")]
fn typed_tool(step: u32) -> u32 {
    annotate("gen_ai.operation.name", "chat");
    step
}

#[test]
fn the_event_type_of_a_call_is_inferred_from_what_its_body_set_and_a_given_one_wins() {
    let (tracer, dir) = plain("inference");
    tracer.in_scope(|| {
        chat_completion("hi");
        agent_step(1);
        says_nothing(2);
        typed_tool(3);
    });
    let spans = spans(&tracer, &dir);
    let event_type = |name: &str| named(&spans, name).attributes["honeyhive_event_type"].clone();
    assert_eq!(event_type("chat_completion"), "model");
    assert_eq!(event_type("agent_step"), "chain");
    assert_eq!(event_type("says_nothing"), "tool");
    assert_eq!(event_type("typed_tool"), "tool");
    // The full attribute sets, whoever settled the type: at the call's end or at export.
    assert_attributes(
        named(&spans, "says_nothing"),
        event(
            &tracer,
            "tool",
            "says_nothing",
            json!({"honeyhive_inputs.step": 2, "honeyhive_outputs.result": 2}),
        ),
    );
    assert_attributes(
        named(&spans, "chat_completion"),
        event(
            &tracer,
            "model",
            "chat_completion",
            json!({
                "honeyhive_inputs.prompt": "hi",
                "honeyhive_outputs.result": 2,
                "gen_ai.operation.name": "chat",
            }),
        ),
    );
}

#[trace]
fn renames_its_span(topic: &str) -> usize {
    use honeyhive::opentelemetry::trace::TraceContextExt as _;
    honeyhive::opentelemetry::Context::map_current(|cx| cx.span().update_name("renamed"));
    topic.len()
}

#[trace]
fn names_its_event(topic: &str) -> usize {
    annotate("honeyhive_event_name", "named by the body");
    topic.len()
}

#[test]
fn the_event_name_is_the_calls_unless_its_body_sets_one_and_a_rename_keeps_it() {
    let (tracer, dir) = plain("event-name");
    tracer.in_scope(|| {
        renames_its_span("a");
        names_its_event("bb");
    });
    let spans = spans(&tracer, &dir);
    for (span, event_name, topic, length) in [
        // The span's name is what the body made it; its event name stays the call's.
        ("renamed", "renames_its_span", "a", 1),
        // An event name the body set comes after the call's, so it is the one kept.
        ("names_its_event", "named by the body", "bb", 2),
    ] {
        let extra = json!({"honeyhive_inputs.topic": topic, "honeyhive_outputs.result": length});
        assert_attributes(
            named(&spans, span),
            event(&tracer, "tool", event_name, extra),
        );
    }
}
