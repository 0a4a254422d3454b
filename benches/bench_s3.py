"""S3-compatible storage: bytes uploaded while logging, and reading a logdir, on a local S3
server (moto's standalone server on loopback; bytes counted by a proxy in front of it).

    python benches/bench_s3.py                  # 10 minutes of logging, as the issue asks
    python benches/bench_s3.py --duration 60    # the same scalars over 1 minute

Writing: 100,000 scalars logged evenly over ``--duration`` seconds with ``flush_secs=1``,
by ferroboard and by torch's SummaryWriter (through TensorBoard's file layer, which reaches
S3 with boto3 when TensorFlow is absent), each in its own process and through its own proxy,
at the same time. "Logged" is the size of the same events written to a local file by the same
writer; "uploaded" is the sum of the PUT bodies the proxy saw.

Reading: a 200-run logdir (200 x 5,000 scalars, as benches/bench_reader.py's) read with
``ferroboard.read_scalars`` from local disk and from the server (best of 3 each).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import machine  # noqa: E402

from tests.support.s3_server import S3Proxy, boto_client, list_keys, s3_env, s3_server  # noqa: E402

N_SCALARS = 100_000
BUCKET = "bench"

CHILD = r"""
import os, sys, time
which, logdir, duration, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
if which == "ferroboard":
    from ferroboard import SummaryWriter
else:
    from torch.utils.tensorboard import SummaryWriter
w = SummaryWriter(logdir, flush_secs=1)
t0 = time.monotonic()
batches = max(1, int(duration * 10))  # log in 10 bursts per second
per = n // batches
step = 0
for b in range(batches):
    for _ in range(per if b < batches - 1 else n - step):
        w.add_scalar("loss", 1.0 / (step + 1), step, walltime=1.7e9 + step)
        step += 1
    if duration:
        time.sleep(max(0.0, t0 + (b + 1) * duration / batches - time.monotonic()))
w.close()
print(step)
"""


def _child(which: str, logdir: str, duration: float, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, which, logdir, str(duration), str(N_SCALARS)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _local_size(which: str, tmp: Path) -> int:
    d = tmp / f"local-{which}"
    p = _child(which, str(d), 0.0, {})
    _, err = p.communicate()
    if p.returncode:
        raise RuntimeError(err)
    return sum(f.stat().st_size for f in d.rglob("*tfevents*"))


def write_bench(duration: float, tmp: Path) -> None:
    print(f"\nWriting {N_SCALARS:,} scalars over {duration:.0f} s with flush_secs=1")
    with s3_server() as ours:
        boto_client(ours.url).create_bucket(Bucket=BUCKET)
        theirs = S3Proxy(ours.upstream_port)
        env_ours = s3_env(ours.url)
        # TensorBoard's S3 file layer takes its endpoint from S3_ENDPOINT (boto3 the rest).
        env_torch = {**s3_env(theirs.url), "S3_ENDPOINT": theirs.url}
        env_torch.pop("AWS_ENDPOINT_URL")
        ours_url, torch_url = f"s3://{BUCKET}/ours/run", f"s3://{BUCKET}/torch/run"
        procs = {
            "ferroboard": (_child("ferroboard", ours_url, duration, env_ours), ours),
            "torch": (_child("torch", torch_url, duration, env_torch), theirs),
        }
        results = {}
        for name, (p, proxy) in procs.items():
            out, err = p.communicate()
            results[name] = (p.returncode, out.strip(), err.strip(), proxy.put_bytes, proxy.puts)
        client = boto_client(ours.url)
        stored = {
            name: sum(n for _, n in list_keys(client, BUCKET, prefix))
            for name, prefix in (("ferroboard", "ours/"), ("torch", "torch/"))
        }
        n_objects = len(list_keys(client, BUCKET, "ours/"))
        theirs.stop()
    print(f"{'writer':12} {'logged':>12} {'uploaded':>14} {'PUTs':>6} {'uploaded/logged':>16}")
    for name in ("ferroboard", "torch"):
        rc, out, err, put_bytes, puts = results[name]
        if rc:
            last = err.splitlines()[-1] if err else "?"
            print(f"{name:12} failed: {last}")
            continue
        logged = _local_size(name, tmp)
        print(
            f"{name:12} {logged:>12,} {put_bytes:>14,} {puts:>6} {put_bytes / logged:>15.3f}x"
            f"   (stored {stored[name]:,})"
        )
    print(f"ferroboard objects: {n_objects}")


def read_bench(tmp: Path, rounds: int) -> None:
    import ferroboard

    logdir = tmp / "logdir"
    for r in range(200):
        w = ferroboard.SummaryWriter(logdir / f"run{r:03d}", max_queue=100000)
        for s in range(500):
            for k in range(10):
                w.add_scalar(f"metric/{k}", s * 1e-3 + k, s, walltime=1.7e9 + s)
        w.close()
    total = sum(f.stat().st_size for f in logdir.rglob("*tfevents*"))
    print(f"\nReading 200 runs x 5,000 scalars ({total / 2**20:.1f} MiB)")
    with s3_server() as proxy:
        url = f"http://127.0.0.1:{proxy.upstream_port}"  # straight to the server
        client = boto_client(url)
        client.create_bucket(Bucket=BUCKET)
        for f in sorted(logdir.rglob("*tfevents*")):
            client.upload_file(str(f), BUCKET, "logdir/" + str(f.relative_to(logdir)))
        os.environ.update(s3_env(url))
        times: dict[str, list[float]] = {"local disk": [], "local S3 server": []}
        n = {}
        # The server's own speed, for reference: boto3 GETs every object (8 threads), no parsing.
        from concurrent.futures import ThreadPoolExecutor

        keys = [k for k, _ in list_keys(client, BUCKET, "logdir/")]

        def get(k: str) -> int:
            return len(client.get_object(Bucket=BUCKET, Key=k)["Body"].read())

        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            got_bytes = sum(pool.map(get, keys))
        boto_s = time.perf_counter() - t
        assert got_bytes == total
        for _ in range(rounds):
            for name, path in (
                ("local disk", str(logdir)),
                ("local S3 server", f"s3://{BUCKET}/logdir"),
            ):
                t = time.perf_counter()
                got = ferroboard.read_scalars(path)
                times[name].append(time.perf_counter() - t)
                n[name] = len(got["step"])
    base = min(times["local disk"])
    for name, ts in times.items():
        print(f"{name:16} {min(ts) * 1e3:9.1f} ms  {n[name]:,} scalars  {min(ts) / base:6.1f}x")
    print(f"(boto3, 8 threads, GET of the {len(keys)} objects only: {boto_s * 1e3:.1f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of logging")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-write", action="store_true")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_write:
            write_bench(args.duration, tmp)
        read_bench(tmp, args.rounds)


if __name__ == "__main__":
    main()
