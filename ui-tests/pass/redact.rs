//! `redact(arg, ...)`: redacted arguments need not be `Serialize` (they are never
//! serialised), work on sync and async fns and methods, with patterns and raw names, next
//! to `skip`; and `Secret<T>` is captured like any argument. In a crate that depends only
//! on `honeyhive` and `serde`, with every warning an error.
#![deny(warnings, unused_variables)]

use honeyhive::{Secret, trace};

/// Not `Serialize`: only its redacted marker is recorded.
struct Credentials {
    token: String,
}

#[trace(redact(password))]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

#[trace(redact(credentials, r#type), skip(verbose))]
async fn call(credentials: Credentials, r#type: &str, verbose: bool, prompt: String) -> usize {
    let _ = verbose;
    credentials.token.len() + r#type.len() + prompt.len()
}

struct Client;

impl Client {
    #[trace(redact(key))]
    fn ask(&self, key: Secret<String>, question: &str) -> usize {
        key.expose().len() + question.len()
    }
}

#[trace(redact(pin))]
fn unlock((user, pin): (&str, u32)) -> bool {
    !user.is_empty() && pin > 0
}

fn main() {
    assert!(login("ada", "hunter2"));
    let future = call(
        Credentials { token: "t".into() },
        "chat",
        false,
        "hi".into(),
    );
    drop(future);
    assert_eq!(Client.ask(Secret::new("sk".into()), "q"), 3);
    assert!(unlock(("ada", 1234)));
}
