//! The HoneyHive REST API in one place: the HTTP client, session and event bodies, runs,
//! hosted datasets and run comparisons.

pub(crate) mod client;
pub mod runs;
pub(crate) mod sessions;
