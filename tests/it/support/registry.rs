//! Test registries: the real distribution registry (Debian's `docker-registry`) on a free
//! loopback port, optionally behind htpasswd or token auth (with an in-test token server that
//! signs RS256 JWTs through the `openssl` command), push helpers, and `HttpStub`, a tiny
//! scripted HTTP/1.1 server for the cases a real registry cannot produce (lies, 429s,
//! redirects). Never touches the internet; every instance is private to one test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cascade::images::digest::Digest;
use serde_json::json;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// Basic credentials the token server accepts.
pub const TOKEN_USER: &str = "token-user";
pub const TOKEN_PASSWORD: &str = "token-password";
pub const TOKEN_SERVICE: &str = "cascade-test-registry";
pub const TOKEN_ISSUER: &str = "cascade-test-issuer";
pub const HTPASSWD_REALM: &str = "cascade-test";

/// Readiness polling: at most this many probes of `GET /v2/`, `READY_POLL` apart.
const READY_PROBES: u32 = 600;
const READY_POLL: Duration = Duration::from_millis(25);
/// Port races (another process took the port between our probe and the registry's bind)
/// are retried with a fresh port this many times.
const START_TRIES: u32 = 3;

/// A plain ureq agent for test-side HTTP: statuses are values, no proxy, no redirects.
pub fn test_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener on 127.0.0.1:0");
    listener.local_addr().expect("probe listener address").port()
}

enum Auth {
    None,
    Htpasswd { user: String, password: String },
    Token { issuer: Arc<TokenIssuer>, server: HttpStub },
}

/// The real distribution registry, killed on drop.
pub struct TestRegistry {
    child: Child,
    port: u16,
    auth: Auth,
    agent: ureq::Agent,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// An open registry (no auth).
    pub fn start() -> TestRegistry {
        TestRegistry::launch(Auth::None, tempfile::tempdir().expect("temp dir for the registry"))
    }

    /// A registry requiring HTTP Basic `user:password` (bcrypt htpasswd file).
    pub fn with_htpasswd(user: &str, password: &str) -> TestRegistry {
        let auth = Auth::Htpasswd { user: user.to_string(), password: password.to_string() };
        TestRegistry::launch(auth, tempfile::tempdir().expect("temp dir for the registry"))
    }

    /// A registry requiring Bearer tokens from an in-test token server, which itself requires
    /// Basic [`TOKEN_USER`]:[`TOKEN_PASSWORD`].
    pub fn with_token_auth() -> TestRegistry {
        let dir = tempfile::tempdir().expect("temp dir for the registry");
        let issuer = Arc::new(TokenIssuer::create(dir.path()));
        let for_server = Arc::clone(&issuer);
        let server = HttpStub::start(move |req| for_server.handle(req));
        TestRegistry::launch(Auth::Token { issuer, server }, dir)
    }

    fn launch(auth: Auth, dir: tempfile::TempDir) -> TestRegistry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "docker-registry is not installed: run scripts/test, which installs it"
        );
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, htpasswd_line(user, password)).expect("write htpasswd");
                format!("auth:\n  htpasswd:\n    realm: {HTPASSWD_REALM}\n    path: {path}\n", path = path.display())
            }
            Auth::Token { issuer, server } => {
                let bundle = issuer.cert_pem_path();
                format!(
                    "\
auth:
  token:
    realm: {realm}/token
    service: {TOKEN_SERVICE}
    issuer: {TOKEN_ISSUER}
    rootcertbundle: {bundle}
",
                    realm = server.url(),
                    bundle = bundle.display()
                )
            }
        };
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("mkdir registry storage");
        let log_path = dir.path().join("registry.log");
        let agent = test_agent();
        for _ in 0..START_TRIES {
            let port = free_port();
            let config = format!(
                "\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: cascade-test-secret
{auth_yaml}",
                storage = storage.display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).expect("write registry config");
            let log = std::fs::File::create(&log_path).expect("create registry log");
            let mut command = Command::new(REGISTRY_BIN);
            command
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log);
            // REGISTRY_* variables would override the config file.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(name);
                }
            }
            let mut child = command.spawn().expect("spawn docker-registry");
            if wait_ready(&agent, &mut child, port) {
                return TestRegistry { child, port, auth, agent, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not become ready; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// The token server (token-auth registries only).
    pub fn token_server(&self) -> Option<&HttpStub> {
        match &self.auth {
            Auth::Token { server, .. } => Some(server),
            _ => None,
        }
    }

    /// How many requests the token server has answered (0 without token auth).
    pub fn token_requests(&self) -> usize {
        self.token_server().map_or(0, HttpStub::request_count)
    }

    /// The Authorization header the push helpers send: None, Basic, or a freshly minted
    /// push token (minted in-process, so it does not count as a token-server request).
    fn push_authorization(&self, repo: &str) -> Option<String> {
        match &self.auth {
            Auth::None => None,
            Auth::Htpasswd { user, password } => Some(basic(user, password)),
            Auth::Token { issuer, .. } => {
                Some(format!("Bearer {}", issuer.mint("push-helper", &[format!("repository:{repo}:pull,push")])))
            }
        }
    }

    /// Uploads a blob (POST then monolithic PUT) and returns its digest.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        let auth = self.push_authorization(repo);
        let mut post = self.agent.post(format!("{}/v2/{repo}/blobs/uploads/", self.url()));
        if let Some(a) = &auth {
            post = post.header("Authorization", a);
        }
        let mut started = post.send_empty().expect("POST blob upload");
        assert_eq!(
            started.status().as_u16(),
            202,
            "POST /v2/{repo}/blobs/uploads/: {}",
            started.body_mut().read_to_string().unwrap_or_default()
        );
        let location = started
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("upload Location header")
            .to_string();
        let location = if location.starts_with('/') { format!("{}{location}", self.url()) } else { location };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{separator}digest={}", digest.to_string().replace(':', "%3A"));
        let mut put = self.agent.put(put_url).header("Content-Type", "application/octet-stream");
        if let Some(a) = &auth {
            put = put.header("Authorization", a);
        }
        let mut done = put.send(bytes).expect("PUT blob");
        assert_eq!(
            done.status().as_u16(),
            201,
            "PUT blob {digest} to {repo}: {}",
            done.body_mut().read_to_string().unwrap_or_default()
        );
        digest
    }

    /// Uploads a manifest under `reference` (a tag or its digest) and returns its digest.
    /// Pushes an image's layers, config and manifest under `repo:tag`.
    pub fn push_image(&self, repo: &str, tag: &str, image: &super::image::TestImage) -> Digest {
        for layer in &image.layers {
            self.push_blob(repo, &layer.blob);
        }
        self.push_blob(repo, &image.config());
        self.push_manifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", &image.manifest())
    }

    pub fn push_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        let mut put = self
            .agent
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.url()))
            .header("Content-Type", media_type);
        if let Some(a) = self.push_authorization(repo) {
            put = put.header("Authorization", a);
        }
        let mut response = put.send(bytes).expect("PUT manifest");
        let status = response.status().as_u16();
        let header = response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!(
            status,
            201,
            "PUT /v2/{repo}/manifests/{reference}: {}",
            response.body_mut().read_to_string().unwrap_or_default()
        );
        assert_eq!(header.as_deref(), Some(digest.to_string().as_str()), "registry digest of the pushed manifest");
        digest
    }

    /// `(method, path)` of every request the registry's access log holds so far, in order.
    pub fn access_log(&self) -> Vec<(String, String)> {
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                // Combined log format: `... "HEAD /v2/repo/manifests/tag HTTP/1.1" 200 ...`.
                let request = line.split('"').nth(1)?;
                let mut parts = request.split(' ');
                let (method, path) = (parts.next()?, parts.next()?);
                path.starts_with("/v2/").then(|| (method.to_string(), path.to_string()))
            })
            .collect()
    }

    /// The temp directory holding config, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET /v2/` until the registry answers with any HTTP status. False when the process
/// exited (the port was taken) or the probes ran out.
fn wait_ready(agent: &ureq::Agent, child: &mut Child, port: u16) -> bool {
    let url = format!("http://127.0.0.1:{port}/v2/");
    for _ in 0..READY_PROBES {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if agent.get(&url).call().is_ok() {
            return true;
        }
        std::thread::sleep(READY_POLL);
    }
    false
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// `user:<bcrypt hash>` from `htpasswd -nbB` (the registry only accepts bcrypt).
fn htpasswd_line(user: &str, password: &str) -> String {
    let output = Command::new("htpasswd")
        .args(["-nbB", user, password])
        .output()
        .expect("run htpasswd (apache2-utils): run scripts/test, which installs it");
    assert!(output.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("htpasswd output is UTF-8");
    format!("{}\n", text.trim())
}

fn run_openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl: run scripts/test, which installs it");
    if let Some(input) = stdin {
        child.stdin.take().expect("openssl stdin").write_all(input).expect("write openssl stdin");
    }
    let output = child.wait_with_output().expect("wait for openssl");
    assert!(output.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs registry tokens: an RSA key and self-signed certificate made with `openssl`; the
/// certificate is the registry's `rootcertbundle` and travels in each token's `x5c`.
pub struct TokenIssuer {
    dir: PathBuf,
    cert_der_b64: String,
    n_minted: AtomicUsize,
}

impl TokenIssuer {
    fn create(dir: &Path) -> TokenIssuer {
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        let (key_s, cert_s) = (key.to_string_lossy().into_owned(), cert.to_string_lossy().into_owned());
        run_openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/CN=cascade test token issuer",
                "-keyout",
                &key_s,
                "-out",
                &cert_s,
            ],
            None,
        );
        let der = run_openssl(&["x509", "-in", &cert_s, "-outform", "DER"], None);
        TokenIssuer {
            dir: dir.to_path_buf(),
            cert_der_b64: base64::engine::general_purpose::STANDARD.encode(der),
            n_minted: AtomicUsize::new(0),
        }
    }

    fn cert_pem_path(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// A JWT granting pull and push on every repository named in `scopes`
    /// (`repository:<name>:<actions>`).
    pub fn mint(&self, subject: &str, scopes: &[String]) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, _actions) = rest.rsplit_once(':')?;
                Some(json!({ "type": kind, "name": name, "actions": ["pull", "push"] }))
            })
            .collect();
        let n = self.n_minted.fetch_add(1, Ordering::SeqCst);
        let header = json!({ "alg": "RS256", "typ": "JWT", "x5c": [self.cert_der_b64] });
        let claims = json!({
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": TOKEN_SERVICE,
            "exp": now + 600,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("cascade-test-{}-{n}-{now}", std::process::id()),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).expect("jwt header")),
            b64url(&serde_json::to_vec(&claims).expect("jwt claims"))
        );
        let key = self.dir.join("key.pem");
        let signature =
            run_openssl(&["dgst", "-sha256", "-sign", &key.to_string_lossy()], Some(signing_input.as_bytes()));
        format!("{signing_input}.{}", b64url(&signature))
    }

    /// The token endpoint: Basic [`TOKEN_USER`]:[`TOKEN_PASSWORD`] required.
    fn handle(&self, req: &StubRequest) -> StubReply {
        if req.path() != "/token" {
            return StubReply::new(404);
        }
        if req.header("authorization") != Some(basic(TOKEN_USER, TOKEN_PASSWORD).as_str()) {
            return StubReply::new(401)
                .header("WWW-Authenticate", "Basic realm=\"token\"")
                .json(&json!({ "errors": [{ "code": "UNAUTHORIZED", "message": "bad credentials" }] }));
        }
        let scopes = req.query_values("scope");
        let token = self.mint(TOKEN_USER, &scopes);
        StubReply::new(200).json(&json!({ "token": token, "access_token": token, "expires_in": 300 }))
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received: Instant,
}

impl StubRequest {
    /// Header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Percent-decoded values of a query parameter, in order.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        let Some((_, query)) = self.target.split_once('?') else { return Vec::new() };
        query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .filter(|(k, _)| percent_decode(k) == name)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `%XX` and `+` decoded (query strings and form bodies).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the stub answers.
#[derive(Debug, Clone)]
pub struct StubReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StubReply {
    pub fn new(status: u16) -> StubReply {
        StubReply { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> StubReply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> StubReply {
        self.body = body.into();
        self
    }

    pub fn json(self, value: &serde_json::Value) -> StubReply {
        self.header("Content-Type", "application/json").body(serde_json::to_vec(value).expect("stub json"))
    }
}

type Handler = dyn Fn(&StubRequest) -> StubReply + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 answering each request from a closure, one request
/// per connection (`Connection: close`). Records every request; stops on drop.
pub struct HttpStub {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<StubRequest>>>,
    n_connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpStub {
    pub fn start(handler: impl Fn(&StubRequest) -> StubReply + Send + Sync + 'static) -> HttpStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub listener");
        let addr = listener.local_addr().expect("stub address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let n_connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (requests, n_connections, stop) =
                (Arc::clone(&requests), Arc::clone(&n_connections), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    n_connections.fetch_add(1, Ordering::SeqCst);
                    serve_connection(stream, handler.as_ref(), &requests);
                }
            })
        };
        HttpStub { addr, requests, n_connections, stop, thread: Some(thread) }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every well-formed HTTP request received so far.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.requests.lock().expect("stub requests lock").clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().expect("stub requests lock").len()
    }

    /// TCP connections accepted, including ones that never sent HTTP (e.g. a TLS hello).
    pub fn connection_count(&self) -> usize {
        self.n_connections.load(Ordering::SeqCst)
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<StubRequest>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&stream) else {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    };
    requests.lock().expect("stub requests lock").push(request.clone());
    let reply = handler(&request);
    let mut out =
        format!("HTTP/1.1 {} Stub\r\nConnection: close\r\nContent-Length: {}\r\n", reply.status, reply.body.len());
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if request.method != "HEAD" {
        bytes.extend_from_slice(&reply.body);
    }
    let mut stream = stream;
    let _ = stream.write_all(&bytes);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads one request; None for anything that is not HTTP/1.x (such as a TLS ClientHello).
fn read_request(stream: &TcpStream) -> Option<StubRequest> {
    let mut reader = BufReader::new(stream);
    // Refuse non-HTTP right away: a request line starts with an uppercase method.
    let first = reader.fill_buf().ok()?.first().copied()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    let received = Instant::now();
    let mut line = String::new();
    reader.by_ref().take(8192).read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.by_ref().take(8192).read_line(&mut h).ok()?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
        if headers.len() > 100 {
            return None;
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(64 * 1024 * 1024)];
    reader.read_exact(&mut body).ok()?;
    Some(StubRequest { method, target, headers, body, received })
}
