//! Who may use the API: the bearer token, the page's session cookie, CSRF, the Host check and
//! the rate limit.
//!
//! - With a token set, every `/api/` and `/metrics` request needs `Authorization: Bearer` or the
//!   session cookie the page gets by posting the token once to `/api/session`.
//! - Requests that change something and are not bearer-authenticated (the page's) must carry
//!   the `X-CSRF-Token` header: another site can make a browser send a cookie, but cannot read
//!   the token from `/api/session` nor set a custom header across origins.
//! - On a loopback listener the Host header must name loopback, so a web page that rebinds its
//!   own host name to 127.0.0.1 cannot read the API from the operator's browser.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "scanstation_session";

/// 32 random bytes as hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the OS's randomness there is no safe token to hand out; a fixed value would be
    // worse than refusing sessions, so the failure yields a token no request can match.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No token is configured: everyone on loopback is the operator.
    Open,
    Bearer,
    Cookie,
    Nobody,
}

pub(crate) struct Auth {
    token: Option<String>,
    csrf: String,
    sessions: Mutex<HashSet<String>>,
    local: SocketAddr,
}

impl Auth {
    pub(crate) fn new(token: Option<String>, local: SocketAddr) -> Auth {
        Auth {
            token,
            csrf: random_token(),
            sessions: Mutex::new(HashSet::new()),
            local,
        }
    }

    pub(crate) fn required(&self) -> bool {
        self.token.is_some()
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Who sent these headers.
    pub(crate) fn caller(&self, headers: &axum::http::HeaderMap) -> Caller {
        let Some(token) = &self.token else {
            return Caller::Open;
        };
        if let Some(value) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            && let Some(given) = value.strip_prefix("Bearer ")
            && same_secret(given.trim(), token)
        {
            return Caller::Bearer;
        }
        if let Some(session) = cookie(headers, COOKIE) {
            let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            if sessions.iter().any(|s| same_secret(s, session)) {
                return Caller::Cookie;
            }
        }
        Caller::Nobody
    }

    /// A new page session when `token` is right.
    pub(crate) fn login(&self, token: &str) -> Option<String> {
        let expected = self.token.as_deref()?;
        if !same_secret(token, expected) {
            return None;
        }
        let session = random_token();
        if session.is_empty() {
            return None;
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        // A bound on stored sessions: a client looping on the login cannot grow memory.
        if sessions.len() >= 1024 {
            sessions.clear();
        }
        sessions.insert(session.clone());
        Some(session)
    }

    pub(crate) fn csrf_ok(&self, headers: &axum::http::HeaderMap) -> bool {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| same_secret(v, &self.csrf))
    }

    /// On a loopback listener, the Host header must name loopback (DNS rebinding).
    pub(crate) fn host_ok(&self, headers: &axum::http::HeaderMap) -> bool {
        if !self.local.ip().is_loopback() {
            return true;
        }
        let Some(host) = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
        else {
            // HTTP/1.0 clients may leave it out; they cannot be a rebinding browser.
            return true;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<IpAddr>()
                .is_ok_and(|ip: IpAddr| ip.is_loopback())
    }
}

/// The value of one cookie in the Cookie header.
fn cookie<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A token bucket per client address.
pub(crate) struct RateLimit {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimit {
    pub(crate) fn new(per_second: u32) -> RateLimit {
        RateLimit {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `ip`'s bucket; false when it is empty.
    #[allow(clippy::disallowed_methods)] // The limit is about real time passing.
    pub(crate) fn allow(&self, ip: IpAddr) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let burst = self.per_second * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            // Forget idle clients rather than grow without bound.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * self.per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn auth(token: Option<&str>) -> Auth {
        Auth::new(
            token.map(str::to_owned),
            "127.0.0.1:8080".parse().expect("addr"),
        )
    }

    #[test]
    fn bearer_cookie_and_nobody() {
        let a = auth(Some("s3cret"));
        assert_eq!(
            a.caller(&headers(&[("authorization", "Bearer s3cret")])),
            Caller::Bearer
        );
        assert_eq!(
            a.caller(&headers(&[("authorization", "Bearer s3cre")])),
            Caller::Nobody
        );
        assert_eq!(a.caller(&headers(&[])), Caller::Nobody);
        assert!(a.login("wrong").is_none());
        let session = a.login("s3cret").expect("session");
        let cookie_header = format!("a=b; {COOKIE}={session}");
        assert_eq!(
            a.caller(&headers(&[("cookie", &cookie_header)])),
            Caller::Cookie
        );
        assert_eq!(auth(None).caller(&headers(&[])), Caller::Open);
    }

    #[test]
    fn csrf_needs_the_exact_token() {
        let a = auth(None);
        assert!(!a.csrf_ok(&headers(&[])));
        assert!(!a.csrf_ok(&headers(&[("x-csrf-token", "x")])));
        let good = a.csrf().to_owned();
        assert!(a.csrf_ok(&headers(&[("x-csrf-token", &good)])));
    }

    #[test]
    fn loopback_listener_refuses_foreign_host_names() {
        let a = auth(None);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "127.0.0.1",
        ] {
            assert!(a.host_ok(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in ["evil.example:8080", "evil.example", "10.0.0.1:8080"] {
            assert!(!a.host_ok(&headers(&[("host", bad)])), "{bad}");
        }
    }

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let r = RateLimit::new(5);
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let allowed = (0..50).filter(|_| r.allow(ip)).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
        assert!(RateLimit::new(0).allow(ip));
    }
}
