use honeyhive::evaluator;

// The spans as something else than `honeyhive::Trace`.
#[evaluator]
fn tool_names(trace: &Vec<String>, output: &String) -> bool {
    trace.contains(output)
}

// `Trace` of another crate (OpenTelemetry has no such type; a user's own).
struct Trace;

#[evaluator]
async fn own_trace(trace: &Trace) -> bool {
    let _ = trace;
    true
}

fn main() {}
