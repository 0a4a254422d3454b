"""Hostile files, reader side, from Python: ``ferroboard.iter_events`` and the bulk reader
``ferroboard.reader.read`` (lenient and strict) over random bytes, mutated valid files and the
regression corpus raise nothing but ``OSError`` / ``ValueError`` (``CorruptRecordError``)
(never a ``PanicException``, never a crash), and ends (no hang). The Rust side is fuzzed by
``rust/core/tests/fuzz_records.rs``; atheris, when installed, runs a short campaign here too."""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

import ferroboard
import pytest
from ferroboard import SummaryWriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.framing import masked_crc
from tests.support.paths import REPO
from tests.support.processes import child_env

REGRESSIONS = REPO / "tests" / "data" / "regressions"
EXAMPLES = int(os.environ.get("FERROBOARD_FUZZ_EXAMPLES", "1500"))


def read_hostile(path: Path) -> list[dict]:
    """Reads ``path`` fully; only clean, documented exceptions may escape."""
    events = []
    start = time.monotonic()
    for strict in (False, True):
        try:
            for event in ferroboard.iter_events(path, strict=strict):
                assert isinstance(event, dict)
                assert isinstance(event["kind"], str)
                assert isinstance(event["step"], int)
                if not strict:
                    events.append(event)
                assert len(events) <= path.stat().st_size // 16 + 1
        except (OSError, ValueError):  # CorruptRecordError is an OSError
            pass
    assert time.monotonic() - start < 10
    read_bulk(path)
    return events


def read_bulk(path: Path) -> None:
    """The bulk reader (``ferroboard.reader``), lenient and strict, over the same file."""
    start = time.monotonic()
    for strict in (False, True):
        try:
            res = ferroboard.reader.read(path, strict=strict, purge_restarts=not strict)
            res.tag_summary()
            res.scalars  # noqa: B018 - decoding the columns is the point
            for kind in ("tensors", "histograms", "text", "pr_curves", "images", "audio"):
                res.records(kind)
        except (OSError, ValueError):  # CorruptRecordError is an OSError
            pass
    assert time.monotonic() - start < 10


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    d = tmp_path_factory.mktemp("valid")
    with SummaryWriter(d) as w:
        for i in range(20):
            w.add_scalar("s", float(i), i)
            w.add_text("t", "x" * i, i)
            w.add_scalar("n", float(i), i, new_style=True)
            w.add_scalars("m", {"a": 1.0}, i)
    (path,) = [p for p in d.iterdir() if "tfevents" in p.name]
    return path.read_bytes()


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "x.tfevents"
    p.write_bytes(data)
    read_hostile(p)


def _header(n: int) -> bytes:
    h = struct.pack("<Q", n)
    return h + struct.pack("<I", masked_crc(h))


@_SETTINGS
@given(
    mutations=st.lists(
        st.tuples(
            st.sampled_from(["flip", "truncate", "insert", "delete", "huge_length"]),
            st.integers(min_value=0),
            st.binary(min_size=1, max_size=16),
            st.integers(min_value=0, max_value=2**64 - 1),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_files(tmp_path: Path, valid_file: bytes, mutations: list) -> None:
    data = bytearray(valid_file)
    for kind, pos, blob, n in mutations:
        at = pos % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= blob[0] or 1
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = blob
        elif kind == "delete":
            del data[at : at + len(blob)]
        elif kind == "huge_length":
            data[at : at + 12] = _header(n)
    p = tmp_path / "m.tfevents"
    p.write_bytes(bytes(data))
    read_hostile(p)


def test_regression_corpus() -> None:
    files = [p for p in REGRESSIONS.iterdir() if p.suffix != ".md"]
    assert files
    for p in files:
        read_hostile(p)


def test_what_the_reader_reports_on_broken_files(tmp_path: Path, valid_file: bytes) -> None:
    # An incomplete tail ends the iteration quietly and says where it starts.
    p = tmp_path / "cut.tfevents"
    p.write_bytes(valid_file[:-5])
    it = ferroboard.iter_events(p)
    n = len(list(it))
    assert n > 0
    assert it.truncated is not None
    # A bad payload CRC skips that one record and counts it.
    p2 = tmp_path / "crc.tfevents"
    data = bytearray(valid_file)
    data[-5] ^= 0xFF  # inside the last payload
    p2.write_bytes(bytes(data))
    it2 = ferroboard.iter_events(p2)
    assert len(list(it2)) == n
    assert it2.corrupt_records == 1
    # A bad length CRC: that record is passed over and reported, the rest read; strict
    # raises, naming the offset.
    p3 = tmp_path / "len.tfevents"
    data = bytearray(valid_file)
    data[0] ^= 1
    p3.write_bytes(bytes(data))
    it3 = ferroboard.iter_events(p3)
    assert len(list(it3)) == n + 1 - 1  # every record but the damaged header
    assert it3.bad_length_at == 0
    with pytest.raises(ferroboard.reader.CorruptRecordError, match="offset 0"):
        list(ferroboard.iter_events(p3, strict=True))
    # Not a file, or missing.
    with pytest.raises(OSError, match="directory"):
        list(ferroboard.iter_events(tmp_path))
    with pytest.raises(FileNotFoundError):
        list(ferroboard.iter_events(tmp_path / "missing"))


def test_atheris_short_campaign(tmp_path: Path, robust_report) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in REGRESSIONS.iterdir():
        if p.suffix != ".md":
            (corpus / p.name).write_bytes(p.read_bytes())
    seconds = int(os.environ.get("FERROBOARD_ATHERIS_SECONDS", "15"))
    # libFuzzer's memory limit reads the child's peak RSS, which Linux carries over from this
    # process across fork and exec: with torch and the suite loaded, that peak alone can pass
    # libFuzzer's default 2 GiB. The limit is this process's peak plus those 2 GiB, so the
    # fuzzed reader still has exactly the default headroom.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("fuzz_iter_events_atheris.py")),
            f"-max_total_time={seconds}",
            "-seed=20261201",  # the same inputs in the same order every run (libFuzzer's is random)
            "-max_len=8192",
            f"-rss_limit_mb={peak_mb + 2048}",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    crashes = [p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-"))]
    assert not crashes, (crashes, proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [line for line in proc.stderr.splitlines() if "Done" in line]
    done = " ".join(runs)[:120]
    robust_report(f"atheris on iter_events and reader.read: {seconds} s, no finding ({done})")
