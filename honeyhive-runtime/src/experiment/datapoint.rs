//! One datapoint of a run: its tracer and session, the function inside the root span,
//! the evaluators as child spans, the session enrichment.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::TaskFn;
use super::report::{DatapointResult, EvaluationResult};
use crate::attributes as attr;
use crate::dataset::Dataset;
use crate::model::{self, scope::ModelScope};
use crate::trace::call::{PANIC_TYPE, exception_attributes, panic_message};
use crate::trace::capture::Attributes;
use crate::{Config, Enrichment, EvalInput, Evaluator, HoneyHiveTracer, Trace};

/// What every datapoint of a run shares.
pub(crate) struct Shared<I, O> {
    pub(crate) name: String,
    pub(crate) config: Config,
    pub(crate) run_id: String,
    pub(crate) dataset: Arc<Dataset>,
    pub(crate) task: TaskFn<I, O>,
    pub(crate) evaluators: Vec<Box<dyn Evaluator<I, O>>>,
    /// Whether an evaluator reads the trace: each datapoint's spans are then collected
    /// as they end (and only then).
    pub(crate) collect_trace: bool,
    pub(crate) evaluator_permits: Semaphore,
    /// Datapoint functions that may run at once: `max_concurrency`. A datapoint gives its
    /// permit back as soon as its function returns: its evaluators (bounded by
    /// `evaluator_permits`) and its session update then overlap the next function, instead
    /// of delaying it.
    pub(crate) running: Semaphore,
    pub(crate) timeout: Option<Duration>,
    pub(crate) evaluator_timeout: Duration,
}

/// One unit of work: a datapoint (its position in the dataset) and which repetition.
pub(crate) struct Work {
    pub(crate) position: usize,
    pub(crate) repetition: u32,
}

/// What a datapoint produced beyond its [`DatapointResult`]: written to the report's
/// `datapoints.jsonl` with it (next to the datapoint's inputs and ground truth, read from
/// the dataset), then dropped, so the run does not hold it.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output: Option<Value>,
    /// Evaluator name to the explanation it gave.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub(crate) explanations: serde_json::Map<String, Value>,
    /// The run this result was taken from instead of running it (`HH_RERUN=failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) merged_from: Option<String>,
}

/// The datapoint's inputs (as in the dataset) and the function's output, as JSON: what
/// evaluator spans record, without serialising the typed values again.
#[derive(Clone, Copy)]
struct Json<'a> {
    inputs: &'a Value,
    output: &'a Value,
}

/// A span of the run, or nothing when tracing is disabled.
struct RunSpan {
    cx: Context,
    live: bool,
}

impl RunSpan {
    fn start(
        tracer: &HoneyHiveTracer,
        parent: &Context,
        name: String,
        attrs: Attributes,
    ) -> RunSpan {
        match tracer.otel_tracer() {
            Some(otel) => {
                let span = otel.build_with_context(
                    SpanBuilder::from_name(name)
                        .with_kind(SpanKind::Internal)
                        .with_attributes(with_truncated(attrs)),
                    parent,
                );
                RunSpan {
                    cx: parent.with_span(span),
                    live: true,
                }
            }
            None => RunSpan {
                cx: parent.clone(),
                live: false,
            },
        }
    }

    fn set(&self, attrs: Attributes) {
        if self.live {
            self.cx.span().set_attributes(with_truncated(attrs));
        }
    }

    /// Error status, `honeyhive_error` and one `exception` event.
    fn fail(&self, exception_type: &'static str, message: &str) {
        if !self.live {
            return;
        }
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(attr::ERROR, message.to_owned()));
        span.add_event("exception", exception_attributes(exception_type, message));
        span.set_status(Status::error(message.to_owned()));
    }

    fn end(self) {
        if self.live {
            self.cx.span().end();
        }
    }
}

/// An integer attribute value (counts beyond `i64` are clamped).
fn int(n: u64) -> opentelemetry::Value {
    opentelemetry::Value::I64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// An attribute value as the session's JSON metric.
fn value_json(value: &opentelemetry::Value) -> Value {
    match value {
        opentelemetry::Value::I64(n) => Value::from(*n),
        opentelemetry::Value::F64(f) => Value::from(*f),
        other => Value::String(other.as_str().into_owned()),
    }
}

fn with_truncated(mut attrs: Attributes) -> Vec<KeyValue> {
    if let Some(t) = attrs.truncated_attribute() {
        attrs.values.push(t);
    }
    attrs.values
}

fn flattened(key: &str, value: &impl Serialize, into: &mut Attributes) {
    // A value that fails to serialise here already failed when the report was built from
    // it; the span just goes without it.
    let _ = into.capture(key, value);
}

/// Runs one datapoint end to end. Never fails: every failure is in the result.
pub(crate) async fn run<I, O>(shared: Arc<Shared<I, O>>, work: Work) -> (DatapointResult, Details)
where
    I: DeserializeOwned + Send + Sync + 'static,
    O: Serialize + Send + Sync + 'static,
{
    let Work {
        position: index,
        repetition,
    } = work;
    let datapoint = &shared.dataset.datapoints()[index];
    let datapoint_id = datapoint.id().to_owned();
    let inputs_json = datapoint.inputs();
    let ground_truth = datapoint.ground_truth();
    let mut result = DatapointResult {
        index,
        line: datapoint.location().file_line(),
        datapoint_id: datapoint_id.clone(),
        repetition,
        session_id: String::new(),
        error: None,
        evaluations: Vec::new(),
        duration_ms: 0.0,
        model: None,
        evaluation_model: None,
    };
    let mut details = Details::default();
    let tracer = HoneyHiveTracer::builder()
        .config(shared.config.clone())
        .session_name(shared.name.clone())
        .run_id(shared.run_id.clone())
        .dataset_id(shared.dataset.id())
        .datapoint_id(datapoint_id)
        .inputs(inputs_json)
        .start()
        .await;
    let tracer = match tracer {
        Ok(t) => t,
        Err(e) => {
            result.error = Some(format!("the datapoint's session could not start: {e}"));
            return (result, details);
        }
    };
    result.session_id = tracer.session_id().to_owned();
    let Ok(running) = shared.running.acquire().await else {
        result.error = Some("the run was shut down".to_owned());
        return (result, details);
    };

    // The spans of this datapoint's session, copied as they end, for the evaluators
    // that read the trace: from before the root span starts until the function returns.
    let collection = shared
        .collect_trace
        .then(|| tracer.pipeline())
        .flatten()
        .map(|pipeline| pipeline.queue().collectors().start(tracer.session_id()));

    let mut attrs = Attributes::default();
    attrs.values.push(KeyValue::new(attr::EVENT_TYPE, "chain"));
    attrs
        .values
        .push(KeyValue::new(attr::EVENT_NAME, shared.name.clone()));
    attrs.flatten(attr::INPUTS, inputs_json);
    let root = RunSpan::start(&tracer, &tracer.context(), shared.name.clone(), attrs);

    // Checked against `I` before the run started; read again now (see `runner::prepare`).
    let inputs = match I::deserialize(inputs_json) {
        Ok(inputs) => inputs,
        Err(e) => {
            let message = format!("the inputs could not be read: {e}");
            root.fail("error", &message);
            root.end();
            result.error = Some(message);
            return (result, details);
        }
    };

    // The function, with the root span's context current on every poll of its future,
    // and a model scope of its own in it: its model calls add up there (its evaluators',
    // outside it, do not).
    let models = ModelScope::new(repetition);
    let clock = Instant::now();
    let call = AssertUnwindSafe((shared.task)(inputs))
        .catch_unwind()
        .with_context(models.enter(&root.cx));
    let outcome = match shared.timeout {
        Some(limit) => tokio::time::timeout(limit, call)
            .await
            .map_err(|_| ("timeout", format!("timed out after {limit:?}"))),
        None => Ok(call.await),
    };
    let outcome = match outcome {
        Ok(Ok(Ok(output))) => Ok(output),
        Ok(Ok(Err(error))) => Err(("error", error)),
        Ok(Err(panic)) => Err((PANIC_TYPE, format!("panicked: {}", panic_message(&*panic)))),
        Err(timeout) => Err(timeout),
    };
    result.duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
    let trace = collection.map(|c| Trace::from_spans(c.finish()));
    // The next datapoint's function may start now; letting it run first (it was woken
    // onto this worker) puts its model call in flight before this datapoint's evaluators
    // take their turn on the CPU.
    drop(running);
    tokio::task::yield_now().await;

    let mut enrichment = Enrichment::new();
    if let Some(gt) = ground_truth {
        enrichment = enrichment.feedback("ground_truth", gt);
    }
    let totals = models.totals();
    if totals.calls > 0 {
        enrichment = model_metrics("", &totals, &root, enrichment);
        result.model = Some(totals);
    }
    match outcome {
        Err((kind, message)) => {
            root.fail(kind, &message);
            enrichment = enrichment.metadata("error", &message);
            result.error = Some(message);
        }
        Ok(output) => {
            let output_json = serde_json::to_value(&output).unwrap_or_else(|e| {
                Value::String(format!("<the output could not be serialised: {e}>"))
            });
            let mut out = Attributes::default();
            out.flatten(attr::OUTPUT_RESULT, &output_json);
            out.values
                .push(KeyValue::new(attr::DURATION_MS, result.duration_ms));
            root.set(out);
            enrichment = enrichment.outputs(&output_json);

            // Evaluators read the inputs after the function consumed its own copy: read
            // them again from the JSON that was already checked against `I`.
            match I::deserialize(inputs_json) {
                Ok(eval_inputs) => {
                    let input = EvalInput {
                        output: &output,
                        inputs: &eval_inputs,
                        ground_truth,
                        trace: trace.as_ref(),
                    };
                    let json = Json {
                        inputs: inputs_json,
                        output: &output_json,
                    };
                    // The evaluators' model calls (judges) add up in a scope of their own:
                    // evaluation cost, apart from the function's.
                    let judges = ModelScope::new(repetition);
                    let evaluations =
                        futures_util::future::join_all(shared.evaluators.iter().map(|e| {
                            evaluate(&shared, &tracer, &root.cx, &judges, e.as_ref(), input, json)
                        }))
                        .await;
                    let spent = judges.totals();
                    if spent.calls > 0 {
                        enrichment = model_metrics("evaluation_", &spent, &root, enrichment);
                        result.evaluation_model = Some(spent);
                    }
                    let mut metrics = Attributes::default();
                    for (e, explanation) in &evaluations {
                        for (name, value) in e.metrics() {
                            metrics
                                .values
                                .push(KeyValue::new(format!("{}.{name}", attr::METRICS), value));
                            enrichment = enrichment.metric(name, value);
                        }
                        for (name, text) in e.label_metrics() {
                            metrics.values.push(KeyValue::new(
                                format!("{}.{name}", attr::METRICS),
                                text.to_owned(),
                            ));
                            enrichment = enrichment.metric(name, text);
                        }
                        if let Some(text) = explanation {
                            metrics.values.push(KeyValue::new(
                                format!("{}.{}_explanation", attr::METRICS, e.name),
                                text.clone(),
                            ));
                            details
                                .explanations
                                .insert(e.name.clone(), Value::String(text.clone()));
                        }
                    }
                    root.set(metrics);
                    result.evaluations = evaluations.into_iter().map(|(e, _)| e).collect();
                }
                Err(e) => {
                    let message =
                        format!("the inputs could not be read again for the evaluators: {e}");
                    root.fail("error", &message);
                    result.error = Some(message);
                }
            }
            details.output = Some(output_json);
        }
    }
    tracer.enrich_session(enrichment);
    root.end();
    (result, details)
}

/// The metrics of a datapoint's model calls (`prefix` empty for the function's,
/// `evaluation_` for its evaluators'), on its root span and in its session's enrichment.
fn model_metrics(
    prefix: &str,
    totals: &model::ModelTotals,
    root: &RunSpan,
    mut enrichment: Enrichment,
) -> Enrichment {
    let metrics = [
        (model::COST_USD, opentelemetry::Value::F64(totals.cost_usd)),
        (model::INPUT_TOKENS, int(totals.input_tokens)),
        (model::OUTPUT_TOKENS, int(totals.output_tokens)),
        (model::TOTAL_TOKENS, int(totals.total_tokens())),
        ("model_calls", int(totals.calls)),
    ];
    let mut attrs = Attributes::default();
    for (name, value) in metrics {
        attrs.values.push(KeyValue::new(
            format!("{}.{prefix}{name}", attr::METRICS),
            value.clone(),
        ));
        enrichment = enrichment.metric(format!("{prefix}{name}"), value_json(&value));
    }
    root.set(attrs);
    enrichment
}

/// One evaluator on one datapoint: its span (a child of the root), `repeat` calls under the
/// run's evaluator permits, each with a timeout and its panics caught, in the evaluators'
/// model scope `judges`.
async fn evaluate<I, O>(
    shared: &Shared<I, O>,
    tracer: &HoneyHiveTracer,
    root: &Context,
    judges: &Arc<ModelScope>,
    evaluator: &dyn Evaluator<I, O>,
    input: EvalInput<'_, I, O>,
    json: Json<'_>,
) -> (EvaluationResult, Option<String>)
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let name = evaluator.name().into_owned();
    let params = evaluator.params();
    let options = evaluator.options();
    let limit = options.timeout.unwrap_or(shared.evaluator_timeout);

    let mut attrs = Attributes::default();
    attrs.values.push(KeyValue::new(attr::EVENT_TYPE, "chain"));
    attrs
        .values
        .push(KeyValue::new(attr::EVENT_NAME, name.clone()));
    attrs
        .values
        .push(KeyValue::new(attr::GEN_AI_EVALUATION_NAME, name.clone()));
    if params.output {
        attrs.flatten(&format!("{}.output", attr::INPUTS), json.output);
    }
    if params.inputs {
        attrs.flatten(&format!("{}.inputs", attr::INPUTS), json.inputs);
    }
    if let (true, Some(gt)) = (params.ground_truth, input.ground_truth) {
        attrs.flatten(&format!("{}.ground_truth", attr::INPUTS), gt);
    }
    // The trace goes to the evaluators that ask for it; their span says what it held.
    let input = EvalInput {
        trace: input.trace.filter(|_| params.trace),
        ..input
    };
    if let Some(trace) = input.trace {
        let summary = serde_json::json!({
            "spans": trace.len(),
            "tool_calls": trace.tool_names(),
            "model_calls": trace.model_calls().len(),
        });
        attrs.flatten(&format!("{}.trace", attr::INPUTS), &summary);
    }
    let span = RunSpan::start(tracer, root, name.clone(), attrs);
    let in_scope = judges.enter(&span.cx);

    let calls = (0..options.repeat.max(1)).map(|_| {
        let cx = in_scope.clone();
        async move {
            let Ok(_permit) = shared.evaluator_permits.acquire().await else {
                return Err(("error", "the run was shut down".to_owned()));
            };
            let call = AssertUnwindSafe(evaluator.evaluate(input))
                .catch_unwind()
                .with_context(cx);
            match tokio::time::timeout(limit, call).await {
                Ok(Ok(result)) => result.map_err(|e| ("error", e)),
                Ok(Err(panic)) => {
                    Err((PANIC_TYPE, format!("panicked: {}", panic_message(&*panic))))
                }
                Err(_) => Err(("timeout", format!("timed out after {limit:?}"))),
            }
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;

    let mut scores = Vec::new();
    let mut errors = Vec::new();
    // The kind of the first failure (`error`, `panic`, `timeout`), for the span.
    let mut first_kind = None;
    let mut explanation = None;
    let mut extra: Vec<(String, Vec<f64>)> = Vec::new();
    let mut label_votes: Vec<String> = Vec::new();
    let mut extra_labels: Vec<(String, Vec<String>)> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(score) => {
                scores.extend(score.score);
                label_votes.extend(score.label);
                if explanation.is_none() {
                    explanation = score.explanation;
                }
                for (key, value) in score.extra {
                    match extra.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, values)) => values.push(value),
                        None => extra.push((key, vec![value])),
                    }
                }
                for (key, text) in score.labels {
                    match extra_labels.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, texts)) => texts.push(text),
                        None => extra_labels.push((key, vec![text])),
                    }
                }
            }
            Err((kind, message)) => {
                first_kind.get_or_insert(kind);
                errors.push(message);
            }
        }
    }
    let aggregate = options.aggregate;
    let score = aggregate.apply(&scores);
    let extra: Vec<(String, f64)> = extra
        .into_iter()
        .filter_map(|(k, values)| aggregate.apply(&values).map(|v| (k, v)))
        .collect();
    // Labels are not numbers: repeated calls settle on the most frequent one.
    let label = most_frequent(&label_votes);
    let labels: Vec<(String, String)> = extra_labels
        .into_iter()
        .filter_map(|(k, texts)| most_frequent(&texts).map(|t| (k, t)))
        .collect();

    let mut out = Attributes::default();
    if let Some(score) = score {
        out.values
            .push(KeyValue::new(format!("{}.score", attr::OUTPUTS), score));
        out.values
            .push(KeyValue::new(format!("{}.{name}", attr::METRICS), score));
        out.values
            .push(KeyValue::new(attr::GEN_AI_EVALUATION_SCORE_VALUE, score));
    }
    if options.repeat > 1 {
        flattened(&format!("{}.scores", attr::OUTPUTS), &scores, &mut out);
        out.values.push(KeyValue::new(
            format!("{}.aggregate", attr::OUTPUTS),
            aggregate.name(),
        ));
    }
    if let Some(text) = &explanation {
        out.values.push(KeyValue::new(
            format!("{}.explanation", attr::OUTPUTS),
            text.clone(),
        ));
        out.values.push(KeyValue::new(
            format!("{}.{name}_explanation", attr::METRICS),
            text.clone(),
        ));
    }
    for (key, value) in &extra {
        out.values.push(KeyValue::new(
            format!("{}.{name}_{key}", attr::METRICS),
            *value,
        ));
    }
    if let Some(label) = &label {
        out.values.push(KeyValue::new(
            attr::GEN_AI_EVALUATION_SCORE_LABEL,
            label.clone(),
        ));
        out.values.push(KeyValue::new(
            format!("{}.label", attr::OUTPUTS),
            label.clone(),
        ));
    }
    if options.repeat > 1 && !label_votes.is_empty() {
        flattened(&format!("{}.labels", attr::OUTPUTS), &label_votes, &mut out);
    }
    let result = EvaluationResult {
        name,
        score,
        scores,
        extra,
        label,
        labels,
        errors,
    };
    for (metric, text) in result.label_metrics() {
        out.values.push(KeyValue::new(
            format!("{}.{metric}", attr::METRICS),
            text.to_owned(),
        ));
    }
    span.set(out);
    if result.score.is_none() && result.label.is_none() {
        let message = result
            .errors
            .first()
            .cloned()
            .unwrap_or_else(|| "the evaluator returned no score".to_owned());
        span.fail(first_kind.unwrap_or("error"), &message);
    } else if !result.errors.is_empty() {
        // Some repeats failed: the metric stands on the others; the span says so.
        span.set({
            let mut a = Attributes::default();
            flattened(&format!("{}.errors", attr::OUTPUTS), &result.errors, &mut a);
            a
        });
    }
    span.end();
    (result, explanation)
}

/// The most frequent of `texts`, the first seen on a tie; `None` for none.
fn most_frequent(texts: &[String]) -> Option<String> {
    let mut best: Option<(&String, usize)> = None;
    for text in texts {
        let count = texts.iter().filter(|t| *t == text).count();
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((text, count));
        }
    }
    best.map(|(text, _)| text.clone())
}
