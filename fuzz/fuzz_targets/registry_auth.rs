//! Fuzz target `registry_auth`: the input as what registries and users hand cascade's registry
//! client: a `WWW-Authenticate` header (`images::auth::parse_challenges`, lossy UTF-8), an
//! error body (`images::registry::parse_error_envelope`), a docker `config.json`
//! (`images::auth::Credentials::parse_docker_config`) and `CASCADE_REGISTRY_CREDENTIALS`
//! (`images::auth::Credentials::parse_env`). Properties: challenge schemes and parameter names
//! are lowercase; an env error never shows a password (long alphanumeric ones are checked).
#![no_main]

use std::path::Path;

use cascade::images::auth::{normalize_host, parse_challenges, Credentials};
use cascade::images::registry::parse_error_envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for challenge in parse_challenges(&text) {
        assert_eq!(challenge.scheme, challenge.scheme.to_ascii_lowercase(), "scheme not lowercase");
        for (name, _) in &challenge.params {
            assert_eq!(*name, name.to_ascii_lowercase(), "parameter name not lowercase");
        }
        let _ =
            (challenge.realm(), challenge.service(), challenge.scope(), challenge.is_bearer(), challenge.is_basic());
    }
    let _ = parse_error_envelope(data);
    if let Ok(credentials) = Credentials::parse_docker_config(Path::new("config.json"), data) {
        let _ = format!("{credentials:?}");
        for host in credentials.hosts() {
            let _ = credentials.get(host).map(|c| c.basic_authorization());
        }
    }
    let _ = normalize_host(&text);
    if let Err(e) = Credentials::parse_env(&text) {
        // Only passwords that occur once in the input (in any case) are checked: anything else
        // could be in the message as part of a host, which errors do name.
        let message = e.to_string().to_ascii_lowercase();
        let lower = text.to_ascii_lowercase();
        for entry in text.split(|c: char| c == ',' || c.is_whitespace()) {
            let Some((_, secret)) = entry.split_once('=') else { continue };
            let Some((_, password)) = secret.split_once(':') else { continue };
            let password = password.to_ascii_lowercase();
            if password.len() >= 12
                && password.bytes().all(|b| b.is_ascii_alphanumeric())
                && lower.matches(password.as_str()).count() == 1
            {
                assert!(!message.contains(&password), "error {message:?} shows a password");
            }
        }
    }
});
