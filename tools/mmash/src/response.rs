//! JSON answers and errors, bounded in size.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Largest response body; larger answers are refused with 413 (narrow them with `?glob=`).
pub const MAX_BODY: usize = 64 << 20;

/// An error answer: `status` with `{"error": msg}`.
pub(crate) fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

/// `v` as a JSON answer, or 413 if it is larger than [`MAX_BODY`].
pub(crate) fn json_response(v: &serde_json::Value) -> Response {
    body_response(serde_json::to_vec(v))
}

/// A JSON body as an answer, or 413 if it is larger than [`MAX_BODY`].
pub(crate) fn body_response(body: serde_json::Result<Vec<u8>>) -> Response {
    match body {
        Ok(body) if body.len() <= MAX_BODY => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(_) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "response too large; narrow it with ?glob=",
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_larger_than_the_bound_are_refused() {
        assert_eq!(body_response(Ok(b"{}".to_vec())).status(), StatusCode::OK);
        assert_eq!(
            body_response(Ok(vec![b' '; MAX_BODY])).status(),
            StatusCode::OK
        );
        assert_eq!(
            body_response(Ok(vec![b' '; MAX_BODY + 1])).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
