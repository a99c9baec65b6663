//! The registry client at its boundary: the real distribution registry (open, htpasswd, token
//! auth) and, for what a real registry will not do (lie about digests, rate-limit, redirect to
//! another host), tiny scripted servers. Each test owns its servers; nothing leaves loopback.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cascade::images::auth::{Credential, Credentials};
use cascade::images::digest::Digest;
use cascade::images::manifest::{
    self, Descriptor, Document, Platform, MANIFEST_ACCEPT, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use cascade::images::reference::ImageRef;
use cascade::images::registry::{scheme_for, RegistryClient, RegistryError, RegistryOptions};
use cascade::images::{Source, SourceRef};
use serde_json::json;

use crate::support::image::{Compression, LayerBuilder, TestImage};
use crate::support::registry::{HttpStub, StubReply, TestRegistry, TOKEN_PASSWORD, TOKEN_USER};

/// What was pushed for one image.
struct Pushed {
    image: TestImage,
    manifest: Vec<u8>,
    digest: Digest,
    config: Descriptor,
    layer: Descriptor,
}

fn test_image(architecture: &'static str, variant: Option<&'static str>) -> TestImage {
    let layer = LayerBuilder::new()
        .dir("etc")
        .file("etc/hello", format!("hello from {architecture}\n").as_bytes())
        .build(Compression::Gzip);
    TestImage::new(vec![layer]).platform(architecture, variant)
}

/// Pushes layers, config and manifest; `reference` None pushes the manifest by its digest.
fn push(registry: &TestRegistry, repo: &str, reference: Option<&str>, image: TestImage) -> Pushed {
    for layer in &image.layers {
        registry.push_blob(repo, &layer.blob);
    }
    let config = image.config();
    registry.push_blob(repo, &config);
    let manifest = image.manifest();
    let digest = Digest::sha256_of(&manifest);
    let reference = reference.map_or_else(|| digest.to_string(), str::to_string);
    assert_eq!(registry.push_manifest(repo, &reference, OCI_MANIFEST, &manifest), digest);
    let layer = &image.layers[0];
    Pushed {
        config: descriptor(OCI_CONFIG, &config),
        layer: descriptor(layer.media_type, &layer.blob),
        image,
        manifest,
        digest,
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        platform: None,
        annotations: None,
    }
}

fn image_ref(host: &str, repo_and_reference: &str) -> ImageRef {
    format!("{host}/{repo_and_reference}").parse().expect("test reference")
}

fn options_with(credentials: &[(&str, &str, &str)]) -> RegistryOptions {
    let mut c = Credentials::new();
    for (host, user, password) in credentials {
        c.insert(host, Credential::Basic { username: user.to_string(), password: password.to_string() });
    }
    RegistryOptions { credentials: c, timeout: Duration::from_secs(20), ..RegistryOptions::default() }
}

fn client_with(credentials: &[(&str, &str, &str)]) -> RegistryClient {
    RegistryClient::new(options_with(credentials))
}

/// `unwrap_err` without requiring `Debug` on the success type (`RawManifest` has none).
trait ExpectFailure<E> {
    fn expect_failure(self) -> E;
}

impl<T, E> ExpectFailure<E> for Result<T, E> {
    fn expect_failure(self) -> E {
        match self {
            Ok(_) => panic!("expected an error, got a success"),
            Err(e) => e,
        }
    }
}

fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn pulls_manifest_and_blobs_by_tag_and_by_digest() {
    let registry = TestRegistry::start();
    let pushed = push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    let client = client_with(&[]);

    let by_tag = image_ref(&registry.host(), "team/app:v1");
    let m = client.get_manifest(&by_tag, "v1").expect("manifest by tag");
    assert_eq!(m.bytes, pushed.manifest);
    assert_eq!(m.digest, pushed.digest);
    assert_eq!(m.content_type.as_deref(), Some(OCI_MANIFEST));

    let by_digest = image_ref(&registry.host(), &format!("team/app@{}", pushed.digest));
    assert_eq!(by_digest.reference(), pushed.digest.to_string());
    let m = client.get_manifest(&by_digest, &by_digest.reference()).expect("manifest by digest");
    assert_eq!((m.digest, m.bytes), (pushed.digest.clone(), pushed.manifest.clone()));

    let config = client.read_blob(&by_tag, &pushed.config, manifest::MAX_DOCUMENT_BYTES).expect("config blob");
    assert_eq!(config, pushed.image.config());
    let mut reader = client.open_blob(&by_digest, &pushed.layer).expect("layer blob");
    let layer = read_all(&mut reader).expect("layer stream verifies");
    assert!(reader.verified());
    assert_eq!(layer, pushed.image.layers[0].blob);

    // A blob larger than the caller's cap is refused before it is fetched.
    let err = client.read_blob(&by_tag, &pushed.layer, 3).expect_failure();
    assert!(matches!(err, RegistryError::TooLarge { limit: 3, .. }), "{err}");

    // The image sources resolve through this client end to end.
    let source = Source::open(&SourceRef::Registry(by_tag), &RegistryOptions::default()).expect("open source");
    let (resolved, config_bytes) =
        source.resolve(&Platform::parse("linux/amd64").expect("platform"), &|_| None).expect("resolve");
    assert_eq!(resolved.manifest_digest, pushed.digest);
    assert_eq!(resolved.index_digest, None);
    assert_eq!(resolved.config_digest, pushed.config.digest);
    assert_eq!(config_bytes, pushed.image.config());
    assert_eq!(resolved.layers, vec![pushed.layer]);
}

#[test]
fn head_reports_the_current_digest_and_absence() {
    let registry = TestRegistry::start();
    let pushed = push(&registry, "team/app", Some("stable"), test_image("amd64", None));
    let client = client_with(&[]);
    let image = image_ref(&registry.host(), "team/app:stable");
    assert_eq!(client.head_manifest(&image, "stable").expect("head"), Some(pushed.digest.clone()));
    assert_eq!(client.head_manifest(&image, &pushed.digest.to_string()).expect("head by digest"), Some(pushed.digest));
    assert_eq!(client.head_manifest(&image, "no-such-tag").expect("head of a missing tag"), None);
    let other_repo = image_ref(&registry.host(), "team/nothing-here:v1");
    assert_eq!(client.head_manifest(&other_repo, "v1").expect("head in a missing repository"), None);
}

#[test]
fn unknown_manifest_is_not_found_with_the_registry_code() {
    let registry = TestRegistry::start();
    push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    let client = client_with(&[]);
    let image = image_ref(&registry.host(), "team/app:v2");
    let err = client.get_manifest(&image, "v2").expect_failure();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
    assert_eq!(err.status(), Some(404));
    assert!(err.codes().iter().any(|c| c.code == "MANIFEST_UNKNOWN"), "{err}");
    let text = err.to_string();
    assert!(text.contains("GET /v2/team/app/manifests/v2") && text.contains(&registry.host()), "{text}");
}

#[test]
fn oci_index_with_two_platforms_comes_back_intact() {
    let registry = TestRegistry::start();
    let amd = push(&registry, "team/multi", None, test_image("amd64", None));
    let arm = push(&registry, "team/multi", None, test_image("arm64", Some("v8")));
    let entry = |p: &Pushed| {
        json!({
            "mediaType": OCI_MANIFEST,
            "digest": p.digest.to_string(),
            "size": p.manifest.len(),
            "platform": p.image.platform_json(),
        })
    };
    // Pretty-printed on purpose: any re-serialisation on the way would change the bytes.
    let index = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry(&amd), entry(&arm)],
    }))
    .expect("index json");
    let index_digest = registry.push_manifest("team/multi", "latest", OCI_INDEX, &index);

    let client = client_with(&[]);
    let image = image_ref(&registry.host(), "team/multi");
    assert_eq!(image.reference(), "latest");
    let m = client.get_manifest(&image, &image.reference()).expect("index");
    assert_eq!(m.bytes, index, "the index is returned byte for byte, not down-converted");
    assert_eq!(m.digest, index_digest);
    assert_eq!(m.content_type.as_deref(), Some(OCI_INDEX));
    assert_eq!(client.head_manifest(&image, "latest").expect("head index"), Some(index_digest.clone()));
    let Document::Index(parsed) = manifest::parse_document(m.content_type.as_deref(), &m.bytes).expect("parse") else {
        panic!("expected an index");
    };
    assert_eq!(parsed.manifests.len(), 2);

    let source = Source::open(&SourceRef::Registry(image), &RegistryOptions::default()).expect("open source");
    for (platform, pushed) in [("linux/amd64", &amd), ("linux/arm64", &arm)] {
        let (resolved, _) =
            source.resolve(&Platform::parse(platform).expect("platform"), &|_| None).expect("resolve platform");
        assert_eq!(resolved.index_digest.as_ref(), Some(&index_digest), "{platform}");
        assert_eq!(resolved.manifest_digest, pushed.digest, "{platform}");
        assert_eq!(resolved.platform.architecture, pushed.image.architecture, "{platform}");
    }
}

#[test]
fn manifest_requests_send_the_accept_list_on_head_and_get() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
    let digest = Digest::sha256_of(&body);
    let served = body.clone();
    // No Docker-Content-Digest header: HEAD must fall back to GET and hash.
    let stub = HttpStub::start(move |_| StubReply::new(200).header("Content-Type", OCI_INDEX).body(served.clone()));
    let client = client_with(&[]);
    let image = image_ref(&stub.host(), "a/b:v1");
    assert_eq!(client.head_manifest(&image, "v1").expect("head"), Some(digest.clone()));
    let requests = stub.requests();
    assert_eq!(requests.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["HEAD", "GET"]);
    for r in &requests {
        assert_eq!(r.path(), "/v2/a/b/manifests/v1");
        assert_eq!(r.header("accept"), Some(MANIFEST_ACCEPT), "{} carries the full Accept list", r.method);
        assert_eq!(r.header("authorization"), None);
    }
    let m = client.get_manifest(&image, "v1").expect("get");
    assert_eq!((m.digest, m.bytes), (digest, body));
}

#[test]
fn basic_auth_with_credentials_pulls() {
    let registry = TestRegistry::with_htpasswd("alice", "s3cret-pw");
    let pushed = push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    let client = client_with(&[(&registry.host(), "alice", "s3cret-pw")]);
    let image = image_ref(&registry.host(), "team/app:v1");
    let m = client.get_manifest(&image, "v1").expect("manifest with basic auth");
    assert_eq!(m.digest, pushed.digest);
    assert_eq!(client.head_manifest(&image, "v1").expect("head with basic auth"), Some(pushed.digest));
    let layer = read_all(client.open_blob(&image, &pushed.layer).expect("open layer")).expect("read layer");
    assert_eq!(layer, pushed.image.layers[0].blob);
}

#[test]
fn basic_auth_without_or_with_wrong_credentials_is_unauthorized() {
    let registry = TestRegistry::with_htpasswd("alice", "s3cret-pw");
    push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    let image = image_ref(&registry.host(), "team/app:v1");

    let err = client_with(&[]).get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&registry.host()) && text.contains("team/app"), "names registry and repository: {text}");
    assert!(text.contains("none are configured"), "{text}");

    let err = client_with(&[(&registry.host(), "alice", "wrong")]).get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("rejected the configured credentials"), "{err}");
    assert!(!err.to_string().contains("wrong"), "the password is not in the message: {err}");
}

#[test]
fn token_auth_asks_the_token_server_once_and_pulls() {
    let registry = TestRegistry::with_token_auth();
    let pushed = push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    assert_eq!(registry.token_requests(), 0, "push helpers mint their own tokens");

    let client = client_with(&[(&registry.host(), TOKEN_USER, TOKEN_PASSWORD)]);
    let image = image_ref(&registry.host(), "team/app:v1");
    let m = client.get_manifest(&image, "v1").expect("manifest with a bearer token");
    assert_eq!(m.digest, pushed.digest);
    let config = client.read_blob(&image, &pushed.config, manifest::MAX_DOCUMENT_BYTES).expect("config");
    assert_eq!(config, pushed.image.config());
    let layer = read_all(client.open_blob(&image, &pushed.layer).expect("open layer")).expect("read layer");
    assert_eq!(layer, pushed.image.layers[0].blob);

    let token_server = registry.token_server().expect("token server");
    let requests = token_server.requests();
    assert_eq!(requests.len(), 1, "one token, cached for the following requests");
    let r = &requests[0];
    assert_eq!(r.path(), "/token");
    assert_eq!(r.query_values("scope"), ["repository:team/app:pull"]);
    assert_eq!(r.query_values("service"), [crate::support::registry::TOKEN_SERVICE]);
    assert!(r.header("authorization").is_some_and(|a| a.starts_with("Basic ")));
}

#[test]
fn token_auth_with_wrong_or_missing_credentials_is_a_clear_error() {
    let registry = TestRegistry::with_token_auth();
    push(&registry, "team/app", Some("v1"), test_image("amd64", None));
    let image = image_ref(&registry.host(), "team/app:v1");

    let err =
        client_with(&[(&registry.host(), TOKEN_USER, "not-the-password")]).get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("token endpoint") && text.contains("rejected the credentials"), "{text}");
    assert!(text.contains(&registry.host()) && text.contains("team/app"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    let err = client_with(&[]).get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("refused an anonymous token"), "{err}");
    assert_eq!(registry.token_requests(), 2);
}

#[test]
fn digest_and_size_mismatches_are_detected() {
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.to_vec();
    let manifest_digest = Digest::sha256_of(&manifest);
    let blob = b"the real layer bytes".to_vec();
    let blob_d = descriptor("application/vnd.oci.image.layer.v1.tar", &blob);
    let short_d = descriptor("application/vnd.oci.image.layer.v1.tar", b"a blob the server truncates");
    let (m, md, bd, sd) = (manifest.clone(), manifest_digest.clone(), blob_d.digest.clone(), short_d.digest.clone());
    let stub = HttpStub::start(move |req| {
        let path = req.path().to_string();
        if path == "/v2/lies/manifests/v1" {
            // Right bytes, wrong header.
            StubReply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .header("Docker-Content-Digest", Digest::sha256_of(b"something else").to_string())
                .body(m.clone())
        } else if path == format!("/v2/lies/manifests/{md}") {
            // Other bytes under the requested digest, with a header that agrees with the lie.
            let other = br#"{"schemaVersion":2,"evil":true}"#.to_vec();
            StubReply::new(200).header("Docker-Content-Digest", md.to_string()).body(other)
        } else if path == "/v2/lies/manifests/huge" {
            StubReply::new(200).body(vec![b' '; manifest::MAX_DOCUMENT_BYTES as usize + 1])
        } else if path == format!("/v2/lies/blobs/{bd}") {
            StubReply::new(200).body(b"the fake layer bytes".to_vec())
        } else if path == format!("/v2/lies/blobs/{sd}") {
            StubReply::new(200).body(b"a blob".to_vec())
        } else {
            StubReply::new(404)
        }
    });
    assert_eq!(blob.len(), b"the fake layer bytes".len(), "same size, so only the digest can tell");
    let client = client_with(&[]);
    let image = image_ref(&stub.host(), "lies:v1");

    let err = client.get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "tag with a lying header: {err}");
    let err = client.get_manifest(&image, &manifest_digest.to_string()).expect_failure();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "by digest: {err}");
    assert!(err.to_string().contains(&manifest_digest.to_string()), "{err}");
    let err = client.get_manifest(&image, "huge").expect_failure();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");

    let err = client.read_blob(&image, &blob_d, 1024).expect_failure();
    assert!(matches!(err, RegistryError::DigestMismatch { what: "blob", .. }), "{err}");
    let stream_err = read_all(client.open_blob(&image, &blob_d).expect("open lying blob")).expect_failure();
    assert_eq!(stream_err.kind(), std::io::ErrorKind::InvalidData);
    assert!(stream_err.to_string().contains("digest mismatch"), "{stream_err}");

    let err = client.read_blob(&image, &short_d, 1024).expect_failure();
    assert!(matches!(err, RegistryError::SizeMismatch { .. }), "{err}");
    assert!(client.open_blob(&image, &short_d).is_err());
}

#[test]
fn rate_limited_request_waits_for_retry_after() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.to_vec();
    let digest = Digest::sha256_of(&body);
    let first: Arc<Mutex<Option<Instant>>> = Arc::default();
    let served = body.clone();
    // 429 until one second after the first request: a client that does not wait gets a
    // second 429 and, with two attempts, fails. Counting requests proves the wait.
    let stub = HttpStub::start(move |req| {
        let mut first = first.lock().expect("first lock");
        let t0 = *first.get_or_insert(req.received);
        if req.received.duration_since(t0) < Duration::from_secs(1) {
            StubReply::new(429)
                .header("Retry-After", "1")
                .json(&json!({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}))
        } else {
            StubReply::new(200).header("Content-Type", OCI_MANIFEST).body(served.clone())
        }
    });
    let client = RegistryClient::new(RegistryOptions {
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(10),
        ..options_with(&[])
    });
    let image = image_ref(&stub.host(), "busy/app:v1");
    let m = client.get_manifest(&image, "v1").expect("manifest after waiting");
    assert_eq!(m.digest, digest);
    assert_eq!(stub.request_count(), 2, "one 429, then one success");
}

#[test]
fn persistent_unavailability_exhausts_the_attempts() {
    let stub = HttpStub::start(|_| {
        StubReply::new(503)
            .header("Retry-After", "0")
            .json(&json!({"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}))
    });
    let client = RegistryClient::new(RegistryOptions { max_attempts: 3, ..options_with(&[]) });
    let image = image_ref(&stub.host(), "down/app:v1");
    let err = client.get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::RetriesExhausted { attempts: 3, .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("gave up after 3 attempts") && text.contains("http 503") && text.contains("UNAVAILABLE"),
        "{text}"
    );
    assert_eq!(stub.request_count(), 3);

    // Other 5xx are retried too (with backoff, no Retry-After).
    let n = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&n);
    let body = b"{}".to_vec();
    let served = body.clone();
    let flaky = HttpStub::start(move |_| {
        let mut n = counter.lock().expect("counter lock");
        *n += 1;
        if *n == 1 {
            StubReply::new(502)
        } else {
            StubReply::new(200).body(served.clone())
        }
    });
    let image = image_ref(&flaky.host(), "flaky/app:v1");
    let client = RegistryClient::new(RegistryOptions { max_attempts: 2, ..options_with(&[]) });
    assert_eq!(client.get_manifest(&image, "v1").expect("after a 502").bytes, body);
    assert_eq!(flaky.request_count(), 2);
}

#[test]
fn plain_http_only_for_loopback_and_listed_hosts() {
    let defaults = RegistryOptions::default();
    for host in
        ["registry.example.com", "registry.example.com:5000", "10.1.2.3:5000", "docker.io", "[::ffff:127.0.0.1]:5000"]
    {
        assert_eq!(scheme_for(host, &defaults), "https", "{host}");
    }
    for host in ["localhost", "localhost:5000", "127.0.0.1:5000", "127.9.9.9", "[::1]:5000"] {
        assert_eq!(scheme_for(host, &defaults), "http", "{host}");
    }
    let listed =
        RegistryOptions { insecure_registries: vec!["registry.example.com:5000".into()], ..RegistryOptions::default() };
    assert_eq!(scheme_for("registry.example.com:5000", &listed), "http");
    assert_eq!(scheme_for("registry.example.com:5001", &listed), "https");
    assert_eq!(scheme_for("registry.example.com", &listed), "https");

    // A host that is not loopback by our rules (the IPv4-mapped form of 127.0.0.1) but serves
    // plain http: the client speaks TLS, fails, and never retries over http.
    let stub = HttpStub::start(|_| StubReply::new(200).body(b"{}".to_vec()));
    let port = stub.host().rsplit_once(':').expect("port").1.to_string();
    let image = image_ref(&format!("[::ffff:127.0.0.1]:{port}"), "a/b:v1");
    let client = RegistryClient::new(RegistryOptions { max_attempts: 1, ..options_with(&[]) });
    let err = client.get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    assert_eq!(stub.request_count(), 0, "no plain-http request after the https failure");
}

#[test]
fn blob_redirect_to_another_server_drops_authorization() {
    let blob = b"layer bytes served by the CDN".to_vec();
    let d = descriptor("application/vnd.oci.image.layer.v1.tar", &blob);
    let served = blob.clone();
    let cdn = HttpStub::start(move |req| {
        if req.path() == "/cdn/blob" {
            StubReply::new(200).body(served.clone())
        } else {
            StubReply::new(404)
        }
    });
    let location = format!("{}/cdn/blob?sig=abc", cdn.url());
    let origin = HttpStub::start(move |req| match req.header("authorization") {
        None => StubReply::new(401)
            .header("WWW-Authenticate", "Basic realm=\"origin\"")
            .json(&json!({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})),
        Some(_) => StubReply::new(307).header("Location", location.clone()),
    });
    let client = client_with(&[(&origin.host(), "alice", "pw")]);
    let image = image_ref(&origin.host(), "team/app:v1");

    assert_eq!(client.read_blob(&image, &d, 1024).expect("blob via redirect"), blob);
    assert_eq!(read_all(client.open_blob(&image, &d).expect("open via redirect")).expect("stream"), blob);

    let at_origin = origin.requests();
    assert_eq!(at_origin.len(), 3, "401, then authorized, then authorized from the cache");
    assert_eq!(at_origin[0].header("authorization"), None);
    assert!(at_origin[1..].iter().all(|r| r.header("authorization").is_some_and(|a| a.starts_with("Basic "))));
    let at_cdn = cdn.requests();
    assert_eq!(at_cdn.len(), 2);
    for r in &at_cdn {
        assert_eq!(r.header("authorization"), None, "Authorization must not follow a redirect to another host");
        assert_eq!(r.query_values("sig"), ["abc"]);
    }
}

#[test]
fn identity_token_is_exchanged_at_the_token_endpoint() {
    let body = b"{}".to_vec();
    let served = body.clone();
    let token_server = HttpStub::start(|req| {
        let form = String::from_utf8_lossy(&req.body).into_owned();
        let grant = form.contains("grant_type=refresh_token") && form.contains("refresh_token=refresh-123");
        if req.method == "POST" && req.path() == "/oauth" && grant {
            StubReply::new(200).json(&json!({ "access_token": "opaque-access", "expires_in": 120 }))
        } else {
            StubReply::new(401)
        }
    });
    let realm = format!("{}/oauth", token_server.url());
    let registry = HttpStub::start(move |req| match req.header("authorization") {
        Some("Bearer opaque-access") => StubReply::new(200).body(served.clone()),
        _ => StubReply::new(401).header(
            "WWW-Authenticate",
            format!("Bearer realm=\"{realm}\",service=\"svc\",scope=\"repository:a/b:pull\""),
        ),
    });
    let mut credentials = Credentials::new();
    credentials.insert(&registry.host(), Credential::IdentityToken("refresh-123".into()));
    let client = RegistryClient::new(RegistryOptions { credentials, ..options_with(&[]) });
    let image = image_ref(&registry.host(), "a/b:v1");
    assert_eq!(client.get_manifest(&image, "v1").expect("manifest via identity token").bytes, body);
    let token_requests = token_server.requests();
    assert_eq!(token_requests.len(), 1);
    let form = String::from_utf8_lossy(&token_requests[0].body).into_owned();
    assert!(form.contains("service=svc") && form.contains("scope=repository%3Aa%2Fb%3Apull"), "{form}");
    assert_eq!(registry.request_count(), 2);
}

#[test]
fn credentials_never_go_to_a_plain_http_token_endpoint_elsewhere() {
    // The realm is a non-loopback plain-http URL; the client must refuse before connecting.
    let registry = HttpStub::start(|_| {
        StubReply::new(401).header(
            "WWW-Authenticate",
            "Bearer realm=\"http://token.example.invalid/token\",service=\"svc\",scope=\"repository:a/b:pull\"",
        )
    });
    let client = client_with(&[(&registry.host(), "alice", "s3cret")]);
    let image = image_ref(&registry.host(), "a/b:v1");
    let err = client.get_manifest(&image, "v1").expect_failure();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("refusing to send the credentials"), "{err}");
    assert_eq!(registry.request_count(), 1);
}
