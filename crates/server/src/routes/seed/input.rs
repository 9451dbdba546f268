//! The seed's inputs: fields from the query string and from a form body (urlencoded or
//! multipart), or a JSON object body, whatever the method. Field names are matched
//! case-insensitively (the seed's README writes `Username`, its code `username`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpRequest;
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The largest body a request may carry, in bytes (registered by the app).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The fields of a seed request.
#[derive(Debug, Default)]
pub struct SeedInput {
    fields: HashMap<String, String>,
}

impl SeedInput {
    /// Reads the query string, then the body (whose fields win), refusing malformed input with 400.
    pub async fn read(req: &HttpRequest, payload: web::Payload) -> ApiResult<Self> {
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(64 * 1024, |limit| limit.0);
        let body = read_body(payload, limit).await?;
        let mut fields = HashMap::new();
        for (k, v) in parse_urlencoded(req.query_string().as_bytes(), "bad_query")? {
            fields.insert(k.to_lowercase(), v);
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body_fields = if body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else if content_type.starts_with("application/json")
            || (content_type.is_empty() && body.first() == Some(&b'{'))
        {
            parse_json(&body)?
        } else if content_type.starts_with("multipart/form-data") {
            parse_multipart(&content_type, req, &body)?
        } else {
            parse_urlencoded(&body, "bad_form")?
        };
        for (k, v) in body_fields {
            fields.insert(k.to_lowercase(), v);
        }
        Ok(SeedInput { fields })
    }

    /// A field, if given (blank counts as absent, as a Django form would treat it).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A field as given, blank included (a blank message is the domain's to refuse, with 422).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A required field, or 400 `missing_field`.
    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| ApiError::missing_field(name))
    }

    /// A required integer field: 400 if absent or not a number.
    pub fn required_id(&self, name: &str) -> ApiResult<i64> {
        let text = self.required(name)?;
        text.trim().parse().map_err(|_| {
            ApiError::bad_request(
                "bad_field",
                format!("the field {name:?} must be an integer"),
            )
        })
    }

    /// An optional non-negative integer field: 400 if given but not a number.
    pub fn optional_u32(&self, name: &str) -> ApiResult<Option<u32>> {
        self.get(name)
            .map(|text| {
                text.trim().parse().map_err(|_| {
                    ApiError::bad_request(
                        "bad_field",
                        format!("the field {name:?} must be a non-negative integer"),
                    )
                })
            })
            .transpose()
    }
}

async fn read_body(mut payload: web::Payload, limit: usize) -> ApiResult<Bytes> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge { limit },
            other => ApiError::bad_request("bad_body", format!("cannot read the body: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn parse_json(body: &[u8]) -> ApiResult<Vec<(String, String)>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("malformed JSON body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "bad_json",
            "the JSON body must be an object",
        ));
    };
    let mut fields = Vec::with_capacity(map.len());
    for (key, value) in map {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(ApiError::bad_request(
                    "bad_json",
                    format!("the field {key:?} must be a string or a number"),
                ))
            }
        };
        fields.push((key, text));
    }
    Ok(fields)
}

/// Strict `application/x-www-form-urlencoded`: a bad `%` escape or bytes that are not UTF-8
/// are refused (browsers and curl never send them), never replaced.
fn parse_urlencoded(input: &[u8], code: &'static str) -> ApiResult<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for pair in input.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[..0]),
        };
        fields.push((percent_decode(key, code)?, percent_decode(value, code)?));
    }
    Ok(fields)
}

fn percent_decode(input: &[u8], code: &'static str) -> ApiResult<String> {
    let malformed = || ApiError::bad_request(code, "malformed form encoding (bad % escape)");
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).ok_or_else(malformed)?;
                let text = std::str::from_utf8(hex).map_err(|_| malformed())?;
                out.push(u8::from_str_radix(text, 16).map_err(|_| malformed())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request("bad_encoding", "input is not valid UTF-8"))
}

/// Text fields of a `multipart/form-data` body (what tools send for "form data"); file parts
/// are ignored.
fn parse_multipart(
    content_type: &str,
    req: &HttpRequest,
    body: &[u8],
) -> ApiResult<Vec<(String, String)>> {
    let malformed = || ApiError::bad_request("bad_form", "malformed multipart body");
    // The boundary is case-sensitive: take it from the original header.
    let original = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(content_type);
    let boundary = original
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
        .ok_or_else(malformed)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let mut parts = split_on(body, &delimiter).into_iter();
    // Whatever precedes the first delimiter is a preamble.
    parts.next().ok_or_else(malformed)?;
    let mut closed = false;
    for part in parts {
        if part.starts_with(b"--") {
            closed = true;
            break;
        }
        let part = part.strip_prefix(b"\r\n").ok_or_else(malformed)?;
        let split = find(part, b"\r\n\r\n").ok_or_else(malformed)?;
        let headers = std::str::from_utf8(&part[..split]).map_err(|_| malformed())?;
        let mut value = &part[split + 4..];
        value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let disposition = headers
            .split("\r\n")
            .find(|h| h.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or_else(malformed)?;
        if disposition.contains("filename=") {
            continue;
        }
        let name = disposition
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("name"))
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
            .ok_or_else(malformed)?;
        let value = String::from_utf8(value.to_vec())
            .map_err(|_| ApiError::bad_request("bad_encoding", "input is not valid UTF-8"))?;
        fields.push((name, value));
    }
    if !closed {
        return Err(malformed());
    }
    Ok(fields)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_on<'a>(mut input: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(input, delimiter) {
        out.push(&input[..i]);
        input = &input[i + delimiter.len()..];
    }
    out.push(input);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_is_decoded_strictly() {
        let fields = parse_urlencoded(b"a=1&b=hello+world&c=%C3%A9", "bad_form").unwrap();
        assert_eq!(fields[1].1, "hello world");
        assert_eq!(fields[2].1, "é");
        assert!(parse_urlencoded(b"a=%zz", "bad_form").is_err());
        assert!(parse_urlencoded(b"a=%ff", "bad_form").is_err());
        assert!(parse_urlencoded(b"a=\xff", "bad_form").is_err());
    }

    #[test]
    fn json_bodies_must_be_objects_of_scalars() {
        assert_eq!(
            parse_json(br#"{"a": 1, "b": "x", "c": null}"#).unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x".into())]
        );
        assert!(parse_json(b"[1]").is_err());
        assert!(parse_json(b"{\"a\":").is_err());
        assert!(parse_json(br#"{"a": [1]}"#).is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
            prop::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..6)
        }

        proptest! {
            #[test]
            fn any_urlencoded_form_reads_back_its_fields_exactly(fields in fields()) {
                let encoded = serde_urlencoded::to_string(&fields).unwrap();
                prop_assert_eq!(parse_urlencoded(encoded.as_bytes(), "bad_form").unwrap(), fields);
            }

            #[test]
            fn any_bytes_as_a_form_are_read_or_refused_with_400(bytes in any::<Vec<u8>>()) {
                if let Err(err) = parse_urlencoded(&bytes, "bad_form") {
                    let refused = matches!(
                        err,
                        ApiError::BadRequest { code: "bad_form" | "bad_encoding", .. }
                    );
                    prop_assert!(refused, "{err:?}");
                }
            }

            #[test]
            fn any_json_object_of_strings_reads_back_its_fields(fields in fields()) {
                let object: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let mut read = parse_json(Value::Object(object.clone()).to_string().as_bytes()).unwrap();
                read.sort();
                let mut expected: Vec<(String, String)> = object
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                expected.sort();
                prop_assert_eq!(read, expected);
            }

            #[test]
            fn any_bytes_as_json_are_read_or_refused_with_400(bytes in any::<Vec<u8>>()) {
                if let Err(err) = parse_json(&bytes) {
                    let refused = matches!(err, ApiError::BadRequest { code: "bad_json", .. });
                    prop_assert!(refused, "{err:?}");
                }
            }
        }
    }
}
