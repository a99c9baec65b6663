//! The distribution registry's notification envelope (`notifications.endpoints` in the
//! registry's config; `Content-Type: application/vnd.docker.distribution.events.v2+json`):
//! `{"events":[{"action":"push","target":{"repository","tag","digest","url",…},"request":{"host",…}}]}`.
//! Pure. A push is only a hint: the watcher verifies it with a HEAD of the tag.

use serde::Deserialize;

/// Largest envelope read (the registry batches at most a few events per POST).
pub const MAX_EVENTS_BYTES: usize = 1024 * 1024;

/// A manifest push worth polling for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushHint {
    /// `host[:port]` as the registry is reached.
    pub host: String,
    pub repository: String,
    /// The tag pushed, when the push named one; without it every watched tag of the
    /// repository is polled.
    pub tag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("registry event envelope is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    request: Request,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Request {
    #[serde(default)]
    host: String,
}

/// The manifest pushes in an envelope, deduplicated; pulls, deletes, mounts and blob pushes
/// are dropped.
pub fn push_hints(body: &[u8]) -> Result<Vec<PushHint>, EventsError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    let mut hints: Vec<PushHint> = Vec::new();
    for event in envelope.events {
        let target = event.target;
        let is_manifest = target.tag.is_some()
            || target.url.as_deref().is_some_and(|u| u.contains("/manifests/"))
            || target.media_type.contains("manifest")
            || target.media_type.contains("image.index");
        if event.action != "push" || !is_manifest || target.repository.is_empty() {
            continue;
        }
        let host = target.url.as_deref().and_then(url_host).unwrap_or(&event.request.host).to_ascii_lowercase();
        if host.is_empty() {
            continue;
        }
        let hint = PushHint { host, repository: target.repository, tag: target.tag.filter(|t| !t.is_empty()) };
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    Ok(hints)
}

/// The `host[:port]` of an absolute http(s) URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_pushes_become_hints() {
        let body = br#"{"events":[
          {"id":"1","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "digest":"sha256:aa","repository":"vendor/debian","tag":"bookworm",
            "url":"http://127.0.0.1:5000/v2/vendor/debian/manifests/sha256:aa"},
            "request":{"host":"registry.internal:5000","method":"PUT"}},
          {"id":"2","action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:bb",
            "repository":"vendor/debian","url":"http://127.0.0.1:5000/v2/vendor/debian/blobs/sha256:bb"}},
          {"id":"3","action":"pull","target":{"repository":"vendor/debian","tag":"bookworm"},"request":{"host":"h"}},
          {"id":"4","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "repository":"acme/base"},"request":{"host":"Registry.Internal:5000"}},
          {"id":"5","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "digest":"sha256:aa","repository":"vendor/debian","tag":"bookworm",
            "url":"http://127.0.0.1:5000/v2/vendor/debian/manifests/sha256:aa"}}
        ]}"#;
        assert_eq!(
            push_hints(body).unwrap(),
            vec![
                PushHint {
                    host: "127.0.0.1:5000".into(),
                    repository: "vendor/debian".into(),
                    tag: Some("bookworm".into())
                },
                PushHint { host: "registry.internal:5000".into(), repository: "acme/base".into(), tag: None },
            ]
        );
    }

    #[test]
    fn broken_envelopes_are_errors_and_empty_ones_are_not() {
        assert!(push_hints(b"{\"events\": [").unwrap_err().to_string().contains("not valid JSON"));
        assert!(push_hints(b"{}").unwrap().is_empty());
        assert!(push_hints(br#"{"events":[{"action":"push"}]}"#).unwrap().is_empty());
    }
}
