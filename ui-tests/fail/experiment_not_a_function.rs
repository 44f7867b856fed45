use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl")]
struct Qa;

fn main() {}
