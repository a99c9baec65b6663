//! Bearer tokens: resolved once at start-up from the config's `[api] tokens` (each read from
//! an environment variable or a file) and `CASCADE_API_READ_TOKEN` / `CASCADE_API_WRITE_TOKEN`,
//! kept only as SHA-256 digests, compared in constant time. Token values are never logged:
//! only the names given to them in the config.

use std::path::PathBuf;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use super::error::{ApiError, ErrorCode};
use super::AppState;
use crate::config::{TokenScope, TokenSpec};

pub const READ_TOKEN_ENV: &str = "CASCADE_API_READ_TOKEN";
pub const WRITE_TOKEN_ENV: &str = "CASCADE_API_WRITE_TOKEN";
/// Shortest token accepted: a guessable token is worse than none, because it looks safe.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("api token {name}: set exactly one of token_env and token_file")]
    Source { name: String },
    #[error("api token {name}: environment variable {var} is not set or empty")]
    MissingEnv { name: String, var: String },
    #[error("api token {name}: cannot read {}: {source}", path.display())]
    File { name: String, path: PathBuf, source: std::io::Error },
    #[error("api token {name}: the token is shorter than {MIN_TOKEN_LEN} characters")]
    TooShort { name: String },
}

struct Token {
    name: String,
    digest: [u8; 32],
    scope: TokenScope,
}

/// The configured tokens. Empty means no authentication (allowed on loopback only).
pub struct Tokens {
    tokens: Vec<Token>,
}

/// What a route asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    Nothing,
    Scope(TokenScope),
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Equal digests, taking the same time whatever the inputs (no early exit).
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

impl Tokens {
    pub fn none() -> Tokens {
        Tokens { tokens: Vec::new() }
    }

    /// Reads every token: config entries through `env` or their file, then the two
    /// environment variables (`env` is `std::env::var` outside tests).
    pub fn resolve(specs: &[TokenSpec], env: &dyn Fn(&str) -> Option<String>) -> Result<Tokens, AuthError> {
        let mut tokens = Vec::new();
        for spec in specs {
            let name = spec.name.clone();
            let secret = match (&spec.token_env, &spec.token_file) {
                (Some(var), None) => env(var)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| AuthError::MissingEnv { name: name.clone(), var: var.clone() })?,
                (None, Some(path)) => std::fs::read_to_string(path).map_err(|source| AuthError::File {
                    name: name.clone(),
                    path: path.clone(),
                    source,
                })?,
                _ => return Err(AuthError::Source { name }),
            };
            tokens.push(Token::new(name, secret.trim(), spec.scope)?);
        }
        for (var, scope) in [(READ_TOKEN_ENV, TokenScope::Read), (WRITE_TOKEN_ENV, TokenScope::Write)] {
            if let Some(secret) = env(var).filter(|v| !v.trim().is_empty()) {
                tokens.push(Token::new(var.to_string(), secret.trim(), scope)?);
            }
        }
        Ok(Tokens { tokens })
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The names of the tokens (for the start-up log).
    pub fn names(&self) -> Vec<&str> {
        self.tokens.iter().map(|t| t.name.as_str()).collect()
    }

    /// The broadest scope of the tokens matching an `Authorization` header value, with the
    /// matching token's name. Every configured token is compared, matched or not.
    pub fn scope_of(&self, authorization: Option<&[u8]>) -> Option<(TokenScope, &str)> {
        let presented = authorization?.strip_prefix(b"Bearer ")?;
        let presented = digest(presented.trim_ascii());
        let mut best: Option<(TokenScope, &str)> = None;
        for token in &self.tokens {
            if digests_equal(&token.digest, &presented) && best.is_none_or(|(s, _)| token.scope > s) {
                best = Some((token.scope, &token.name));
            }
        }
        best
    }
}

impl Token {
    fn new(name: String, secret: &str, scope: TokenScope) -> Result<Token, AuthError> {
        if secret.len() < MIN_TOKEN_LEN {
            return Err(AuthError::TooShort { name });
        }
        Ok(Token { name, digest: digest(secret.as_bytes()), scope })
    }
}

/// The scope a request needs: nothing for liveness, readiness and the OpenAPI document;
/// `write` for POST /v1/mail and POST /v1/registry-events; `read` for everything else (GET routes, `/metrics`, and
/// unknown paths, so that an anonymous caller learns nothing about what exists).
pub fn required(path: Option<&str>, method: &Method) -> Required {
    match path {
        Some("/healthz" | "/readyz" | "/openapi.json") => Required::Nothing,
        Some("/v1/mail" | "/v1/registry-events") if method == Method::POST => Required::Scope(TokenScope::Write),
        _ => Required::Scope(TokenScope::Read),
    }
}

/// Middleware: answers 401 without a known token and 403 with a token of too narrow a scope,
/// when tokens are configured; lets everything through when none is.
pub async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tokens = &state.shared.tokens;
    if tokens.is_empty() {
        return next.run(request).await;
    }
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str());
    let Required::Scope(needed) = required(path, request.method()) else {
        return next.run(request).await;
    };
    let presented = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let refusal = match tokens.scope_of(presented) {
        None => ApiError::new(ErrorCode::Unauthorized, "a bearer token is required (Authorization: Bearer TOKEN)"),
        Some((scope, name)) if scope < needed => {
            tracing::info!(token = name, "token lacks the write scope");
            ApiError::new(ErrorCode::Forbidden, "this token may read but not write")
        }
        Some(_) => return next.run(request).await,
    };
    super::body::drain(request.into_body()).await;
    refusal.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, env: Option<&str>, file: Option<PathBuf>, scope: TokenScope) -> TokenSpec {
        TokenSpec { name: name.into(), token_env: env.map(Into::into), token_file: file, scope }
    }

    #[test]
    fn tokens_from_config_files_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "file-token-0123456789\n").unwrap();
        let env = |var: &str| match var {
            "CI_TOKEN" => Some("ci-token-0123456789".to_string()),
            WRITE_TOKEN_ENV => Some("write-token-0123456789".to_string()),
            _ => None,
        };
        let tokens = Tokens::resolve(
            &[
                spec("ci", Some("CI_TOKEN"), None, TokenScope::Read),
                spec("mailer", None, Some(file.clone()), TokenScope::Write),
            ],
            &env,
        )
        .unwrap();
        assert_eq!(tokens.names(), ["ci", "mailer", WRITE_TOKEN_ENV]);
        assert_eq!(tokens.scope_of(Some(b"Bearer ci-token-0123456789")), Some((TokenScope::Read, "ci")));
        assert_eq!(tokens.scope_of(Some(b"Bearer file-token-0123456789")), Some((TokenScope::Write, "mailer")));
        assert_eq!(tokens.scope_of(Some(b"Bearer write-token-0123456789")), Some((TokenScope::Write, WRITE_TOKEN_ENV)));
        assert_eq!(tokens.scope_of(Some(b"Bearer ci-token-012345678")), None);
        assert_eq!(tokens.scope_of(Some(b"Basic ci-token-0123456789")), None);
        assert_eq!(tokens.scope_of(None), None);

        let missing = Tokens::resolve(&[spec("ci", Some("NOPE"), None, TokenScope::Read)], &env).err().unwrap();
        assert!(missing.to_string().contains("NOPE"), "{missing}");
        let both = Tokens::resolve(&[spec("x", Some("CI_TOKEN"), Some(file), TokenScope::Read)], &env).err().unwrap();
        assert!(matches!(both, AuthError::Source { .. }));
        let short = |var: &str| (var == READ_TOKEN_ENV).then(|| "short".to_string());
        let err = Tokens::resolve(&[], &short).err().unwrap();
        assert!(matches!(err, AuthError::TooShort { .. }));
        // No secret in any message.
        assert!(!err.to_string().contains("short\""));
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        let a = digest(b"one");
        assert!(digests_equal(&a, &digest(b"one")));
        assert!(!digests_equal(&a, &digest(b"two")));
        let mut b = a;
        b[31] ^= 1;
        assert!(!digests_equal(&a, &b));
    }

    #[test]
    fn scopes_by_route() {
        assert_eq!(required(Some("/healthz"), &Method::GET), Required::Nothing);
        assert_eq!(required(Some("/openapi.json"), &Method::GET), Required::Nothing);
        assert_eq!(required(Some("/metrics"), &Method::GET), Required::Scope(TokenScope::Read));
        assert_eq!(required(Some("/v1/mail"), &Method::POST), Required::Scope(TokenScope::Write));
        assert_eq!(required(Some("/v1/findings"), &Method::GET), Required::Scope(TokenScope::Read));
        assert_eq!(required(None, &Method::GET), Required::Scope(TokenScope::Read));
    }
}
