//! Tests of the test server over real HTTP.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use super::*;

const WAIT: Duration = Duration::from_secs(5);

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Two spans covering every attribute type, an event, both error and ok status, and a parent.
fn export() -> ExportTraceServiceRequest {
    let trace_id: Vec<u8> = (0..16).collect();
    let root = Span {
        trace_id: trace_id.clone(),
        span_id: vec![0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3],
        name: "root".into(),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        attributes: vec![
            kv("s", Any::StringValue("text".into())),
            kv("b", Any::BoolValue(true)),
            kv("i", Any::IntValue(-7)),
            kv("d", Any::DoubleValue(2.5)),
            kv(
                "arr",
                Any::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Any::IntValue(1)),
                        },
                        AnyValue {
                            value: Some(Any::StringValue("x".into())),
                        },
                    ],
                }),
            ),
            kv("bytes", Any::BytesValue(vec![0, 255])),
            kv(
                "map",
                Any::KvlistValue(KeyValueList {
                    values: vec![kv("inner", Any::StringValue("v".into()))],
                }),
            ),
            KeyValue {
                key: "empty".into(),
                value: Some(AnyValue { value: None }),
                ..Default::default()
            },
        ],
        events: vec![span::Event {
            name: "exception".into(),
            time_unix_nano: 1_500,
            attributes: vec![
                kv("exception.type", Any::StringValue("Io".into())),
                kv("exception.message", Any::StringValue("boom".into())),
            ],
            ..Default::default()
        }],
        status: Some(Status {
            code: status::StatusCode::Error as i32,
            message: "boom".into(),
        }),
        ..Default::default()
    };
    let child = Span {
        trace_id,
        span_id: vec![1; 8],
        parent_span_id: root.span_id.clone(),
        name: "child".into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: 1_100,
        end_time_unix_nano: 1_900,
        status: Some(Status {
            code: status::StatusCode::Ok as i32,
            message: String::new(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Any::StringValue("checkout".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "honeyhive".into(),
                    ..Default::default()
                }),
                spans: vec![root, child],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What [`export`] must decode to.
fn expected_spans() -> Vec<RecordedSpan> {
    let string = |s: &str| AttrValue::String(s.to_owned());
    let resource = std::sync::Arc::new(BTreeMap::from([(
        "service.name".to_owned(),
        string("checkout"),
    )]));
    let root = RecordedSpan {
        name: "root".into(),
        trace_id: "000102030405060708090a0b0c0d0e0f".into(),
        span_id: "deadbeef00010203".into(),
        parent_span_id: None,
        kind: SpanKind::Internal,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        attributes: BTreeMap::from([
            ("s".to_owned(), string("text")),
            ("b".to_owned(), AttrValue::Bool(true)),
            ("i".to_owned(), AttrValue::Int(-7)),
            ("d".to_owned(), AttrValue::Double(2.5)),
            (
                "arr".to_owned(),
                AttrValue::Array(vec![AttrValue::Int(1), string("x")]),
            ),
            ("bytes".to_owned(), AttrValue::Bytes(vec![0, 255])),
            (
                "map".to_owned(),
                AttrValue::Map(BTreeMap::from([("inner".to_owned(), string("v"))])),
            ),
        ]),
        events: vec![RecordedEvent {
            name: "exception".into(),
            attributes: BTreeMap::from([
                ("exception.type".to_owned(), string("Io")),
                ("exception.message".to_owned(), string("boom")),
            ]),
        }],
        status: RecordedStatus {
            code: StatusCode::Error,
            message: "boom".into(),
        },
        resource: resource.clone(),
        scope_name: "honeyhive".into(),
    };
    let child = RecordedSpan {
        name: "child".into(),
        span_id: "0101010101010101".into(),
        parent_span_id: Some("deadbeef00010203".into()),
        kind: SpanKind::Client,
        start_time_unix_nano: 1_100,
        end_time_unix_nano: 1_900,
        attributes: BTreeMap::new(),
        events: Vec::new(),
        status: RecordedStatus {
            code: StatusCode::Ok,
            message: String::new(),
        },
        ..root.clone()
    };
    vec![root, child]
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Response {
    try_send(server, method, path, content_type, body)
        .await
        .expect("request to the test server")
}

async fn try_send(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Result<Response> {
    let request = reqwest::Client::new().request(method, format!("{}{path}", server.url()));
    let request = if content_type.is_empty() {
        request
    } else {
        request.header("content-type", content_type)
    };
    request.body(body).send().await
}

async fn json_call(server: &TestServer, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let response = send(
        server,
        method,
        path,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON response"))
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = send(server, Method::GET, path, "", Vec::new()).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON response"))
}

async fn export_protobuf(server: &TestServer) -> Response {
    send(
        server,
        Method::POST,
        "/opentelemetry/v1/traces",
        "application/x-protobuf",
        export().encode_to_vec(),
    )
    .await
}

fn content_type(response: &Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

#[tokio::test]
async fn protobuf_export_round_trips() {
    let server = TestServer::start();
    let response = export_protobuf(&server).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/x-protobuf");
    let body = response.bytes().await.unwrap();
    assert_eq!(
        ExportTraceServiceResponse::decode(body).unwrap(),
        ExportTraceServiceResponse::default()
    );

    let spans = server.wait_for_spans(2, WAIT);
    assert_eq!(spans, expected_spans());
    let empty = send(
        &server,
        Method::POST,
        "/opentelemetry/v1/traces",
        "application/x-protobuf",
        Vec::new(),
    );
    assert_eq!(
        empty.await.status(),
        200,
        "an export without spans is valid protobuf"
    );
    assert_eq!(spans[0].str_attr("s"), Some("text"));
    assert_eq!(spans[0].attr("i").and_then(AttrValue::as_i64), Some(-7));
    assert_eq!(spans[0].attr("d").and_then(AttrValue::as_f64), Some(2.5));
    assert_eq!(spans[0].attr("b").and_then(AttrValue::as_bool), Some(true));
    assert_eq!(
        spans[0].attr("i").and_then(AttrValue::as_f64),
        None,
        "no silent type conversion"
    );
    let body = &server.requests()[0].body;
    assert!(matches!(
        body,
        RecordedBody::Otlp {
            encoding: OtlpEncoding::Protobuf,
            ..
        }
    ));
    assert_eq!(body.otlp_request(), Some(export()));
}

#[tokio::test]
async fn json_export_round_trips() {
    let server = TestServer::start();
    let body = serde_json::to_vec(&export()).unwrap();
    let response = send(
        &server,
        Method::POST,
        "/opentelemetry/v1/traces",
        "application/json",
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    let body: ExportTraceServiceResponse =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body, ExportTraceServiceResponse::default());

    assert_eq!(server.wait_for_spans(2, WAIT), expected_spans());
    assert!(matches!(
        server.requests()[0].body,
        RecordedBody::Otlp {
            encoding: OtlpEncoding::Json,
            ..
        }
    ));
}

#[tokio::test]
async fn json_export_in_otlp_wire_format_decodes() {
    let server = TestServer::start();
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "honeyhive"}, "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173",
            "name": "call_llm",
            "kind": 3,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [
                {"key": "n", "value": {"intValue": "42"}},
                {"key": "raw", "value": {"bytesValue": "AP8="}}
            ],
            "status": {"code": 2, "message": "bad"}
        }]}]
    }]});
    let content_type = "application/json; charset=utf-8";
    let response = send(
        &server,
        Method::POST,
        "/opentelemetry/v1/traces",
        content_type,
        body.to_string().into(),
    )
    .await;
    assert_eq!(response.status(), 200);

    let span = server.wait_for_spans(1, WAIT).remove(0);
    assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(span.attr("n"), Some(&AttrValue::Int(42)));
    assert_eq!(span.attr("raw"), Some(&AttrValue::Bytes(vec![0, 255])));
    assert_eq!(
        span.status,
        RecordedStatus {
            code: StatusCode::Error,
            message: "bad".into()
        }
    );
    assert_eq!(
        span.str_attr("service.name"),
        None,
        "resource attributes stay separate"
    );
    assert_eq!(span.resource["service.name"].as_str(), Some("checkout"));
}

#[tokio::test]
async fn undecodable_exports_get_400_with_the_reason() {
    let server = TestServer::start();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "text/plain",
            b"hello".to_vec(),
            "content-type text/plain is neither",
        ),
        (
            "application/x-protobuf",
            vec![0xff, 0xff, 0xff],
            "not a protobuf ExportTraceServiceRequest",
        ),
        (
            "application/json",
            b"{\"resourceSpans\": 3}".to_vec(),
            "not an OTLP/JSON ExportTraceServiceRequest",
        ),
    ];
    for (content_type, body, reason) in cases {
        let response = send(
            &server,
            Method::POST,
            "/opentelemetry/v1/traces",
            content_type,
            body.clone(),
        )
        .await;
        assert_eq!(response.status(), 400, "{content_type}");
        let text = response.text().await.unwrap();
        assert!(text.contains(reason), "{text:?} should contain {reason:?}");
        assert_eq!(
            server.requests().last().unwrap().body,
            RecordedBody::Raw(body.into())
        );
    }
    let empty = send(
        &server,
        Method::POST,
        "/opentelemetry/v1/traces",
        "",
        Vec::new(),
    )
    .await;
    assert_eq!(empty.status(), 400);
    assert_eq!(empty.text().await.unwrap(), "the body is empty");
    assert_eq!(server.requests().last().unwrap().body, RecordedBody::Empty);

    let compressed = reqwest::Client::new()
        .post(format!("{}/opentelemetry/v1/traces", server.url()))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(export().encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.status(), 400);
    assert!(
        compressed
            .text()
            .await
            .unwrap()
            .contains("content-encoding")
    );
    assert!(server.spans().is_empty());
}

#[tokio::test]
async fn session_start_echoes_or_assigns_the_id_and_events_are_recorded() {
    let server = TestServer::start();
    let session = json!({"session_id": "abc", "project": "p", "metadata": {"run_id": "r"}});
    let (status, body) = json_call(
        &server,
        Method::POST,
        "/session/start",
        &json!({ "session": session }),
    )
    .await;
    assert_eq!((status, body), (200, json!({"session_id": "abc"})));

    let (status, body) = json_call(
        &server,
        Method::POST,
        "/session/start",
        &json!({"session": {"project": "p"}}),
    )
    .await;
    assert_eq!(status, 200);
    let assigned = uuid::Uuid::parse_str(body["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(assigned.get_version_num(), 4);

    let (status, body) = json_call(
        &server,
        Method::POST,
        "/session/start",
        &json!({"project": "p"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("session"));
    assert_eq!(server.sessions(), vec![session, json!({"project": "p"})]);

    let update = json!({"event_id": "abc", "outputs": {"answer": 42}});
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &update).await,
        (200, json!({"success": true}))
    );
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &json!({}))
            .await
            .0,
        400
    );
    assert_eq!(server.event_updates(), vec![update]);
    let request = &server.requests_to("/events")[0];
    assert_eq!(
        (request.method.as_str(), request.header("content-type")),
        ("PUT", Some("application/json"))
    );
}

#[tokio::test]
async fn runs_are_created_updated_and_unknown_ids_get_404() {
    let server = TestServer::start();
    let run = json!({"run_id": "r1", "name": "exp", "status": "pending", "event_ids": []});
    let (status, body) = json_call(&server, Method::POST, "/v1/runs", &run).await;
    assert_eq!(
        (status, body),
        (200, json!({"run_id": "r1", "evaluation": run}))
    );
    assert_eq!(
        json_call(&server, Method::POST, "/v1/runs", &run).await.0,
        409
    );

    let finish = json!({"status": "completed", "event_ids": ["s1"]});
    let (status, body) = json_call(&server, Method::PUT, "/v1/runs/r1", &finish).await;
    let finished =
        json!({"run_id": "r1", "name": "exp", "status": "completed", "event_ids": ["s1"]});
    assert_eq!((status, body), (200, json!({ "evaluation": finished })));

    let (status, body) = json_call(&server, Method::PUT, "/v1/runs/nope", &finish).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nope"));

    let (status, body) = json_call(
        &server,
        Method::POST,
        "/v1/runs",
        &json!({"name": "second"}),
    )
    .await;
    assert_eq!(status, 200);
    let assigned = body["run_id"].as_str().unwrap();
    assert_eq!(body["evaluation"]["run_id"], assigned);
    assert_eq!(
        server.runs(),
        vec![finished, json!({"name": "second", "run_id": assigned})]
    );
}

#[tokio::test]
async fn datasets_and_datapoints_serve_fixtures() {
    let server = TestServer::start();
    let datapoint = |id: &str, answer: i64| {
        let ground_truth = json!({ "a": answer });
        json!({"id": id, "inputs": {"q": "sum"}, "ground_truth": ground_truth, "metadata": {}})
    };
    let (first, second) = (datapoint("dp 1", 4), datapoint("dp2", 6));
    server.add_dataset("EXT-a b", "Arithmetic", vec![first.clone(), second.clone()]);

    let summary = json!({"id": "EXT-a b", "name": "Arithmetic", "datapoints": ["dp 1", "dp2"]});
    let expected = json!({ "datasets": [summary] });
    assert_eq!(
        get(&server, "/v1/datasets?project=p&dataset_id=EXT-a+b").await,
        (200, expected.clone())
    );
    assert_eq!(
        get(&server, "/v1/datasets?dataset_id=EXT-a%20b").await,
        (200, expected)
    );
    assert_eq!(
        get(&server, "/v1/datapoints/dp%201").await,
        (200, json!({ "datapoint": [first] }))
    );
    assert_eq!(
        get(&server, "/v1/datapoints/dp2").await,
        (200, json!({ "datapoint": [second] }))
    );

    for path in ["/v1/datasets?dataset_id=missing", "/v1/datapoints/missing"] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            body["error"].as_str().unwrap().contains("missing"),
            "{body}"
        );
    }
    assert_eq!(get(&server, "/v1/datasets").await.0, 400);
}

/// Starts a session for `datapoint_id` and sends `metrics` for it, as an experiment does.
async fn evaluated_session(
    server: &TestServer,
    session_id: &str,
    datapoint_id: &str,
    metrics: Value,
) {
    let session = json!({"session": {"session_id": session_id, "project": "p",
                                     "metadata": {"datapoint_id": datapoint_id}}});
    assert_eq!(
        json_call(server, Method::POST, "/session/start", &session)
            .await
            .0,
        200
    );
    let update = json!({"event_id": session_id, "outputs": {"answer": 1}, "metrics": metrics});
    assert_eq!(
        json_call(server, Method::PUT, "/events", &update).await.0,
        200
    );
}

/// A run over `sessions`, finished with `status`.
async fn finished_run(server: &TestServer, run_id: &str, status: &str, sessions: &[&str]) {
    let run = json!({"run_id": run_id, "name": run_id, "status": "pending", "event_ids": []});
    assert_eq!(
        json_call(server, Method::POST, "/v1/runs", &run).await.0,
        200
    );
    let finish = json!({"status": status, "event_ids": sessions});
    let path = format!("/v1/runs/{run_id}");
    assert_eq!(json_call(server, Method::PUT, &path, &finish).await.0, 200);
}

#[tokio::test]
async fn run_results_are_computed_from_sessions_and_event_metrics() {
    let server = TestServer::start();
    evaluated_session(
        &server,
        "s1",
        "dp1",
        json!({"accuracy": 1.0, "exact": true}),
    )
    .await;
    evaluated_session(
        &server,
        "s2",
        "dp2",
        json!({"accuracy": 0.0, "exact": false}),
    )
    .await;
    evaluated_session(
        &server,
        "s3",
        "dp3",
        json!({"accuracy": 0.5, "label": "ok"}),
    )
    .await;
    // A later update of the same session adds to its metrics and replaces repeated ones.
    let late = json!({"event_id": "s3", "metrics": {"accuracy": 0.25, "exact": true}});
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &late).await.0,
        200
    );
    // A session outside the run does not count.
    evaluated_session(&server, "other", "dp9", json!({"accuracy": 100})).await;
    finished_run(&server, "r1", "completed", &["s1", "s2", "s3"]).await;

    let (status, body) = get(&server, "/v1/runs/r1/result?aggregate_function=average").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run_id"], "r1");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["success"], false, "dp2 failed");
    assert_eq!(body["passed"], json!(["dp1", "dp3"]));
    assert_eq!(body["failed"], json!(["dp2"]));
    assert_eq!(body["metrics"]["aggregation_function"], "average");
    assert_eq!(
        body["metrics"]["details"],
        json!([
            {"metric_name": "accuracy", "metric_type": "numeric", "aggregate": 1.25 / 3.0,
             "values": [1.0, 0.0, 0.25],
             "datapoints": {"passed": ["dp1", "dp2", "dp3"], "failed": []}},
            {"metric_name": "exact", "metric_type": "boolean", "aggregate": 2.0 / 3.0,
             "values": [true, false, true],
             "datapoints": {"passed": ["dp1", "dp3"], "failed": ["dp2"]}},
            {"metric_name": "label", "metric_type": "numeric", "aggregate": null,
             "values": ["ok"], "datapoints": {"passed": ["dp3"], "failed": []}},
        ])
    );
    assert_eq!(
        body["datapoints"],
        json!([
            {"datapoint_id": "dp1", "session_id": "s1", "passed": true,
             "metrics": {"accuracy": 1.0, "exact": true}},
            {"datapoint_id": "dp2", "session_id": "s2", "passed": false,
             "metrics": {"accuracy": 0.0, "exact": false}},
            {"datapoint_id": "dp3", "session_id": "s3", "passed": true,
             "metrics": {"accuracy": 0.25, "exact": true, "label": "ok"}},
        ])
    );

    for (function, accuracy) in [("sum", 1.25), ("median", 0.25), ("min", 0.0), ("max", 1.0)] {
        let path = format!("/v1/runs/r1/result?aggregate_function={function}");
        let (status, body) = get(&server, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["metrics"]["aggregation_function"], function);
        assert_eq!(
            body["metrics"]["details"][0]["aggregate"], accuracy,
            "{function}"
        );
    }
    let (status, body) = get(&server, "/v1/runs/r1/result?aggregate_function=mode").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("average, sum, median, min or max"),
        "{body}"
    );
    let (status, body) = get(&server, "/v1/runs/nope/result").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nope"), "{body}");
    assert_eq!(
        json_call(&server, Method::POST, "/v1/runs/r1/result", &json!({}))
            .await
            .0,
        405
    );
}

#[tokio::test]
async fn run_results_of_a_pending_run_without_sessions() {
    let server = TestServer::start();
    let run = json!({"run_id": "r", "name": "r", "status": "pending", "event_ids": []});
    assert_eq!(
        json_call(&server, Method::POST, "/v1/runs", &run).await.0,
        200
    );
    let (status, body) = get(&server, "/v1/runs/r/result").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"run_id": "r", "status": "pending", "success": false, "passed": [],
               "failed": [], "metrics": {"aggregation_function": "average", "details": []},
               "datapoints": []})
    );
}

#[tokio::test]
async fn runs_are_compared_on_their_common_datapoints() {
    let server = TestServer::start();
    evaluated_session(&server, "old1", "dp1", json!({"accuracy": 0.5})).await;
    evaluated_session(&server, "old2", "dp2", json!({"accuracy": 1.0})).await;
    evaluated_session(&server, "old3", "dp3", json!({"accuracy": 0.0})).await;
    evaluated_session(
        &server,
        "new1",
        "dp1",
        json!({"accuracy": 1.0, "exact": true}),
    )
    .await;
    evaluated_session(&server, "new2", "dp2", json!({"accuracy": 0.5})).await;
    evaluated_session(&server, "new3", "dp3", json!({"accuracy": 0.0})).await;
    evaluated_session(&server, "new4", "dp4", json!({"accuracy": 1.0})).await;
    finished_run(&server, "old", "completed", &["old1", "old2", "old3"]).await;
    finished_run(
        &server,
        "new",
        "completed",
        &["new1", "new2", "new3", "new4"],
    )
    .await;

    let (status, body) = get(
        &server,
        "/v1/runs/new/compare-with/old?aggregate_function=average",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["commonDatapoints"], json!(["dp1", "dp2", "dp3"]));
    assert_eq!(
        body["metrics"],
        json!([
            {"metric_name": "accuracy", "metric_type": "numeric",
             "old_aggregate": 0.5, "new_aggregate": 0.625,
             "found_count": 3, "improved_count": 1, "degraded_count": 1, "same_count": 1,
             "improved": ["dp1"], "degraded": ["dp2"], "same": ["dp3"]},
            {"metric_name": "exact", "metric_type": "boolean",
             "old_aggregate": null, "new_aggregate": 1.0,
             "found_count": 0, "improved_count": 0, "degraded_count": 0, "same_count": 0,
             "improved": [], "degraded": [], "same": []},
        ])
    );
    assert_eq!(body["old_run"]["run_id"], "old");
    assert_eq!(body["new_run"]["run_id"], "new");

    let (status, body) = get(
        &server,
        "/v1/runs/new/compare-with/old?aggregate_function=max",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["metrics"][0]["old_aggregate"], 1.0);
    let (status, body) = get(
        &server,
        "/v1/runs/new/compare-with/old?aggregate_function=p99",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("\"p99\""),
        "{body}"
    );
    let (status, body) = get(&server, "/v1/runs/new/compare-with/gone").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("gone"), "{body}");
    for path in [
        "/v1/runs/new/compare-with",
        "/v1/runs/new/compare-with/",
        "/v1/runs/a/b/c/d",
    ] {
        assert_eq!(get(&server, path).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn unimplemented_routes_get_404_and_wrong_methods_405() {
    let server = TestServer::start();
    let (status, body) = get(&server, "/v1/metrics?aggregate_function=average").await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("GET /v1/metrics"),
        "{body}"
    );

    let (status, body) = get(&server, "/session/start").await;
    assert_eq!(status, 405);
    assert!(
        body["error"].as_str().unwrap().contains("use POST"),
        "{body}"
    );
    let recorded = server.requests();
    assert_eq!(
        recorded[0].query.as_deref(),
        Some("aggregate_function=average")
    );
    assert_eq!(
        recorded
            .iter()
            .map(|r| r.response_status)
            .collect::<Vec<_>>(),
        [404, 405]
    );
}

#[tokio::test]
async fn status_faults_send_retry_after_then_the_route_recovers() {
    let server = TestServer::start();
    server.inject(Route::Traces, Fault::status(503).retry_after("1").times(2));

    for _ in 0..2 {
        let response = export_protobuf(&server).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
    }
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &json!({"event_id": "e"}))
            .await
            .0,
        200
    );
    assert_eq!(export_protobuf(&server).await.status(), 200);

    assert_eq!(
        server.spans().len(),
        2,
        "spans of faulted exports are not accepted"
    );
    let exports = server.wait_for_requests("/opentelemetry/v1/traces", 3, WAIT);
    let injected = FaultKind::Status {
        code: 503,
        retry_after: Some("1".into()),
    };
    let faults: Vec<_> = exports.iter().map(|r| r.fault.clone()).collect();
    assert_eq!(faults, [Some(injected.clone()), Some(injected), None]);
    assert_eq!(
        exports[0].spans(),
        expected_spans(),
        "faulted exports are still decoded"
    );
}

#[tokio::test]
async fn delay_faults_answer_normally_after_the_delay() {
    let server = TestServer::start();
    let delay = Duration::from_millis(200);
    server.inject(Route::Events, Fault::delay(delay));

    let started = Instant::now();
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &json!({"event_id": "e"}))
            .await
            .0,
        200
    );
    assert!(started.elapsed() >= delay);
    assert_eq!(server.requests()[0].fault, Some(FaultKind::Delay(delay)));
    assert_eq!(server.event_updates().len(), 1);
}

#[tokio::test]
async fn requests_are_listed_in_arrival_order_even_when_a_delayed_one_completes_last() {
    let server = TestServer::start();
    server.inject(Route::Events, Fault::delay(Duration::from_millis(200)));
    let (first, second) = (json!({"event_id": "a"}), json!({"event_id": "b"}));
    let (a, b) = tokio::join!(
        json_call(&server, Method::PUT, "/events", &first),
        json_call(&server, Method::PUT, "/events", &second),
    );
    assert_eq!((a.0, b.0), (200, 200));
    // Whichever arrived first took the delay, so it completed last yet is listed first.
    let faults: Vec<_> = server.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [Some(FaultKind::Delay(Duration::from_millis(200))), None]
    );
}

#[tokio::test]
async fn dropped_connections_give_a_client_error_and_are_recorded() {
    let server = TestServer::start();
    server.inject(Route::SessionStart, Fault::drop_connection().times(2));
    let body = json!({"session": {"session_id": "s"}})
        .to_string()
        .into_bytes();

    for _ in 0..2 {
        let result = try_send(
            &server,
            Method::POST,
            "/session/start",
            "application/json",
            body.clone(),
        )
        .await;
        assert!(
            result.is_err(),
            "expected a transport error, got {result:?}"
        );
    }
    assert_eq!(
        json_call(
            &server,
            Method::POST,
            "/session/start",
            &json!({"session": {}})
        )
        .await
        .0,
        200
    );

    let recorded = server.requests();
    assert_eq!(recorded[0].response_status, 0);
    assert_eq!(recorded[0].fault, Some(FaultKind::DropConnection));
    assert_eq!(
        recorded[0].json(),
        Some(&json!({"session": {"session_id": "s"}}))
    );
    assert_eq!(
        server.sessions(),
        vec![json!({})],
        "dropped requests are not accepted"
    );
}

#[tokio::test]
async fn faults_are_consumed_in_injection_order_and_any_hits_every_path() {
    let server = TestServer::start();
    server.inject(Route::Any, Fault::status(500));
    server.inject(Route::Events, Fault::status(502));
    server.inject(Route::Runs, Fault::status(429));

    assert_eq!(get(&server, "/nowhere").await.0, 500);
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &json!({"event_id": "e"}))
            .await
            .0,
        502
    );
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &json!({"event_id": "e"}))
            .await
            .0,
        200
    );
    assert_eq!(get(&server, "/nowhere").await.0, 404);
    assert_eq!(
        json_call(&server, Method::PUT, "/v1/runs/x", &json!({}))
            .await
            .0,
        429
    );
}

#[tokio::test]
async fn an_api_key_is_required_when_set() {
    let server = TestServer::builder().api_key("secret").start();
    let url = format!("{}/session/start", server.url());
    let body = json!({"session": {"session_id": "s"}});
    let client = reqwest::Client::new();

    assert_eq!(
        client.post(&url).json(&body).send().await.unwrap().status(),
        401
    );
    assert_eq!(
        client
            .post(&url)
            .bearer_auth("wrong")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .post(&url)
            .bearer_auth("secret")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .map(|r| r.response_status)
        .collect();
    assert_eq!(statuses, [401, 401, 200]);
    assert_eq!(server.sessions().len(), 1);
}

#[test]
#[should_panic(
    expected = "expected at least 1 span(s), but 0 arrived; trace export statuses so far: []"
)]
fn wait_for_spans_times_out_with_what_arrived() {
    TestServer::start().wait_for_spans(1, Duration::from_millis(50));
}

#[test]
fn waiting_wakes_up_for_requests_from_another_thread_without_a_runtime() {
    let server = TestServer::start();
    let addr = server.addr();
    let client = std::thread::spawn(move || {
        let body = r#"{"event_id":"e"}"#;
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "PUT /events HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    });
    let requests = server.wait_for_requests("/events", 1, WAIT);
    assert_eq!(requests[0].json(), Some(&json!({"event_id": "e"})));
    assert!(client.join().unwrap().starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_from_a_multi_thread_runtime_are_all_recorded() {
    let server = Arc::new(TestServer::start());
    let exports: Vec<_> = (0..8)
        .map(|_| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { export_protobuf(&server).await.status() })
        })
        .collect();
    let waiting = Arc::clone(&server);
    let spans = tokio::task::spawn_blocking(move || waiting.wait_for_spans(16, WAIT))
        .await
        .unwrap();
    assert_eq!(spans.len(), 16);
    for export in exports {
        assert_eq!(export.await.unwrap(), 200);
    }
    server.clear();
    assert!(server.requests().is_empty() && server.spans().is_empty());
}

#[test]
fn dropping_the_server_stops_it() {
    let server = TestServer::start();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.url(), format!("http://127.0.0.1:{}", addr.port()));
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(WAIT)).unwrap();
    drop(server);
    assert!(TcpStream::connect(addr).is_err());
    // Open connections are closed too, rather than kept alive by a leaked thread.
    let read = idle.read(&mut [0; 1]);
    let closed = match &read {
        Ok(n) => *n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "idle connection still open after drop: {read:?}");
}

#[tokio::test]
async fn a_fault_every_n_requests_hits_one_in_n_and_lets_the_others_through() {
    let server = TestServer::start();
    server.inject(Route::Events, Fault::status(503).every(3).times(2));
    let mut statuses = Vec::new();
    for i in 0..8 {
        let body = json!({"event_id": format!("e{i}")});
        statuses.push(json_call(&server, Method::PUT, "/events", &body).await.0);
    }
    // The 1st and the 4th hit; its two hits spent, the 7th is not.
    assert_eq!(statuses, [503, 200, 200, 503, 200, 200, 200, 200]);
    assert_eq!(server.event_updates().len(), 6);
}

#[tokio::test]
async fn an_outage_drops_every_request_unhandled_then_ends() {
    let server = TestServer::start();
    server.inject(Route::Events, Fault::status(500));
    server.outage(Duration::from_millis(400));
    assert!(server.is_down());
    let body = json!({"event_id": "e"}).to_string().into_bytes();
    let result = try_send(&server, Method::PUT, "/events", "application/json", body).await;
    assert!(result.is_err(), "no answer while down: {result:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!server.is_down());
    // The fault was not consumed by the outage: the first request after it meets it.
    let body = json!({"event_id": "e"});
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &body).await.0,
        500
    );
    assert_eq!(
        json_call(&server, Method::PUT, "/events", &body).await.0,
        200
    );
    assert_eq!(
        server.event_updates().len(),
        1,
        "nothing handled while down"
    );
}
