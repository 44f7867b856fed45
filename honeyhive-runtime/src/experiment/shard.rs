//! `HH_SHARD=k/n`: a deterministic share of the dataset, so several CI machines can run
//! one experiment together and report into one run (`HH_RUN_ID`).

use std::fmt;

use crate::{Error, Result};

/// Shard `index` (1-based) of `count`: the datapoints whose 0-based position `p` has
/// `p % count == index - 1`. Every datapoint is in exactly one shard, the shards differ in
/// size by at most one, and the split depends only on positions, so every machine computes
/// the same one.
///
/// ```
/// use honeyhive::experiment::Shard;
///
/// let shard: Shard = "2/3".parse()?;
/// let mine: Vec<usize> = (0..8).filter(|&p| shard.contains(p)).collect();
/// assert_eq!(mine, [1, 4, 7]);
/// assert!("0/3".parse::<Shard>().is_err());
/// # Ok::<(), honeyhive::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` of `count` (1-based, as `cargo nextest --partition count:k/n`).
    ///
    /// # Errors
    /// [`Error::Config`] unless `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || index == 0 || index > count {
            return Err(Error::Config(format!(
                "shard {index}/{count} does not exist: use k/n with 1 <= k <= n, e.g. HH_SHARD=1/4"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether the datapoint at 0-based `position` belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;

    fn from_str(text: &str) -> Result<Shard> {
        let bad = || {
            Error::Config(format!(
                "HH_SHARD={text:?} is not a shard: use k/n with 1 <= k <= n, e.g. HH_SHARD=1/4"
            ))
        };
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_every_dataset() {
        for count in 1..6 {
            let shards: Vec<Shard> = (1..=count).map(|k| Shard::new(k, count).unwrap()).collect();
            for position in 0..50 {
                assert_eq!(shards.iter().filter(|s| s.contains(position)).count(), 1);
            }
        }
    }

    #[test]
    fn bad_shards_say_what_to_write() {
        for text in ["", "3", "a/b", "4/3", "1/0", "-1/2"] {
            let e = text.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("use k/n with 1 <= k <= n"), "{e}");
        }
        assert_eq!(" 1 / 2 ".parse::<Shard>().unwrap().to_string(), "1/2");
    }
}
