//! `async fn` (free, methods, in traits), `Send` futures, every option, `crate = path`,
//! in a crate that depends only on `honeyhive` and `serde`, with every warning an error.
#![deny(warnings, unused_braces, unused_variables, unused_mut, unused_parens)]

use std::future::Future;
use std::rc::Rc;

use honeyhive::trace;
use serde::Serialize;

#[trace]
async fn leaf(x: u32) -> u32 {
    x + 1
}

#[trace(event_type = "chain")]
async fn middle(x: u32) -> Result<u32, String> {
    let y = leaf(x).await;
    if y > 100 {
        return Err(format!("{y} is too big"));
    }
    let z: u32 = "7"
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(y + z)
}

#[trace(
    name = "custom",
    event_type = "model",
    skip(secret),
    skip_output,
    metadata(model = "gpt-4o", "prompt.len" = prompt.len(), tags = vec!["a", "b"]),
    config(temperature = 0.2, max_tokens = 100u32)
)]
async fn options(prompt: &str, secret: &str) -> Vec<u8> {
    let _ = secret;
    prompt.as_bytes().to_vec()
}

/// Metrics and feedback recorded with the call, as `honeyhive_metrics.*` and
/// `honeyhive_feedback.*`.
#[trace(
    event_type = "chain",
    metrics(words = answer.split_whitespace().count(), "score.raw" = 0.5),
    feedback(reviewed = false, labels = ["helpful"])
)]
fn scored(answer: &str) -> usize {
    answer.len()
}

/// The `session` and `generic` event types of the reference SDK.
#[trace(event_type = "session")]
fn whole_session() {}

#[trace(event_type = "generic")]
async fn anything_else() {}

#[trace(skip_all)]
fn skip_all(a: NotSerialize, b: NotSerialize) -> u8 {
    let _ = (a, b);
    1
}

struct NotSerialize;

#[trace(event_type = "tool")]
fn tool() {}

mod renamed {
    // What a crate that renamed the dependency sees: the crate under another name.
    pub use honeyhive as hh;

    #[hh::trace(crate = hh)]
    pub fn with_path(x: u8) -> u8 {
        x
    }

    #[hh::trace(crate = "hh")]
    pub async fn with_string(x: u8) -> u8 {
        x
    }

    // A `Result` return: the generated error handling imports from the renamed path.
    #[hh::trace(crate = hh)]
    pub fn fallible(x: u8) -> Result<u8, String> {
        if x > 0 { Ok(x) } else { Err("zero".into()) }
    }
}

/// Not `Send`: holds an `Rc` across an `.await`. Still traced.
#[trace(skip_all)]
async fn local(rc: Rc<u8>) -> u8 {
    leaf(1).await;
    *rc
}

#[derive(Serialize)]
struct Bot {
    name: String,
}

impl Bot {
    #[trace]
    async fn reply(&self, message: String) -> String {
        format!("{}: {message}", self.name)
    }

    #[trace]
    async fn rename(&mut self, name: String) {
        self.name = name;
    }

    #[trace(skip(self))]
    async fn consume(self) -> String {
        self.name
    }
}

trait Agent {
    #[trace]
    async fn act(&self, input: u32) -> u32 {
        input
    }

    async fn plan(&self, goal: String) -> Vec<String>;
}

impl Agent for Bot {
    #[trace]
    async fn plan(&self, goal: String) -> Vec<String> {
        vec![goal, self.name.clone()]
    }
}

fn assert_send<F: Future + Send>(f: F) -> F {
    f
}

/// A minimal executor: this crate depends on nothing but `honeyhive` and `serde`.
fn block_on<F: Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

fn main() {
    let mut bot = Bot { name: "b".into() };
    block_on(assert_send(leaf(1)));
    let _ = block_on(assert_send(middle(1)));
    let _ = block_on(assert_send(options("p", "s")));
    let _ = block_on(assert_send(bot.reply("hi".into())));
    block_on(assert_send(bot.rename("c".into())));
    let _ = block_on(assert_send(bot.act(1)));
    let _ = block_on(assert_send(bot.plan("g".into())));
    let _ = block_on(assert_send(renamed::with_string(1)));
    let _ = block_on(bot.consume());
    let _ = block_on(local(Rc::new(1)));
    let _ = skip_all(NotSerialize, NotSerialize);
    let _ = renamed::with_path(1);
    let _ = renamed::fallible(0);
    tool();
    let _ = scored("a b");
    whole_session();
    block_on(assert_send(anything_else()));
}
