"""S3-compatible storage: ferroboard writes and reads ``s3://`` logdirs on a real S3 server
(moto's standalone server on loopback, behind a proxy that injects faults), judged by boto3
(the objects stored) and TensorBoard's own loader (the objects read as one stream, in name
order, equal to the same logs written to a local directory)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import ferroboard
import numpy as np
import pytest
from ferroboard.reader import LogTail, SummaryReader, read, read_scalars
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.support.s3_server import S3Proxy, boto_client, list_keys, s3_env, s3_server

BUCKET = "logs"
# The name of one object of a rolled event file: the local name, then a 10-digit part.
OBJECT_NAME = re.compile(r"events\.out\.tfevents\.\d{10}\.[^/]+\.\d+\.\d+\.(\d{10})(\.[^/]*)?$")


@pytest.fixture(scope="module")
def server() -> Iterator[S3Proxy]:
    with s3_server() as proxy:
        boto_client(proxy.url).create_bucket(Bucket=BUCKET)
        yield proxy


@pytest.fixture
def s3(server: S3Proxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Proxy]:
    for k, v in s3_env(server.url).items():
        monkeypatch.setenv(k, v)
    server.reset_counts()
    server.fail_next = 0
    server.deny_key = None
    yield server
    if server.down:
        server.start()


def _log(w: ferroboard.SummaryWriter, steps: range) -> None:
    for i in steps:
        w.add_scalar("loss", 1.0 / (i + 1), i, walltime=1000.0 + i)
        w.add_scalars("pair", {"a": i, "b": -i}, i, walltime=1000.0 + i)
        if i % 10 == 0:
            w.add_text("note", f"step {i}", i, walltime=1000.0 + i)
            w.add_histogram("h", np.arange(i + 1, dtype=np.float64), i, walltime=1000.0 + i)


def _download(client, prefix: str, into: Path) -> list[str]:
    """Every object under ``prefix`` as a local file (same relative path); their keys."""
    keys = [k for k, _ in list_keys(client, BUCKET, prefix)]
    for k in keys:
        dest = into / k[len(prefix) :].lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(client.get_object(Bucket=BUCKET, Key=k)["Body"].read())
    return keys


def _accumulated(path: Path | str) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    out = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
    for t in acc.Tags()["tensors"]:
        out[t] = [(e.step, e.tensor_proto.SerializeToString()) for e in acc.Tensors(t)]
    for t in acc.Tags()["histograms"]:
        out[t] = [(e.step, e.histogram_value.bucket) for e in acc.Histograms(t)]
    return out


def _sorted_scalars(d: dict[str, np.ndarray]) -> list[tuple]:
    return sorted(zip(d["run"], d["tag"], d["step"].tolist(), d["value"].tolist()))


def test_rolled_objects_read_as_the_local_logs(s3, tmp_path, monkeypatch):
    """Written through ferroboard to S3 and to a local directory: boto3 sees objects named
    like local event files with an increasing part, every byte uploaded once; TensorBoard
    (reading the objects in name order) and ferroboard's reader see the same logs as the local
    ones."""
    client = boto_client(s3.url)
    local = tmp_path / "local" / "run"
    with ferroboard.SummaryWriter(f"s3://{BUCKET}/roll/run", flush_secs=1) as w:
        with ferroboard.SummaryWriter(str(local), flush_secs=1) as lw:
            for part in range(3):
                _log(w, range(part * 40, part * 40 + 40))
                _log(lw, range(part * 40, part * 40 + 40))
                time.sleep(1.15)  # past flush_secs: the next tick uploads a new object
        assert w.file_writer.get_logdir() == f"s3://{BUCKET}/roll/run"
    keys = list_keys(client, BUCKET, "roll/")
    main = [(k, n) for k, n in keys if k.count("/") == 2]
    parts = [int(OBJECT_NAME.search(k).group(1)) for k, _ in main]
    assert parts == list(range(len(parts))), keys
    assert len(parts) >= 3, keys  # one per flush_secs
    # Nothing uploaded twice: the PUT bodies add up to the objects stored.
    assert s3.put_bytes == sum(n for _, n in keys)
    # Sub-runs (add_scalars) roll the same way, in their own prefixes.
    assert {k.rsplit("/", 1)[0] for k, _ in keys} == {
        "roll/run",
        "roll/run/pair_a",
        "roll/run/pair_b",
    }

    copy = tmp_path / "copy"
    _download(client, "roll/", copy)
    for run in ["run", "run/pair_a", "run/pair_b"]:
        assert _accumulated(copy / run) == _accumulated(tmp_path / "local" / run), run
    # TensorBoard's own loader straight from the server (its S3 layer: boto3, S3_ENDPOINT).
    monkeypatch.setenv("S3_ENDPOINT", s3.url)
    assert _accumulated(f"s3://{BUCKET}/roll/run") == _accumulated(local)

    got = read_scalars(f"s3://{BUCKET}/roll")
    want = read_scalars(tmp_path / "local")
    assert _sorted_scalars(got) == _sorted_scalars(want)
    r = read(f"s3://{BUCKET}/roll/")
    assert r.runs == read(tmp_path / "local").runs
    assert all(f["path"].startswith(f"s3://{BUCKET}/roll/") for f in r.files)


def test_embedding_projector_files_are_objects_as_torch_writes_files(s3, tmp_path, monkeypatch):
    """add_embedding on an ``s3://`` logdir: the projector's files are objects under the
    logdir's prefix (nothing is written to the working directory), with the bytes torch's
    writer writes to a local logdir for the same call."""
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    mat = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    labels = list("abcdef")
    with ferroboard.SummaryWriter(f"s3://{BUCKET}/emb/run") as w:
        w.add_embedding(mat, metadata=labels, tag="e", global_step=3)
    t = TorchWriter(str(tmp_path / "torch"))
    t.add_embedding(mat, metadata=labels, tag="e", global_step=3)
    t.close()

    def assets(root: Path) -> list[str]:
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith("events.out.tfevents")
        )

    copy = tmp_path / "copy"
    _download(boto_client(s3.url), "emb/run", copy)
    theirs = assets(tmp_path / "torch")
    assert assets(copy) == theirs
    assert "projector_config.pbtxt" in theirs
    assert len(theirs) == 3
    for rel in theirs:
        assert (copy / rel).read_bytes() == (tmp_path / "torch" / rel).read_bytes(), rel
    assert list(cwd.iterdir()) == []


def test_every_reader_entry_point_reads_s3(s3, tmp_path, capsys):
    with ferroboard.SummaryWriter(f"s3://{BUCKET}/entry/a") as w:
        _log(w, range(30))
    with ferroboard.SummaryWriter(str(tmp_path / "a")) as w:
        _log(w, range(30))
    url = f"s3://{BUCKET}/entry"
    sr = SummaryReader(url, pivot=True)
    lr = SummaryReader(str(tmp_path))
    assert sr.scalars.drop(columns=[]).equals(SummaryReader(str(tmp_path), pivot=True).scalars)
    assert sr.text.equals(SummaryReader(str(tmp_path), pivot=True).text)
    assert len(lr.histograms) == len(SummaryReader(url).histograms) > 0
    # One object as a file.
    first = read(url).files[0]["path"]
    # All 30 steps went up in one object (at close), the header first.
    assert SummaryReader(first).scalars["step"].tolist() == list(range(30))
    # iter_events reads the object as the local file.
    local = next(p for p in (tmp_path / "a").iterdir() if "tfevents" in p.name)

    def strip(e: dict) -> tuple:
        return e["step"], e["kind"], [(v["tag"], v["kind"]) for v in e.get("values", ())]

    remote = [strip(e) for e in ferroboard.iter_events(first)]
    assert remote == [strip(e) for e in ferroboard.iter_events(local)]
    assert len(remote) == 1 + 30 + 3 + 3

    # LogTail picks up new objects.
    tail = LogTail(url, kinds=["scalars"])
    n0 = len(tail.read().scalars["step"])
    assert n0 == 30 * 3
    with ferroboard.SummaryWriter(f"s3://{BUCKET}/entry/b") as w:
        w.add_scalar("loss", 1.0, 0)
    assert tail.read().scalars["step"].tolist() == [0]
    assert len(tail.read().scalars["step"]) == 0

    # The CLI.
    from ferroboard.cli import main

    assert main(["ls", url]) == 0
    out = capsys.readouterr().out
    assert "loss" in out
    assert main(["verify", url]) == 0
    assert main(["cat", "--limit", "2", first]) == 0
    assert "file_version" in capsys.readouterr().out
    assert main(["export", url, "--format", "csv"]) == 0
    assert "loss" in capsys.readouterr().out

    # A prefix with nothing under it: as a missing local directory.
    with pytest.raises(FileNotFoundError):
        read(f"s3://{BUCKET}/nothing-here")
    with pytest.raises(ValueError, match="not found"):
        SummaryReader(f"s3://{BUCKET}/nothing-here")


@pytest.mark.parametrize("url", ["gs://b/run", "hdfs://nn/run", "az://c/run", "http://h/run"])
def test_other_schemes_are_refused_not_local_folders(url, tmp_path, monkeypatch):
    """ferroboard before this change created a local folder named ``gs:``; every entry point
    now refuses the URL clearly and creates nothing."""
    monkeypatch.chdir(tmp_path)
    scheme = url.split(":")[0]
    with pytest.raises(ValueError, match=f"'{scheme}://' is not supported"):
        ferroboard.SummaryWriter(url)
    with pytest.raises(ValueError, match="not supported"):
        ferroboard.SummaryWriter(url, write_to_disk=False)
    for entry in (read, read_scalars, LogTail, SummaryReader):
        with pytest.raises(ValueError, match="not supported"):
            entry(url)
    with pytest.raises(ValueError, match="not supported"):
        next(iter(ferroboard.iter_events(url)))
    from ferroboard.cli import main

    assert main(["ls", url]) != 0
    assert list(tmp_path.iterdir()) == []  # no folder named "gs:" (or any other)


def test_server_down_then_back_loses_nothing(s3):
    """The server stops mid-run: uploads fail, the failure is raised by a later call, the
    records wait in memory; once the server is back, everything is stored, in order."""
    url = f"s3://{BUCKET}/down/run"
    w = ferroboard.SummaryWriter(url, flush_secs=1)
    for i in range(50):
        w.add_scalar("x", float(i), i)
    time.sleep(1.3)  # the first data object is uploaded
    s3.stop()
    raised = None
    deadline = time.monotonic() + 20
    i = 50
    while raised is None and time.monotonic() < deadline:
        try:
            w.add_scalar("x", float(i), i)
            i += 1
        except OSError as e:
            raised = e
            i += 1  # the raising call had queued its own record
        time.sleep(0.05)
    assert raised is not None
    assert "kept in memory" in str(raised), raised
    s3.start()
    w.add_scalar("x", float(i), i)
    w.close()
    got = read_scalars(url)
    assert got["step"].tolist() == list(range(i + 1))
    assert got["value"].tolist() == [float(s) for s in range(i + 1)]


def test_500_responses_are_retried(s3):
    url = f"s3://{BUCKET}/flaky/run"
    with ferroboard.SummaryWriter(url) as w:
        s3.fail_next = 2
        for i in range(20):
            w.add_scalar("x", float(i), i)
    assert s3.failed >= 2
    assert s3.fail_next == 0
    assert read_scalars(url)["step"].tolist() == list(range(20))
    # Reading through 500s too.
    s3.fail_next = 2
    assert read_scalars(url)["step"].tolist() == list(range(20))


def test_wrong_credential_is_a_clear_error_without_retries(s3, monkeypatch):
    s3.deny_key = "WRONGKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "WRONGKEY")
    s3.reset_counts()
    t0 = time.monotonic()
    with pytest.raises(PermissionError, match=r"InvalidAccessKeyId|denied|403"):
        ferroboard.SummaryWriter(f"s3://{BUCKET}/denied/run")
    with pytest.raises(PermissionError):
        read(f"s3://{BUCKET}/roll")
    assert time.monotonic() - t0 < 3
    assert len(s3.requests) <= 3, s3.requests  # one per call (and a HEAD): no retry storm
