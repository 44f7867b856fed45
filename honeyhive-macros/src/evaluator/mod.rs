//! `#[evaluator]`: option parsing ([`attr`]) and code generation ([`expand`]).

pub(crate) mod attr;
pub(crate) mod expand;
