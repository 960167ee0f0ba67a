//! The console's HTTP pieces: form and query decoding, the session cookie,
//! and replies (pages, redirects, errors) with the headers every reply
//! carries.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::StatusCode;

/// The name of the session cookie.
pub const COOKIE: &str = "crossforest_console";

/// Decodes `application/x-www-form-urlencoded` (a form body or a query
/// string) into name/value pairs in order.
pub fn decode_form(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

/// `text` percent-encoded as one value of a query string.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Decoded fields of a form or query.
#[derive(Debug, Default, Clone)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The comma-separated values of `name`, each trimmed, empty ones dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The session id the request's `Cookie` header carries, if any.
pub fn session_cookie(header: Option<&HeaderValue>) -> Option<String> {
    header
        .and_then(|h| h.to_str().ok())?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A reply before it is sent.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body, HTML (or text for a bare error).
    pub body: String,
    /// Where to go (a redirect).
    pub location: Option<String>,
    /// A `Set-Cookie` value.
    pub cookie: Option<String>,
}

impl Reply {
    /// A page.
    pub fn html(body: String) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// A page with `status`.
    pub fn with_status(status: StatusCode, body: String) -> Self {
        Self {
            status,
            body,
            location: None,
            cookie: None,
        }
    }

    /// 303 See Other to `path` (after a form, or to the sign-in page).
    pub fn redirect(path: &str) -> Self {
        Self {
            status: StatusCode::SEE_OTHER,
            body: String::new(),
            location: Some(path.to_owned()),
            cookie: None,
        }
    }

    /// Sets the session cookie (`None`: clears it).
    pub fn set_session(mut self, id: Option<&str>) -> Self {
        self.cookie = Some(match id {
            Some(id) => format!("{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict"),
            None => format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
        });
        self
    }

    /// The HTTP response, with the headers every reply carries: no caching,
    /// no framing, no scripts or outside resources (the console needs none).
    pub fn into_response(self) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
        let mut response = hyper::Response::new(http_body_util::Full::new(
            hyper::body::Bytes::from(self.body),
        ));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in [
            (CONTENT_TYPE.as_str(), "text/html; charset=utf-8"),
            (CACHE_CONTROL.as_str(), "no-store"),
            (
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
            ("strict-transport-security", "max-age=31536000"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(LOCATION, location);
        }
        if let Some(cookie) = self.cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(SET_COOKIE, cookie);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_keep_bad_escapes() {
        assert_eq!(
            decode_form(b"name=Seattle+Admins&member=fabrikam%5Cbob&x=100%&y"),
            vec![
                ("name".into(), "Seattle Admins".into()),
                ("member".into(), "fabrikam\\bob".into()),
                ("x".into(), "100%".into()),
                ("y".into(), String::new()),
            ]
        );
        assert_eq!(decode_form(b"t=%E2%86%92"), vec![("t".into(), "→".into())]);
    }

    #[test]
    fn encode_round_trips_through_decode() {
        let text = "fabrikam\\Exchange Admins & \"x\"=→";
        assert_eq!(
            decode_form(format!("v={}", encode(text)).as_bytes())[0].1,
            text
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_is_strict() {
        let header = HeaderValue::from_static("a=1; crossforest_console=abc; b=2");
        assert_eq!(session_cookie(Some(&header)).as_deref(), Some("abc"));
        assert_eq!(session_cookie(None), None);
        let reply = Reply::redirect("/").set_session(Some("abc"));
        let cookie = reply.cookie.unwrap_or_default();
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
    }
}
