//! Where configuration reads environment variables from.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where environment variables come from.
///
/// ```
/// use honeyhive::{Config, Environment};
///
/// let env = Environment::from_pairs([("HH_API_KEY", "secret"), ("HH_PROJECT", "demo")]);
/// let config = Config::builder().environment(env).build().unwrap();
/// assert_eq!(config.project(), "demo");
/// assert!(config.is_connected());
/// ```
#[derive(Clone)]
pub struct Environment(Arc<Lookup>);

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Environment {
    /// The process environment.
    pub fn process() -> Self {
        Environment(Arc::new(|k| std::env::var(k).ok()))
    }

    /// No variables at all: only builder values and defaults apply.
    pub fn empty() -> Self {
        Environment(Arc::new(|_| None))
    }

    /// Exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Environment(Arc::new(move |k| map.get(k).cloned()))
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        (self.0)(key).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn first(&self, keys: &[&'static str]) -> Option<(&'static str, String)> {
        keys.iter().find_map(|k| self.get(k).map(|v| (*k, v)))
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Environment")
    }
}
