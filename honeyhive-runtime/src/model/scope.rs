//! A model scope: the model calls made under one context (an experiment datapoint's
//! function) add up there, and repeated requests are numbered there for the cassettes.
//!
//! Why a context value: a model call is made deep inside the user's code, on any task or
//! thread the context reaches ([`spawn`](crate::spawn), [`thread`](crate::thread)); the
//! context is the one thing every such place already carries, and the datapoint that
//! reads the totals owns the scope, so nothing global is shared between datapoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opentelemetry::Context;
use serde::{Deserialize, Serialize};

use super::usage::Usage;

/// What the model calls of one scope (an experiment datapoint) add up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelTotals {
    /// Model calls made (each attempt series counts once, whatever its retries).
    pub calls: u64,
    /// Of those, the calls answered from a cassette.
    #[serde(default)]
    pub cached_calls: u64,
    /// Input tokens of every call.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens of every call.
    #[serde(default)]
    pub output_tokens: u64,
    /// Dollars, summed over the calls whose model has a price.
    #[serde(default)]
    pub cost_usd: f64,
    /// Calls with usage but no price for their model (their cost is not in `cost_usd`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unpriced_calls: u64,
    /// Duration of each call that reached the model and succeeded, in milliseconds
    /// (replayed calls are left out: their time says nothing about the model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latencies_ms: Vec<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ModelTotals {
    /// Input and output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Adds `other`'s calls, tokens and cost (not its latencies: a run keeps those as a
    /// metric's values).
    pub(crate) fn add(&mut self, other: &ModelTotals) {
        self.calls += other.calls;
        self.cached_calls += other.cached_calls;
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cost_usd += other.cost_usd;
        self.unpriced_calls += other.unpriced_calls;
    }
}

/// One finished call, as a scope adds it up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallOutcome {
    pub(crate) usage: Option<Usage>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) cached: bool,
    /// The call's duration, when it reached the model and succeeded.
    pub(crate) latency_ms: Option<f64>,
}

/// The scope of a context; see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct ModelScope {
    /// The experiment repetition this scope runs (0 outside experiments): cassettes keep
    /// one answer per repetition, so repetitions still vary.
    repetition: u32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    totals: ModelTotals,
    /// How many calls of each cassette key this scope made.
    occurrences: HashMap<[u8; 32], u32>,
}

/// How a scope sits in a context.
struct Entry(Arc<ModelScope>);

impl ModelScope {
    /// A new, empty scope for repetition `repetition`.
    pub(crate) fn new(repetition: u32) -> Arc<ModelScope> {
        Arc::new(ModelScope {
            repetition,
            state: Mutex::default(),
        })
    }

    /// `cx` with this scope in it: model calls made there (and in contexts derived from
    /// it) add up here.
    pub(crate) fn enter(self: &Arc<Self>, cx: &Context) -> Context {
        cx.with_value(Entry(Arc::clone(self)))
    }

    /// The scope of `cx`, if any.
    pub(crate) fn of(cx: &Context) -> Option<&Arc<ModelScope>> {
        cx.get::<Entry>().map(|entry| &entry.0)
    }

    pub(crate) fn repetition(&self) -> u32 {
        self.repetition
    }

    /// The number of earlier calls with cassette key `key` in this scope (0 for the first),
    /// counting this one.
    pub(crate) fn next_occurrence(&self, key: &[u8; 32]) -> u32 {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let count = state.occurrences.entry(*key).or_insert(0);
        let this = *count;
        *count += 1;
        this
    }

    /// Adds one finished call.
    pub(crate) fn add(&self, outcome: &CallOutcome) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let totals = &mut state.totals;
        totals.calls += 1;
        if outcome.cached {
            totals.cached_calls += 1;
        }
        if let Some(usage) = &outcome.usage {
            totals.input_tokens = totals.input_tokens.saturating_add(usage.input_tokens);
            totals.output_tokens = totals.output_tokens.saturating_add(usage.output_tokens);
            match outcome.cost_usd {
                Some(cost) => totals.cost_usd += cost,
                None => totals.unpriced_calls += 1,
            }
        }
        if let Some(latency) = outcome.latency_ms {
            totals.latencies_ms.push(latency);
        }
    }

    /// What the calls so far add up to.
    pub(crate) fn totals(&self) -> ModelTotals {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .totals
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_add_up_and_occurrences_count_per_key() {
        let scope = ModelScope::new(2);
        let cx = scope.enter(&Context::new());
        let found = ModelScope::of(&cx).unwrap();
        assert_eq!(found.repetition(), 2);
        found.add(&CallOutcome {
            usage: Some(Usage::new(10, 5)),
            cost_usd: Some(0.5),
            cached: false,
            latency_ms: Some(12.0),
        });
        found.add(&CallOutcome {
            usage: Some(Usage::new(1, 1)),
            cost_usd: None,
            cached: true,
            latency_ms: None,
        });
        let totals = scope.totals();
        assert_eq!((totals.calls, totals.cached_calls), (2, 1));
        assert_eq!((totals.input_tokens, totals.output_tokens), (11, 6));
        assert_eq!((totals.cost_usd, totals.unpriced_calls), (0.5, 1));
        assert_eq!(totals.latencies_ms, vec![12.0]);
        assert_eq!(
            [
                scope.next_occurrence(&[1; 32]),
                scope.next_occurrence(&[1; 32])
            ],
            [0, 1]
        );
        assert_eq!(scope.next_occurrence(&[2; 32]), 0);
        assert!(ModelScope::of(&Context::new()).is_none());
    }
}
