//! What a test makes the model answer: [`Reply`], given per request by a
//! [`respond`](super::OpenAiTestServerBuilder::respond) function or queued in order with
//! [`OpenAiTestServer::script`](super::OpenAiTestServer::script); and the capabilities a
//! server may lack ([`OpenAiTestServerBuilder::reject_json_schema`](super::OpenAiTestServerBuilder::reject_json_schema),
//! [`reject_tools`](super::OpenAiTestServerBuilder::reject_tools)), refused as servers
//! without them refuse them.

use serde_json::Value;

use super::reply::{Refusal, error_body};

/// One chat completion's answer, as a test scripts it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// The assistant's message is this text.
    Text(String),
    /// The assistant calls a tool: `name` (the tool the request forces with `tool_choice`,
    /// or its only tool, when `None`) with `arguments` as its JSON text, verbatim (so a
    /// test can send arguments that are not JSON).
    ToolCall {
        /// The function called.
        name: Option<String>,
        /// The arguments, as the model wrote them.
        arguments: String,
    },
    /// `value` in the form the request asks for: the message content as JSON text when it
    /// asks for a `json_schema` (or `json_object`) response format, a call of the forced
    /// tool with `value` as its arguments when it forces one, else `value` as JSON text
    /// (what a model told in its prompt to answer in JSON writes).
    Structured(Value),
    /// The request fails with `status` and an OpenAI error body saying `message`.
    Error {
        /// HTTP status.
        status: u16,
        /// The error's message.
        message: String,
    },
}

impl Reply {
    /// [`Reply::Text`].
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }

    /// [`Reply::ToolCall`] of the request's forced (or only) tool.
    pub fn tool_call(arguments: impl Into<String>) -> Reply {
        Reply::ToolCall {
            name: None,
            arguments: arguments.into(),
        }
    }

    /// [`Reply::Structured`].
    pub fn structured(value: Value) -> Reply {
        Reply::Structured(value)
    }

    /// [`Reply::Error`].
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::Error {
            status,
            message: message.into(),
        }
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Reply {
        Reply::Text(text)
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Reply {
        Reply::Text(text.to_owned())
    }
}

/// What a request asks the answer's form to be.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Asked {
    /// `response_format` of type `json_schema` or `json_object`.
    Json,
    /// `tool_choice` forcing the named function.
    Tool(String),
    /// Plain text.
    Text,
}

impl Asked {
    pub(super) fn of(body: &Value) -> Asked {
        let format = body
            .pointer("/response_format/type")
            .and_then(Value::as_str);
        if matches!(format, Some("json_schema" | "json_object")) {
            return Asked::Json;
        }
        let forced = body
            .pointer("/tool_choice/function/name")
            .and_then(Value::as_str);
        match forced {
            Some(name) => Asked::Tool(name.to_owned()),
            None => Asked::Text,
        }
    }
}

/// An assistant message: its content and its tool call (name, arguments).
pub(super) type Message = (Option<String>, Option<(String, String)>);

/// The assistant message of `reply` to `body`, or the refusal of [`Reply::Error`].
pub(super) fn message(reply: Reply, body: &Value) -> Result<Message, Refusal> {
    let only_tool = || {
        body.pointer("/tools/0/function/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match reply {
        Reply::Text(text) => Ok((Some(text), None)),
        Reply::ToolCall { name, arguments } => {
            let name = name
                .or_else(|| match Asked::of(body) {
                    Asked::Tool(name) => Some(name),
                    _ => None,
                })
                .or_else(only_tool)
                .unwrap_or_else(|| "tool".to_owned());
            Ok((None, Some((name, arguments))))
        }
        Reply::Structured(value) => match Asked::of(body) {
            Asked::Tool(name) => Ok((None, Some((name, value.to_string())))),
            Asked::Json | Asked::Text => Ok((Some(value.to_string()), None)),
        },
        Reply::Error { status, message } => Err(Refusal {
            status,
            body: error_body(&message, "invalid_request_error", None),
        }),
    }
}

/// Why a server without the capability refuses `body`, if it does: the 400 a server
/// that does not know `response_format` of type `json_schema` (or tools) answers.
pub(super) fn unsupported(body: &Value, json_schema: bool, tools: bool) -> Option<Refusal> {
    let format = body
        .pointer("/response_format/type")
        .and_then(Value::as_str);
    if json_schema && format == Some("json_schema") {
        return Some(Refusal::invalid(
            "response_format of type json_schema is not supported by this model server",
        ));
    }
    if tools && (body.get("tools").is_some() || body.get("tool_choice").is_some()) {
        return Some(Refusal::invalid(
            "tools and tool_choice are not supported by this model server",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_structured_reply_takes_the_form_the_request_asks_for() {
        let value = json!({"choice": "A"});
        let schema = json!({"response_format": {"type": "json_schema", "json_schema": {}}});
        let tool = json!({"tool_choice": {"type": "function", "function": {"name": "verdict"}}});
        let text = json!({});
        assert_eq!(
            message(Reply::structured(value.clone()), &schema).unwrap(),
            (Some(value.to_string()), None)
        );
        assert_eq!(
            message(Reply::structured(value.clone()), &tool).unwrap(),
            (None, Some(("verdict".to_owned(), value.to_string())))
        );
        assert_eq!(
            message(Reply::structured(value.clone()), &text).unwrap(),
            (Some(value.to_string()), None)
        );
        assert_eq!(
            message(Reply::tool_call("{"), &tool).unwrap().1,
            Some(("verdict".to_owned(), "{".to_owned()))
        );
        assert_eq!(
            message(Reply::error(418, "no"), &text).unwrap_err().status,
            418
        );
    }

    #[test]
    fn missing_capabilities_are_refused_with_400() {
        let schema = json!({"response_format": {"type": "json_schema"}});
        let tools = json!({"tools": [], "tool_choice": "required"});
        assert!(unsupported(&schema, false, true).is_none());
        let refusal = unsupported(&schema, true, false).unwrap();
        assert_eq!(refusal.status, 400);
        assert!(refusal.body.to_string().contains("json_schema"));
        assert!(unsupported(&tools, true, false).is_none());
        assert!(unsupported(&tools, false, true).is_some());
    }
}
