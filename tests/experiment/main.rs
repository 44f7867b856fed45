//! Integration tests of experiments: the `Experiment` engine and `#[experiment]`, over
//! real HTTP to the in-repo test server on 127.0.0.1, or in local mode (one binary, so the
//! suite links once).

mod baselines;
#[path = "../runtime/common.rs"]
#[allow(dead_code)]
mod common;
mod compare;
mod concurrency;
mod datasets;
mod exporters;
mod faults;
mod fixtures;
mod flow;
mod labels;
mod local_mode;
mod macro_tests;
mod redaction;
mod reports;
mod stored_results;
mod support;
mod thresholds;
mod unreachable;
mod upload;
mod webdriver;
