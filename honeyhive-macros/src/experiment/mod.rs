//! `#[experiment]`: a test function that evaluates an LLM pipeline over a dataset.

pub(crate) mod attr;
pub(crate) mod expand;
