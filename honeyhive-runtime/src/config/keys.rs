//! Keys: secrets that no `Debug`, `Display` or error ever shows, the shapes of HoneyHive's
//! typed keys, and which key each call is sent with.
//!
//! HoneyHive has three kinds of key (`docs/honeyhive-api.md`, "Keys"):
//! - the project key (`HH_API_KEY`): any non-empty string; runs, results, comparisons,
//!   datasets and datapoints are made with it, and everything else when no ingestion key
//!   is set;
//! - the ingestion key (`HH_INGESTION_API_KEY`): `hh_ingst_` + a 24-character id + `_` +
//!   a 64-character secret; when set, session starts, event updates and span exports are
//!   sent with it;
//! - the fine-grained data plane key (`HH_DATA_PLANE_API_KEY`): `hh_fgdp_` + the same; it
//!   authorises chart calls this toolkit does not make, so it is checked and never sent.
//!
//! A key is held as an [`ApiKey`] from the moment it is given (builder or environment) to
//! the header it goes into, so no path through the toolkit can print it.

use std::fmt;

use crate::{Error, Result};

/// A secret key. Its `Debug` never shows it (nor does anything else of the toolkit: the
/// key leaves an `ApiKey` only for the `Authorization` header, which is marked sensitive).
///
/// ```
/// use honeyhive::ApiKey;
///
/// let key = ApiKey::new("hh-secret-4242");
/// assert_eq!(format!("{key:?}"), "ApiKey(***)");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(String);

impl ApiKey {
    /// Holds `key` (trimmed) as a secret.
    pub fn new(key: impl Into<String>) -> Self {
        let key = key.into();
        match key.trim() {
            trimmed if trimmed.len() == key.len() => ApiKey(key),
            trimmed => ApiKey(trimmed.to_owned()),
        }
    }

    /// The key itself: only for the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// A HoneyHive key with a fixed shape: `<prefix><24 letters or digits>_<64 letters, digits,
/// '_' or '-'>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// An ingestion key (`hh_ingst_...`, `HH_INGESTION_API_KEY`).
    Ingestion,
    /// A fine-grained data plane key (`hh_fgdp_...`, `HH_DATA_PLANE_API_KEY`).
    DataPlane,
}

impl KeyKind {
    /// The prefix of every key of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Ingestion => "hh_ingst_",
            KeyKind::DataPlane => "hh_fgdp_",
        }
    }

    /// The environment variable the key is read from.
    pub fn variable(self) -> &'static str {
        match self {
            KeyKind::Ingestion => "HH_INGESTION_API_KEY",
            KeyKind::DataPlane => "HH_DATA_PLANE_API_KEY",
        }
    }

    /// The builder method that takes the key.
    pub fn builder_method(self) -> &'static str {
        match self {
            KeyKind::Ingestion => "ingestion_api_key(..)",
            KeyKind::DataPlane => "data_plane_api_key(..)",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            KeyKind::Ingestion => "an ingestion API key",
            KeyKind::DataPlane => "a fine-grained data plane API key",
        }
    }

    /// Whether `key` has this kind's shape; what is wrong with it otherwise (the reference
    /// SDK's three cases).
    pub(crate) fn check(self, key: &str) -> std::result::Result<(), KeyProblem> {
        let Some(rest) = key.strip_prefix(self.prefix()) else {
            return Err(if key.starts_with("hh_") {
                KeyProblem::AnotherHoneyHiveKey
            } else {
                KeyProblem::NotAHoneyHiveKey
            });
        };
        let well_formed = rest.split_once('_').is_some_and(|(id, secret)| {
            id.len() == 24
                && id.bytes().all(|b| b.is_ascii_alphanumeric())
                && secret.len() == 64
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if well_formed {
            Ok(())
        } else {
            Err(KeyProblem::Incomplete)
        }
    }
}

/// What is wrong with the value of a typed key. The value itself is never kept, so no
/// error can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyProblem {
    /// It begins with the kind's prefix but is not a whole key (cut short, or mangled).
    Incomplete,
    /// It is another kind of HoneyHive key (it begins with `hh_`).
    AnotherHoneyHiveKey,
    /// It is not a HoneyHive key at all.
    NotAHoneyHiveKey,
}

/// A typed key whose value does not have its kind's shape: which key, where it came from,
/// and what is wrong with it; never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedKey {
    /// The kind of key expected.
    pub kind: KeyKind,
    /// Where the value came from: the environment variable, or the builder method.
    pub source: &'static str,
    /// What is wrong with it.
    pub problem: KeyProblem,
}

impl fmt::Display for MalformedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.kind.prefix();
        let problem = match self.problem {
            KeyProblem::Incomplete => format!(
                "the value begins with `{prefix}` but is not a complete key (`{prefix}` + 24 \
                 letters or digits + `_` + 64 letters, digits, `_` or `-`): copy the whole key \
                 again"
            ),
            KeyProblem::AnotherHoneyHiveKey => format!(
                "the value is another kind of HoneyHive key: a project key goes in HH_API_KEY, \
                 and this one must begin with `{prefix}`"
            ),
            KeyProblem::NotAHoneyHiveKey => {
                "the value is not a HoneyHive API key: create one in the HoneyHive app under \
                 Settings, API keys"
                    .to_owned()
            }
        };
        write!(
            f,
            "{} must be {}, a value beginning with `{prefix}`; {problem}",
            self.source,
            self.kind.noun()
        )
    }
}

/// The call a key is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Session starts, event updates, span exports: the ingestion key, else the project
    /// key.
    Ingestion,
    /// Runs, results, comparisons, datasets, datapoints: the project key only.
    Project,
}

/// The keys of a configuration, each checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Keys {
    pub(crate) project: Option<ApiKey>,
    pub(crate) ingestion: Option<ApiKey>,
    pub(crate) data_plane: Option<ApiKey>,
}

impl Keys {
    /// Checks the typed keys. `from_builder` says, per typed key, whether the builder gave
    /// it (the error then names the method rather than the variable).
    pub(crate) fn checked(self, from_builder: [bool; 2]) -> Result<Keys> {
        let typed = [
            (KeyKind::Ingestion, &self.ingestion, from_builder[0]),
            (KeyKind::DataPlane, &self.data_plane, from_builder[1]),
        ];
        for (kind, key, builder) in typed {
            if let Some(key) = key
                && let Err(problem) = kind.check(key.expose())
            {
                return Err(Error::MalformedKey(MalformedKey {
                    kind,
                    source: if builder {
                        kind.builder_method()
                    } else {
                        kind.variable()
                    },
                    problem,
                }));
            }
        }
        Ok(self)
    }

    /// The key a call for `audience` is sent with, if there is one.
    pub(crate) fn for_audience(&self, audience: Audience) -> Option<&ApiKey> {
        match audience {
            Audience::Ingestion => self.ingestion.as_ref().or(self.project.as_ref()),
            Audience::Project => self.project.as_ref(),
        }
    }

    /// Whether anything can be sent: a project or an ingestion key.
    pub(crate) fn any(&self) -> bool {
        self.project.is_some() || self.ingestion.is_some()
    }
}

/// `key` unless it is empty (an empty variable or builder value is no key).
pub(crate) fn non_empty(key: ApiKey) -> Option<ApiKey> {
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(prefix: &str, id: &str, secret: &str) -> String {
        format!("{prefix}{id}_{secret}")
    }

    #[test]
    fn typed_keys_have_the_reference_shape() {
        let id = "A".repeat(24);
        let secret = "b".repeat(62) + "_-";
        for kind in [KeyKind::Ingestion, KeyKind::DataPlane] {
            let p = kind.prefix();
            assert_eq!(kind.check(&key(p, &id, &secret)), Ok(()));
            for incomplete in [
                p.to_owned(),
                key(p, &id, &secret[1..]),
                key(p, &id[1..], &secret),
                key(p, &format!("{}_", &id[1..]), &secret),
                key(p, &id, &(secret.clone() + "x")),
                key(p, &id, &secret.replace('b', "!")),
            ] {
                assert_eq!(
                    kind.check(&incomplete),
                    Err(KeyProblem::Incomplete),
                    "{incomplete}"
                );
            }
        }
        let other = key(KeyKind::DataPlane.prefix(), &id, &secret);
        assert_eq!(
            KeyKind::Ingestion.check(&other),
            Err(KeyProblem::AnotherHoneyHiveKey)
        );
        assert_eq!(
            KeyKind::Ingestion.check("hh_1234567890abcdef"),
            Err(KeyProblem::AnotherHoneyHiveKey)
        );
        assert_eq!(
            KeyKind::DataPlane.check("sk-proj-1234"),
            Err(KeyProblem::NotAHoneyHiveKey)
        );
    }

    #[test]
    fn the_ingestion_key_wins_for_ingestion_only() {
        let keys = Keys {
            project: Some(ApiKey::new("project")),
            ingestion: Some(ApiKey::new("ingestion")),
            data_plane: None,
        };
        let sent = |audience| keys.for_audience(audience).map(ApiKey::expose);
        assert_eq!(sent(Audience::Ingestion), Some("ingestion"));
        assert_eq!(sent(Audience::Project), Some("project"));
        let ingestion_only = Keys {
            project: None,
            ..keys.clone()
        };
        assert_eq!(ingestion_only.for_audience(Audience::Project), None);
        assert!(ingestion_only.any());
        let project_only = Keys {
            ingestion: None,
            ..keys
        };
        assert_eq!(
            project_only
                .for_audience(Audience::Ingestion)
                .map(ApiKey::expose),
            Some("project")
        );
    }
}
