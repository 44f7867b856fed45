//! What a model call costs: token counts priced per model, from a built-in table of common
//! models that a user table extends or overrides (`HH_PRICES=prices.json`, or
//! [`ConfigBuilder::price`](crate::ConfigBuilder::price)).
//!
//! Prices are US dollars per million tokens, as providers publish them. The built-in table
//! (`prices.json` next to this file) holds the list prices of OpenAI, Anthropic and Google
//! models; a model it lacks, or whose price changed, goes in the user's table, in the same
//! format:
//!
//! ```json
//! {"my-finetune": {"input": 3.0, "output": 12.0, "cached_input": 1.5}}
//! ```
//!
//! A model name is looked up as given, then without a `provider/` prefix (`openai/gpt-4o`),
//! then by its longest listed prefix followed by `-`, `:` or `@` (a dated or tagged version:
//! `gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`, never as `gpt-4o`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};

use super::usage::Usage;
use crate::{Error, Result};

/// The price of one model, in US dollars per million tokens.
///
/// ```
/// use honeyhive::model::{Price, Usage};
///
/// let price = Price::new(2.5, 10.0).with_cached_input(1.25);
/// // 600 fresh input tokens, 400 cached ones, 100 output tokens:
/// let cost = price.cost(&Usage::new(1_000, 100).cached_input_tokens(400));
/// assert!((cost - (600.0 * 2.5 + 400.0 * 1.25 + 100.0 * 10.0) / 1e6).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million input tokens.
    pub input: f64,
    /// Per million output tokens (reasoning tokens are billed as output).
    pub output: f64,
    /// Per million input tokens served from the prompt cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

impl Price {
    /// `input` and `output` dollars per million tokens.
    pub fn new(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cached_input: None,
        }
    }

    /// With `price` dollars per million cached input tokens.
    pub fn with_cached_input(mut self, price: f64) -> Price {
        self.cached_input = Some(price);
        self
    }

    /// The cost of `usage` in dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage
            .cached_input_tokens
            .unwrap_or(0)
            .min(usage.input_tokens);
        let fresh = usage.input_tokens - cached;
        let cached_price = self.cached_input.unwrap_or(self.input);
        (fresh as f64 * self.input
            + cached as f64 * cached_price
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
    }

    fn check(&self, model: &str) -> std::result::Result<(), String> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cached_input", self.cached_input),
        ];
        for (field, value) in fields {
            if let Some(value) = value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(format!(
                    "model {model:?}: `{field}` is {value}; prices are dollars per million \
                     tokens, a finite number of at least 0"
                ));
            }
        }
        Ok(())
    }
}

/// Prices by model name; see the [module docs](self). Cheap to clone.
///
/// ```
/// use honeyhive::model::{Price, PriceTable, Usage};
///
/// let table = PriceTable::builtin().with("my-finetune", Price::new(3.0, 12.0));
/// assert_eq!(table.price("gpt-4o-mini-2024-07-18"), table.price("gpt-4o-mini"));
/// let cost = table.cost("my-finetune", &Usage::new(1_000_000, 0));
/// assert_eq!(cost, Some(3.0));
/// assert_eq!(table.cost("no-such-model", &Usage::new(1, 1)), None);
/// ```
#[derive(Clone)]
pub struct PriceTable {
    inner: Arc<Table>,
}

struct Table {
    prices: HashMap<String, Price>,
    /// Models already warned about as having no price (one warning per model).
    unpriced: Mutex<HashSet<String>>,
}

static BUILTIN: LazyLock<PriceTable> = LazyLock::new(|| {
    PriceTable::from_json(include_str!("prices.json"))
        .unwrap_or_else(|e| panic!("the built-in price table (model/prices.json): {e}"))
});

impl PriceTable {
    /// The built-in table of common models.
    pub fn builtin() -> PriceTable {
        BUILTIN.clone()
    }

    /// No prices at all.
    pub fn empty() -> PriceTable {
        PriceTable::of(HashMap::new())
    }

    fn of(prices: HashMap<String, Price>) -> PriceTable {
        PriceTable {
            inner: Arc::new(Table {
                prices,
                unpriced: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// A table read from JSON: an object of model name to [`Price`].
    ///
    /// # Errors
    /// [`Error::Config`] naming what is wrong (not JSON, an unknown field, a negative
    /// price).
    pub fn from_json(text: &str) -> Result<PriceTable> {
        let prices: HashMap<String, Price> = serde_json::from_str(text).map_err(|e| {
            Error::Config(format!(
                "a price table is a JSON object of model name to \
                 {{\"input\": <$ per 1M tokens>, \"output\": <$ per 1M>, \"cached_input\": \
                 <optional>}}: {e}"
            ))
        })?;
        for (model, price) in &prices {
            price.check(model).map_err(Error::Config)?;
        }
        Ok(PriceTable::of(prices))
    }

    /// The built-in table with the prices of the JSON file at `path` over it (what
    /// `HH_PRICES` names).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and what is wrong with it.
    pub fn builtin_with_file(path: &Path) -> Result<PriceTable> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("HH_PRICES: cannot read {}: {e}", path.display()))
        })?;
        let user = PriceTable::from_json(&text).map_err(|e| {
            Error::Config(format!("HH_PRICES: {}: {}", path.display(), config_text(e)))
        })?;
        Ok(PriceTable::builtin().merged(&user))
    }

    /// This table with `model` priced at `price` (replacing its price if it had one).
    pub fn with(&self, model: impl Into<String>, price: Price) -> PriceTable {
        let mut prices = self.inner.prices.clone();
        prices.insert(model.into(), price);
        PriceTable::of(prices)
    }

    /// This table with every price of `other` over it.
    pub fn merged(&self, other: &PriceTable) -> PriceTable {
        let mut prices = self.inner.prices.clone();
        prices.extend(other.inner.prices.iter().map(|(k, v)| (k.clone(), *v)));
        PriceTable::of(prices)
    }

    /// The price of `model` (see the [module docs](self) for how names match).
    pub fn price(&self, model: &str) -> Option<Price> {
        let prices = &self.inner.prices;
        if let Some(price) = prices.get(model) {
            return Some(*price);
        }
        let bare = model.rsplit_once('/').map_or(model, |(_, name)| name);
        if let Some(price) = prices.get(bare) {
            return Some(*price);
        }
        prices
            .iter()
            .filter(|(name, _)| {
                bare.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with(['-', ':', '@']))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }

    /// The price of the model that answered (`answered`), else of the one asked for
    /// (`asked`): each by its exact name first (the common case needs no prefix scan), then
    /// as [`price`](Self::price) matches names.
    pub(crate) fn price_of(&self, answered: &str, asked: &str) -> Option<Price> {
        let prices = &self.inner.prices;
        prices
            .get(answered)
            .or_else(|| prices.get(asked))
            .copied()
            .or_else(|| self.price(answered))
            .or_else(|| self.price(asked))
    }

    /// The cost of `usage` on `model` in dollars; `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.price(model).map(|price| price.cost(usage))
    }

    /// Whether `model` is being seen without a price for the first time (so it is warned
    /// about once).
    pub(crate) fn first_unpriced(&self, model: &str) -> bool {
        let mut seen = self
            .inner
            .unpriced
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        seen.len() < 1024 && seen.insert(model.to_owned())
    }

    /// How many models the table prices.
    pub fn len(&self) -> usize {
        self.inner.prices.len()
    }

    /// Whether the table prices no model.
    pub fn is_empty(&self) -> bool {
        self.inner.prices.is_empty()
    }
}

fn config_text(e: Error) -> String {
    match e {
        Error::Config(text) => text,
        other => other.to_string(),
    }
}

impl Default for PriceTable {
    /// The built-in table.
    fn default() -> Self {
        PriceTable::builtin()
    }
}

impl PartialEq for PriceTable {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.prices == other.inner.prices
    }
}

impl fmt::Debug for PriceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriceTable")
            .field("models", &self.inner.prices.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_reads_and_prices_common_models() {
        let table = PriceTable::builtin();
        assert!(table.len() >= 30);
        let mini = table.price("gpt-4o-mini").unwrap();
        assert_eq!((mini.input, mini.output), (0.15, 0.6));
        // 1M in + 1M out on gpt-4o-mini: $0.15 + $0.60.
        let cost = table
            .cost("gpt-4o-mini", &Usage::new(1_000_000, 1_000_000))
            .unwrap();
        assert!((cost - 0.75).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn versions_match_their_longest_listed_prefix_only_at_a_separator() {
        let table = PriceTable::builtin();
        let price = |m: &str| table.price(m);
        assert_eq!(price("gpt-4o-mini-2024-07-18"), price("gpt-4o-mini"));
        assert_eq!(price("gpt-4o-2024-08-06"), price("gpt-4o"));
        assert_ne!(price("gpt-4o-2024-08-06"), price("gpt-4"));
        assert_eq!(price("openai/gpt-4.1-mini"), price("gpt-4.1-mini"));
        assert_eq!(
            price("claude-3-5-sonnet-20241022"),
            price("claude-3-5-sonnet")
        );
        assert_eq!(price("gpt-4-turbo-2024-04-09"), price("gpt-4-turbo"));
        // No separator: not a version of a listed model.
        assert_eq!(price("gpt-4omni"), None);
        assert_eq!(price("llama3"), None);
    }

    #[test]
    fn cached_tokens_are_priced_apart_and_never_beyond_the_input() {
        let price = Price::new(2.0, 8.0).with_cached_input(0.5);
        let usage = Usage::new(1_000, 500).cached_input_tokens(200);
        let expected = (800.0 * 2.0 + 200.0 * 0.5 + 500.0 * 8.0) / 1e6;
        assert!((price.cost(&usage) - expected).abs() < 1e-15);
        // More cached tokens than input tokens (a provider bug) are capped.
        let odd = Usage::new(10, 0).cached_input_tokens(50);
        assert!((price.cost(&odd) - 10.0 * 0.5 / 1e6).abs() < 1e-15);
        // Without a cached price, cached tokens cost the input price.
        let plain = Price::new(2.0, 8.0);
        assert!((plain.cost(&usage) - (1_000.0 * 2.0 + 500.0 * 8.0) / 1e6).abs() < 1e-15);
    }

    #[test]
    fn a_user_table_extends_and_overrides_the_builtin_one() {
        let dir = std::env::temp_dir().join(format!("honeyhive-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prices.json");
        std::fs::write(
            &path,
            r#"{"gpt-4o-mini": {"input": 1.0, "output": 2.0}, "house-model": {"input": 0.5, "output": 0.5}}"#,
        )
        .unwrap();
        let table = PriceTable::builtin_with_file(&path).unwrap();
        assert_eq!(table.price("gpt-4o-mini"), Some(Price::new(1.0, 2.0)));
        assert_eq!(table.price("house-model"), Some(Price::new(0.5, 0.5)));
        assert!(table.price("gpt-4o").is_some());

        std::fs::write(&path, r#"{"m": {"input": 1.0, "ouput": 2.0}}"#).unwrap();
        let error = PriceTable::builtin_with_file(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("HH_PRICES") && error.contains("ouput"),
            "{error}"
        );
        std::fs::write(&path, r#"{"m": {"input": -1.0, "output": 2.0}}"#).unwrap();
        let error = PriceTable::builtin_with_file(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("`input` is -1"), "{error}");
        let missing = PriceTable::builtin_with_file(&dir.join("none.json"))
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("cannot read"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
