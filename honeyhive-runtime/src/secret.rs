//! [`Secret`]: a value that is used by the program but never recorded.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::REDACTED;

/// A value the program uses but no span, file, report or request ever shows: it
/// serialises as `"[REDACTED]"` (so a traced argument, a field of a captured struct, a
/// dataset input or an output holding one is recorded as that), and its `Debug` and
/// `Display` show `[REDACTED]` too. The value itself is reached with
/// [`expose`](Self::expose).
///
/// It deserialises from the value it wraps, so a dataset field can be read straight into
/// one.
///
/// ```
/// use honeyhive::Secret;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Login {
///     user: String,
///     password: Secret<String>,
/// }
///
/// let login: Login = serde_json::from_str(r#"{"user": "ada", "password": "hunter2"}"#).unwrap();
/// assert_eq!(login.password.expose(), "hunter2");
/// assert_eq!(
///     serde_json::to_string(&login).unwrap(),
///     r#"{"user":"ada","password":"[REDACTED]"}"#
/// );
/// assert_eq!(format!("{:?} {}", login.password, login.password), "Secret([REDACTED]) [REDACTED]");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value, for the code that needs it (never for what is recorded).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
