//! Integration tests of the runtime core, over real HTTP to the in-repo test server on
//! 127.0.0.1 (one binary, so the suite links once).

mod call_spans;
mod common;
mod evaluation_ids;
mod exporters;
mod faults;
mod flush;
mod limits;
mod local_mode;
mod propagation;
mod redaction;
mod sdk_parity;
mod unreachable;
mod wire_format;
