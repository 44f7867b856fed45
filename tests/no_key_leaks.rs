//! No key in any output: `Debug`, `Display`, errors, warnings, spans, reports and files.
//!
//! Two guards. The first formats every public type that can hold a key, each holding known
//! secrets, and looks for them. The second keeps the list honest: the toolkit holds keys
//! only as `ApiKey` (whose `Debug` shows `***`), so a struct field named like a key of any
//! other type fails the scan of the runtime's source, and every public type that holds an
//! `ApiKey` must be in [`FORMATTED`].

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use honeyhive::experiment::Experiment;
use honeyhive::{
    ApiKey, Config, Dataset, Enrichment, Environment, HoneyHiveTracer, Warning, WarningHandler,
};
use honeyhive_runtime::testing::TestServer;

const PROJECT_KEY: &str = "hh-SECRET-key-4242";

fn ingestion_key() -> String {
    format!(
        "hh_ingst_{}_{}",
        "IngestId".repeat(3),
        "IngestSecret-_42".repeat(4)
    )
}

fn data_plane_key() -> String {
    format!(
        "hh_fgdp_{}_{}",
        "PlaneIdx".repeat(3),
        "PlaneSecret-_420".repeat(4)
    )
}

/// The secrets, and the parts of them that are secret on their own.
fn secrets() -> Vec<String> {
    let mut all = vec![PROJECT_KEY.to_owned()];
    for key in [ingestion_key(), data_plane_key()] {
        // `<prefix><24-character id>_<secret>`: the prefix is `hh_` and one word.
        let prefix = key.match_indices('_').nth(1).unwrap().0 + 1;
        let secret = key[prefix + 25..].to_owned();
        all.extend([key, secret]);
    }
    all
}

fn assert_hidden(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{what} shows a key: {text}");
    }
}

/// `Debug` (plain and pretty) of `value`.
fn debug(what: &str, value: &impl std::fmt::Debug) {
    assert_hidden(what, &format!("{value:?}"));
    assert_hidden(what, &format!("{value:#?}"));
}

/// The public types that can hold a key; [`every_public_key_holder_is_formatted`] checks
/// that none is missing.
const FORMATTED: &[&str] = &[
    "ApiKey",
    "ConfigBuilder",
    "Config",
    "TracerBuilder",
    "HoneyHiveTracer",
    "ModelCall",
    "Experiment",
    "TestServerBuilder",
    "TestServer",
    "OpenAiTestServerBuilder",
    "OpenAiTestServer",
    "JudgeBuilder",
    "Judge",
    "Factuality",
    "ClosedQa",
    "Faithfulness",
    "Rubric",
    "Classifier",
    "Error",
];

fn environment_with_every_key() -> Environment {
    Environment::from_pairs([
        ("HH_API_KEY", PROJECT_KEY.to_owned()),
        ("HH_INGESTION_API_KEY", ingestion_key()),
        ("HH_DATA_PLANE_API_KEY", data_plane_key()),
        ("HH_API_URL", "http://127.0.0.1:9".to_owned()),
    ])
}

#[test]
fn every_type_that_can_hold_a_key_hides_it() {
    debug("ApiKey", &ApiKey::new(PROJECT_KEY));

    let builder = Config::builder()
        .environment(Environment::empty())
        .api_key(PROJECT_KEY)
        .ingestion_api_key(ingestion_key())
        .data_plane_api_key(data_plane_key())
        .base_url("http://127.0.0.1:9");
    debug("ConfigBuilder", &builder);
    let config = builder.build().unwrap();
    debug("Config", &config);
    debug(
        "Config from the environment",
        &Config::builder()
            .environment(environment_with_every_key())
            .build()
            .unwrap(),
    );

    let dir = std::env::temp_dir().join(format!("honeyhive-no-key-{}", std::process::id()));
    let tracer_builder = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .api_key(PROJECT_KEY)
        .ingestion_api_key(ingestion_key())
        .data_plane_api_key(data_plane_key())
        .local_dir(&dir)
        .disabled(true);
    debug("TracerBuilder", &tracer_builder);
    debug(
        "TracerBuilder with a config",
        &HoneyHiveTracer::builder().config(config.clone()),
    );
    let tracer = tracer_builder.build().unwrap();
    debug("HoneyHiveTracer", &tracer);
    // A model call holds the enabled tracer it was made under (its span is queued on that
    // tracer's pipeline).
    let enabled = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .api_key(PROJECT_KEY)
        .ingestion_api_key(ingestion_key())
        .data_plane_api_key(data_plane_key())
        .local_dir(&dir)
        .build()
        .unwrap();
    let call =
        enabled.in_scope(|| honeyhive::model::ModelCall::chat("openai", "gpt-4o-mini").start());
    assert!(call.is_recording());
    debug("ModelCall", &call);
    call.end();

    let experiment = Experiment::<serde_json::Value, String>::new("keys")
        .config(config.clone())
        .environment(environment_with_every_key());
    debug("Experiment", &experiment);

    let server_builder = TestServer::builder()
        .api_key(PROJECT_KEY)
        .ingestion_key(ingestion_key());
    debug("TestServerBuilder", &server_builder);
    debug("TestServer", &server_builder.start());
    let openai_builder =
        honeyhive_runtime::testing::openai::OpenAiTestServer::builder().api_key(PROJECT_KEY);
    debug("OpenAiTestServerBuilder", &openai_builder);
    debug("OpenAiTestServer", &openai_builder.start());

    // A judge's key (the environment's or the builder's), and the judges holding one.
    use honeyhive::evaluators::judge::{
        Choices, Classifier, ClosedQa, Factuality, Faithfulness, Judge, Rubric,
    };
    let judge_builder = Judge::builder()
        .environment(Environment::from_pairs([("OPENAI_API_KEY", PROJECT_KEY)]))
        .base_url("http://127.0.0.1:9/v1");
    debug("JudgeBuilder from the environment", &judge_builder);
    debug(
        "Judge from the environment",
        &judge_builder.build().unwrap(),
    );
    let judge_builder = Judge::builder()
        .environment(Environment::empty())
        .api_key(PROJECT_KEY)
        .base_url("http://127.0.0.1:9/v1");
    debug("JudgeBuilder", &judge_builder);
    let judge = judge_builder.build().unwrap();
    debug("Judge", &judge);
    debug("Factuality", &Factuality::new().judge(judge.clone()));
    debug("ClosedQa", &ClosedQa::new("c").judge(judge.clone()));
    debug("Faithfulness", &Faithfulness::new().judge(judge.clone()));
    debug("Rubric", &Rubric::new("r").judge(judge.clone()));
    let classifier = Classifier::new("c", "{{ output }}", Choices::new([("A", 1.0)])).unwrap();
    debug("Classifier", &classifier.judge(judge));

    // Errors that echo configuration values: a malformed typed key's never shows it.
    let malformed = |key: String| {
        [
            key[..key.len() - 1].to_owned(),
            format!("hh_other_{PROJECT_KEY}"),
            format!("not-a-key-{PROJECT_KEY}"),
        ]
    };
    let cases = malformed(ingestion_key())
        .map(|value| ("HH_INGESTION_API_KEY", value))
        .into_iter()
        .chain(malformed(data_plane_key()).map(|value| ("HH_DATA_PLANE_API_KEY", value)));
    for (variable, value) in cases {
        let from_env = Config::builder()
            .environment(Environment::from_pairs([(variable, value.clone())]))
            .build()
            .unwrap_err();
        let builder = Config::builder().environment(Environment::empty());
        let builder = match variable {
            "HH_INGESTION_API_KEY" => builder.ingestion_api_key(value.clone()),
            _ => builder.data_plane_api_key(value.clone()),
        };
        let from_builder = builder.build().unwrap_err();
        for error in [from_env, from_builder] {
            debug("Error", &error);
            assert_hidden("Error's Display", &error.to_string());
            assert!(!error.to_string().contains(&value), "{error}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An experiment connected with every key, against the test server: no span, request
/// body, warning, report or file of the run holds a key (only the `Authorization` headers
/// do, which is where keys go).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_span_body_warning_report_or_file_holds_a_key() {
    let server = TestServer::builder()
        .api_key(PROJECT_KEY)
        .ingestion_key(ingestion_key())
        .start();
    let dir = std::env::temp_dir().join(format!("honeyhive-no-key-run-{}", std::process::id()));
    let warnings = Arc::new(Mutex::new(Vec::<Warning>::new()));
    let sink = warnings.clone();
    let config = Config::builder()
        .environment(Environment::empty())
        .api_key(PROJECT_KEY)
        .ingestion_api_key(ingestion_key())
        .data_plane_api_key(data_plane_key())
        .base_url(server.url())
        .local_dir(&dir)
        .on_warning(WarningHandler::new(move |w| {
            sink.lock().unwrap().push(w.clone())
        }))
        .build()
        .unwrap();
    let report = Experiment::<serde_json::Value, String>::new("keys")
        .config(config)
        .environment(Environment::empty())
        .dataset(Dataset::from_json(r#"[{"inputs": {"q": 1}}, {"inputs": {"q": 2}}]"#).unwrap())
        .quiet()
        .run(|inputs: serde_json::Value| async move {
            honeyhive::enrich_session(Enrichment::new().metadata("seen", true));
            inputs.to_string()
        })
        .await
        .unwrap();
    debug("ExperimentReport", &report);
    for request in server.requests() {
        debug("a recorded request's body", &request.body);
        for (name, value) in &request.headers {
            let value = value.to_str().unwrap_or_default();
            if name == http::header::AUTHORIZATION {
                // The data plane key authorises nothing this toolkit calls: never sent.
                let sent = [PROJECT_KEY.to_owned(), ingestion_key()].map(|k| format!("Bearer {k}"));
                assert!(
                    sent.contains(&value.to_owned()),
                    "{} sent another key",
                    request.path
                );
            } else {
                assert_hidden(name.as_str(), value);
            }
        }
    }
    assert!(!server.spans().is_empty());
    for span in server.spans() {
        debug("a span", &span);
    }
    debug("the warnings", &*warnings.lock().unwrap());
    let mut files = 0;
    for file in walk(&dir) {
        files += 1;
        assert_hidden(
            &file.display().to_string(),
            &String::from_utf8_lossy(&std::fs::read(&file).unwrap()),
        );
    }
    assert!(
        files > 0,
        "the run wrote its report under {}",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The source of every struct and enum of the runtime: (name, is `pub`, body without
/// comments).
fn definitions() -> Vec<(String, bool, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("honeyhive-runtime/src");
    let mut out = Vec::new();
    for file in walk(&root)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let source = std::fs::read_to_string(&file).unwrap();
        let code: String = source
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = code.as_str();
        while let Some(at) = find_item(rest) {
            let (public, name, body, after) = at;
            out.push((name, public, body));
            rest = after;
        }
    }
    out
}

/// The next `struct`/`enum` in `code`: whether it is `pub` (not `pub(crate)`), its name, its
/// body, and the code after it.
fn find_item(code: &str) -> Option<(bool, String, String, &str)> {
    let mut search = code;
    loop {
        let at = ["struct ", "enum "]
            .iter()
            .filter_map(|kw| search.find(kw).map(|i| (i, kw.len())))
            .min()?;
        let (i, len) = at;
        let before = &search[..i];
        let word_start = before.is_empty() || before.ends_with(char::is_whitespace);
        if !word_start {
            search = &search[i + len..];
            continue;
        }
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let public = before[line_start..].trim() == "pub";
        let tail = &search[i + len..];
        let name: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let open = tail.find(['{', '(', ';'])?;
        if tail.as_bytes()[open] == b';' {
            return Some((public, name, String::new(), &tail[open + 1..]));
        }
        let (opening, closing) = if tail.as_bytes()[open] == b'{' {
            ('{', '}')
        } else {
            ('(', ')')
        };
        let mut depth = 0;
        for (j, c) in tail[open..].char_indices() {
            if c == opening {
                depth += 1;
            } else if c == closing {
                depth -= 1;
                if depth == 0 {
                    let end = open + j + 1;
                    return Some((public, name, tail[open..end].to_owned(), &tail[end..]));
                }
            }
        }
        return None;
    }
}

/// The type names of `body` (a struct's or enum's): words after `:`, `<`, `&`, `[`, or in
/// parentheses; not field or variant names, and not names in another crate's path
/// (`io::Error`), which only `crate::` paths leave in.
fn type_words(body: &str) -> BTreeSet<&str> {
    let mut tokens: Vec<&str> = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices().chain([(body.len(), ' ')]) {
        if c.is_alphanumeric() || c == '_' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            tokens.push(&body[s..i]);
        }
        if !c.is_whitespace() {
            tokens.push(&body[i..i + c.len_utf8()]);
        }
    }
    let mut words = BTreeSet::new();
    let mut parens = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match *token {
            "(" => parens += 1,
            ")" => parens = parens.saturating_sub(1),
            _ => {}
        }
        if !token.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // What stands before the word, past `pub`, `crate` of `pub(crate)`, `mut`, `dyn`.
        let mut j = i;
        let previous = loop {
            if j == 0 {
                break "";
            }
            j -= 1;
            match tokens[j] {
                "pub" | "mut" | "dyn" | "impl" | "(" if j > 0 && tokens[j - 1] == "pub" => {}
                "crate" | ")" if j > 0 && matches!(tokens[j - 1], "(" | "crate") => {}
                other => break other,
            }
        };
        let in_path = previous == ":" && j > 0 && tokens[j - 1] == ":";
        let crate_path = in_path && j > 1 && tokens[j - 2] == "crate";
        let type_position = matches!(previous, ":" | "<" | "&" | "[")
            || parens > 0 && matches!(previous, "(" | ",");
        if type_position && (!in_path || crate_path) {
            words.insert(*token);
        }
    }
    words
}

/// The toolkit holds keys as `ApiKey` (or the `Keys` of a configuration, or a header
/// value marked sensitive): a field named like a key with any other type could print it.
#[test]
fn keys_are_held_only_as_api_key() {
    let named_like_a_key = |field: &str| {
        field.ends_with("_key")
            || field == "keys"
            || field.contains("secret")
            || field.contains("token") && !field.ends_with("tokens")
            || field.contains("auth") && !field.starts_with("author")
    };
    let mut offenders = Vec::new();
    for (name, _, body) in definitions() {
        for field in body.split([',', '{', '}', '(', ')']) {
            let Some((field_name, ty)) = field.split_once(':') else {
                continue;
            };
            let field_name = field_name
                .trim()
                .trim_start_matches("pub(crate)")
                .trim_start_matches("pub")
                .trim();
            if named_like_a_key(field_name)
                && !["ApiKey", "Keys", "HeaderValue"]
                    .iter()
                    .any(|t| ty.contains(t))
            {
                offenders.push(format!("{name}.{field_name}: {}", ty.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "hold keys as honeyhive::ApiKey (its Debug shows ***): {offenders:?}"
    );
}

/// Every public type holding a key, directly or through another type that does, is in
/// [`FORMATTED`], so its `Debug` is checked.
#[test]
fn every_public_key_holder_is_formatted() {
    let definitions = definitions();
    // Names are matched as words of the definitions' bodies: a private type of the same
    // name as a public one can only make the set larger, never miss a holder.
    let mut holders: BTreeSet<String> = ["ApiKey".to_owned(), "Keys".to_owned()].into();
    loop {
        let before = holders.len();
        for (name, _, body) in &definitions {
            let words = type_words(body);
            if holders.iter().any(|h| words.contains(h.as_str())) {
                holders.insert(name.clone());
            }
        }
        if holders.len() == before {
            break;
        }
    }
    let public: BTreeSet<&str> = definitions
        .iter()
        .filter(|(name, public, _)| *public && holders.contains(name))
        .map(|(name, _, _)| name.as_str())
        .collect();
    let missing: Vec<&&str> = public
        .iter()
        .filter(|name| !FORMATTED.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "public types that can hold a key but are not formatted by \
         every_type_that_can_hold_a_key_hides_it: {missing:?} (holders: {holders:?})"
    );
}
