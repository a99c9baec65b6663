//! The real `cascade` binary in a scratch directory: one-shot commands, and `cascade serve`
//! on a free loopback port (`--listen 127.0.0.1:0`, the bound address read from its first
//! stdout line) with a small HTTP client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::registry::test_agent;

/// How long start-up, readiness and shutdown may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// A scratch directory with its own database, config file and HOME (so no real docker config
/// or cascade.toml is read).
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let ws = Workspace { dir: tempfile::tempdir().expect("tempdir") };
        ws.write_config("");
        ws
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn db(&self) -> PathBuf {
        self.path("cascade.db")
    }

    /// Runs SQL from this process (a writer a running server does not know about).
    pub fn sql(&self, text: &str) {
        let conn = rusqlite::Connection::open(self.db()).expect("open the database");
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch(text).expect("run SQL");
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.path("cascade.toml"), text).expect("write config");
    }

    /// The binary with this workspace's database, config and HOME; nothing from the caller's
    /// environment that would change its behaviour.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_capped(None, args)
    }

    /// [`Workspace::command`] under an address-space cap in bytes (via `prlimit`), if given.
    pub fn command_capped(&self, memory_cap: Option<u64>, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_cascade");
        let mut command = match memory_cap {
            Some(cap) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--as={cap}")).arg("--").arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command
            .arg("--config")
            .arg(self.path("cascade.toml"))
            .args(args)
            .env("CASCADE_DB", self.db())
            .env("HOME", self.dir.path())
            .env("RUST_LOG", "warn")
            // Many test processes share the machine's cores: background threads keep the
            // API's priority here, so that no test waits on a starved one.
            .env("CASCADE_BACKGROUND_NICE", "0")
            .env_remove("CASCADE_CONFIG")
            .env_remove("CASCADE_LISTEN")
            .env_remove("CASCADE_API_READ_TOKEN")
            .env_remove("CASCADE_API_WRITE_TOKEN")
            .env_remove("RUST_LOG_FORMAT")
            .env_remove("DOCKER_CONFIG")
            .env_remove("CASCADE_REGISTRY_CREDENTIALS")
            .current_dir(self.dir.path());
        command
    }

    pub fn cascade(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cascade")
    }

    /// Runs the binary, optionally under an address-space cap, with extra environment.
    pub fn cascade_with(&self, memory_cap: Option<u64>, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.command_capped(memory_cap, args).envs(env.iter().copied()).output().expect("run cascade")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cascade(args);
        assert!(
            out.status.success(),
            "cascade {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// `cascade scan --format json ARGS` (must succeed), parsed.
    pub fn scan_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["scan", "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("scan prints JSON")
    }

    /// Starts `cascade serve --listen 127.0.0.1:0 ARGS` and waits until /healthz answers.
    pub fn serve(&self, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let stderr_path = self.path(&format!("serve-{}.stderr", std::process::id()));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0"]);
        command.env("RUST_LOG", "cascade=info").args(args).stdout(Stdio::piped()).stderr(stderr).stdin(Stdio::null());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start cascade serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(DEADLINE).unwrap_or_default();
        let Some(base) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not announce its address: {line:?}\n{}", std::fs::read_to_string(&stderr_path).unwrap());
        };
        let server = Server { child, base, stderr_path, agent: test_agent() };
        let started = Instant::now();
        while server.get("/healthz", None).0 != 200 {
            assert!(started.elapsed() < DEADLINE, "serve never became healthy\n{}", server.stderr());
            std::thread::sleep(POLL);
        }
        server
    }
}

/// A running `cascade serve`; killed when dropped.
pub struct Server {
    child: Child,
    base: String,
    stderr_path: PathBuf,
    pub agent: ureq::Agent,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn child_id(&self) -> u32 {
        self.child.id()
    }

    /// (status, body, content type) of a response, whatever its status.
    pub fn answer(mut response: ureq::http::Response<ureq::Body>) -> (u16, String, Option<String>) {
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.body_mut().read_to_string().expect("read body");
        (status, body, content_type)
    }

    /// (status, body) of a GET, with a bearer token when given.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        match request.call() {
            Ok(response) => {
                let (status, body, _) = Server::answer(response);
                (status, body)
            }
            Err(e) => (0, e.to_string()),
        }
    }

    pub fn get_full(&self, path: &str, token: Option<&str>) -> ureq::http::Response<ureq::Body> {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.call().expect("GET")
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8], token: Option<&str>) -> (u16, String) {
        let mut request = self.agent.post(self.url(path)).header("Content-Type", content_type);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let (status, body, _) = Server::answer(request.send(body).expect("POST"));
        (status, body)
    }

    /// The JSON body of a GET that must answer 200.
    pub fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// SIGTERM, then the exit status (within the deadline).
    pub fn terminate(mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(started.elapsed() < DEADLINE, "serve did not stop on SIGTERM\n{}", self.stderr());
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
