//! Bearer-token checking, and the session cookie that lets a browser use the page.
//!
//! With a token set, every route but `/healthz` and `/login` needs it: as an
//! `Authorization: Bearer` header (Prometheus, scripts), or as the `mmash_token` cookie that
//! `POST /login` sets after checking the token typed into its form (browsers, which cannot add
//! a header to a page load). The cookie carries the token itself (hex-encoded), `HttpOnly` and
//! `SameSite=Strict`, so page scripts cannot read it and other sites cannot send it.

/// Name of the session cookie.
pub const COOKIE: &str = "mmash_token";

/// Compares in constant time for equal lengths, so a secret cannot be guessed byte by byte
/// from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True if `header` (the `Authorization` value) carries `token`.
pub fn bearer_ok(header: Option<&str>, token: &str) -> bool {
    header
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

/// The cookie value that stands for `token`.
pub fn cookie_value(token: &str) -> String {
    token.bytes().map(|b| format!("{b:02x}")).collect()
}

/// True if `header` (the `Cookie` value) has the session cookie for `token`.
pub fn cookie_ok(header: Option<&str>, token: &str) -> bool {
    let want = cookie_value(token);
    header
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && same(v.as_bytes(), want.as_bytes()))
}

/// True if the token typed into the login form is `token`.
pub fn form_ok(given: &str, token: &str) -> bool {
    same(given.as_bytes(), token.as_bytes())
}

/// The `Set-Cookie` value of a session for `token`.
pub fn session_cookie(token: &str) -> String {
    format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        cookie_value(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(bearer_ok(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer_ok(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_ok(Some("Bearer s3creT"), "s3cret"));
        assert!(!bearer_ok(Some("Basic s3cret"), "s3cret"));
        assert!(!bearer_ok(None, "s3cret"));
    }

    #[test]
    fn only_the_session_cookie_of_the_token_passes() {
        let good = format!("theme=dark; {COOKIE}={}", cookie_value("s3 cr;et"));
        assert!(cookie_ok(Some(&good), "s3 cr;et"));
        assert!(!cookie_ok(Some(&good), "s3cret"));
        assert!(
            !cookie_ok(Some("mmash_token=s3cret"), "s3cret"),
            "the raw token is no cookie"
        );
        assert!(!cookie_ok(None, "s3cret"));
        assert!(session_cookie("ab").starts_with("mmash_token=6162; HttpOnly; SameSite=Strict"));
        assert!(form_ok("s3cret", "s3cret") && !form_ok("s3cre", "s3cret"));
    }
}
