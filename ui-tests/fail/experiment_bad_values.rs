use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.txt", max_concurrency = 0, timeout = "30 seconds")]
async fn qa(input: String) -> String {
    input
}

#[experiment(evaluators = [])]
async fn no_dataset(input: String) -> String {
    input
}

fn main() {}
