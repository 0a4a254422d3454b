"""Hostile files: damaged record lengths at random places. The reader resynchronises on the next
position where a record's length CRC and payload CRC both hold, so every record outside the
damaged bytes comes back, and the skipped byte ranges are reported (file, offset, length).

Documented difference: TensorBoard's EventAccumulator and tbparse (which reads through it) stop
a file at its first corrupt length and lose every later record; the test checks that too, on
the same file. Files are built with the suite's own framing (``tests/support/framing.py``),
independently of ferroboard's writer and reader.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import ferroboard
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.framing import frame, header_event, scalar_event

NAME = "events.out.tfevents.1700000000.host.1.0"
HEADER = 12  # u64 length + its masked CRC: the bytes damaged here


def _records(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    recs = [frame(header_event())]
    for s in range(n):
        tag = "loss" if s % 3 else "acc"
        recs.append(frame(scalar_event(tag, s, float(rng.standard_normal()), 1.0 + s)))
    return recs


def _offsets(recs: list[bytes]) -> list[int]:
    return np.cumsum([0] + [len(r) for r in recs]).tolist()


def _damage(recs: list[bytes], hits: dict[int, tuple[int, int]]) -> bytes:
    """The file with record ``i``'s header byte ``at`` xor ``x`` for each ``i: (at, x)``."""
    out = bytearray(b"".join(recs))
    offs = _offsets(recs)
    for i, (at, x) in hits.items():
        out[offs[i] + at] ^= x
    return bytes(out)


def _expected_ranges(offs: list[int], damaged: set[int], size: int) -> list[tuple[int, int]]:
    """Runs of consecutive damaged records as (offset, length). A run that reaches the end of
    the file stops 11 bytes short of it: too few for a header, those bytes may be the start
    of a record still being written, so they stay pending."""
    ranges: list[tuple[int, int]] = []
    for i in sorted(damaged):
        start, end = offs[i], offs[i + 1]
        if ranges and ranges[-1][0] + ranges[-1][1] == start:
            start = ranges.pop()[0]
        ranges.append((start, end - start))
    if ranges and ranges[-1][0] + ranges[-1][1] == size:
        ranges[-1] = (ranges[-1][0], size - HEADER + 1 - ranges[-1][0])
    return ranges


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(5, 120),
    seed=st.integers(0, 2**16),
    picks=st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True), st.integers(0, HEADER - 1), st.integers(1, 255)
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_every_record_outside_damaged_lengths_comes_back(tmp_path_factory, n, seed, picks):
    recs = _records(n, seed)
    # Damage the headers of records 1..n (the file's header record stays whole).
    hits = {1 + int(f * n): (at, x) for f, at, x in picks}
    data = _damage(recs, hits)
    path = tmp_path_factory.mktemp("resync") / NAME
    path.write_bytes(data)
    offs = _offsets(recs)

    res = ferroboard.read(path)
    got = res.scalars
    want = [s for s in range(n) if 1 + s not in hits]
    assert got["step"].tolist() == want
    # Each record that came back is the one written there, value for value.
    clean = ferroboard.read_scalars(_clean(tmp_path_factory, recs))
    keep = np.isin(clean["step"], want)
    assert got["value"].tolist() == clean["value"][keep].tolist()
    assert got["tag"].tolist() == clean["tag"][keep].tolist()
    f = res.files[0]
    ranges = _expected_ranges(offs, set(hits), len(data))
    assert f["skipped"] == ranges
    assert res.skipped == [(str(path), o, k) for o, k in ranges]
    assert f["bad_length_at"] == ranges[0][0]
    assert f["corrupt"] == []
    # The file is consumed to its end, but for a damaged run at the very end: its last 11
    # bytes stay pending (they could be the start of a record still being written).
    tail = len(data) - (ranges[-1][0] + ranges[-1][1])
    assert f["pending"] == (HEADER - 1 if tail == HEADER - 1 else 0)
    assert f["end_offset"] == len(data) - f["pending"]
    # strict=True raises at the first damage, naming its offset.
    with pytest.raises(ferroboard.CorruptRecordError) as e:
        ferroboard.read(path, strict=True)
    assert e.value.offset == ranges[0][0]


def _clean(tmp_path_factory, recs: list[bytes]) -> Path:
    p = tmp_path_factory.mktemp("clean") / NAME
    p.write_bytes(b"".join(recs))
    return p


def test_tensorboard_and_tbparse_lose_the_rest_of_the_file(tmp_path):
    """Documented difference: the same damaged file through TensorBoard's EventAccumulator
    and tbparse ends at the first corrupt length; ferroboard loses only the damaged records."""
    import tbparse
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    n = 60
    recs = _records(n, 7)
    hits = {11: (3, 0x20), 40: (9, 0x01)}  # a length byte, then a length-CRC byte
    run = tmp_path / "run"
    run.mkdir()
    (run / NAME).write_bytes(_damage(recs, hits))
    ours = ferroboard.read(tmp_path).scalars
    assert ours["step"].tolist() == [s for s in range(n) if s not in (10, 39)]

    ea = EventAccumulator(str(run))
    ea.Reload()
    theirs = sorted(e.step for t in ea.Tags()["scalars"] for e in ea.Scalars(t))
    assert theirs == list(range(10))  # everything after the first damaged length is gone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = tbparse.SummaryReader(str(tmp_path), event_types={"scalars"}).scalars
    assert sorted(df["step"].tolist()) == list(range(10))
    # ferroboard's tbparse-compatible reader resynchronises too (the difference, on purpose).
    ours_df = ferroboard.SummaryReader(str(tmp_path), event_types={"scalars"}).scalars
    assert sorted(ours_df["step"].tolist()) == sorted(ours["step"].tolist())


def test_a_growing_file_after_damage_loses_nothing_more(tmp_path):
    """A LogTail over a file whose writer is still appending: damage, then a record not yet
    whole. The partial record is not skipped: it stays pending until it is complete, and
    every record after the damaged one comes back, once."""
    n = 30
    recs = _records(n, 3)
    data = _damage(recs, {5: (1, 0x10)})
    offs = _offsets(recs)
    path = tmp_path / NAME
    tail = ferroboard.LogTail(tmp_path)
    steps: list[int] = []
    skipped: list[tuple[int, int]] = []
    # Cuts inside the record after the damaged one (header cut, payload cut), then on.
    for cut in (offs[6] + 4, offs[6] + 20, offs[7] - 1, offs[9] + 3, len(data)):
        path.write_bytes(data[:cut])
        r = tail.read()
        steps += r.scalars["step"].tolist()
        skipped += r.files[0]["skipped"]
        f = r.files[0]
        assert f["end_offset"] + f["pending"] == cut
    assert steps == [s for s in range(n) if s != 4]
    # The damaged record's bytes, reported once or in adjacent pieces across reads.
    assert skipped[0][0] == offs[5]
    assert sum(k for _, k in skipped) == offs[6] - offs[5]
    assert len(tail.read().scalars["step"]) == 0


_DIGEST = """
import hashlib, sys
import ferroboard
res = ferroboard.read(sys.argv[1])
s = res.scalars
h = hashlib.sha256()
for k in ("step", "wall_time", "value"):
    h.update(s[k].tobytes())
h.update("\\0".join(s["tag"].tolist()).encode())
h.update(repr(res.files[0]["skipped"]).encode())
h.update(repr([len(res.records(k)) for k in ("text", "histograms")]).encode())
print(h.hexdigest())
"""


def test_a_big_file_read_on_every_core_equals_the_one_thread_read(tmp_path):
    """A file big enough to be split between threads (over 8 MiB; this machine has 2 cores):
    the read with every thread returns what a one-thread read (``RAYON_NUM_THREADS=1``, in a
    subprocess) does, with damaged lengths in it and text and histogram records among the
    scalars (the Rust property tests cover the plugin and hparams rules at random cut
    points)."""
    import os
    import struct
    import subprocess
    import sys

    w = ferroboard.SummaryWriter(tmp_path, max_queue=100_000)
    for s in range(230_000):
        w.add_scalar(f"metric/{s % 7}", s * 1e-3, s)
        if s % 5000 == 0:
            w.add_text("note", f"at {s}", s)
            w.add_histogram("h", np.arange(10.0), s)
    w.close()
    path = next(p for p in tmp_path.rglob("*tfevents*") if p.stat().st_size > 8 << 20)
    data = bytearray(path.read_bytes())
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        pos += struct.unpack_from("<Q", data, pos)[0] + 16
    rng = np.random.default_rng(5)
    hit = sorted(rng.choice(len(starts) - 1, 4, replace=False) + 1)
    for i in hit:  # a byte of the length or of its CRC
        data[starts[i] + int(rng.integers(0, HEADER))] ^= 0x40
    path.write_bytes(bytes(data))
    env = dict(os.environ)
    code = [sys.executable, "-c", _DIGEST, str(path)]
    one = subprocess.run(
        code, env={**env, "RAYON_NUM_THREADS": "1"}, capture_output=True, text=True
    )
    every = subprocess.run(code, env=env, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    assert every.stdout == one.stdout
    res = ferroboard.read(path)
    assert [off for off, _ in res.files[0]["skipped"]] == [starts[i] for i in hit]
    assert len(res.scalars["step"]) == 230_000 - 4
