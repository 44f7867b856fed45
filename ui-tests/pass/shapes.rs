//! Every place `#[trace]` goes, in a crate that depends only on `honeyhive` and `serde`,
//! with every warning (and missing docs) an error: the expansion adds no warning.
#![deny(
    warnings,
    missing_docs,
    unused_braces,
    unused_variables,
    unused_mut,
    unused_parens
)]

use std::fmt::Display;

use honeyhive::trace;
use serde::Serialize;

/// A free fn with a doc comment and `#[must_use]`, both kept.
#[must_use]
#[trace]
pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// No return value.
#[trace]
pub fn unit(label: &str) {
    let _ = label;
}

/// Generics, lifetimes, a `where` clause, `impl Trait` in argument and return position.
#[trace]
pub fn longest<'a, T>(items: &'a [T], extra: impl Serialize + Display) -> impl Serialize + 'a
where
    T: Serialize + Ord,
{
    let _ = extra.to_string();
    items.iter().max()
}

/// Returns a borrow of its `&mut` argument: the body's closure must not shorten it.
#[trace(skip_output)]
pub fn first_mut(v: &mut Vec<u8>) -> &mut u8 {
    &mut v[0]
}

/// `impl Trait` return that is not `Serialize`, with `skip_output`.
#[trace(skip_output)]
pub fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

/// Early `return`, `?` with a conversion, and a borrowed `Ok` value.
#[trace]
pub fn parse_prefix<'a>(s: &'a str, n: &str) -> Result<&'a str, Box<dyn std::error::Error>> {
    let n: usize = n.parse()?;
    if n >= s.len() {
        return Ok(s);
    }
    Ok(&s[..n])
}

/// `io::Result` alias and `fmt::Result`.
#[trace]
pub fn io_alias(path: &str) -> std::io::Result<usize> {
    Ok(path.len())
}

/// An error type with neither `Display` nor `Debug`.
pub struct Opaque;

/// Its error is recorded by type name.
#[trace]
pub fn opaque(fail: bool) -> Result<u8, Opaque> {
    if fail { Err(Opaque) } else { Ok(1) }
}

/// Patterns in parameters: bindings are captured one by one, `_` never.
#[trace]
pub fn patterns((a, b): (u8, u8), Pair { left, .. }: Pair, _: u8, mut count: u32) -> u32 {
    count += u32::from(a) + u32::from(b) + u32::from(left);
    count
}

/// A pair.
#[derive(Serialize)]
pub struct Pair {
    /// Left.
    pub left: u8,
    /// Right.
    pub right: u8,
}

/// `unsafe` fn with an `unsafe` block.
///
/// # Safety
/// `p` must be valid.
#[trace(skip(p))]
pub unsafe fn read(p: *const u8) -> u8 {
    unsafe { *p }
}

/// `extern "C"` fn.
#[trace]
pub extern "C" fn callback(code: i32) -> i32 {
    code
}

/// A type with methods of every receiver.
#[derive(Serialize, Default)]
pub struct Counter {
    /// Count.
    pub n: u64,
}

impl Counter {
    /// Associated fn naming `Self`.
    #[trace]
    pub fn new() -> Self {
        Self::default()
    }

    /// Associated fn without `Self`, named explicitly.
    #[trace(name = "Counter::start_at")]
    pub fn start_at(n: u64) -> Counter {
        Counter { n }
    }

    /// `&self`.
    #[trace]
    pub fn get(&self) -> u64 {
        self.n
    }

    /// `&mut self`, metadata reading `self` and an argument.
    #[trace(metadata(before = self.n, by = by))]
    pub fn bump(&mut self, by: u64) -> &mut Self {
        self.n += by;
        self
    }

    /// `self`.
    #[trace(skip(self))]
    pub fn into_inner(self) -> u64 {
        self.n
    }

    /// `self: Box<Self>`.
    #[trace]
    pub fn boxed(self: Box<Self>) -> u64 {
        self.n
    }
}

/// A generic type with a generic method.
pub struct Wrapper<T>(pub T);

impl<T: Serialize + Clone> Wrapper<T> {
    /// Generic method.
    #[trace]
    pub fn pair<U: Serialize>(&self, other: U) -> (T, U) {
        (self.0.clone(), other)
    }
}

/// A trait with a traced default method.
pub trait Describe {
    /// Name.
    fn name(&self) -> String;

    /// Traced default body.
    #[trace]
    fn describe(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.name())
    }
}

impl Describe for Counter {
    #[trace]
    fn name(&self) -> String {
        format!("counter {}", self.n)
    }
}

/// `Display` of the counter.
impl Display for Counter {
    #[trace(skip_all, skip_output)]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.n)
    }
}

fn main() {
    let _ = add(1, 2);
    unit("x");
    let _ = longest(&[1, 2], "x");
    let mut v = vec![1u8];
    *first_mut(&mut v) += 1;
    let _ = evens(4).count();
    let _ = parse_prefix("hello", "2");
    let _ = io_alias("p");
    let _ = opaque(true).is_err();
    let _ = patterns((1, 2), Pair { left: 1, right: 2 }, 0, 0);
    let _ = unsafe { read(&1) };
    let _ = callback(1);
    let mut c = Counter::new();
    c.bump(2).bump(1);
    let _ = (
        c.get(),
        c.describe(">"),
        c.to_string(),
        Counter::start_at(1).get(),
    );
    let _ = Box::new(Counter::new()).boxed();
    let _ = c.into_inner();
    let _ = Wrapper(1u8).pair("x");
}
