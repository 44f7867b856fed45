#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(metrics(score = 1, score = 2))]
fn duplicate_metric() {}

#[trace(feedback())]
fn empty_feedback() {}

#[trace(metrics = 1)]
fn metrics_without_list() {}

#[trace(feedback(liked))]
fn feedback_without_value() {}

#[trace(metric(score = 1))]
fn misspelled_option() {}

#[trace(event_type = "sesion")]
fn misspelled_session() {}

#[trace(event_type = "Generic")]
fn capitalised_generic() {}

fn main() {}
