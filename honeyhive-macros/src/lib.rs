//! Procedural macros of the `honeyhive` crate. Use them through `honeyhive`, which
//! re-exports them; generated code names runtime items only through
//! `::honeyhive::__private`, so a user crate needs no other dependency.

mod common;
mod evaluator;
mod experiment;
mod options;
mod trace;

use proc_macro::TokenStream;

/// Records every call of a function as a HoneyHive span (an *event*).
///
/// Put it on free functions, `async fn`s, methods (`&self`, `&mut self`, `self`),
/// associated functions, trait impl methods, trait methods with a default body and
/// `async fn` in traits; generics, lifetimes, `where` clauses, `impl Trait` arguments and
/// return types, `unsafe` and `extern` functions work too. Attributes and doc comments of
/// the function (`#[must_use]`, ...) are kept, its signature is unchanged.
///
/// A call is recorded only when a `honeyhive::HoneyHiveTracer` is current (inside
/// `tracer.in_scope(..)`, a future wrapped by `tracer.instrument(..)`, an experiment, a
/// task started with `honeyhive::spawn`, ...) and tracing is enabled.
/// Otherwise the function runs as written: the check is a thread-local lookup and a branch,
/// with no allocation and no serialisation.
///
/// ```
/// use honeyhive::{Environment, HoneyHiveTracer, trace};
///
/// #[trace]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-trace-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder()
///     .environment(Environment::empty()) // no API key: spans go to a local JSONL store
///     .local_dir(&dir)
///     .build()?;
/// assert_eq!(add(1, 2), 3); // no tracer current: not recorded
/// assert_eq!(tracer.in_scope(|| add(2, 3)), 5); // recorded
/// tracer.flush()?;
///
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// assert_eq!(spans.len(), 1);
/// let attributes = &spans[0].attributes;
/// assert_eq!(spans[0].name, "add");
/// assert_eq!(attributes["honeyhive_event_name"], "add");
/// assert_eq!(attributes["honeyhive_inputs.a"], 2);
/// assert_eq!(attributes["honeyhive_inputs.b"], 3);
/// assert_eq!(attributes["honeyhive_outputs.result"], 5);
/// assert!(attributes["honeyhive_duration_ms"].is_f64());
/// assert_eq!(attributes["honeyhive.session_id"], tracer.session_id());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// # What a span records
///
/// | attribute | value |
/// |---|---|
/// | `honeyhive_event_name` (and the span name) | option `name`, else the fn name; methods and associated fns: `Type::method` |
/// | `honeyhive_event_type` | option `event_type`; when absent, inferred at export (`tool` by default) |
/// | `honeyhive_inputs.<param>` | each argument not skipped, serialised with serde and flattened |
/// | `honeyhive_outputs.result` | the return value, flattened; for a `Result`, the `Ok` value |
/// | `honeyhive_duration_ms` | wall time of the body, f64 milliseconds |
/// | `honeyhive_metadata.*`, `honeyhive_config.*`, `honeyhive_metrics.*`, `honeyhive_feedback.*` | options `metadata(..)`, `config(..)`, `metrics(..)`, `feedback(..)` |
/// | `honeyhive_error`, error status, one `exception` event | on `Err` and on panic |
///
/// plus what the span processor stamps on every span: session id, project, source and, in
/// experiments, `run_id`, `dataset_id`, `datapoint_id`. The span's parent is the span
/// current at the call, so traced calls nest.
///
/// Values are flattened as the HoneyHive attribute contract says: objects as `prefix.key`,
/// sequences as `prefix.<index>`, nulls skipped, scalars as native types. An argument
/// bound by a pattern (`(a, b): (u32, u32)`) is captured per binding (`a`, `b`); `_` and
/// `self` are never captured. A value whose serialisation fails at run time is left out and
/// reported as a `Warning::CaptureFailed`; the call itself never fails because of tracing.
///
/// # Return values, errors and panics
///
/// * A return type whose last path segment is `Result` (`Result<T, E>`, `io::Result<T>`,
///   `anyhow::Result<T>`, `fmt::Result`) is treated as `core::result::Result`: `Ok` is the
///   output; `Err` sets the error status and `honeyhive_error` to the error's `Display`
///   text (`Debug` if it has no `Display`, else its type name) and adds one `exception`
///   event (`exception.type` = the error's type name, `exception.message` = that text). The
///   error is returned unchanged.
/// * `return` and `?` inside the body work as in any function: the output (or error) is
///   still recorded.
/// * A panic is recorded the same way (`exception.type` = `panic`, the message from the
///   panic payload), then unwinding resumes. With `panic = "abort"` there is nothing to
///   record.
/// * A function returning `impl Stream<Item = T>` (sync or async) returns the stream
///   wrapped: the span stays open until the stream ends, and is current while its items
///   are made. The items are folded into `honeyhive_outputs.result` (strings and chat
///   completion deltas concatenated, other items as a list), the time to the first item
///   is `honeyhive_metrics.time_to_first_token_ms` and the count
///   `honeyhive_metrics.stream_items`. With `Item = Result<T, E>` the first `Err` item ends
///   the span as failed; a stream dropped before its end ends it `cancelled`, with the
///   items so far. `skip_output` counts the items without recording them.
///
/// ```
/// use futures_util::{Stream, StreamExt as _};
/// use honeyhive::{Environment, HoneyHiveTracer, trace};
///
/// #[trace]
/// fn tokens(answer: &'static str) -> impl Stream<Item = String> {
///     futures_util::stream::iter(answer.split_inclusive(' ').map(str::to_owned))
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-stream-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// let pieces: Vec<String> =
///     tracer.in_scope(|| futures_executor::block_on(tokens("Paris, of course.").collect()));
/// assert_eq!(pieces.len(), 3);
/// tracer.flush()?;
/// let span = &honeyhive::local_store::read_spans(&dir)?[0];
/// assert_eq!(span.attributes["honeyhive_outputs.result"], "Paris, of course.");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ```
/// use honeyhive::{Environment, HoneyHiveTracer, trace};
///
/// #[derive(Debug)]
/// struct Timeout;
/// impl std::fmt::Display for Timeout {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("the model did not answer in time")
///     }
/// }
///
/// #[trace]
/// fn ask(question: &str) -> Result<String, Timeout> {
///     if question.is_empty() {
///         return Ok(String::new());
///     }
///     Err(Timeout)
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-err-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// assert!(tracer.in_scope(|| ask("why?")).is_err());
/// tracer.flush()?;
/// let span = &honeyhive::local_store::read_spans(&dir)?[0];
/// assert_eq!(span.status, "error");
/// assert_eq!(span.status_message.as_deref(), Some("the model did not answer in time"));
/// assert_eq!(span.attributes["honeyhive_error"], "the model did not answer in time");
/// assert_eq!(span.events.len(), 1);
/// assert_eq!(span.events[0].name, "exception");
/// assert!(span.events[0].attributes["exception.type"].as_str().unwrap().ends_with("Timeout"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// # `async fn`
///
/// The span starts when the future is first polled and is current on every poll, on
/// whatever thread polls it, so calls made across `.await` nest under it. It ends when the
/// future completes. A future dropped before completing (a timeout, a `select!` that picked
/// another branch) ends its span with error status and `honeyhive_error` = `cancelled`
/// (no `exception` event: nothing failed, the caller stopped waiting). The generated future
/// is `Send` whenever the function's own future is.
///
/// ```
/// use honeyhive::{Environment, HoneyHiveTracer, trace};
///
/// #[trace]
/// async fn retrieve(query: String) -> Vec<String> {
///     vec![format!("a document about {query}")]
/// }
///
/// #[trace]
/// async fn answer(query: String) -> String {
///     let documents = retrieve(query).await;
///     format!("{} documents", documents.len())
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-async-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// let answer = futures_executor::block_on(tracer.instrument(answer("rust".into())));
/// assert_eq!(answer, "1 documents");
/// tracer.flush()?;
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// let outer = spans.iter().find(|s| s.name == "answer").unwrap();
/// let inner = spans.iter().find(|s| s.name == "retrieve").unwrap();
/// assert_eq!(inner.parent_span_id.as_ref(), Some(&outer.span_id));
/// assert_eq!(inner.attributes["honeyhive_outputs.result.0"], "a document about rust");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// # Options
///
/// Unknown, malformed or repeated options are compile errors that list the valid ones.
///
/// ## `name = "..."`
///
/// The event (span) name. The default is the fn name; for methods and associated fns that
/// take `self` or mention `Self` in their signature, `Type::method` (`Type` without its
/// path and generic arguments). A macro on a fn cannot see the `impl` block around it, so
/// an associated fn that mentions neither is named by its fn name alone: give it a `name`.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// struct Retriever;
///
/// impl Retriever {
///     #[trace]
///     fn search(&self, query: &str) -> usize {
///         query.len()
///     }
///
///     #[trace(name = "rerank_documents")]
///     fn rerank(&self, n: usize) -> usize {
///         n
///     }
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-name-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| Retriever.rerank(Retriever.search("rust")));
/// tracer.flush()?;
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, ["Retriever::search", "rerank_documents"]);
/// assert_eq!(spans[1].attributes["honeyhive_event_name"], "rerank_documents");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `event_type = "model" | "tool" | "chain" | "session" | "generic"`
///
/// The HoneyHive event type: `model` for a call to an LLM, `tool` for a function the
/// application or an agent calls, `chain` for a step that composes others, `session` for a
/// span that stands for a whole session, `generic` for anything else (the event types of
/// the reference SDK). Any other string is a compile error. Without it, the type is inferred at export from
/// `gen_ai.operation.name` / `openinference.span.kind` attributes set during the call, else
/// `tool`.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// #[trace(event_type = "model")]
/// fn complete(prompt: &str) -> String {
///     format!("echo: {prompt}")
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-type-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| complete("hi"));
/// tracer.flush()?;
/// let span = &honeyhive::local_store::read_spans(&dir)?[0];
/// assert_eq!(span.attributes["honeyhive_event_type"], "model");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `skip(arg, ...)` and `skip_all`
///
/// Leave arguments out of the span: secrets, large values, values that do not implement
/// `serde::Serialize` (capturing one is a compile error that points at the argument).
/// `skip_all` leaves out every argument. Naming something that is not a parameter is a
/// compile error. `self` is never captured, so `skip(self)` is accepted and changes nothing.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// struct Client; // not `Serialize`
///
/// #[trace(skip(client, api_key))]
/// fn call(client: &Client, api_key: &str, prompt: &str) -> usize {
///     let _ = (client, api_key);
///     prompt.len()
/// }
///
/// #[trace(skip_all)]
/// fn embed(client: &Client, text: &str) -> Vec<f32> {
///     let _ = client;
///     vec![text.len() as f32]
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-skip-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| (call(&Client, "sk-secret", "hello"), embed(&Client, "hi")));
/// tracer.flush()?;
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// let inputs = |i: usize| -> Vec<&String> {
///     spans[i].attributes.keys().filter(|k| k.starts_with("honeyhive_inputs")).collect()
/// };
/// assert_eq!(inputs(0), ["honeyhive_inputs.prompt"]);
/// assert!(inputs(1).is_empty());
/// assert_eq!(spans[1].attributes["honeyhive_outputs.result.0"], 2.0);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `redact(arg, ...)`
///
/// Record these arguments as `"[REDACTED]"`: the span shows that the argument was there,
/// never its value (which is not serialised, so it need not implement `Serialize`). For
/// redaction by key name or pattern anywhere in what is recorded, and the defaults that
/// catch API keys and bearer tokens, see the `redact_*` methods of `ConfigBuilder`; for a
/// value that must never be recorded wherever it goes, wrap it in `honeyhive::Secret`.
/// Naming something that is not a captured argument is a compile error.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// #[trace(redact(password))]
/// fn login(user: &str, password: &str) -> bool {
///     !user.is_empty() && password.len() > 8
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-redact-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| login("ada", "correct horse battery"));
/// tracer.flush()?;
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// assert_eq!(spans[0].attributes["honeyhive_inputs.user"], "ada");
/// assert_eq!(spans[0].attributes["honeyhive_inputs.password"], "[REDACTED]");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `skip_output`
///
/// Do not record the return value (the `Ok` value of a `Result`): for large or sensitive
/// outputs, or a type that is not `Serialize`. Errors are still recorded.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// struct Connection; // not `Serialize`
///
/// #[trace(skip_output)]
/// fn connect(url: &str) -> Result<Connection, String> {
///     if url.is_empty() { Err("no url".into()) } else { Ok(Connection) }
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-skipout-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| (connect("db://"), connect("")));
/// tracer.flush()?;
/// let spans = honeyhive::local_store::read_spans(&dir)?;
/// assert!(spans.iter().all(|s| !s.attributes.contains_key("honeyhive_outputs.result")));
/// assert_eq!(spans[1].attributes["honeyhive_error"], "no url");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `metadata(..)`, `config(..)`, `metrics(..)` and `feedback(..)`
///
/// Extra attributes under `honeyhive_metadata.<key>`, `honeyhive_config.<key>`,
/// `honeyhive_metrics.<key>` and `honeyhive_feedback.<key>`, each written
/// `kind(key = value, ...)`. A key is a name or a string literal; a value is any expression of a `serde::Serialize` type,
/// evaluated before the body runs (it may use the arguments) and only when the call is
/// recorded.
///
/// ```
/// # use honeyhive::{Environment, HoneyHiveTracer, trace};
/// const MODEL: &str = "gpt-4o";
///
/// #[trace(
///     event_type = "model",
///     metadata(team = "search", "prompt.chars" = prompt.len()),
///     config(model = MODEL, temperature = 0.2),
///     metrics(prompt_words = prompt.split_whitespace().count()),
///     feedback(reviewed = false)
/// )]
/// fn complete(prompt: &str) -> String {
///     prompt.to_uppercase()
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-meta-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| complete("hello"));
/// tracer.flush()?;
/// let attributes = &honeyhive::local_store::read_spans(&dir)?[0].attributes;
/// assert_eq!(attributes["honeyhive_metadata.team"], "search");
/// assert_eq!(attributes["honeyhive_metadata.prompt.chars"], 5);
/// assert_eq!(attributes["honeyhive_config.model"], "gpt-4o");
/// assert_eq!(attributes["honeyhive_config.temperature"], 0.2);
/// assert_eq!(attributes["honeyhive_metrics.prompt_words"], 1);
/// assert_eq!(attributes["honeyhive_feedback.reviewed"], false);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
///
/// ## `crate = path`
///
/// The path of the `honeyhive` crate, for crates that renamed the dependency
/// (`hh = { package = "honeyhive", ... }` in `Cargo.toml`) or re-export it. Generated code
/// names runtime items only through `<path>::__private`. A string (`crate = "hh"`) is
/// accepted too.
///
/// ```
/// # extern crate honeyhive as hh;
/// # use hh::{Environment, HoneyHiveTracer};
/// #[hh::trace(crate = hh)]
/// fn renamed(x: u8) -> u8 {
///     x
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-crate-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let tracer = HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir).build()?;
/// tracer.in_scope(|| renamed(7));
/// tracer.flush()?;
/// assert_eq!(hh::local_store::read_spans(&dir)?[0].attributes["honeyhive_inputs.x"], 7);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), hh::Error>(())
/// ```
///
/// # Limitations
///
/// * `const fn` cannot be traced (a span cannot be recorded during constant evaluation);
///   trait methods without a body cannot either: trace the implementations.
/// * The body runs in a closure (sync) or an `async` block, so `Location::caller()` of a
///   `#[track_caller]` function sees the function itself.
/// * Functions rewritten by `#[async_trait]` return a boxed future; use native `async fn`
///   in traits, which `#[trace]` supports.
#[proc_macro_attribute]
pub fn trace(args: TokenStream, item: TokenStream) -> TokenStream {
    trace::expand::trace(args.into(), item.into()).into()
}

/// Turns a function into a test that evaluates it over a dataset: `cargo test` runs it on
/// every datapoint, each in its own HoneyHive session, scores every output with the
/// evaluators, prints a summary table, and fails when a threshold is missed or a datapoint
/// fails.
///
/// The function takes the datapoint's `inputs` by value (any `Deserialize + Serialize`
/// type: `input: Question`, not `&Question`) and returns the output (`Serialize`), or a
/// `Result` of it (an `Err` fails that datapoint). It may be `async` (awaited on a
/// multi-thread runtime the test builds itself) or sync (run on a blocking thread): the
/// test needs no async runtime of yours (the same engine outside a test,
/// `honeyhive::experiment::Experiment::run`, is `async` and is awaited in a Tokio runtime
/// of yours). Do not add `#[test]` or `#[tokio::test]`, above or below: the macro makes the
/// test (either is a compile error saying so). A failed experiment panics at the function,
/// so the test's failure points at it. Every span made while a datapoint runs, in
/// `#[trace]` functions at any depth, in tasks started with `honeyhive::spawn`, on threads
/// of `honeyhive::thread`, carries that datapoint's session, run, dataset and datapoint ids.
///
/// Without `HH_API_KEY` the run stays on disk under `target/honeyhive/`, in the run's
/// folder `runs/<run id>/` (its sessions, spans and report); with it, sessions, spans and
/// the run go to HoneyHive (the report stays in the run's folder).
///
/// ```
/// use honeyhive::{evaluator, experiment};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Sum { a: i64, b: i64 }
///
/// /// 1 when the output is the ground truth.
/// #[evaluator]
/// fn exact(output: &i64, ground_truth: &i64) -> bool {
///     output == ground_truth
/// }
///
/// /// How far from zero (a metric with an upper bound).
/// #[evaluator(name = "magnitude")]
/// fn size(output: &i64) -> f64 {
///     output.abs() as f64
/// }
///
/// #[experiment(
///     dataset = "tests/data/sums.jsonl",  // relative to the crate's directory
///     evaluators = [exact, size],
///     threshold(exact >= 1.0, magnitude <= 100.0), // metrics, as the summary table prints them
///     max_concurrency = 4,
/// )]
/// async fn adder(input: Sum) -> i64 {
///     input.a + input.b
/// }
/// # __honeyhive_experiment_adder(); // what the generated `#[test] fn adder()` runs
/// ```
///
/// # Options
/// * `dataset = "path"`: a `.json` array, `.jsonl` or `.csv` file (`inputs.<field>`,
///   `ground_truth.<field>` columns), relative to the crate directory (the one holding its
///   `Cargo.toml`), as the run resolves it; or `dataset_id = "id"`: a dataset hosted on
///   HoneyHive (needs an API key). A file that is not there is a compile error at the path.
///   The file is included in the build (`include_bytes!`, nothing of it in the binary), so
///   cargo rebuilds the test when it appears, changes or goes; a path known only at run
///   time goes to `Experiment::dataset_file`, which checks it when the run starts.
/// * `evaluators = [..]`: `#[evaluator]` functions and built-ins by path
///   (`honeyhive::evaluators::ExactMatch`), or evaluator values
///   (`honeyhive::evaluators::Contains::new("Paris")`). An evaluator whose `output` or
///   `inputs` type differs from the function's is a compile error naming it.
/// * `threshold(metric >= 0.9, other < 2, ..)`: bounds on the mean of metrics (`>=`, `>`,
///   `<=`, `<`), each named as the summary table prints it: an `#[evaluator]`'s `name`
///   (else its function's name), a built-in's metric name (`exact_match` for `ExactMatch`,
///   `contains` for `Contains::new(..)`, or what `.named(..)` gave), or `<metric>_<key>`
///   for an extra score an evaluator reports with `Score::extra`; or a metric the run
///   computes from its model calls: `cost_usd`, `input_tokens`, `output_tokens` (per
///   datapoint) and `model_latency_ms` (per call), e.g. `threshold(cost_usd <= 0.02)`. A
///   name that is not an identifier is quoted: `"answer words" <= 50`. A threshold that
///   names no metric is a
///   compile error at its name, listing the metrics, when the metrics are known at compile
///   time (`#[evaluator]` functions and built-ins named by path); with evaluator values,
///   whose names are known at run time, the test fails with the same message before any
///   datapoint runs. Which extra scores come back is known only from the scores: a
///   threshold on an extra that no datapoint reports fails the test after the run.
/// * `name = "..."`: the run's name (default: the function's).
/// * `max_concurrency = n`: datapoints in flight at once (default 10).
/// * `repetitions = n`: runs every datapoint `n` times, each in its own session.
/// * `timeout = "30s"`: per datapoint (`ms`, `s`, `m`, `h`); a late datapoint fails and
///   its spans end marked cancelled.
/// * `allow_failures = n`: datapoints whose function errs, panics or times out that do not
///   fail the test (default 0).
/// * `allow_evaluator_errors = n`: datapoints each evaluator may leave unscored (every
///   call on them erred, panicked or timed out) without failing the test (default 0). An
///   unscored datapoint has no value for the metric, so it does not count towards the
///   mean; beyond `n` the test fails naming the evaluator and how many datapoints it could
///   not score, whether or not its metric has a threshold.
/// * `ground_truth = Type`: checks every datapoint's ground truth against `Type` before
///   the run.
/// * `aggregate = "average" | "sum" | "min" | "max"`: how HoneyHive aggregates each metric
///   over the run (default `average`), sent with the run and the request for its results
///   (`Experiment::aggregate_function`).
/// * `crate = path`: the path of a renamed `honeyhive` dependency.
///
/// A sync function, a `Result` return, and the options together:
///
/// ```
/// use honeyhive::{evaluator, experiment};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Sum { a: i64, b: i64 }
///
/// #[evaluator]
/// fn exact(output: &i64, ground_truth: Option<&i64>) -> bool {
///     Some(output) == ground_truth
/// }
///
/// #[experiment(
///     name = "checked adder",
///     dataset = "tests/data/sums.jsonl",
///     evaluators = [exact, honeyhive::evaluators::ExactMatch],
///     threshold(exact > 0.5),
///     repetitions = 2,
///     timeout = "5s",
///     allow_failures = 1,
///     allow_evaluator_errors = 1,
///     ground_truth = i64,
///     aggregate = "max",
/// )]
/// fn adder(input: Sum) -> Result<i64, String> {
///     input.a.checked_add(input.b).ok_or_else(|| "overflow".to_owned())
/// }
/// # __honeyhive_experiment_adder();
/// ```
///
/// The same engine without a test: `honeyhive::experiment::Experiment`.
#[proc_macro_attribute]
pub fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    // The file the attribute is in, where a test attribute above it can be found: the
    // compiler expands that one first and hands the function on without it.
    let source = proc_macro::Span::call_site().local_file();
    experiment::expand::experiment(args.into(), item.into(), source.as_deref()).into()
}

/// Makes a scoring function an evaluator of experiments.
///
/// The function reads any of four values, bound by parameter name, in any order:
///
/// | parameter | value |
/// |---|---|
/// | `output: &O` | what the experiment's function returned (the `Ok` value of a `Result`) |
/// | `inputs: &I` | the datapoint's inputs, as the function received them |
/// | `ground_truth: &G` | the datapoint's ground truth, deserialised into `G`; a datapoint without one is this evaluator's error |
/// | `ground_truth: Option<&G>` | the same, `None` when the datapoint has none |
/// | `trace: &honeyhive::Trace` | the spans the datapoint's function made: its tool calls, model calls and span tree, collected in process (only in runs where an evaluator takes it) |
///
/// and returns its score: `bool` (true = 1.0), any integer or float, a label (`String` or
/// `&str`: text that classifies the output, counted per label in the summary),
/// `honeyhive::Score` (a score with a label, an explanation, extra metrics and labels), or
/// a `Result` of one of these whose
/// error implements `Display` (an `Err` is the evaluator's error for that datapoint, shown
/// by its `Display` text; it stops nothing else). An `async fn` is awaited.
///
/// The function stays an ordinary function, callable in unit tests. Next to it the macro
/// generates a hidden struct of the same name (`struct exact_match {}`: structs and
/// functions live in different namespaces) implementing `honeyhive::Evaluator<I, O>`, with
/// `O` and `I` the types behind `output` and `inputs` (any type when the function does
/// not read them). That struct is what `#[experiment(evaluators = [exact_match])]` and
/// `honeyhive::evaluators![exact_match]` name. An evaluator whose `output` or `inputs`
/// type differs from the experiment function's return or input type is a compile error
/// that names the evaluator.
///
/// ```
/// use honeyhive::dataset::Dataset;
/// use honeyhive::{EvalInput, Evaluator, Score, evaluator};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Question { text: String }
///
/// #[derive(PartialEq, Deserialize)]
/// struct Answer { answer: String }
///
/// #[evaluator]
/// fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
///     output == ground_truth
/// }
///
/// #[evaluator]
/// async fn judged(
///     output: &Answer,
///     inputs: &Question,
///     ground_truth: Option<&Answer>,
/// ) -> Result<Score, String> {
///     let agrees = ground_truth.map(|g| g == output);
///     Ok(Score::new(agrees.unwrap_or(true))
///         .explanation(format!("answer to {:?}", inputs.text))
///         .extra("length", output.answer.len()))
/// }
///
/// // An ordinary function:
/// let paris = Answer { answer: "Paris".into() };
/// assert!(exact_match(&paris, &paris));
///
/// // And an evaluator, called as an experiment calls it:
/// let dataset = Dataset::from_json(
///     r#"{"inputs": {"text": "capital of France?"}, "ground_truth": {"answer": "Paris"}}
///        {"inputs": {"text": "capital of Mars?"}}"#,
/// )?;
/// let [with, without] = dataset.datapoints() else { unreachable!() };
/// let question = Question { text: "capital of France?".into() };
/// let input = |ground_truth| EvalInput { output: &paris, inputs: &question, ground_truth, trace: None };
///
/// let exact: &dyn Evaluator<Question, Answer> = &exact_match {};
/// assert_eq!(exact.name(), "exact_match");
/// let score = futures_executor::block_on(exact.evaluate(input(with.ground_truth())));
/// assert_eq!(score, Ok(Score::new(1.0)));
/// // `&G`: a datapoint without ground truth is an error, found before the run starts.
/// assert!(exact.check_ground_truth(without.ground_truth()).unwrap_err().contains("needs ground truth"));
///
/// // `Option<&G>`: `None`.
/// let judge: &dyn Evaluator<Question, Answer> = &judged {};
/// let score = futures_executor::block_on(judge.evaluate(input(without.ground_truth())));
/// let score = score.unwrap();
/// assert_eq!(score.explanation.as_deref(), Some("answer to \"capital of France?\""));
/// assert_eq!(score.extra, [("length".to_owned(), 5.0)]);
/// # Ok::<(), honeyhive::dataset::DatasetError>(())
/// ```
///
/// An evaluator that takes `trace: &honeyhive::Trace` scores how the output was made: the
/// run collects each datapoint's spans for it (see `honeyhive::Trace` for what a tool call
/// and a model call are). Called by hand, it is given a trace built for the test:
///
/// ```
/// use std::collections::BTreeMap;
///
/// use honeyhive::{EvalInput, Evaluator, Trace, evaluator};
///
/// /// At most two searches, and the model called after the last one.
/// #[evaluator]
/// fn searched_then_asked(trace: &Trace) -> bool {
///     let searches = trace.tool_calls().iter().filter(|c| c.name() == "search").count();
///     let last_is_model = trace.spans().last().is_some_and(|s| s.event_type() == "model");
///     searches <= 2 && last_is_model
/// }
///
/// let trace = Trace::builder()
///     .tool("search", BTreeMap::from([("query", "capital of France")]), ["Paris is..."])
///     .model_call("gpt-4o-mini", 120, 8, Some(0.000_023))
///     .build();
/// let e: &dyn Evaluator<(), String> = &searched_then_asked {};
/// assert!(e.params().trace);
/// let input = EvalInput { output: &"Paris".to_owned(), inputs: &(), ground_truth: None, trace: Some(&trace) };
/// assert_eq!(futures_executor::block_on(e.evaluate(input)).unwrap().score, Some(1.0));
/// ```
///
/// Parameters are checked at compile time: any other name is an error that lists the
/// allowed ones, and each is taken by shared reference (`output: &Answer`, not
/// `output: Answer` or `&mut Answer`). Generic evaluators work when every generic
/// parameter appears in the type of `output` or `inputs`, which the experiment decides:
///
/// ```
/// # use honeyhive::{EvaluatorList, evaluator, evaluators};
/// #[evaluator]
/// fn non_empty<T: AsRef<str>>(output: &T) -> bool {
///     !output.as_ref().is_empty()
/// }
///
/// let of_strings: EvaluatorList<(), String> = evaluators![non_empty];
/// let of_strs: EvaluatorList<u32, &'static str> = evaluators![non_empty];
/// # assert_eq!(of_strings.len() + of_strs.len(), 2);
/// ```
///
/// The struct copies the function's visibility and its `#[cfg]` and `#[deprecated]`
/// attributes; the function keeps all its attributes and doc comments.
///
/// # Options
///
/// Unknown, malformed or repeated options are compile errors that list the valid ones.
///
/// ## `name = "..."`
///
/// The metric's name (`honeyhive_metrics.<name>`, the summary table's row, and what
/// `threshold(..)` of `#[experiment]` names: `threshold(answer_length <= 50)` below, not
/// `length`). The default is the function's name.
///
/// ```
/// # use honeyhive::{Evaluator, evaluator};
/// #[evaluator(name = "answer_length")]
/// fn length(output: &String) -> usize {
///     output.len()
/// }
///
/// assert_eq!(Evaluator::<(), String>::name(&length {}), "answer_length");
/// ```
///
/// ## `repeat = n` and `aggregate = "mean" | "median" | "min" | "max"`
///
/// Calls the evaluator `n` times per datapoint (for a noisy judge, such as an LLM) and
/// makes its metric the `aggregate` of the scores (default `"mean"`); every score stays
/// on the evaluator's span. `aggregate` without `repeat` is an error.
///
/// ```
/// # use honeyhive::{Aggregate, Evaluator, evaluator};
/// #[evaluator(repeat = 5, aggregate = "median")]
/// async fn judge(output: &String) -> f64 {
///     output.len() as f64 // an LLM call, in practice
/// }
///
/// let options = Evaluator::<(), String>::options(&judge {});
/// assert_eq!((options.repeat, options.aggregate), (5, Aggregate::Median));
/// ```
///
/// ## `timeout = "30s"`
///
/// The longest one call may take: a whole number of `ms`, `s`, `m` or `h`. A call that
/// takes longer is the evaluator's error for that datapoint. The default is the
/// experiment's evaluator timeout.
///
/// ```
/// # use honeyhive::{Evaluator, evaluator};
/// # use std::time::Duration;
/// #[evaluator(timeout = "1500ms")]
/// async fn slow_judge(output: &String) -> bool {
///     !output.is_empty()
/// }
///
/// let options = Evaluator::<(), String>::options(&slow_judge {});
/// assert_eq!(options.timeout, Some(Duration::from_millis(1500)));
/// ```
///
/// ## `crate = path`
///
/// The path of the `honeyhive` crate, for crates that renamed the dependency or re-export
/// it. Generated code names runtime items only through `<path>::__private`.
///
/// ```
/// # extern crate honeyhive as hh;
/// #[hh::evaluator(crate = hh)]
/// fn exact(output: &String, ground_truth: &String) -> bool {
///     output == ground_truth
/// }
///
/// let list: hh::EvaluatorList<(), String> = hh::evaluators![exact];
/// assert_eq!(list[0].name(), "exact");
/// ```
///
/// # Limitations
///
/// * Evaluators are free functions: not methods (`self`), not `unsafe fn`.
/// * `output: &str` or `output: &[T]` cannot receive an experiment's output: take a
///   reference to the type the function returns (`&String`, `&Vec<T>`).
/// * An `async fn` evaluator's future must be `Send` (it runs on a multi-thread runtime).
#[proc_macro_attribute]
pub fn evaluator(args: TokenStream, item: TokenStream) -> TokenStream {
    evaluator::expand::evaluator(args.into(), item.into()).into()
}
