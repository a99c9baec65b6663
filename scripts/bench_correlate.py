#!/usr/bin/env python3
"""Correlation and query benchmark (issue 4).

Builds a store with 10,000 generated Debian image inventories (300 packages each, over
bullseye, bookworm and trixie) and the full-size generated tracker document of
scripts/bench_feeds.py, then reports:
  - the first ingest of the tracker into a store that already holds the images (incremental
    correlation of every touched key, in the ingest's transaction);
  - a full rebuild of all findings (`cascade findings rebuild`; target <= 10 s);
  - one new advisory ingested to its findings stored (the ingest's own timing, from its
    debug log; target <= 10 ms);
  - `GET /v1/advisories/{id}/affected-images` under wrk on loopback against the trivial
    `GET /healthz` of the same `cascade serve` (target >= 0.5 of its requests/s; p99 <= 5 ms).
Inventories are written straight into cascade's tables with Python's sqlite3 (scanning
10,000 images through a registry would measure the scanner, which scripts/bench.py does).
"""

import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench-work")
DOC = os.path.join(WORK, "tracker.json")
CASCADE = os.path.join(ROOT, "target", "release", "cascade")
N_IMAGES = int(os.environ.get("BENCH_IMAGES", "10000"))
N_PACKAGES = 300
RELEASES = {"bullseye": "11", "bookworm": "12", "trixie": "13"}
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "5"))
# The throughput ratio is measured in alternating pairs (trivial handler, then the endpoint):
# loopback throughput drifts by 10-20% between runs of a few seconds, so one pair says little.
WRK_PAIRS = int(os.environ.get("BENCH_WRK_PAIRS", "5"))


def run(args, env, **kw):
    started = time.perf_counter()
    p = subprocess.run(args, env=env, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - started
    if p.returncode != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{p.stdout}\n{p.stderr}")
    return elapsed, p


def packages_by_release():
    """(name, version) per release from the tracker document: what images install."""
    with open(DOC) as f:
        doc = json.load(f)
    out = {r: [] for r in RELEASES}
    for name, cves in doc.items():
        for release in RELEASES:
            for cve in cves.values():
                entry = cve["releases"].get(release)
                if entry:
                    out[release].append((name, entry["repositories"][release]))
                    break
    return out


def fill_images(db, pkgs):
    """10,000 inventories: a shared base set per release plus random packages, mostly at
    the fixed version (patched) and 20% at the vulnerable one."""
    rng = random.Random(4)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    layer = "sha256:" + "ab" * 32
    releases = list(RELEASES.items())
    base = {r: rng.sample(pkgs[r], 150) for r in RELEASES}
    rows = []
    states = {}
    insert = ("INSERT INTO packages (image_id, name, version, arch, source_name, source_version, ecosystem,"
              " module, layer_digest, state_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    for i in range(N_IMAGES):
        codename, number = releases[i % len(releases)]
        manifest = f"sha256:{i:064x}"
        cur = conn.execute(
            "INSERT INTO images (reference, platform, manifest_digest, config_digest, distro, release, codename)"
            " VALUES (?, 'linux/amd64', ?, ?, 'debian', ?, ?)",
            (f"registry.example/team{i % 50}/app{i}:1", manifest, manifest, number, codename))
        image_id = cur.lastrowid
        chosen = base[codename] + rng.sample(pkgs[codename], N_PACKAGES - 150)
        for name, version in chosen:
            installed = version if rng.random() < 0.2 else version + "+deb1u1"
            # Half the source packages build a binary package of another name (libssl3 from openssl).
            binary = "lib" + name if zlib.crc32(name.encode()) % 2 else name
            # The distinct installed packages of a release, as cascade records them.
            state = (number, binary, installed, name, installed)
            if state not in states:
                states[state] = conn.execute(
                    "INSERT INTO package_states (distro, release, name, version, source_name, source_version,"
                    " ecosystem, module) VALUES ('debian', ?, ?, ?, ?, ?, 'dpkg', '')", state).lastrowid
            rows.append((image_id, binary, installed, "amd64", name, installed, "dpkg", None, layer, states[state]))
        if len(rows) > 100_000:
            conn.executemany(insert, rows)
            rows.clear()
    conn.executemany(insert, rows)
    conn.commit()
    conn.close()
    return base


def ingest_ms(stderr):
    """The total of the ingest from its 'ingest phases' debug line (JSON logs)."""
    for line in stderr.splitlines():
        if "ingest phases" in line:
            fields = json.loads(line).get("fields", {})
            return sum(fields.get(k, 0) for k in
                       ("parse_and_write_ms", "withdraw_ms", "index_ms", "link_ms", "correlate_ms", "commit_ms"))
    sys.exit("no 'ingest phases' line in the log:\n" + stderr[-2000:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, gzip=False):
    headers = ["-H", "Accept-Encoding: gzip"] if gzip else []
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{WRK_SECONDS}s", "--latency", *headers, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk saw errors on {url}:\n{out}")
    return rps, float(p99.group(1)) * scale


def main():
    if not os.path.exists(DOC):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_feeds.py"), "--generate"], check=True)
    tmp = tempfile.mkdtemp(prefix="cascade-bench-correlate-")
    db = os.path.join(tmp, "cascade.db")
    env = dict(os.environ, RUST_LOG="warn,cascade::store=debug", RUST_LOG_FORMAT="json", HOME=tmp)
    env.pop("CASCADE_CONFIG", None)
    try:
        run([CASCADE, "--db", db, "images", "list"], env)  # creates and migrates the store
        base = fill_images(db, packages_by_release())
        n_pkgs = sqlite3.connect(db).execute("SELECT count(*) FROM packages").fetchone()[0]

        first_s, p = run([CASCADE, "--db", db, "feeds", "sync", "debian-tracker", "--from-file", DOC], env)
        n_findings = sqlite3.connect(db).execute("SELECT count(*) FROM findings").fetchone()[0]
        rebuilds = []
        for _ in range(3):
            t, p = run([CASCADE, "--db", db, "findings", "rebuild"], env)
            rebuilds.append(t)
        n_rebuilt = sqlite3.connect(db).execute("SELECT count(*) FROM findings").fetchone()[0]

        # One new advisory at a time for a package in a few dozen images (typical), and for one
        # every bookworm image has (the widest possible): each ingest adds one advisory to a
        # feed that already holds the previous ones.
        con = sqlite3.connect(db)
        counts = con.execute(
            "SELECT p.source_name, p.source_version, count(DISTINCT p.image_id) AS n FROM packages p"
            " JOIN images i ON i.id = p.image_id WHERE i.release = '12' GROUP BY 1, 2 ORDER BY n DESC").fetchall()
        con.close()
        typical = next(c for c in counts if c[2] <= 60)
        widest = counts[0]
        config = os.path.join(tmp, "cascade.toml")
        with open(config, "w") as f:
            f.write('[feeds.bench-osv]\nurl = "http://127.0.0.1:9/unused"\nformat = "osv"\n')
        env["CASCADE_CONFIG"] = config
        records = []
        single = {}
        for label, (name, version, _) in (("typical", typical), ("widest", widest)):
            times = []
            for k in range(5):
                records.append({
                    "id": f"DEBIAN-BENCH-{label}-{k}", "modified": "2026-12-03T00:00:00Z",
                    "aliases": [f"CVE-2026-{len(records) + 90000}"],
                    "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                                  "ranges": [{"type": "ECOSYSTEM",
                                              "events": [{"introduced": "0"}, {"fixed": version + "2"}]}]}]})
                path = os.path.join(tmp, "osv.json")
                with open(path, "w") as f:
                    json.dump(records, f)
                _, p = run([CASCADE, "--db", db, "feeds", "sync", "bench-osv", "--from-file", path], env)
                times.append(ingest_ms(p.stderr))
            single[label] = times
        advisory = "DEBIAN-BENCH-typical-0"
        n_affected = {label: c[2] for label, c in (("typical", typical), ("widest", widest))}

        port = free_port()
        serve = subprocess.Popen([CASCADE, "--db", db, "serve", "--no-sync", "--listen", f"127.0.0.1:{port}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                    break
                except OSError:
                    if time.time() > deadline or serve.poll() is not None:
                        sys.exit("cascade serve did not come up")
                    time.sleep(0.1)
            url = f"http://127.0.0.1:{port}/v1/advisories/{advisory}/affected-images"
            body = urllib.request.urlopen(url).read()
            pairs = [(wrk(f"http://127.0.0.1:{port}/healthz"), wrk(url)) for _ in range(WRK_PAIRS)]
            ratios = sorted(a[0] / t[0] for t, a in pairs)
            trivial = (statistics.median(t[0] for t, _ in pairs), max(t[1] for t, _ in pairs))
            affected = (statistics.median(a[0] for _, a in pairs), max(a[1] for _, a in pairs))
            wide_url = f"http://127.0.0.1:{port}/v1/advisories/DEBIAN-BENCH-widest-0/affected-images"
            wide_body = urllib.request.urlopen(wide_url).read()
            wide = wrk(wide_url)
            wide_gzip = wrk(wide_url, gzip=True)
        finally:
            serve.terminate()
            serve.wait(timeout=30)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {tmp} (BENCH_KEEP)")
        else:
            shutil.rmtree(tmp)

    print(f"store: {N_IMAGES} images, {n_pkgs} packages, tracker document {os.path.getsize(DOC) / 1e6:.1f} MB")
    print(f"first tracker ingest with the images present   {first_s * 1000:8.0f} ms  ({n_findings} findings)")
    print(f"full correlation (findings rebuild, median)    {statistics.median(rebuilds) * 1000:8.0f} ms  "
          f"({n_rebuilt} findings; target <= 10000 ms)")
    for label in ("typical", "widest"):
        print(f"one new advisory -> findings stored, {label:7}  {statistics.median(single[label]):8.1f} ms  "
              f"(median of 5; {n_affected[label]} images affected; target <= 10 ms)")
    print(f"GET /healthz (trivial handler)                 {trivial[0]:8.0f} req/s  p99 {trivial[1]:.2f} ms"
          f"  (median req/s and worst p99 of {WRK_PAIRS} runs of {WRK_SECONDS} s)")
    print(f"GET {advisory} affected-images  {affected[0]:8.0f} req/s  p99 {affected[1]:.2f} ms  "
          f"({len(body)} bytes)")
    print(f"  ratio per pair: {' '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f} "
          f"(target >= 0.5; p99 <= 5 ms)")
    print(f"GET DEBIAN-BENCH-widest-0 affected-images  {wide[0]:8.0f} req/s  p99 {wide[1]:.2f} ms  "
          f"({len(wide_body)} bytes)  ratio: {wide[0] / trivial[0]:.2f}")
    print(f"  the same with Accept-Encoding: gzip          {wide_gzip[0]:8.0f} req/s  p99 {wide_gzip[1]:.2f} ms  "
          f"ratio: {wide_gzip[0] / trivial[0]:.2f}")


if __name__ == "__main__":
    main()
