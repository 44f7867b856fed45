use honeyhive::evaluator;

#[evaluator(nmae = "exact")]
fn typo(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(repeats = 3)]
fn plural(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(name = "a", name = "b")]
fn duplicate(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(name = exact)]
fn unquoted(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(repeat = 0)]
fn never(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(repeat = "3", aggregate = "average")]
fn quoted_and_average(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(aggregate = "max")]
fn aggregate_alone(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(timeout = 30)]
fn no_unit(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(timeout = "1.5s")]
fn fraction(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(timeout = "10 seconds")]
fn spelled_out(output: &String) -> bool {
    output.is_empty()
}

#[evaluator(crate = 3)]
fn bad_crate(output: &String) -> bool {
    output.is_empty()
}

fn main() {}
