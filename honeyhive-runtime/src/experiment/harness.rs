//! The runtime side of `#[experiment]`: what the generated test calls. Not a stable API.

use std::future::Future;

use super::ExperimentReport;
use crate::Result;

/// Runs an experiment as a test: on its own multi-thread runtime (the generated test is a
/// plain `#[test]`, so no runtime is nested), then panics with the reasons when the run
/// could not start, a threshold is missed, or more datapoints failed than allowed. The
/// panic is located at the caller: the `#[experiment]` function.
#[track_caller]
pub fn run_test<F>(experiment: F)
where
    F: Future<Output = Result<ExperimentReport>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("honeyhive-experiment")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("#[experiment] could not start its tokio runtime: {e}"),
    };
    let outcome = runtime.block_on(experiment);
    match outcome {
        Err(e) => panic!("the experiment could not run: {e}"),
        Ok(report) => {
            if let Err(failure) = report.check() {
                panic!("{failure}");
            }
        }
    }
}

/// Runs a sync experiment function off the async workers, with the datapoint's context,
/// and hands its panic on to the runner (which records it on the datapoint).
pub async fn blocking<O, F>(f: F) -> O
where
    F: FnOnce() -> O + Send + 'static,
    O: Send + 'static,
{
    match crate::spawn_blocking(f).await {
        Ok(output) => output,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the experiment function's thread was cancelled: {e}"),
        },
    }
}
