use honeyhive::{Trace, evaluator};

// By value: the trace is shared by the run's evaluators.
#[evaluator]
fn owned(trace: Trace) -> bool {
    trace.is_empty()
}

// An evaluator that takes the trace is always given it.
#[evaluator]
fn optional(trace: Option<&Trace>) -> bool {
    trace.is_some()
}

// It reads the trace, it cannot change it.
#[evaluator]
fn mutates(trace: &mut honeyhive::Trace) -> bool {
    trace.is_empty()
}

// Another name for it.
#[evaluator]
fn named(spans: &Trace) -> bool {
    spans.is_empty()
}

fn main() {}
