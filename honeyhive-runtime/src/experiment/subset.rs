//! Running part of a dataset: the first `n` datapoints (`HH_LIMIT`), `n` drawn at random
//! (`HH_SAMPLE`, seeded by `HH_SEED`), or again only those that failed before
//! (`HH_RERUN=failed`, the others' results merged from that run into a complete new run).

use std::collections::{HashMap, HashSet};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::baseline::{Baseline, Record, merged_result};
use super::datapoint::{Details, Work};
use super::report::DatapointResult;
use crate::dataset::Dataset;
use crate::{Environment, Error, Result};

/// The seed of `HH_SAMPLE` (and of the regression gates' bootstrap) when `HH_SEED` is not
/// set: fixed, so the same command samples the same datapoints.
pub const DEFAULT_SEED: u64 = 0;

/// Which part of the dataset a run covered, when not all of it: what the summary and the
/// report say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subset {
    /// The first `ran` of the `of` datapoints (`HH_LIMIT`).
    Limit {
        /// Datapoints run.
        ran: usize,
        /// Datapoints there were (in the shard, if sharded).
        of: usize,
    },
    /// `ran` of the `of` datapoints drawn at random with `seed` (`HH_SAMPLE`, `HH_SEED`).
    Sample {
        /// Datapoints run.
        ran: usize,
        /// Datapoints there were.
        of: usize,
        /// The seed they were drawn with.
        seed: u64,
    },
    /// Only the datapoints that failed or erred in run `from` ran again; the others'
    /// results were taken from it (`HH_RERUN=failed`), so the run is complete.
    RerunFailed {
        /// Datapoints run again.
        rerun: usize,
        /// Datapoints whose results were taken from `from`.
        merged: usize,
        /// The run they were taken from (its id).
        from: String,
    },
}

impl Subset {
    /// Whether the run holds a result for every datapoint (a rerun does).
    pub fn complete(&self) -> bool {
        matches!(self, Subset::RerunFailed { .. })
    }
}

impl std::fmt::Display for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subset::Limit { ran, of } => write!(f, "the first {ran} of {of} datapoints (HH_LIMIT)"),
            Subset::Sample { ran, of, seed } => write!(
                f,
                "{ran} of {of} datapoints drawn at random (HH_SAMPLE, seed {seed})"
            ),
            Subset::RerunFailed {
                rerun,
                merged,
                from,
            } => write!(
                f,
                "{rerun} datapoint(s) that failed in run {from} ran again, {merged} result(s) \
                 taken from it (HH_RERUN=failed)"
            ),
        }
    }
}

/// What part of the dataset the experiment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Choice {
    #[default]
    All,
    Limit(usize),
    Sample(usize),
    RerunFailed,
}

/// The experiment's choice: the builder's, else `HH_LIMIT`, `HH_SAMPLE` or `HH_RERUN`
/// (one of them); and the seed, the builder's, else `HH_SEED`, else [`DEFAULT_SEED`].
pub(crate) fn choice(
    built: Option<Choice>,
    seed: Option<u64>,
    environment: &Environment,
) -> Result<(Choice, u64)> {
    let count =
        |var: &str| -> Result<Option<usize>> {
            environment
                .get(var)
                .map(|v| {
                    v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::Config(format!(
                        "{var}={v:?} is not a number of datapoints: give a whole number of at \
                         least 1, e.g. {var}=20"
                    ))
                })
                })
                .transpose()
        };
    let seed = match seed {
        Some(seed) => seed,
        None => match environment.get("HH_SEED") {
            None => DEFAULT_SEED,
            Some(v) => v.trim().parse().map_err(|_| {
                Error::Config(format!(
                    "HH_SEED={v:?} is not a seed: give a whole number, e.g. HH_SEED=7"
                ))
            })?,
        },
    };
    if let Some(choice) = built {
        return Ok((choice, seed));
    }
    let rerun = match environment.get("HH_RERUN") {
        None => false,
        Some(v) if v.trim() == "failed" => true,
        Some(v) => {
            return Err(Error::Config(format!(
                "HH_RERUN={v:?}: the one accepted value is `failed` (run again the \
                 datapoints that failed or erred in the baseline or the previous run)"
            )));
        }
    };
    let chosen: Vec<Choice> = [
        count("HH_LIMIT")?.map(Choice::Limit),
        count("HH_SAMPLE")?.map(Choice::Sample),
        rerun.then_some(Choice::RerunFailed),
    ]
    .into_iter()
    .flatten()
    .collect();
    match chosen.as_slice() {
        [] => Ok((Choice::All, seed)),
        [one] => Ok((*one, seed)),
        _ => Err(Error::Config(
            "HH_LIMIT, HH_SAMPLE and HH_RERUN each choose the datapoints to run: set one of \
             them"
                .into(),
        )),
    }
}

/// One slot of a run, in dataset order: a datapoint to run, or a result taken from an
/// earlier run.
pub(crate) enum Item {
    Run(Work),
    Merged(Box<(DatapointResult, Details)>),
}

impl Item {
    pub(crate) fn identity(&self) -> (usize, u32) {
        match self {
            Item::Run(w) => (w.position, w.repetition),
            Item::Merged(m) => (m.0.index, m.0.repetition),
        }
    }
}

/// The run's slots after `choice`, and what the report says of it: `work` is every
/// datapoint (of the shard) and repetition in dataset order; `source` the run a rerun takes
/// the others' results from.
pub(crate) fn apply(
    work: Vec<Work>,
    choice: Choice,
    seed: u64,
    dataset: &Dataset,
    source: Option<&Baseline>,
) -> Result<(Vec<Item>, Option<Subset>)> {
    let mut positions: Vec<usize> = work.iter().map(|w| w.position).collect();
    positions.dedup();
    let of = positions.len();
    let keep: HashSet<usize> = match choice {
        Choice::All => return Ok((work.into_iter().map(Item::Run).collect(), None)),
        Choice::Limit(n) => positions.iter().copied().take(n).collect(),
        Choice::Sample(n) => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rand::seq::index::sample(&mut rng, of, n.min(of))
                .into_iter()
                .map(|i| positions[i])
                .collect()
        }
        Choice::RerunFailed => return rerun(work, dataset, source),
    };
    let ran = keep.len();
    let items = work
        .into_iter()
        .filter(|w| keep.contains(&w.position))
        .map(Item::Run)
        .collect();
    let subset = match choice {
        Choice::Sample(_) => Subset::Sample { ran, of, seed },
        _ => Subset::Limit { ran, of },
    };
    Ok((items, Some(subset)))
}

fn rerun(
    work: Vec<Work>,
    dataset: &Dataset,
    source: Option<&Baseline>,
) -> Result<(Vec<Item>, Option<Subset>)> {
    let Some(source) = source else {
        return Err(Error::Config(
            "HH_RERUN=failed runs again what failed in an earlier run, and there is none: \
             no baseline is named and the local store has no previous run of this experiment"
                .into(),
        ));
    };
    if !source.local {
        return Err(Error::Config(format!(
            "HH_RERUN=failed takes the results of the datapoints it does not run from the \
             earlier run, and HoneyHive run {} gives no outputs: name a local run or baseline \
             file (HH_BASELINE=last, a run's folder)",
            source.info.run_id
        )));
    }
    let mut records: HashMap<&str, Vec<&Record>> = HashMap::new();
    for record in &source.records {
        records
            .entry(record.datapoint_id.as_str())
            .or_default()
            .push(record);
    }
    let mut items = Vec::with_capacity(work.len());
    let (mut rerun, mut merged) = (0, 0);
    let mut work = work.into_iter().peekable();
    while let Some(first) = work.next() {
        let position = first.position;
        let mut repetitions = vec![first];
        while let Some(next) = work.next_if(|w| w.position == position) {
            repetitions.push(next);
        }
        let datapoint = &dataset.datapoints()[position];
        let before = records.get(datapoint.id()).filter(|before| {
            // The same repetitions, none of which failed.
            let mut had: Vec<u32> = before.iter().map(|r| r.repetition).collect();
            had.sort_unstable();
            let wanted: Vec<u32> = repetitions.iter().map(|w| w.repetition).collect();
            had == wanted && before.iter().all(|r| !r.failed_or_errored())
        });
        match before {
            Some(before) => {
                merged += 1;
                let mut before = before.clone();
                before.sort_by_key(|r| r.repetition);
                for record in before {
                    let result = merged_result(record, position, datapoint.location().file_line());
                    let details = Details {
                        output: record.output.clone(),
                        explanations: record.explanations.clone(),
                        merged_from: Some(source.info.run_id.clone()),
                    };
                    items.push(Item::Merged(Box::new((result, details))));
                }
            }
            None => {
                rerun += 1;
                items.extend(repetitions.into_iter().map(Item::Run));
            }
        }
    }
    let subset = Subset::RerunFailed {
        rerun,
        merged,
        from: source.info.run_id.clone(),
    };
    Ok((items, Some(subset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_choice_comes_from_one_variable() {
        assert_eq!(choice(None, None, &env(&[])).unwrap(), (Choice::All, 0));
        assert_eq!(
            choice(None, None, &env(&[("HH_LIMIT", "5")])).unwrap(),
            (Choice::Limit(5), 0)
        );
        assert_eq!(
            choice(None, None, &env(&[("HH_SAMPLE", "3"), ("HH_SEED", "9")])).unwrap(),
            (Choice::Sample(3), 9)
        );
        assert_eq!(
            choice(None, None, &env(&[("HH_RERUN", "failed")]))
                .unwrap()
                .0,
            Choice::RerunFailed
        );
        // The builder's beats the variables.
        assert_eq!(
            choice(Some(Choice::Limit(2)), Some(1), &env(&[("HH_SAMPLE", "3")])).unwrap(),
            (Choice::Limit(2), 1)
        );
        for (pairs, says) in [
            (
                &[("HH_LIMIT", "0")][..],
                "HH_LIMIT=\"0\" is not a number of datapoints",
            ),
            (&[("HH_SAMPLE", "ten")][..], "HH_SAMPLE=\"ten\""),
            (&[("HH_SEED", "-1")][..], "HH_SEED=\"-1\" is not a seed"),
            (
                &[("HH_RERUN", "all")][..],
                "the one accepted value is `failed`",
            ),
            (
                &[("HH_LIMIT", "2"), ("HH_SAMPLE", "2")][..],
                "set one of them",
            ),
        ] {
            let e = choice(None, None, &env(pairs)).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    fn work(n: usize, repetitions: u32) -> Vec<Work> {
        (0..n)
            .flat_map(|position| {
                (0..repetitions).map(move |repetition| Work {
                    position,
                    repetition,
                })
            })
            .collect()
    }

    fn dataset(n: usize) -> Dataset {
        let lines: Vec<String> = (0..n)
            .map(|k| format!(r#"{{"inputs": {{"k": {k}}}}}"#))
            .collect();
        Dataset::from_json(&lines.join("\n")).unwrap()
    }

    #[test]
    fn limits_and_samples_keep_dataset_order_and_every_repetition() {
        let data = dataset(10);
        let (items, subset) = apply(work(10, 2), Choice::Limit(3), 0, &data, None).unwrap();
        let ids: Vec<(usize, u32)> = items.iter().map(Item::identity).collect();
        assert_eq!(ids, [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]);
        assert_eq!(subset, Some(Subset::Limit { ran: 3, of: 10 }));
        let sample = |seed| {
            let (items, subset) = apply(work(10, 1), Choice::Sample(4), seed, &data, None).unwrap();
            (
                items.iter().map(|i| i.identity().0).collect::<Vec<_>>(),
                subset,
            )
        };
        let (a, subset) = sample(7);
        assert_eq!(a.len(), 4);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "dataset order: {a:?}");
        assert_eq!(sample(7).0, a, "the same seed draws the same datapoints");
        assert_ne!(sample(8).0, a, "another seed, others");
        assert_eq!(
            subset.unwrap().to_string(),
            "4 of 10 datapoints drawn at random (HH_SAMPLE, seed 7)"
        );
        // More than there are: all of them.
        assert_eq!(sample_all(&data).len(), 10);
    }

    fn sample_all(data: &Dataset) -> Vec<Item> {
        apply(work(10, 1), Choice::Sample(50), 0, data, None)
            .unwrap()
            .0
    }

    #[test]
    fn a_rerun_runs_what_failed_and_merges_the_rest() {
        let data = dataset(4);
        let record = |i: usize, failed: bool| Record {
            datapoint_id: data.datapoints()[i].id().to_owned(),
            error: failed.then(|| "boom".to_owned()),
            output: Some(serde_json::json!(format!("out {i}"))),
            ..Record::default()
        };
        let source = Baseline {
            info: super::super::BaselineInfo {
                named: "last".into(),
                path: None,
                run_id: "r0".into(),
                name: None,
                started_at: None,
                git_commit: None,
                datapoint_count: 3,
                url: None,
            },
            means: vec![],
            // Datapoint 3 is new: not in the source, so it runs.
            records: vec![record(0, false), record(1, true), record(2, false)],
            local: true,
            on_honeyhive: false,
        };
        let (items, subset) =
            apply(work(4, 1), Choice::RerunFailed, 0, &data, Some(&source)).unwrap();
        let kinds: Vec<&str> = items
            .iter()
            .map(|i| match i {
                Item::Run(_) => "run",
                Item::Merged(_) => "merged",
            })
            .collect();
        assert_eq!(kinds, ["merged", "run", "merged", "run"]);
        let Item::Merged(merged) = &items[2] else {
            unreachable!()
        };
        assert_eq!(
            (merged.0.index, merged.1.merged_from.as_deref()),
            (2, Some("r0"))
        );
        assert_eq!(merged.1.output, Some(serde_json::json!("out 2")));
        assert_eq!(
            subset,
            Some(Subset::RerunFailed {
                rerun: 2,
                merged: 2,
                from: "r0".into()
            })
        );
        let e = apply(work(4, 1), Choice::RerunFailed, 0, &data, None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("there is none"), "{e}");
    }
}
