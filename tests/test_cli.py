"""The ``ferroboard`` command line, run as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reader_logs import TF_FIXTURES, frame, scalar_event, scalar_file, write_torch_logdir

REPO = Path(__file__).resolve().parent.parent
NAME = "events.out.tfevents.1700000000.host.1.0"


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    pkg = str(REPO / "python")
    env["PYTHONPATH"] = pkg + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(
        [sys.executable, "-m", "ferroboard.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    for run, tag, n in (("train", "loss", 20), ("eval", "acc", 5)):
        d = root / run
        d.mkdir()
        (d / NAME).write_bytes(scalar_file(tag, range(n))[0])
    return root


def test_help_for_each_command():
    assert "ls" in run_cli("--help").stdout
    for cmd in ("ls", "export", "verify", "cat"):
        out = run_cli(cmd, "--help").stdout
        assert out.startswith(f"usage: ferroboard {cmd}")


def test_ls(logdir):
    out = run_cli("ls", str(logdir)).stdout
    assert "train  (1 file; 21 records)" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("loss"))
    assert "scalars" in line
    assert "20" in line
    assert "steps 0..19" in line
    assert "last 9.5" in line
    doc = json.loads(run_cli("ls", str(logdir), "--json").stdout)
    assert [r["run"] for r in doc] == ["eval", "train"]
    assert doc[1]["tags"] == [
        {"tag": "loss", "kind": "scalars", "count": 20, "min_step": 0, "max_step": 19, "last": 9.5}
    ]


def test_ls_tf_fixtures():
    out = run_cli("ls", str(TF_FIXTURES)).stdout
    assert "graph  (1 file; 2 records; graph)" in out
    assert "weights/dense" in out
    assert "histograms" in out
    assert "hparams dropout=False, lr=0.1, optimizer=sgd" in out


def test_export_csv_jsonl_parquet(logdir, tmp_path):
    out = run_cli("export", str(logdir), "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["run", "tag", "step", "wall_time", "value"]
    assert len(rows) == 26
    assert rows[1] == ["eval", "acc", "0", "1.0", "0.0"]
    lines = run_cli("export", str(logdir), "-f", "jsonl", "--tag", "loss").stdout.splitlines()
    assert len(lines) == 20
    assert json.loads(lines[-1]) == {
        "run": "train",
        "tag": "loss",
        "step": 19,
        "wall_time": 1.0,
        "value": 9.5,
    }
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "s.parquet"
    p = run_cli(
        "export", str(logdir), "-f", "parquet", "-o", str(target), "--progress", "--batch-runs", "1"
    )
    assert "2/2 runs" in p.stderr
    t = pq.read_table(target)
    assert t.num_rows == 25
    assert t.column_names == ["run", "tag", "step", "wall_time", "value"]
    assert run_cli("export", str(logdir), "-f", "parquet", check=False).returncode == 2


def test_export_text_jsonl_tf_fixtures():
    lines = run_cli("export", str(TF_FIXTURES), "-f", "jsonl", "--kind", "text").stdout
    recs = [json.loads(x) for x in lines.splitlines()]
    assert len(recs) == 5
    assert recs[0]["tensor"] == "step **0** of seed 1: ünïcode ✓"


def test_verify_clean_truncated_corrupt(tmp_path):
    data, offsets = scalar_file("x", range(10))
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / NAME).write_bytes(data)
    p = run_cli("verify", str(tmp_path / "ok"))
    assert "1 file checked, 0 with corruption, 11 records" in p.stdout
    (tmp_path / "ok" / NAME).write_bytes(data[:-5])
    p = run_cli("verify", str(tmp_path / "ok"))
    assert f"incomplete final record at byte offset {offsets[-1]}" in p.stdout
    buf = bytearray(data)
    buf[offsets[3] + 14] ^= 0xFF
    buf[offsets[7] + 2] ^= 0xFF
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / NAME).write_bytes(bytes(buf))
    p = run_cli("verify", str(tmp_path / "bad"), check=False)
    assert p.returncode == 1
    assert f"payload CRC mismatch) at byte offset {offsets[3]}" in p.stdout
    assert f"corrupt record length at byte offset {offsets[7]}" in p.stdout
    # strict reading through other commands names the offset too.
    p = run_cli("ls", str(tmp_path / "bad"), "--strict", check=False)
    assert p.returncode == 1
    assert f"offset {offsets[3]}" in p.stderr


def test_cat(tmp_path):
    data, _ = scalar_file("x", range(3))
    data += frame(scalar_event("y", 7, 0.25))[:-3]  # incomplete tail
    f = tmp_path / NAME
    f.write_bytes(data)
    out = run_cli("cat", str(f)).stdout.splitlines()
    assert out[0].startswith("@0 step=0 wall_time=1.000000 file_version")
    assert out[2].endswith('summary tag="x" simple_value=0.5')
    assert len(out) == 4
    js = [json.loads(x) for x in run_cli("cat", str(f), "--json", "-n", "2").stdout.splitlines()]
    assert len(js) == 2
    assert js[1]["values"][0]["simple_value"] == 0.0
    assert run_cli("cat", str(tmp_path), check=False).returncode == 2


def test_cat_tf_file():
    f = next((TF_FIXTURES / "train").glob("*tfevents*"))
    out = run_cli("cat", str(f), "-n", "40").stdout
    assert "plugin=images" in out
    assert "plugin=histograms" in out


@pytest.fixture(scope="module")
def torch_logdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_torch")
    write_torch_logdir(root)
    return root


def test_commands_on_a_torch_logdir(torch_logdir):
    import ferroboard

    res = ferroboard.read(torch_logdir)
    doc = json.loads(run_cli("ls", str(torch_logdir), "--json").stdout)
    assert [r["run"] for r in doc] == res.runs
    a = next(r for r in doc if r["run"] == "a")
    assert a["has_graph"] is True
    kinds = {(t["tag"], t["kind"]): t["count"] for t in a["tags"]}
    assert kinds[("w", "histograms")] == 10
    assert kinds[("img", "images")] == 2
    assert kinds[("acc64", "scalars")] == 10
    lines = run_cli("export", str(torch_logdir), "-f", "jsonl", "--kind", "histograms").stdout
    recs = [json.loads(x) for x in lines.splitlines()]
    assert len(recs) == len(res.records("histograms")) == 20
    assert set(recs[0]) >= {"run", "tag", "step", "min", "max", "limits", "counts"}
    out = run_cli("export", str(torch_logdir)).stdout.splitlines()
    assert len(out) - 1 == len(res.scalars["step"])
    assert "0 with corruption" in run_cli("verify", str(torch_logdir)).stdout
    f = next((torch_logdir / "a").glob("*tfevents*.0"))
    text = run_cli("cat", str(f)).stdout
    assert "graph_def=<" in text
    assert "plugin=pr_curves" in text
