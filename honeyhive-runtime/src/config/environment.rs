//! Where configuration reads environment variables from.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Where environment variables come from.
///
/// ```
/// use honeyhive::{Config, Environment};
///
/// let env = Environment::from_pairs([("HH_API_KEY", "secret"), ("HH_PROJECT", "demo")]);
/// let config = Config::builder().environment(env).build().unwrap();
/// assert_eq!(config.project(), Some("demo"));
/// assert!(config.is_connected());
/// ```
#[derive(Clone)]
pub struct Environment {
    lookup: Arc<Lookup>,
    /// The old variable names already warned about: once per process for the process
    /// environment, once per value for the others (so a test sees its own warning).
    warned: Arc<Mutex<HashSet<&'static str>>>,
}

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Environment {
    fn new(lookup: Arc<Lookup>) -> Self {
        Environment {
            lookup,
            warned: Arc::default(),
        }
    }

    /// The process environment.
    pub fn process() -> Self {
        static WARNED: OnceLock<Arc<Mutex<HashSet<&'static str>>>> = OnceLock::new();
        Environment {
            lookup: Arc::new(|k| std::env::var(k).ok()),
            warned: WARNED.get_or_init(Arc::default).clone(),
        }
    }

    /// No variables at all: only builder values and defaults apply.
    pub fn empty() -> Self {
        Environment::new(Arc::new(|_| None))
    }

    /// Exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Environment::new(Arc::new(move |k| map.get(k).cloned()))
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn first(&self, keys: &[&'static str]) -> Option<(&'static str, String)> {
        keys.iter().find_map(|k| self.get(k).map(|v| (*k, v)))
    }

    /// True the first time it is asked about `variable` (for this environment).
    pub(super) fn first_warning(&self, variable: &'static str) -> bool {
        self.warned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(variable)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Environment")
    }
}
