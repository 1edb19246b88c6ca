//! Bearer-token checking, and the sessions that let a browser use the page.
//!
//! With a token set, every route but `/healthz`, `/login` and `/logout` needs it: as an
//! `Authorization: Bearer` header (Prometheus, scripts), or as the `mmash_session` cookie that
//! `POST /login` sets after checking the token typed into its form (browsers, which cannot add
//! a header to a page load). The cookie carries a random session id (128 bits from the
//! kernel), never the token; a session ends after [`SESSION_LIFETIME`] or at `/logout`, and the
//! cookie is `HttpOnly` and `SameSite=Strict`, so page scripts cannot read it and other sites
//! cannot send it. Failed logins are limited to [`LOGIN_FAILURES`] per [`LOGIN_WINDOW`] for
//! the whole server, so the token cannot be guessed at network speed.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const COOKIE: &str = "mmash_session";
/// How long a session lasts after login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; logging in beyond that ends the oldest.
pub const MAX_SESSIONS: usize = 1024;
/// Failed logins allowed per [`LOGIN_WINDOW`]; more are answered 429 without checking.
pub const LOGIN_FAILURES: usize = 5;
/// The window of [`LOGIN_FAILURES`].
pub const LOGIN_WINDOW: Duration = Duration::from_secs(10);

/// Compares a secret with what a client sent in time that depends only on the length of what
/// was sent, so neither the secret's bytes nor its length can be learnt from response times.
pub fn same(given: &[u8], secret: &[u8]) -> bool {
    if secret.is_empty() {
        return false;
    }
    let mut diff = u8::from(given.len() != secret.len());
    for (i, g) in given.iter().enumerate() {
        diff |= g ^ secret[i % secret.len()];
    }
    std::hint::black_box(diff) == 0
}

/// True if `header` (the `Authorization` value) carries `token`.
pub fn bearer_ok(header: Option<&str>, token: &str) -> bool {
    header
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

/// True if the token typed into the login form is `token`.
pub fn form_ok(given: &str, token: &str) -> bool {
    same(given.as_bytes(), token.as_bytes())
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn session_id(cookie_header: Option<&str>) -> Option<&str> {
    cookie_header
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value of session `id`.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that makes a browser forget its session.
pub fn expired_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// The live sessions and recent failed logins.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Instant>>,
    failures: Mutex<VecDeque<Instant>>,
}

impl Sessions {
    /// Starts a session; its id, or `None` if the kernel gave no random bytes.
    pub fn start(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .ok()?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, until| *until > now);
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
        {
            live.remove(&oldest);
        }
        live.insert(id.clone(), now + SESSION_LIFETIME);
        Some(id)
    }

    /// True if the `Cookie` header names a session that has not ended.
    pub fn valid(&self, cookie_header: Option<&str>) -> bool {
        let Some(id) = session_id(cookie_header) else {
            return false;
        };
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(id).is_some_and(|until| *until > Instant::now())
    }

    /// Ends the session the `Cookie` header names, if any.
    pub fn end(&self, cookie_header: Option<&str>) {
        if let Some(id) = session_id(cookie_header) {
            self.live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
    }

    /// True if too many logins failed lately: the next attempt is refused unchecked.
    pub fn login_throttled(&self) -> bool {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        while f
            .front()
            .is_some_and(|t| now.duration_since(*t) > LOGIN_WINDOW)
        {
            f.pop_front();
        }
        f.len() >= LOGIN_FAILURES
    }

    /// Records a failed login.
    pub fn login_failed(&self) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.push_back(Instant::now());
        while f.len() > LOGIN_FAILURES {
            f.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(bearer_ok(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer_ok(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_ok(Some("Bearer s3cretX"), "s3cret"));
        assert!(!bearer_ok(Some("Bearer s3creT"), "s3cret"));
        assert!(!bearer_ok(Some("Basic s3cret"), "s3cret"));
        assert!(!bearer_ok(None, "s3cret"));
        assert!(
            !bearer_ok(Some("Bearer "), ""),
            "an empty token never passes"
        );
        assert!(form_ok("s3cret", "s3cret") && !form_ok("s3cre", "s3cret"));
        // Periodic repetitions of the secret are not the secret.
        assert!(!same(b"abab", b"ab"));
    }

    #[test]
    fn sessions_are_random_expire_and_end() {
        let s = Sessions::default();
        let a = s.start().unwrap();
        let b = s.start().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let cookie = format!("theme=dark; {COOKIE}={a}");
        assert!(s.valid(Some(&cookie)));
        // the same token with its first digit changed
        let first = if a.starts_with('0') { '1' } else { '0' };
        assert!(!s.valid(Some(&format!("{COOKIE}={first}{}", &a[1..]))));
        assert!(!s.valid(None));
        s.end(Some(&cookie));
        assert!(!s.valid(Some(&cookie)), "logged out");
        // An expired session is refused.
        s.live
            .lock()
            .unwrap()
            .insert(b.clone(), Instant::now() - Duration::from_secs(1));
        assert!(!s.valid(Some(&format!("{COOKIE}={b}"))));
        assert!(session_cookie(&a).contains("Max-Age=43200"));
        assert!(session_cookie(&a).contains("HttpOnly; SameSite=Strict"));
        assert!(expired_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn failed_logins_are_throttled() {
        let s = Sessions::default();
        for _ in 0..LOGIN_FAILURES {
            assert!(!s.login_throttled());
            s.login_failed();
        }
        assert!(s.login_throttled());
    }
}
