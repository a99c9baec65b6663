#!/usr/bin/env python3
"""Watch benchmark (issue 5): one poll round over 1,000 watched tags.

Starts the distribution registry (Debian's docker-registry) on a loopback port with its access
log on, pushes one small image under 1,000 tags, and runs `cascade watch` rounds against it:
the first round indexes every tag; the next ones find nothing new and are what is measured.
Reports the round's wall time (the whole process: config, store, 1,000 HEADs, planning) and
its own duration_ms, the requests the registry saw per method during a measured round (the
target is HEAD only), and as the reference, 1,000 HEADs sent one after another by Python's
http.client over one keep-alive connection in the same run.
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASCADE = os.path.join(ROOT, "target", "release", "cascade")
N_TAGS = int(os.environ.get("BENCH_TAGS", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
REPO = "vendor/debian"
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(work):
    port = free_port()
    config = os.path.join(work, "registry.yml")
    with open(config, "w") as f:
        f.write(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {work}/storage
http:
  addr: 127.0.0.1:{port}
  secret: bench
""")
    log = open(os.path.join(work, "registry.log"), "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    proc = subprocess.Popen(["docker-registry", "serve", config], stdout=log, stderr=log, env=env)
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.025)
    proc.kill()
    sys.exit("docker-registry did not start")


def layer():
    """A gzip tar with an os-release and a dpkg status: what the scanner reads."""
    files = {
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
        "var/lib/dpkg/status": b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n"
                               b"Source: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: x\n x\n\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue(), gzip.compress(raw.getvalue(), mtime=0)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(host):
    conn = http.client.HTTPConnection(host)

    def blob(data):
        conn.request("POST", f"/v2/{REPO}/blobs/uploads/")
        r = conn.getresponse()
        r.read()
        assert r.status == 202, r.status
        location = r.getheader("Location")
        location = location[location.index("/v2/"):] if "://" in location else location
        sep = "&" if "?" in location else "?"
        conn.request("PUT", f"{location}{sep}digest={sha256(data)}", body=data,
                     headers={"Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        r.read()
        assert r.status == 201, r.status

    tar, gz = layer()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]}}).encode()
    blob(gz)
    blob(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(gz), "size": len(gz)}],
    }).encode()
    for i in range(N_TAGS):
        conn.request("PUT", f"/v2/{REPO}/manifests/t{i}", body=manifest,
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 201, r.status


def python_heads(host):
    conn = http.client.HTTPConnection(host)
    started = time.perf_counter()
    for i in range(N_TAGS):
        conn.request("HEAD", f"/v2/{REPO}/manifests/t{i}", headers={"Accept": ACCEPT})
        r = conn.getresponse()
        r.read()
        assert r.getheader("Docker-Content-Digest"), "no digest header"
    return time.perf_counter() - started


def access_log(work):
    with open(os.path.join(work, "registry.log")) as f:
        lines = [l.split('"')[1].split(" ") for l in f if l.count('"') >= 2]
    return [(p[0], p[1]) for p in lines if len(p) >= 2 and p[1].startswith("/v2/")]


def main():
    if not shutil.which("docker-registry"):
        sys.exit("docker-registry is not installed (scripts/bench installs it)")
    work = tempfile.mkdtemp(prefix="cascade-bench-watch-")
    registry, host = start_registry(work)
    try:
        push(host)
        config = os.path.join(work, "cascade.toml")
        with open(config, "w") as f:
            f.write("[watch]\nregistry_requests_per_sec = 100000.0\n")
            for i in range(N_TAGS):
                f.write(f'[[watch.images]]\nimage = "{host}/{REPO}:t{i}"\n')
        env = dict(os.environ, CASCADE_CONFIG=config, CASCADE_DB=os.path.join(work, "cascade.db"), RUST_LOG="warn")

        def watch():
            started = time.perf_counter()
            p = subprocess.run([CASCADE, "watch", "--format", "json"], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            if p.returncode != 0:
                sys.exit(f"cascade watch failed:\n{p.stderr}")
            return wall, json.loads(p.stdout)

        _, first = watch()
        assert first["n_indexed"] == N_TAGS, first
        rounds, reference = [], []
        for _ in range(RUNS):
            reference.append(python_heads(host))
            time.sleep(0.2)  # let the access log catch up before marking the position
            before = len(access_log(work))
            wall, report = watch()
            assert report["n_changed"] == 0, report
            rounds.append((wall, report["duration_ms"]))
            time.sleep(0.2)
            methods = {}
            for method, path in access_log(work)[before:]:
                methods[method] = methods.get(method, 0) + 1
        wall = statistics.median(w for w, _ in rounds)
        inner = statistics.median(d for _, d in rounds) / 1000
        ref = statistics.median(reference)
        print(f"watch: {N_TAGS} watched tags, {RUNS} measured rounds (medians), 2 cores")
        print(f"  registry requests in the last round: {methods}")
        print(f"  poll round (cascade watch, whole process): {wall * 1000:.0f} ms")
        print(f"  poll round (its own duration_ms):          {inner * 1000:.0f} ms")
        print(f"  reference: python http.client, {N_TAGS} sequential HEADs on one connection: {ref * 1000:.0f} ms")
        print(f"  ratio round / reference: {wall / ref:.2f} (whole process), {inner / ref:.2f} (round)")
    finally:
        registry.kill()
        registry.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
