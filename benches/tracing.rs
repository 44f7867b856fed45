//! Micro-benchmarks of the tracing hot path (`cargo bench --bench tracing`; BENCHMARKS.md).
//!
//! Criterion reports every case first. The figures (ratios against a baseline) are then
//! timed again by this program, the case and its baseline *interleaved* in alternating
//! rounds, and each ratio is the median of the per-round ratios: on a shared 2-core machine
//! the load changes between two criterion runs; it changes much less between two adjacent
//! rounds. Each figure ends as one line `bench <figure> <value> <unit> (target <target>)`.
//!
//! `HH_BENCH_SMOKE=1` shortens everything to a run of a few seconds;
//! `HH_BENCH_FIGURES_ONLY=1` skips the criterion cases.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use honeyhive::model::{ModelCall, Usage};
use honeyhive::opentelemetry::Context;
use honeyhive::opentelemetry::trace::{
    SpanBuilder, SpanKind, TraceContextExt as _, TracerProvider as _,
};
use honeyhive::{Environment, HoneyHiveTracer, trace};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;

const QUESTION: &str = "What is the capital of France?";

/// The work of the benchmarked function: small, as a helper of an LLM app is. Out of line,
/// so every variant runs the very same machine code for it (inlined, its speed varied with
/// the surrounding code's layout by more than the overhead being measured).
#[inline(never)]
fn body(question: &str) -> usize {
    question.split_whitespace().count()
}

/// The function untraced.
#[inline(never)]
fn answer(question: &str) -> usize {
    body(question)
}

/// The same function under `#[trace]`: one captured argument, the output captured.
#[trace]
#[inline(never)]
fn traced_answer(question: &str) -> usize {
    body(question)
}

/// Three traced calls, each inside the one before (a pipeline calling a step calling the
/// model): a criterion case only, for what nesting costs per call.
#[trace]
#[inline(never)]
fn traced_pipeline(question: &str) -> usize {
    traced_step(question)
}

#[trace]
#[inline(never)]
fn traced_step(question: &str) -> usize {
    traced_answer(question)
}

/// A chat message, as a client sends it.
#[derive(serde::Serialize)]
struct Message {
    role: &'static str,
    content: &'static str,
}

const MESSAGES: [Message; 2] = [
    Message {
        role: "system",
        content: "Answer in one sentence.",
    },
    Message {
        role: "user",
        content: QUESTION,
    },
];

/// The model call's stand-in work: the completion of `messages`.
#[inline(never)]
fn complete(messages: &[Message]) -> String {
    let words = messages.iter().map(|m| body(m.content)).sum::<usize>();
    format!("Paris, in {words} words.")
}

/// A model call under `#[trace]`: the messages captured as the input, the completion as
/// the output.
#[trace(event_type = "model")]
#[inline(never)]
fn traced_model_call(messages: &[Message]) -> String {
    complete(messages)
}

/// The same call recorded as a model span: the messages, two parameters, the completion,
/// usage (priced), finish reason, response id and model, as the integration records one.
#[inline(never)]
fn model_span(messages: &[Message]) -> String {
    let mut call = ModelCall::chat("openai", "gpt-4o-mini")
        .messages(messages)
        .temperature(0.2)
        .max_tokens(50)
        .start();
    let completion = complete(messages);
    call.completion(&completion);
    call.usage(Usage::new(12, 6));
    call.finish_reason("stop");
    call.response_id("chatcmpl-1");
    call.response_model("gpt-4o-mini-2024-07-18");
    call.end();
    completion
}

/// The same function under the Rust convention, `tracing::instrument`.
#[tracing::instrument]
#[inline(never)]
fn instrumented_answer(question: &str) -> usize {
    body(question)
}

/// The baseline: the same span made by hand with the OpenTelemetry SDK (started as a child
/// of the current context, current while the body runs, ended), no capture. Timed on the
/// evaluation tracer's own provider (the figure) and on a provider with no processor (a
/// reference: its spans are never exported).
#[inline(never)]
fn manual_answer(tracer: &SdkTracer, question: &str) -> usize {
    let span = SpanBuilder::from_name("traced_answer")
        .with_kind(SpanKind::Internal)
        .start_with_context(tracer, &Context::current());
    let cx = Context::current_with_span(span);
    let out = {
        let _guard = cx.clone().attach();
        body(question)
    };
    cx.span().end();
    out
}

/// A provider with no processor: spans are recorded and dropped at end.
fn bare_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder().build()
}

/// Phase 1: no enabled tracer exists in the process, as with `HH_DISABLED=1` everywhere.
struct Disabled {
    /// A tracer built with `HH_DISABLED=1`.
    tracer: HoneyHiveTracer,
}

impl Disabled {
    fn new() -> Disabled {
        let tracer = HoneyHiveTracer::builder()
            .environment(Environment::from_pairs([("HH_DISABLED", "1")]))
            .session_name("bench")
            .datapoint_id("datapoint-1")
            .build()
            .expect("disabled tracer");
        assert!(!tracer.is_enabled());
        Disabled { tracer }
    }
}

/// Phase 2: an evaluation tracer exists (and the baselines' providers).
struct Setup {
    dir: PathBuf,
    /// Evaluation tracer whose spans go through the whole pipeline to a no-op sink.
    eval: HoneyHiveTracer,
    /// Keeps the local pipeline of the per-datapoint tracers alive, as the run's tracer
    /// does in an experiment (the pipeline is shared by the tracers of one destination).
    run: HoneyHiveTracer,
    /// The SDK tracer of `eval`'s provider: the same queue, the same sink.
    same_provider: SdkTracer,
    /// An SDK tracer whose provider has no processor.
    unexported: SdkTracer,
    tracing: tracing::Dispatch,
    counter: u64,
}

impl Setup {
    fn new() -> Setup {
        let dir = std::env::temp_dir().join(format!("honeyhive-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let eval = HoneyHiveTracer::builder()
            .environment(Environment::empty())
            .local_dir(dir.join("discard"))
            .discard_spans()
            .session_name("bench")
            .run_id("run-1")
            .dataset_id("dataset-1")
            .datapoint_id("datapoint-1")
            .build()
            .expect("evaluation tracer");
        let run = HoneyHiveTracer::builder()
            .environment(local_env(&dir))
            .session_name("run")
            .run_id("run-1")
            .build()
            .expect("run tracer");
        let same_provider = eval.otel_tracer().expect("an enabled tracer").clone();
        let unexported = bare_provider().tracer("bench");
        let layer = tracing_opentelemetry::layer().with_tracer(bare_provider().tracer("bench"));
        let tracing = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        Setup {
            dir,
            eval,
            run,
            same_provider,
            unexported,
            tracing,
            counter: 0,
        }
    }

    /// One datapoint's tracer: built with evaluation ids, session started (local store),
    /// scope entered and left, tracer dropped.
    fn tracer_per_datapoint(&mut self) {
        self.counter += 1;
        let tracer = HoneyHiveTracer::builder()
            .environment(local_env(&self.dir))
            .session_name("datapoint")
            .run_id("run-1")
            .dataset_id("dataset-1")
            .datapoint_id(format!("datapoint-{}", self.counter))
            .build()
            .expect("datapoint tracer");
        tracer.in_scope(|| black_box(&tracer));
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn local_env(dir: &std::path::Path) -> Environment {
    Environment::from_pairs([("HH_LOCAL_DIR", dir.join("local").display().to_string())])
}

fn criterion_disabled(c: &mut Criterion, d: &Disabled) {
    let mut g = c.benchmark_group("disabled");
    g.bench_function("untraced", |b| b.iter(|| answer(black_box(QUESTION))));
    g.bench_function("trace_hh_disabled", |b| {
        d.tracer
            .in_scope(|| b.iter(|| traced_answer(black_box(QUESTION))))
    });
    g.bench_function("trace_no_tracer_built", |b| {
        b.iter(|| traced_answer(black_box(QUESTION)))
    });
    g.finish();
}

fn criterion_enabled(c: &mut Criterion, s: &mut Setup) {
    let mut g = c.benchmark_group("call");
    g.bench_function("untraced", |b| b.iter(|| answer(black_box(QUESTION))));
    g.bench_function("raw_sdk_span_same_provider", |b| {
        b.iter(|| manual_answer(&s.same_provider, black_box(QUESTION)))
    });
    g.bench_function("raw_sdk_span_unexported", |b| {
        b.iter(|| manual_answer(&s.unexported, black_box(QUESTION)))
    });
    g.bench_function("trace_in_evaluation_tracer", |b| {
        s.eval
            .in_scope(|| b.iter(|| traced_answer(black_box(QUESTION))))
    });
    g.bench_function("trace_3_nested_in_evaluation_tracer", |b| {
        s.eval
            .in_scope(|| b.iter(|| traced_pipeline(black_box(QUESTION))))
    });
    g.bench_function("traced_model_call_in_evaluation_tracer", |b| {
        s.eval
            .in_scope(|| b.iter(|| traced_model_call(black_box(&MESSAGES))))
    });
    g.bench_function("model_span_in_evaluation_tracer", |b| {
        s.eval
            .in_scope(|| b.iter(|| model_span(black_box(&MESSAGES))))
    });
    g.bench_function("tracing_instrument_otel", |b| {
        tracing::dispatcher::with_default(&s.tracing, || {
            b.iter(|| instrumented_answer(black_box(QUESTION)))
        })
    });
    g.bench_function("trace_no_tracer_in_context", |b| {
        b.iter(|| traced_answer(black_box(QUESTION)))
    });
    g.finish();
    c.bench_function("tracer_per_datapoint", |b| {
        b.iter(|| s.tracer_per_datapoint())
    });
}

/// Times `n` calls of `f`.
fn time(n: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

/// Runs the cases in alternating rounds of `n` calls each; returns, per case, the
/// nanoseconds per call of every round. `settle` runs, untimed, after every round of a
/// case: flushing the export queue there makes each round start with it empty, so a
/// round is not charged for the spans of the round before (and the queue, 65,536 spans,
/// does not overflow over many rounds of calls made faster than any exporter could take
/// them). The export thread still runs beside the calls of the round itself.
fn interleaved(
    rounds: usize,
    n: u64,
    settle: &dyn Fn(),
    cases: &mut [&mut dyn FnMut(u64) -> Duration],
) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::with_capacity(rounds); cases.len()];
    for case in cases.iter_mut() {
        case(n / 4 + 1); // warm-up
        settle();
    }
    for round in 0..rounds {
        // Alternate the order too, so neither case always runs first.
        for k in 0..cases.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                cases.len() - 1 - k
            };
            let d = cases[i](n);
            settle();
            out[i].push(d.as_nanos() as f64 / n as f64);
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Median over rounds of `a[i] / b[i]`.
fn ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(a, b)| a / b).collect())
}

struct Figure {
    name: &'static str,
    value: f64,
    unit: &'static str,
    target: &'static str,
    detail: String,
}

fn rounds(smoke: bool) -> (usize, u64) {
    if smoke { (5, 2_000) } else { (41, 100_000) }
}

/// Phase 1 figure: `#[trace]` with `HH_DISABLED=1` against the untraced function.
fn disabled_figures(d: &Disabled, smoke: bool) -> Vec<Figure> {
    let (rounds, n) = rounds(smoke);
    let q = || black_box(QUESTION);
    let mut untraced = |n| time(n, || _ = black_box(answer(q())));
    let mut off = |n| {
        d.tracer
            .in_scope(|| time(n, || _ = black_box(traced_answer(q()))))
    };
    let t = interleaved(rounds, n, &|| (), &mut [&mut untraced, &mut off]);
    vec![Figure {
        name: "disabled_hh_disabled_vs_untraced",
        value: ratio(&t[1], &t[0]),
        unit: "x",
        target: "<= 1.1",
        detail: format!(
            "#[trace] in a HH_DISABLED=1 tracer's scope {:.1} ns/call, untraced {:.1} ns/call \
             (no enabled tracer in the process)",
            median(t[1].clone()),
            median(t[0].clone())
        ),
    }]
}

/// Phase 2 figures.
fn enabled_figures(s: &mut Setup, smoke: bool) -> Vec<Figure> {
    let (rounds, n) = rounds(smoke);
    let q = || black_box(QUESTION);
    let eval = s.eval.clone();
    let unexported = s.unexported.clone();
    let same = s.same_provider.clone();
    let dispatch = s.tracing.clone();
    let mut untraced = |n| time(n, || _ = black_box(answer(q())));
    let mut raw = |n| time(n, || _ = black_box(manual_answer(&unexported, q())));
    let mut raw_same = |n| time(n, || _ = black_box(manual_answer(&same, q())));
    // A context holding the tracer exists (as while another thread runs in its scope),
    // none is current here.
    let mut held_elsewhere = |n| {
        let held = eval.context();
        let t = time(n, || _ = black_box(traced_answer(q())));
        drop(held);
        t
    };
    let mut ours = |n| eval.in_scope(|| time(n, || _ = black_box(traced_answer(q()))));
    let mut theirs = |n| {
        tracing::dispatcher::with_default(&dispatch, || {
            time(n, || _ = black_box(instrumented_answer(q())))
        })
    };
    let mut no_tracer = |n| time(n, || _ = black_box(traced_answer(q())));
    let settle = || s.eval.flush().expect("flush");
    let t = interleaved(
        rounds,
        n,
        &settle,
        &mut [
            &mut untraced,
            &mut raw,
            &mut ours,
            &mut theirs,
            &mut no_tracer,
            &mut raw_same,
            &mut held_elsewhere,
        ],
    );
    let ns = |i: usize| median(t[i].clone());
    let mut figures = vec![
        Figure {
            name: "traced_call_vs_raw_sdk",
            value: ratio(&t[2], &t[5]),
            unit: "x",
            target: "<= 1.5",
            detail: format!(
                "#[trace] in an evaluation tracer {:.0} ns/call, the span by hand with the raw \
                 SDK on the same provider (through the same queue to the same sink; no \
                 stamp, no capture) {:.0} ns/call",
                ns(2),
                ns(5)
            ),
        },
        Figure {
            name: "traced_call_vs_unexported_sdk_span",
            value: ratio(&t[2], &t[1]),
            unit: "x",
            target: "none: reference",
            detail: format!(
                "#[trace] in an evaluation tracer {:.0} ns/call, the span by hand on a provider \
                 with no processor (never exported) {:.0} ns/call",
                ns(2),
                ns(1)
            ),
        },
        Figure {
            name: "traced_call_vs_tracing_opentelemetry",
            value: ratio(&t[2], &t[3]),
            unit: "x",
            target: "<= 0.7",
            detail: format!(
                "#[trace] {:.0} ns/call, tracing::instrument + tracing-opentelemetry {:.0} ns/call",
                ns(2),
                ns(3)
            ),
        },
        Figure {
            name: "disabled_no_tracer_vs_untraced",
            value: ratio(&t[4], &t[0]),
            unit: "x",
            target: "<= 1.1",
            detail: format!(
                "#[trace] with no tracer in context {:.1} ns/call, untraced {:.1} ns/call \
                 (an enabled tracer exists, no context holds it)",
                ns(4),
                ns(0)
            ),
        },
        Figure {
            name: "disabled_no_tracer_here_one_entered_elsewhere",
            value: ratio(&t[6], &t[0]),
            unit: "x",
            target: "<= 1.1",
            detail: format!(
                "#[trace] with no tracer in this thread's context while another context holds \
                 one {:.1} ns/call, untraced {:.1} ns/call",
                ns(6),
                ns(0)
            ),
        },
    ];
    figures.push(model_figure(s, smoke));
    let per_datapoint = {
        let (rounds, n) = if smoke { (3, 200) } else { (21, 2_000) };
        let mut v = Vec::with_capacity(rounds);
        s.tracer_per_datapoint();
        for _ in 0..rounds {
            let d = time(n, || s.tracer_per_datapoint());
            v.push(d.as_nanos() as f64 / n as f64 / 1000.0);
        }
        median(v)
    };
    figures.push(Figure {
        name: "tracer_per_datapoint",
        value: per_datapoint,
        unit: "us",
        target: "<= 20",
        detail: "build (evaluation ids) + session start (local store) + enter/leave scope + drop"
            .into(),
    });
    figures
}

/// A model span against a `#[trace]` span of the same call, each timed against the raw
/// SDK span on the same provider in the same rounds.
fn model_figure(s: &Setup, smoke: bool) -> Figure {
    let (rounds, n) = rounds(smoke);
    let m = || black_box(&MESSAGES);
    let eval = s.eval.clone();
    let same = s.same_provider.clone();
    let mut raw_same = |n| time(n, || _ = black_box(manual_answer(&same, QUESTION)));
    let mut traced = |n| eval.in_scope(|| time(n, || _ = black_box(traced_model_call(m()))));
    let mut model = |n| eval.in_scope(|| time(n, || _ = black_box(model_span(m()))));
    let settle = || s.eval.flush().expect("flush");
    let t = interleaved(
        rounds,
        n,
        &settle,
        &mut [&mut raw_same, &mut traced, &mut model],
    );
    let ns = |i: usize| median(t[i].clone());
    Figure {
        name: "model_span_vs_traced_call",
        value: ratio(&t[2], &t[1]),
        unit: "x",
        target: "<= 1.5",
        detail: format!(
            "a chat call recorded as a model span (ModelCall: 2 messages, 2 parameters,              completion, usage priced, finish reason, response id and model) {:.0} ns/call =              {:.2}x the raw SDK span; the same call under #[trace] (messages in, completion              out) {:.0} ns/call = {:.2}x; the raw SDK span on the same provider {:.0} ns/call",
            ns(2),
            ratio(&t[2], &t[0]),
            ns(1),
            ratio(&t[1], &t[0]),
            ns(0)
        ),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = std::env::var("HH_BENCH_SMOKE").is_ok_and(|v| v == "1");
    // Figures only under `cargo bench` (`--bench`): not when criterion only tests (`cargo
    // test` runs each case once), lists, or profiles (`--profile-time`).
    let listing = !args.iter().any(|a| a == "--bench")
        || args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a == "--profile-time");
    // `HH_BENCH_FIGURES_ONLY=1`: skip the criterion cases, time the figures only.
    let run_criterion = !std::env::var("HH_BENCH_FIGURES_ONLY").is_ok_and(|v| v == "1");

    let c = Criterion::default();
    let c = if smoke {
        c.warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
    } else {
        c.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
    };
    let mut c = c.configure_from_args();
    let mut figures = Vec::new();

    // Phase 1, before any enabled tracer exists.
    let disabled = Disabled::new();
    if run_criterion {
        criterion_disabled(&mut c, &disabled);
    }
    if !listing {
        figures.extend(disabled_figures(&disabled, smoke));
    }

    // Phase 2.
    let mut s = Setup::new();
    if run_criterion {
        criterion_enabled(&mut c, &mut s);
        c.final_summary();
    }
    if listing {
        return;
    }
    figures.extend(enabled_figures(&mut s, smoke));
    s.eval.flush().expect("flush");
    let stats = s.eval.export_stats();
    assert_eq!(stats.dropped_spans, 0, "the benchmark must not drop spans");
    assert!(stats.exported_spans > 0);
    let _ = &s.run;
    println!();
    for f in &figures {
        println!("  {}: {}", f.name, f.detail);
    }
    for f in &figures {
        println!(
            "bench {} {:.3} {} (target {})",
            f.name, f.value, f.unit, f.target
        );
    }
}
