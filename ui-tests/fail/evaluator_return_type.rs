use honeyhive::evaluator;

// Not a score (a list of them is not one either).
#[evaluator]
fn scores(output: &String) -> Vec<f64> {
    vec![output.len() as f64]
}

// A `Result` whose `Ok` value is not a score.
#[evaluator]
async fn judged(output: &String) -> Result<Option<f64>, String> {
    Ok(Some(output.len() as f64))
}

// An error without `Display`.
#[derive(Debug)]
struct Opaque;

#[evaluator]
fn fallible(output: &String) -> Result<bool, Opaque> {
    if output.is_empty() { Err(Opaque) } else { Ok(true) }
}

// No return type at all.
#[evaluator]
fn nothing(output: &String) {
    let _ = output;
}

fn main() {}
