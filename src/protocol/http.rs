//! Plain HTTP request and response values, so the whole service (front door, operations,
//! control API) runs natively in tests and the worker only converts at its edge.

/// An HTTP request as the core sees it. `path` is relative to the namespace (`/` or
/// `/_mock/…`); header names compare case-insensitively.
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// The path as the client sent it, namespace prefix included (what SigV4 signed);
    /// empty when it is `path` itself.
    pub full_path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path the client signed.
    pub fn signed_path(&self) -> &str {
        if self.full_path.is_empty() {
            &self.path
        } else {
            &self.full_path
        }
    }

    /// Decoded `name=value` pairs of the query string.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        HttpResponse::new(status, "application/json", value.to_string())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The answer to a request of `method`: a `HEAD` gets the `GET` answer's status and
    /// headers with no body.
    pub fn for_method(mut self, method: &str) -> Self {
        if method.eq_ignore_ascii_case("HEAD") {
            self.body.clear();
        }
        self
    }

    /// The body parsed as JSON (for tests and the worker's health check).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for a query value).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_case_insensitively() {
        let r = HttpRequest {
            headers: vec![("x-amz-target".into(), "A.B".into())],
            ..Default::default()
        };
        assert_eq!(r.header("X-Amz-Target"), Some("A.B"));
        assert_eq!(r.header("Authorization"), None);
    }

    #[test]
    fn query_strings_are_decoded() {
        let r = HttpRequest {
            query: "product=a%2Fb&customer=x+y&bad=%zz&tail=%4".into(),
            ..Default::default()
        };
        assert_eq!(
            r.query_pairs(),
            vec![
                ("product".to_string(), "a/b".to_string()),
                ("customer".into(), "x y".into()),
                ("bad".into(), "%zz".into()),
                ("tail".into(), "%4".into())
            ]
        );
    }
}
