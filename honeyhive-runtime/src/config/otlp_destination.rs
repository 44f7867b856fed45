//! A standard OTLP/HTTP destination (an OpenTelemetry collector, Jaeger, Tempo, a vendor's
//! agent) configured by the OpenTelemetry specification's exporter variables, which gets
//! every span next to HoneyHive or the local store.
//!
//! The rules are the specification's ("OpenTelemetry Protocol Exporter"): each option has a
//! traces-specific variable that wins over the general one; `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is a base URL to which `v1/traces` is appended (after a `/` when the base does not end
//! with one), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is; headers are
//! `key=value` pairs separated by commas, values percent-encoded as in W3C baggage; the
//! timeout is in milliseconds; the protocol is `http/protobuf` unless set.

use std::fmt;
use std::time::Duration;

use super::{Environment, OtlpProtocol};
use crate::{Error, Result};

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";

/// Path of the traces endpoint below `OTEL_EXPORTER_OTLP_ENDPOINT`.
const TRACES_PATH: &str = "v1/traces";

/// An OTLP/HTTP destination for every span, from the OpenTelemetry exporter variables
/// (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, with
/// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, ...).
///
/// ```
/// use honeyhive::{Config, Environment, OtlpProtocol};
///
/// let env = Environment::from_pairs([
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp"),
///     ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,authorization=Basic%20c2VjcmV0"),
/// ]);
/// let config = Config::builder().environment(env).build()?;
/// let otlp = config.otlp_destination().expect("an endpoint is set");
/// assert_eq!(otlp.endpoint(), "http://collector:4318/otlp/v1/traces");
/// assert_eq!(otlp.protocol(), OtlpProtocol::HttpProtobuf);
/// assert_eq!(otlp.header_names().collect::<Vec<_>>(), ["x-tenant", "authorization"]);
/// // Header values may be credentials: `Debug` never shows them.
/// assert!(!format!("{otlp:?}").contains("c2VjcmV0"));
/// # Ok::<(), honeyhive::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OtlpDestination {
    endpoint: String,
    protocol: OtlpProtocol,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl OtlpDestination {
    /// The URL spans are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The OTLP encoding.
    pub fn protocol(&self) -> OtlpProtocol {
        self.protocol
    }

    /// The names of the headers sent with every export (their values are not shown: they
    /// are often credentials).
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(|(name, _)| name.as_str())
    }

    /// The headers sent with every export, values included.
    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The timeout of one export request, when the environment sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The destination the environment configures, if it sets an endpoint.
    pub(crate) fn from_env(env: &Environment) -> Result<Option<OtlpDestination>> {
        let endpoint = match (env.get(TRACES_ENDPOINT), env.get(ENDPOINT)) {
            (Some(url), _) => {
                let url = url.trim().to_owned();
                parse_url(TRACES_ENDPOINT, &url)?;
                url
            }
            (None, Some(base)) => traces_url(&base)?,
            (None, None) => return Ok(None),
        };
        let protocol = match env.first(&[TRACES_PROTOCOL, PROTOCOL]) {
            Some((var, value)) => parse_protocol(var, &value)?,
            None => OtlpProtocol::HttpProtobuf,
        };
        let headers = match env.first(&[TRACES_HEADERS, HEADERS]) {
            Some((var, value)) => parse_headers(var, &value)?,
            None => Vec::new(),
        };
        let timeout = match env.first(&[TRACES_TIMEOUT, TIMEOUT]) {
            Some((var, value)) => Some(parse_timeout(var, &value)?),
            None => None,
        };
        Ok(Some(OtlpDestination {
            endpoint,
            protocol,
            headers,
            timeout,
        }))
    }
}

impl fmt::Debug for OtlpDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpDestination")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &self.header_names().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn parse_url(var: &str, value: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(value).map_err(|e| {
        Error::Config(format!(
            "{var}={value:?} is not a URL ({e}): use e.g. \"http://localhost:4318\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "{var}={value:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

/// `v1/traces` relative to the base URL `base`, which is made to end with `/` first.
fn traces_url(base: &str) -> Result<String> {
    let mut url = parse_url(ENDPOINT, base.trim())?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    let joined = url
        .join(TRACES_PATH)
        .map_err(|e| Error::Config(format!("{ENDPOINT}={base:?}: {e}")))?;
    Ok(joined.into())
}

fn parse_protocol(var: &str, value: &str) -> Result<OtlpProtocol> {
    match value.trim() {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Ok(OtlpProtocol::HttpJson),
        other => Err(Error::Config(format!(
            "{var}={other:?} is not supported for the OTLP destination: use \"http/protobuf\" \
             or \"http/json\""
        ))),
    }
}

/// `key=value,key2=value2`, values percent-decoded. A malformed entry is an error naming
/// the variable and the entry's key, never its value.
fn parse_headers(var: &str, value: &str) -> Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    for (n, entry) in value.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let bad = |why: &str| Error::Config(format!("{var}: entry {} {why}", n + 1));
        let Some((key, raw)) = entry.split_once('=') else {
            return Err(bad("is not key=value"));
        };
        let key = key.trim();
        if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
            return Err(bad(&format!(
                "has a key {key:?} that is not an HTTP header name"
            )));
        }
        let decoded = percent_decode(raw.trim())
            .ok_or_else(|| bad(&format!("({key}) has a malformed %-escape or is not UTF-8")))?;
        if http::HeaderValue::from_str(&decoded).is_err() {
            return Err(bad(&format!(
                "({key}) has a value that is not allowed in an HTTP header"
            )));
        }
        headers.push((key.to_owned(), decoded));
    }
    Ok(headers)
}

/// `text` with every `%XX` made into its byte; `None` for a malformed escape or bytes that
/// are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_timeout(var: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| {
            Error::Config(format!(
                "{var}={value:?} is not a timeout: use whole milliseconds, e.g. 10000"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(pairs: &[(&str, &str)]) -> Result<Option<OtlpDestination>> {
        OtlpDestination::from_env(&Environment::from_pairs(pairs.iter().copied()))
    }

    fn endpoint(pairs: &[(&str, &str)]) -> String {
        destination(pairs).unwrap().unwrap().endpoint().to_owned()
    }

    #[test]
    fn no_endpoint_no_destination() {
        assert!(destination(&[]).unwrap().is_none());
        assert!(
            destination(&[(HEADERS, "a=b"), (PROTOCOL, "http/json")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_base_endpoint_gets_v1_traces_the_traces_endpoint_is_used_as_is() {
        // The specification's examples.
        assert_eq!(
            endpoint(&[(ENDPOINT, "http://collector:4318")]),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            endpoint(&[(ENDPOINT, "http://collector:4318/mycollector/")]),
            "http://collector:4318/mycollector/v1/traces"
        );
        assert_eq!(
            endpoint(&[(ENDPOINT, "http://collector:4318/mycollector")]),
            "http://collector:4318/mycollector/v1/traces"
        );
        assert_eq!(
            endpoint(&[(ENDPOINT, "https://otlp.example.com/")]),
            "https://otlp.example.com/v1/traces"
        );
        assert_eq!(
            endpoint(&[(TRACES_ENDPOINT, "http://collector:4318")]),
            "http://collector:4318"
        );
        assert_eq!(
            endpoint(&[(TRACES_ENDPOINT, "https://collector.example.com/v1/traces/")]),
            "https://collector.example.com/v1/traces/"
        );
        // The traces-specific variable wins.
        assert_eq!(
            endpoint(&[
                (ENDPOINT, "http://base:4318"),
                (TRACES_ENDPOINT, "http://traces:4318/custom")
            ]),
            "http://traces:4318/custom"
        );
    }

    #[test]
    fn headers_are_percent_decoded_and_the_traces_variable_wins() {
        let d = destination(&[
            (ENDPOINT, "http://c:4318"),
            (HEADERS, " api-key = secret%3D%2C1 ,, x-b=two%20words"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            d.headers(),
            [
                ("api-key".to_owned(), "secret=,1".to_owned()),
                ("x-b".to_owned(), "two words".to_owned())
            ]
        );
        let d = destination(&[
            (ENDPOINT, "http://c:4318"),
            (HEADERS, "a=1"),
            (TRACES_HEADERS, "b=2"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(d.headers(), [("b".to_owned(), "2".to_owned())]);
        assert!(!format!("{d:?}").contains('2'), "{d:?}");
    }

    #[test]
    fn protocol_and_timeout() {
        let d = destination(&[(ENDPOINT, "http://c:4318")])
            .unwrap()
            .unwrap();
        assert_eq!(d.protocol(), OtlpProtocol::HttpProtobuf);
        assert_eq!(d.timeout(), None);
        let d = destination(&[
            (ENDPOINT, "http://c:4318"),
            (PROTOCOL, "http/protobuf"),
            (TRACES_PROTOCOL, "http/json"),
            (TIMEOUT, "1000"),
            (TRACES_TIMEOUT, "250"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(d.protocol(), OtlpProtocol::HttpJson);
        assert_eq!(d.timeout(), Some(Duration::from_millis(250)));
    }

    #[test]
    fn bad_values_name_the_variable_and_never_show_a_header_value() {
        let err = |pairs: &[(&str, &str)]| destination(pairs).unwrap_err().to_string();
        let e = err(&[(ENDPOINT, "collector:4318")]);
        assert!(e.contains(ENDPOINT), "{e}");
        let e = err(&[(TRACES_ENDPOINT, "ftp://collector/")]);
        assert!(e.contains(TRACES_ENDPOINT) && e.contains("http://"), "{e}");
        let e = err(&[(ENDPOINT, "http://c:4318"), (TRACES_PROTOCOL, "grpc")]);
        assert!(
            e.contains(TRACES_PROTOCOL) && e.contains("http/protobuf"),
            "{e}"
        );
        let e = err(&[(ENDPOINT, "http://c:4318"), (HEADERS, "a=1,secret-only")]);
        assert!(e.contains(HEADERS) && e.contains("entry 2"), "{e}");
        let e = err(&[(ENDPOINT, "http://c:4318"), (HEADERS, "key=s3cr%zzet")]);
        assert!(e.contains("key") && !e.contains("s3cr"), "{e}");
        let e = err(&[(ENDPOINT, "http://c:4318"), (HEADERS, "bad key=1")]);
        assert!(e.contains("bad key"), "{e}");
        let e = err(&[(ENDPOINT, "http://c:4318"), (TIMEOUT, "10s")]);
        assert!(e.contains(TIMEOUT) && e.contains("milliseconds"), "{e}");
    }
}
