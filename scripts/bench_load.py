#!/usr/bin/env python3
"""Load test (hardening issue): queries at full speed while feeds ingest and images re-index.

Builds a store with generated inventories (BENCH_IMAGES, default 2,000, filled as in
scripts/bench_correlate.py) and the full-size tracker document, then runs `cascade serve` with:
  - a feed that serves the tracker document, alternating with a variant (5% of the fixed
    versions moved), synced every second: one real ingest after another;
  - 100 watched tags on the local distribution registry, 20 of which a pusher re-pushes with a
    new digest every few seconds: re-indexing never stops.
Measures `GET /v1/advisories/{id}/affected-images` under wrk (2 threads, 16 connections):
first idle, then for BENCH_LOAD_SECONDS (default 180) under that load. Reports requests per
second, p99 (target: loaded p99 within 3x the idle p99), errors (target: none), the number of
ingests and re-indexes that happened meanwhile, and serve's RSS sampled every 5 s (target:
flat).
"""

import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BENCH_IMAGES", "2000")
import bench_correlate as bc  # noqa: E402  (N_IMAGES is read from the environment at import)
import bench_watch as bw  # noqa: E402

LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "180"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "20"))
N_TAGS = 100
N_PUSHED = 20


def variant(doc_bytes):
    """The tracker with 5% of the fixed versions moved on."""
    doc = json.loads(doc_bytes)
    for i, (name, cves) in enumerate(doc.items()):
        if i % 20:
            continue
        for cve in cves.values():
            for entry in cve["releases"].values():
                if entry.get("fixed_version"):
                    entry["fixed_version"] += "+load1"
    return json.dumps(doc, separators=(",", ":")).encode()


class Documents:
    """Serves the two documents in turn, one per request."""

    def __init__(self, docs):
        self.docs, self.n = docs, 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            doc = self.docs[self.n % 2]
            self.n += 1
            return doc


def serve_documents(documents):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = documents.next()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def push_tags(host, stop, counter):
    """Pushes new digests to the first N_PUSHED tags, round after round, until stopped."""
    conn = http.client.HTTPConnection(host)
    tar, gz = bw.layer()
    n = 0
    while not stop.is_set():
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"build": str(n)}},
                             "rootfs": {"type": "layers", "diff_ids": [bw.sha256(tar)]}}).encode()
        conn.request("POST", f"/v2/{bw.REPO}/blobs/uploads/")
        r = conn.getresponse()
        r.read()
        location = r.getheader("Location")
        location = location[location.index("/v2/"):] if "://" in location else location
        sep = "&" if "?" in location else "?"
        conn.request("PUT", f"{location}{sep}digest={bw.sha256(config)}", body=config)
        conn.getresponse().read()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": bw.sha256(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": bw.sha256(gz),
                        "size": len(gz)}],
        }).encode()
        for i in range(N_PUSHED):
            conn.request("PUT", f"/v2/{bw.REPO}/manifests/t{i}", body=manifest,
                         headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            conn.getresponse().read()
        counter[0] += N_PUSHED
        n += 1
        stop.wait(3)


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rps, p99_ms, int(errors.group(1)) if errors else 0, socket_errors.group(1) if socket_errors else None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    if not os.path.exists(bc.DOC):
        subprocess.run([sys.executable, os.path.join(bc.ROOT, "scripts", "bench_feeds.py"), "--generate"], check=True)
    tmp = tempfile.mkdtemp(prefix="cascade-bench-load-")
    registry, host = bw.start_registry(tmp)
    docs_server = None
    serve = None
    stop = threading.Event()
    try:
        db = os.path.join(tmp, "cascade.db")
        env = dict(os.environ, HOME=tmp, RUST_LOG="warn,cascade::store::advisories=debug,cascade::watch=info",
                   RUST_LOG_FORMAT="json")
        env.pop("CASCADE_CONFIG", None)
        bc.run([bc.CASCADE, "--db", db, "images", "list"], env)
        bc.fill_images(db, bc.packages_by_release())
        bc.run([bc.CASCADE, "--db", db, "feeds", "sync", "debian-tracker", "--from-file", bc.DOC], env)
        # A typical advisory to query: one that affects a few dozen images.
        con = sqlite3.connect(db)
        advisory = con.execute(
            "SELECT advisory_id FROM findings f JOIN packages p ON p.id = f.package_id GROUP BY advisory_id"
            " HAVING count(DISTINCT p.image_id) BETWEEN 20 AND 60 LIMIT 1").fetchone()[0]
        con.close()

        with open(bc.DOC, "rb") as f:
            original = f.read()
        documents = Documents([variant(original), original])
        docs_server = serve_documents(documents)
        bw.N_TAGS = N_TAGS
        bw.push(host)
        config = os.path.join(tmp, "cascade.toml")
        with open(config, "w") as f:
            f.write('[feeds.debian-tracker]\nenabled = false\n')
            f.write(f'[feeds.load-tracker]\nurl = "http://127.0.0.1:{docs_server.server_port}/tracker.json"\n'
                    'format = "debian-tracker-json"\ndistro = "debian"\ninterval = "1s"\n')
            f.write("[watch]\ninterval_secs = 1\nsettle_secs = 0\nregistry_requests_per_sec = 100000.0\n")
            for i in range(N_TAGS):
                f.write(f'[[watch.images]]\nimage = "{host}/{bw.REPO}:t{i}"\n')
        env["CASCADE_CONFIG"] = config
        # Idle: the feed and the watcher are off.
        port = bc.free_port()
        log = open(os.path.join(tmp, "serve-idle.log"), "w")
        serve = subprocess.Popen([bc.CASCADE, "--db", db, "serve", "--no-sync", "--no-watch", "--listen",
                                  f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}/v1/advisories/{advisory}/affected-images"
        wait_ready(port, serve)
        idle = wrk(url, IDLE_SECONDS)
        serve.terminate()
        serve.wait(timeout=30)

        # Loaded: the same binary with the feed syncing and the watcher indexing.
        log_path = os.path.join(tmp, "serve-load.log")
        log = open(log_path, "w")
        serve = subprocess.Popen([bc.CASCADE, "--db", db, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=log)
        wait_ready(port, serve)
        time.sleep(5)  # the first watch round indexes the 100 tags
        pushed = [0]
        pusher = threading.Thread(target=push_tags, args=(host, stop, pushed), daemon=True)
        pusher.start()
        samples = []

        def sample():
            while not stop.is_set():
                samples.append(rss_kib(serve.pid))
                stop.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        loaded = wrk(url, LOAD_SECONDS)
        stop.set()
        pusher.join(timeout=30)
        sampler.join(timeout=10)
        serve.terminate()
        serve.wait(timeout=60)
        log.close()
        with open(log_path) as f:
            text = f.read()
        n_ingests = text.count('"ingest phases"')
        n_rounds = text.count('"watch round done"')
        n_indexed = sum(json.loads(l)["fields"].get("n_indexed", 0) for l in text.splitlines()
                        if '"watch round done"' in l)
        # RSS per minute of the run: flat means the later minutes stay at the level of the first
        # minute after warm-up (the first full ingest), not climbing.
        per_minute = [max(samples[i:i + 12]) / 1024 for i in range(0, len(samples), 12)]
        print(f"load: {bc.N_IMAGES} images, tracker {len(original) / 1e6:.1f} MB, {N_TAGS} watched tags, "
              f"{LOAD_SECONDS} s under load, 2 cores")
        print(f"  idle:   {idle[0]:8.0f} req/s  p99 {idle[1]:.2f} ms  errors {idle[2]}  socket errors {idle[3]}")
        print(f"  loaded: {loaded[0]:8.0f} req/s  p99 {loaded[1]:.2f} ms  errors {loaded[2]}  socket errors {loaded[3]}")
        print(f"  p99 loaded / idle: {loaded[1] / idle[1]:.2f} (target <= 3)")
        print(f"  meanwhile: {n_ingests} feed ingests of the full document, {n_rounds} watch rounds, "
              f"{n_indexed} images re-indexed ({pushed[0]} new digests pushed)")
        print(f"  serve RSS, highest per minute: {' '.join(f'{m:.0f}' for m in per_minute)} MiB "
              f"({len(samples)} samples, every 5 s)")
    finally:
        stop.set()
        if serve and serve.poll() is None:
            serve.kill()
        if docs_server:
            docs_server.shutdown()
        registry.kill()
        registry.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def wait_ready(port, proc):
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                sys.exit("cascade serve did not come up")
            time.sleep(0.1)


if __name__ == "__main__":
    main()
