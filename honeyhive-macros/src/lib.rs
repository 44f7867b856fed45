//! Procedural macros of the `honeyhive` crate. Use them through `honeyhive`, which
//! re-exports them; generated code names runtime items only through
//! `::honeyhive::__private`, so a user crate needs no other dependency.
