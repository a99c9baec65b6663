#!/usr/bin/env python3
"""Benchmark of advisory ingestion: a Debian security tracker JSON document of realistic
shape and full size (compact JSON, ~100,000 package/CVE entries over five releases, ~60 MB),
generated deterministically, ingested with `cascade feeds sync debian-tracker --from-file`
into a fresh SQLite database, against Python's own `json.load` of the same file in the same
run. Prints throughput (MB/s) of both, their ratio (target: cascade's full ingest no slower
than Python's parse alone) and cascade's peak RSS (target: <= 2x the document size). A second
ingest of the same document (nothing changed) is timed too.

Run through scripts/bench, which builds cascade in release mode.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench-work")
DOC = os.path.join(WORK, "tracker.json")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
N_ENTRIES = 100_000
RELEASES = ["bullseye", "bookworm", "trixie", "forky", "sid"]
URGENCIES = ["not yet assigned", "unimportant", "low", "medium", "high", "low*", "medium**"]
WORDS = ("buffer overflow heap use-after-free integer out-of-bounds read write denial of service "
         "crafted file remote attacker allows execute arbitrary code via vector function parser "
         "memory corruption NULL pointer dereference race condition in the component before").split()


def release_entry(rng, release, version):
    roll = rng.random()
    repos = {release: version}
    if roll < 0.55:
        entry = {"status": "resolved", "repositories": repos, "fixed_version": version + "+deb1u1",
                 "urgency": rng.choice(URGENCIES)}
    elif roll < 0.62:
        entry = {"status": "resolved", "repositories": repos, "fixed_version": "0", "urgency": "unimportant"}
    elif roll < 0.80:
        entry = {"status": "open", "repositories": repos, "urgency": rng.choice(URGENCIES),
                 "nodsa": "Minor issue", "nodsa_reason": rng.choice(["", "postponed", "ignored"])}
    elif roll < 0.97:
        entry = {"status": "open", "repositories": repos, "urgency": rng.choice(URGENCIES)}
    else:
        entry = {"status": "undetermined", "repositories": repos, "urgency": "not yet assigned"}
    return entry


def generate():
    """Deterministic: the same document every run on every machine."""
    if os.path.exists(DOC):
        return
    os.makedirs(WORK, exist_ok=True)
    rng = random.Random(20261203)
    doc = {}
    n = 0
    package_id = 0
    while n < N_ENTRIES:
        package_id += 1
        name = f"pkg{package_id}-" + rng.choice(WORDS).replace("-", "")
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}-{rng.randint(1, 9)}"
        cves = {}
        for _ in range(min(rng.choice([1, 1, 2, 3, 5, 8, 13]), N_ENTRIES - n)):
            n += 1
            cve = f"CVE-{rng.randint(1999, 2026)}-{rng.randint(1000, 99999)}"
            description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
            cves[cve] = {
                "description": description,
                "scope": rng.choice(["local", "remote"]),
                "debianbug": rng.randint(100000, 1099999),
                # Like the real tracker, not every CVE lists every release (sid always).
                "releases": {r: release_entry(rng, r, version) for r in RELEASES if r == "sid" or rng.random() < 0.8},
            }
        doc[name] = cves
    with open(DOC, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


def run_timed(args, env=None, stdin=None):
    start = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{err}")
    return elapsed, usage.ru_maxrss


def main():
    cascade = os.path.join(ROOT, "target", "release", "cascade")
    # Generated in a child process: on Linux a child's ru_maxrss includes the RSS its parent
    # had when it forked, so this process must stay small for the RSS figures to be cascade's.
    subprocess.run([sys.executable, os.path.abspath(__file__), "--generate"], check=True)
    size = os.path.getsize(DOC)
    with open(DOC, "rb") as f:
        while f.read(1 << 20):
            pass
    env = dict(os.environ, RUST_LOG="warn", HOME=WORK)
    env.pop("CASCADE_CONFIG", None)
    tmp = tempfile.mkdtemp(prefix="cascade-bench-feeds-")

    def python_parse():
        with open(DOC, "rb") as f:
            return run_timed([sys.executable, "-c", "import json,sys; json.load(sys.stdin)"], stdin=f)

    counter = [0]

    def ingest_fresh():
        counter[0] += 1
        db = os.path.join(tmp, f"fresh-{counter[0]}.db")
        return run_timed([cascade, "--db", db, "feeds", "sync", "debian-tracker", "--from-file", DOC], env)

    # Alternating pairs, so that a slow spell of the machine weighs on both sides alike; the
    # ratio reported is the median of the pairs' ratios.
    py, fresh = [], []
    for _ in range(RUNS):
        py.append(python_parse())
        fresh.append(ingest_fresh())
    again_db = os.path.join(tmp, "fresh-1.db")
    again = [run_timed([cascade, "--db", again_db, "feeds", "sync", "debian-tracker", "--from-file", DOC], env)
             for _ in range(RUNS)]
    out = subprocess.run([cascade, "--db", again_db, "feeds", "list"], env=env, check=True, capture_output=True, text=True)
    row = next((l for l in out.stdout.splitlines() if l.startswith("debian-tracker ")), "")
    shutil.rmtree(tmp)

    mb = size / 1e6
    py_t = statistics.median(t for t, _ in py)
    fresh_t = statistics.median(t for t, _ in fresh)
    ratios = [f / p for (f, _), (p, _) in zip(fresh, py)]
    again_t = statistics.median(t for t, _ in again)
    rss = max(r for _, r in fresh) * 1024
    print(f"document: {mb:.1f} MB compact tracker JSON, {N_ENTRIES} package/CVE entries x {len(RELEASES)} releases")
    print(f"feeds list: {' '.join(row.split())}")
    print(f"python json.load            {py_t * 1000:8.0f} ms  {mb / py_t:7.1f} MB/s")
    print(f"cascade ingest, fresh db    {fresh_t * 1000:8.0f} ms  {mb / fresh_t:7.1f} MB/s  "
          f"ratio to python: {statistics.median(ratios):.2f} (target <= 1.0; median of {RUNS} alternating pairs: "
          f"{' '.join(f'{r:.2f}' for r in ratios)})")
    print(f"cascade ingest, unchanged   {again_t * 1000:8.0f} ms  {mb / again_t:7.1f} MB/s")
    print(f"cascade peak RSS            {rss / 2**20:8.1f} MiB = {rss / size:.2f}x the document (target <= 2x)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--generate"]:
        generate()
    else:
        main()
