//! The structured output ladder against the OpenAI test server: a JSON schema response
//! format where the server takes it, a forced tool call where it does not, text where
//! neither is taken; remembered per judge, warned once per form, never guessed.

use honeyhive::Warning;
use honeyhive::evaluators::judge::{Choices, JudgeError, Prompt, Scale, StructuredOutput, Typed};
use honeyhive_runtime::testing::openai::{OpenAiTestServer, Reply};
use serde_json::json;

use crate::common::Warnings;
use crate::support::{JUDGE_KEY, chats, form_of, judge, judge_with, prompt_of, server};

fn yes_no() -> Choices {
    Choices::new([("Y", 1.0), ("N", 0.0)])
}

fn verdict_y() -> Reply {
    Reply::structured(json!({"reasoning": "It names Paris.", "choice": "Y"}))
}

#[tokio::test]
async fn a_server_with_json_schema_is_asked_with_the_verdicts_schema() {
    let server = server(|_| verdict_y());
    let judge = judge(&server, StructuredOutput::Auto);
    let judged = judge
        .ask(
            Prompt::user("Is Paris the capital? Y or N.").system("You check facts."),
            &yes_no(),
        )
        .await
        .unwrap();
    assert_eq!(judged.verdict.label, "Y");
    assert_eq!(judged.verdict.reasoning.as_deref(), Some("It names Paris."));
    assert_eq!(
        (judged.via, judged.from_text),
        (StructuredOutput::JsonSchema, false)
    );
    let requests = chats(&server);
    assert_eq!(requests.len(), 1);
    let body = requests[0].json().unwrap();
    assert_eq!(body["model"], "judge-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["response_format"]["type"], "json_schema");
    let schema = &body["response_format"]["json_schema"];
    assert_eq!(
        (&schema["name"], &schema["strict"]),
        (&json!("verdict"), &json!(true))
    );
    assert_eq!(
        schema["schema"]["properties"]["choice"]["enum"],
        json!(["Y", "N"])
    );
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You check facts."})
    );
    assert!(prompt_of(&requests[0]).contains("your choice in `choice`"));
    assert_eq!(
        requests[0].headers["authorization"],
        format!("Bearer {JUDGE_KEY}")
    );
}

#[tokio::test]
async fn a_server_without_json_schema_gets_a_forced_tool_call_and_the_judge_remembers() {
    let server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_json_schema()
        .respond(|_| verdict_y())
        .start();
    let warnings = Warnings::default();
    let judge = judge_with(&server, StructuredOutput::Auto, warnings.handler());
    let first = judge
        .classify("Is Paris the capital?", &yes_no())
        .await
        .unwrap();
    assert_eq!(first.label, "Y");
    // A clone shares what the judge learnt: it starts with the tool call.
    let clone = judge.clone();
    let judged = clone.ask("Again?", &yes_no()).await.unwrap();
    assert_eq!(
        (judged.via, judged.from_text),
        (StructuredOutput::ToolCall, false)
    );
    let forms: Vec<&str> = chats(&server).iter().map(form_of).collect();
    assert_eq!(forms, ["json_schema", "tool_call", "tool_call"]);
    let tool = chats(&server)[1].json().unwrap().clone();
    assert_eq!(tool["tools"][0]["function"]["name"], "verdict");
    assert_eq!(
        tool["tools"][0]["function"]["parameters"]["properties"]["choice"]["enum"],
        json!(["Y", "N"])
    );
    assert_eq!(
        tool["tool_choice"],
        json!({"type": "function", "function": {"name": "verdict"}})
    );
    // One warning, naming the judge, the form and the server's reason.
    let all = warnings.all();
    assert_eq!(all.len(), 1, "{all:?}");
    let Warning::JudgeFormRejected {
        judge: who,
        rejected,
        instead,
        reason,
    } = &all[0]
    else {
        panic!("{all:?}")
    };
    assert!(who.starts_with("judge-model at http://127.0.0.1:"), "{who}");
    assert_eq!((*rejected, *instead), ("json_schema", "tool_call"));
    assert!(
        reason.contains("HTTP 400") && reason.contains("json_schema"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_server_without_either_gets_text_and_the_choice_letter_is_read() {
    let server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_json_schema()
        .reject_tools()
        .respond(|_| Reply::text("The answer names Paris, which is right.\n\nAnswer: Y"))
        .start();
    let judge = judge(&server, StructuredOutput::Auto);
    let judged = judge.ask("Is Paris the capital?", &yes_no()).await.unwrap();
    assert_eq!(judged.verdict.label, "Y");
    assert_eq!(
        judged.verdict.reasoning.as_deref(),
        Some("The answer names Paris, which is right.")
    );
    assert_eq!(
        (judged.via, judged.from_text),
        (StructuredOutput::Text, true)
    );
    let requests = chats(&server);
    let forms: Vec<&str> = requests.iter().map(form_of).collect();
    assert_eq!(forms, ["json_schema", "tool_call", "text"]);
    let body = requests[2].json().unwrap();
    assert!(body.get("tools").is_none() && body.get("response_format").is_none());
    assert!(
        prompt_of(&requests[2]).ends_with(
            "write your answer alone on the last line as `Answer: <choice>`, where <choice> \
             is one of Y, N."
        ),
        "{}",
        prompt_of(&requests[2])
    );
    // Remembered: the next call goes straight to text.
    judge.ask("Again?", &yes_no()).await.unwrap();
    assert_eq!(form_of(chats(&server).last().unwrap()), "text");
    assert_eq!(chats(&server).len(), 4);
}

#[tokio::test]
async fn a_structured_request_answered_in_text_is_read_tolerantly_and_says_so() {
    let server = server(|_| {
        Reply::text(
            "Let me think: 4 of 5 points hold.\n```json\n{\"reasoning\": \"mostly\", \"score\": 4}\n```",
        )
    });
    let judge = judge(&server, StructuredOutput::Auto);
    let judged = judge.ask("Rate it.", &Scale::new(1.0, 5.0)).await.unwrap();
    assert_eq!(judged.verdict.value, 4.0);
    assert_eq!(
        (judged.via, judged.from_text),
        (StructuredOutput::JsonSchema, true)
    );
    assert!(judged.raw.starts_with("Let me think"));
    // A trailing object after prose, too.
    server.script([Reply::text(
        "Fine overall. {\"reasoning\": \"ok\", \"score\": 2}",
    )]);
    assert_eq!(
        judge
            .rate("Rate it.", Scale::new(1.0, 5.0))
            .await
            .unwrap()
            .value,
        2.0
    );
}

#[tokio::test]
async fn a_declared_form_is_the_only_one_asked() {
    let server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_tools()
        .respond(|_| verdict_y())
        .start();
    let e = judge(&server, StructuredOutput::ToolCall)
        .ask("Is it?", &yes_no())
        .await
        .unwrap_err();
    assert!(matches!(e, JudgeError::Server { status: 400, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("tools and tool_choice are not supported"),
        "{e}"
    );
    let text = judge(&server, StructuredOutput::Text);
    server.script([Reply::text("Answer: N")]);
    assert_eq!(text.classify("Is it?", &yes_no()).await.unwrap().label, "N");
    let forms: Vec<&str> = chats(&server).iter().map(form_of).collect();
    assert_eq!(forms, ["tool_call", "text"]);
}

#[tokio::test]
async fn a_400_that_is_not_about_the_form_is_an_error_not_a_step_down() {
    let server = server(|_| Reply::error(400, "The model `judge-model` does not exist"));
    let e = judge(&server, StructuredOutput::Auto)
        .ask("Is it?", &yes_no())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("answered HTTP 400") && text.contains("does not exist"),
        "{text}"
    );
    assert_eq!(chats(&server).len(), 1);
}

#[tokio::test]
async fn a_typed_verdict_is_asked_by_its_schema_and_read_by_serde() {
    use honeyhive::evaluators::judge::schemars;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "honeyhive::evaluators::judge::schemars")]
    struct Tone {
        reasoning: String,
        polite: bool,
        words: Vec<String>,
    }
    let server = server(|_| {
        Reply::structured(json!({"reasoning": "says please", "polite": true, "words": ["please"]}))
    });
    let judge = judge(&server, StructuredOutput::Auto);
    let tone: Tone = judge.verdict("Is \"please sit\" polite?").await.unwrap();
    assert!(tone.polite && tone.words == ["please"] && tone.reasoning == "says please");
    let body = chats(&server)[0].json().unwrap().clone();
    let schema = &body["response_format"]["json_schema"];
    assert_eq!(schema["strict"], false);
    assert_eq!(schema["schema"]["properties"]["words"]["type"], "array");
    // Text mode shows the schema in the prompt.
    let spec = Typed::<Tone>::new();
    let text_judge = judge_with_text(&server);
    server.script([Reply::text(
        "{\"reasoning\": \"r\", \"polite\": false, \"words\": []}",
    )]);
    let judged = text_judge.ask("Polite?", &spec).await.unwrap();
    assert!(!judged.verdict.polite);
    assert!(prompt_of(chats(&server).last().unwrap()).contains("\"polite\""));
}

fn judge_with_text(server: &OpenAiTestServer) -> honeyhive::evaluators::judge::Judge {
    judge(server, StructuredOutput::Text)
}

#[test]
fn a_sync_caller_blocks_for_its_verdict_with_or_without_a_runtime() {
    let server = server(|_| verdict_y());
    let judge = judge(&server, StructuredOutput::Auto);
    // No runtime at all.
    assert_eq!(
        judge
            .blocking()
            .classify("Is it?", &yes_no())
            .unwrap()
            .label,
        "Y"
    );
    // A current-thread runtime, which cannot block in place.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(async {
        assert_eq!(
            judge
                .blocking()
                .classify("Is it?", &yes_no())
                .unwrap()
                .label,
            "Y"
        );
    });
    // A multi-thread runtime's worker.
    let multi = tokio::runtime::Runtime::new().unwrap();
    let clone = judge.clone();
    let label = multi
        .block_on(multi.spawn(async move {
            clone
                .blocking()
                .classify("Is it?", &yes_no())
                .unwrap()
                .label
        }))
        .unwrap();
    assert_eq!(label, "Y");
    assert_eq!(chats(&server).len(), 3);
}
