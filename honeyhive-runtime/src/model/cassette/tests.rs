//! Cassettes on disk: keys, record and replay, misses, redaction.

use serde_json::json;

use super::*;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "honeyhive-cassettes-{name}-{}",
        uuid::Uuid::new_v4()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn chat(content: &str, temperature: f64) -> CanonicalRequest {
    CanonicalRequest::new(
        "POST",
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "temperature": temperature,
               "messages": [{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": content}]}),
    )
}

fn answer(text: &str) -> Answer {
    Answer {
        status: 200,
        content_type: "application/json".into(),
        body: Some(json!({"choices": [{"message": {"content": text}}]})),
        text: None,
        events: None,
    }
}

const FIRST: Slot = Slot {
    repetition: 0,
    occurrence: 0,
};

#[test]
fn keys_ignore_key_order_and_credentials_but_not_content() {
    let a = CanonicalRequest::new("POST", "/v1/x", json!({"a": 1, "b": [1, {"c": 2, "d": 3}]}));
    let b = CanonicalRequest::new(
        "POST",
        "/v1/x",
        json!({"b": [1, {"d": 3, "c": 2}], "a": 1, "api_key": "sk-1", "Password": "p"}),
    );
    assert_eq!(a.key, b.key);
    assert_eq!(b.body, json!({"a": 1, "b": [1, {"c": 2, "d": 3}]}));
    let c = CanonicalRequest::new("POST", "/v1/x", json!({"a": 2, "b": [1, {"c": 2, "d": 3}]}));
    assert_ne!(a.key, c.key);
    let d = CanonicalRequest::new("POST", "/v1/y", json!({"a": 1, "b": [1, {"c": 2, "d": 3}]}));
    assert_ne!(a.key, d.key);
}

#[test]
fn recorded_calls_replay_from_a_fresh_reader_by_slot() {
    let dir = dir("roundtrip");
    let writer = Cassettes::new(CacheMode::Record, &dir);
    let request = chat("What is Rust?", 0.2);
    let second = Slot {
        repetition: 0,
        occurrence: 1,
    };
    let path = writer
        .record(&request, FIRST, answer("A language."), &[])
        .unwrap()
        .unwrap();
    writer
        .record(&request, second, answer("A systems language."), &[])
        .unwrap();
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("chat-completions-gpt-4o-mini-")
    );
    assert!(
        writer.lookup(&request, FIRST).unwrap().is_none(),
        "record mode never reads"
    );

    let reader = Cassettes::new(CacheMode::Replay, &dir);
    let replayed = reader.lookup(&request, FIRST).unwrap().unwrap();
    assert_eq!(replayed.answer, answer("A language."));
    let replayed = reader.lookup(&request, second).unwrap().unwrap();
    assert_eq!(replayed.answer, answer("A systems language."));
    // Outside scopes, identical requests are counted by the reader: first, second, third.
    let slots: Vec<Slot> = (0..3).map(|_| reader.slot(&request, None)).collect();
    assert_eq!(slots[1], second);
    let miss = reader.lookup(&request, slots[2]).unwrap_err().to_string();
    assert!(
        miss.contains("this exact request was recorded, but for repetition 0 occurrence 0, repetition 0 occurrence 1"),
        "{miss}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_miss_names_the_call_and_the_closest_requests_differences() {
    let dir = dir("miss");
    let writer = Cassettes::new(CacheMode::Record, &dir);
    writer
        .record(&chat("What is Rust?", 0.2), FIRST, answer("a"), &[])
        .unwrap();
    writer
        .record(
            &chat("Something else entirely", 0.9),
            FIRST,
            answer("b"),
            &[],
        )
        .unwrap();
    let reader = Cassettes::new(CacheMode::Replay, &dir);
    let miss = reader
        .lookup(&chat("What is rust?", 0.2), FIRST)
        .unwrap_err()
        .to_string();
    assert!(
        miss.starts_with(
            "HH_LLM_CACHE=replay: no cassette for POST /v1/chat/completions (model gpt-4o-mini) \
             (repetition 0, occurrence 0) in "
        ),
        "{miss}"
    );
    assert!(miss.contains("differs in 2 place(s)"), "{miss}");
    assert!(
        miss.contains("- messages.1.content: \"What is Rust?\""),
        "{miss}"
    );
    assert!(
        miss.contains("+ messages.1.content: \"What is rust?\""),
        "{miss}"
    );
    assert!(!miss.contains("Something else"), "{miss}");

    let empty = Cassettes::new(CacheMode::Replay, dir.join("none"));
    let miss = empty
        .lookup(&chat("x", 0.0), FIRST)
        .unwrap_err()
        .to_string();
    assert!(
        miss.contains("no cassette is recorded there at all"),
        "{miss}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_edited_to_another_request_is_a_miss_that_names_it() {
    let dir = dir("edited");
    let cache = Cassettes::new(CacheMode::Record, &dir);
    let request = chat("What is Rust?", 0.2);
    let path = cache
        .record(&request, FIRST, answer("a"), &[])
        .unwrap()
        .unwrap();
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("What is Rust?", "What is Go?");
    std::fs::write(&path, edited).unwrap();
    let miss = Cassettes::new(CacheMode::Replay, &dir)
        .lookup(&request, FIRST)
        .unwrap_err()
        .to_string();
    assert!(miss.contains(&path.display().to_string()), "{miss}");
    assert!(
        miss.contains("- messages.1.content: \"What is Go?\""),
        "{miss}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auto_mode_replays_hits_and_takes_new_recordings_at_once() {
    let dir = dir("auto");
    let cache = Cassettes::new(CacheMode::Auto, &dir);
    let request = chat("q", 0.0);
    assert!(cache.lookup(&request, FIRST).unwrap().is_none());
    cache
        .record(&request, FIRST, answer("recorded"), &[])
        .unwrap();
    assert_eq!(
        cache.lookup(&request, FIRST).unwrap().unwrap().answer,
        answer("recorded")
    );
    assert!(
        Cassettes::new(CacheMode::Off, &dir)
            .lookup(&request, FIRST)
            .unwrap()
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn credentials_never_reach_the_file() {
    let dir = dir("secrets");
    let cache = Cassettes::new(CacheMode::Record, &dir);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        "Bearer sk-live-1234567890".parse().unwrap(),
    );
    headers.insert("api-key", "azure-key-abcdefgh".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let found = credentials(&headers);
    let exposed: Vec<&str> = found.iter().map(ApiKey::expose).collect();
    assert_eq!(exposed, ["sk-live-1234567890", "azure-key-abcdefgh"]);
    let request = CanonicalRequest::new(
        "POST",
        "/v1/chat/completions",
        json!({"model": "m", "api_key": "sk-in-body-999999",
               "messages": [{"role": "user", "content": "my key is sk-live-1234567890"}]}),
    );
    let path = cache
        .record(&request, FIRST, answer("echo sk-live-1234567890"), &found)
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    for secret in [
        "sk-live-1234567890",
        "azure-key-abcdefgh",
        "sk-in-body-999999",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("[REDACTED]"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_keep_their_data_as_sent() {
    let event = Event::new("", "", r#"{"choices":[{"delta":{"content":"Hi"}}]}"#);
    assert!(event.data.is_object());
    let mut out = String::new();
    event.encode(&mut out);
    assert_eq!(
        out,
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    );
    let done = Event::new("", "", "[DONE]");
    assert_eq!(done.data, Value::String("[DONE]".into()));
    let mut out = String::new();
    Event::new("ping", "7", "a\nb").encode(&mut out);
    assert_eq!(out, "event: ping\nid: 7\ndata: a\ndata: b\n\n");
}

#[test]
fn modes_parse_and_bad_ones_say_what_to_use() {
    assert_eq!("Replay".parse::<CacheMode>().unwrap(), CacheMode::Replay);
    let err = "replya".parse::<CacheMode>().unwrap_err().to_string();
    assert!(
        err.contains("HH_LLM_CACHE=\"replya\"") && err.contains("record, replay, auto or off"),
        "{err}"
    );
    let env = Environment::from_pairs([("HH_LLM_CACHE", "auto"), ("HH_LLM_CACHE_DIR", "/tmp/c")]);
    let cache = Cassettes::from_env(&env).unwrap();
    assert_eq!(
        (cache.mode(), cache.dir()),
        (CacheMode::Auto, Path::new("/tmp/c"))
    );
    assert_eq!(
        Cassettes::from_env(&Environment::empty()).unwrap().mode(),
        CacheMode::Off
    );
}
