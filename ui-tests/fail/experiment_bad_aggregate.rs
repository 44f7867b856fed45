use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl", aggregate = "mean")]
async fn mean(input: String) -> String {
    input
}

#[experiment(dataset = "tests/data/qa.jsonl", aggregate = "median")]
async fn median(input: String) -> String {
    input
}

#[experiment(dataset = "tests/data/qa.jsonl", aggregate = max)]
async fn not_a_string(input: String) -> String {
    input
}

fn main() {}
