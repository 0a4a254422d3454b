"""The ``ferroboard`` command line, run as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.framing import frame, scalar_event, scalar_file
from tests.support.judges import tb_events
from tests.support.logdirs import TF_FIXTURES, event_files, write_torch_logdir

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


def test_python_dash_m_ferroboard_is_the_command(logdir):
    # Where the console script is not on PATH (a PYTHONPATH checkout, an odd venv):
    # `python -m ferroboard` runs the same command as `python -m ferroboard.cli`.
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "python") + os.pathsep + env.get("PYTHONPATH", "")
    for args in (["ls", str(logdir)], ["--version"], ["cat", str(logdir)]):
        a, b = (
            subprocess.run(
                [sys.executable, "-m", module, *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            for module in ("ferroboard", "ferroboard.cli")
        )
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), args
        if args[0] == "ls":
            assert "train  (1 file; 21 records)" in a.stdout


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


def test_ls_says_when_the_filters_match_nothing(logdir):
    # The logdir has event files: a --run that matches no run says so, not "no event files"
    # (a --tag that matches nothing lists the runs, without tags).
    for args in (("--run", "nosuch"), ("--run", "tr*"), ("--run", "nosuch", "--tag", "loss")):
        out = run_cli("ls", str(logdir), *args).stdout
        assert out == "no run or tag matches --run/--tag (exact names)\n", args
    assert run_cli("ls", str(logdir / "train"), "--tag", "loss").stdout.startswith(".  (1 file")


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


def test_export_format_follows_the_output_name_unless_given(logdir, tmp_path):
    # `-o scalars.parquet` without -f was a CSV file named .parquet.
    pq = pytest.importorskip("pyarrow.parquet")
    want = pq.read_table(
        _export_to(logdir, tmp_path / "given.parquet", "-f", "parquet")
    ).to_pylist()
    for name in ("s.parquet", "s.PQ"):
        assert pq.read_table(_export_to(logdir, tmp_path / name)).to_pylist() == want, name
    for name in ("s.jsonl", "s.ndjson"):
        lines = _export_to(logdir, tmp_path / name).read_text().splitlines()
        assert [json.loads(x) for x in lines] == want, name
    for name in ("s.csv", "s.txt", "noext"):
        text = _export_to(logdir, tmp_path / name).read_text()
        assert text.startswith("run,tag,step,wall_time,value\n"), name
    # -f given: as asked, whatever the name says.
    forced = _export_to(logdir, tmp_path / "forced.parquet", "-f", "csv")
    assert forced.read_text().startswith("run,tag,step,wall_time,value\n")
    # --partitions writes Parquet: a directory named anything.
    parts = _export_to(logdir, tmp_path / "parts", "--partitions", "2")
    assert sum(pq.read_table(f).num_rows for f in sorted(parts.iterdir())) == len(want)


def test_export_parquet_to_stdout_is_refused(logdir, tmp_path):
    # `-o -` is stdout for CSV and JSON lines; Parquet needs a file: no file named "-".
    pytest.importorskip("pyarrow.parquet")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "python") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "ferroboard.cli", "export", str(logdir), "-o", "-"]
    p = subprocess.run([*cmd, "-f", "parquet"], cwd=tmp_path, capture_output=True, env=env)
    assert (p.returncode, p.stdout) == (2, b"")
    assert p.stderr == b"ferroboard export: --format parquet needs --output FILE\n"
    assert list(tmp_path.iterdir()) == []
    p = subprocess.run(cmd, cwd=tmp_path, capture_output=True, env=env, check=True)
    assert p.stdout.startswith(b"run,tag,step,wall_time,value\n")


def _export_to(logdir: Path, target: Path, *args: str) -> Path:
    run_cli("export", str(logdir), "-o", str(target), *args)
    return target


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
    assert out[2].endswith('summary tag="x" kind=scalars value=0.5')
    assert len(out) == 4
    js = [json.loads(x) for x in run_cli("cat", str(f), "--json", "-n", "2").stdout.splitlines()]
    assert len(js) == 2
    assert js[1]["values"][0]["value"] == 0.0
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


# --------------------------------------------------------------------------- cat, several files


def test_cat_several_files_a_header_each_in_order(tmp_path):
    a, b = tmp_path / "a" / NAME, tmp_path / "b" / NAME
    for f, tag, n in ((a, "x", 2), (b, "y", 3)):
        f.parent.mkdir()
        f.write_bytes(scalar_file(tag, range(n))[0])
    out = run_cli("cat", str(a), str(b)).stdout.splitlines()
    assert len(out) == 1 + 3 + 1 + 1 + 4
    assert out[0] == f"==> {a} <=="
    assert "file_version" in out[1]
    assert [ln.split(" summary ")[1] for ln in out[2:4]] == [
        'tag="x" kind=scalars value=0.0',
        'tag="x" kind=scalars value=0.5',
    ]
    assert out[4:6] == ["", f"==> {b} <=="]
    assert "file_version" in out[6]
    assert [ln.split(" summary ")[1] for ln in out[7:]] == [
        'tag="y" kind=scalars value=0.0',
        'tag="y" kind=scalars value=0.5',
        'tag="y" kind=scalars value=1.0',
    ]
    # One file: no header, as before.
    assert run_cli("cat", str(a)).stdout.splitlines() == out[1:4]
    # --limit counts per file; --json names each event's file (no header lines).
    out = run_cli("cat", str(a), str(b), "-n", "2").stdout.splitlines()
    assert [ln.split(" step=")[0] for ln in out] == [
        f"==> {a} <==",
        "@0",
        "@40",
        "",
        f"==> {b} <==",
        "@0",
        "@40",
    ]
    js = [json.loads(x) for x in run_cli("cat", str(b), str(a), "--json").stdout.splitlines()]
    assert [(e["file"], e["step"]) for e in js] == [(str(b), s) for s in (0, 0, 1, 2)] + [
        (str(a), s) for s in (0, 0, 1)
    ]


def test_cat_names_the_file_in_every_error_and_goes_on(tmp_path):
    good = tmp_path / NAME
    good.write_bytes(scalar_file("x", range(2))[0])
    bad = tmp_path / "bad.tfevents"
    data, offsets = scalar_file("x", range(4))
    buf = bytearray(data)
    buf[offsets[2] + 2] ^= 0xFF  # a corrupt length: that record is lost, the ones after it read
    bad.write_bytes(bytes(buf))
    missing = tmp_path / "missing.tfevents"
    p = run_cli("cat", str(missing), str(bad), str(tmp_path), str(good), check=False)
    errors = p.stderr.splitlines()
    assert errors[0].startswith(f"ferroboard cat: {missing}: ")
    assert "No such file" in errors[0]
    assert errors[1] == (
        f"ferroboard cat: {bad}: corrupt record length at byte offset {offsets[2]}: "
        f"skipped {offsets[3] - offsets[2]} bytes"
    )
    assert errors[2] == f"ferroboard cat: {tmp_path}: is a directory; give event files"
    assert len(errors) == 3
    # The good file is printed whole, and the corrupt one but for its damaged record: the
    # reading resynchronises after it, as the bulk reader does.
    sections = p.stdout.split("\n\n")
    assert sections[1].splitlines()[0] == f"==> {bad} <=="
    assert [ln.split(" ")[1] for ln in sections[1].splitlines()[2:]] == [
        "step=0",
        "step=2",
        "step=3",
    ]
    assert sections[3].splitlines()[0] == f"==> {good} <=="
    assert len(sections[3].splitlines()) == 1 + 3
    assert p.returncode == 2
    # Alone, each error names its file too, with its own exit status.
    p = run_cli("cat", str(bad), check=False)
    assert p.returncode == 1
    assert p.stderr.startswith(f"ferroboard cat: {bad}: corrupt record length")
    p = run_cli("cat", str(missing), check=False)
    assert p.returncode == 2
    assert p.stderr.startswith(f"ferroboard cat: {missing}: ")


def test_cat_tf_scalar_tensor_shows_its_value():
    from tensorboard.util import tensor_util

    f = next((TF_FIXTURES / "train").glob("*tfevents*"))
    out = run_cli("cat", str(f), "-n", "2").stdout.splitlines()
    (v,) = tb_events(f)[1].summary.value
    want = float(tensor_util.make_ndarray(v.tensor))  # a packed float32 scalar tensor
    assert out[1].endswith(f'tag="loss" plugin=scalars kind=scalars value={want}')


def _reader_closes_early(*args: str) -> subprocess.CompletedProcess:
    """Runs the command with stdout a pipe that the reader closes after one line, as
    ``ferroboard ... | head -1`` does."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "python") + os.pathsep + env.get("PYTHONPATH", "")
    with subprocess.Popen(
        [sys.executable, "-m", "ferroboard.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first, err)


def test_cat_into_a_pipe_closed_early_stops_quietly(tmp_path):
    # `ferroboard cat FILE | head -1`: far more output than a pipe holds; the reader goes
    # away after one line. Like `cat`, stop there: no error, and not one per file.
    f = tmp_path / NAME
    f.write_bytes(scalar_file("x", range(50_000))[0])
    for args in ((str(f),), (str(f), str(f)), ("--json", str(f)), ("--json", str(f), str(f))):
        p = _reader_closes_early("cat", *args)
        assert p.stdout
        assert (p.returncode, p.stderr) == (0, b""), args


def test_cat_limit_must_not_be_negative(tmp_path):
    f = tmp_path / NAME
    f.write_bytes(scalar_file("x", range(3))[0])
    assert len(run_cli("cat", str(f), "-n", "0").stdout.splitlines()) == 0
    p = run_cli("cat", str(f), "-n", "-1", check=False)
    assert (p.returncode, p.stdout) == (2, "")
    assert "--limit" in p.stderr
    assert "-1" in p.stderr


# --------------------------------------------------------------------------- export, missing path


def test_export_of_a_missing_path_fails_like_ls(tmp_path):
    missing = tmp_path / "nonexistent_dir"
    for args in ((), ("-f", "jsonl"), ("-f", "parquet", "-o", str(tmp_path / "s.parquet"))):
        p = run_cli("export", str(missing), *args, check=False)
        assert p.returncode == 2
        assert p.stdout == ""
        assert p.stderr == f"ferroboard export: [Errno 2] No such file or directory: '{missing}'\n"
    assert not (tmp_path / "s.parquet").exists()
    ls = run_cli("ls", str(missing), check=False)
    assert (ls.returncode, ls.stderr) == (
        2,
        p.stderr.replace("ferroboard export:", "ferroboard ls:"),
    )


# ------------------------------------------- README's examples, on what its quick start writes

DEMO_EPOCHS = 2


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def readme_block(after: str, lang: str) -> str:
    """The first ```lang block of README.md after the line starting with ``after``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = re.search(rf"^{re.escape(after)}", text, re.M)
    assert start, after
    block = re.search(rf"^```{lang}\n(.*?)^```", text[start.end() :], re.M | re.S)
    assert block, (after, lang)
    return block.group(1)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> tuple[Path, str]:
    """A directory where `examples/demo.py` (what `make demo` runs) wrote ``runs/``, with its
    output; shorter training, the same summaries."""
    cwd = tmp_path_factory.mktemp("quickstart")
    p = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py"), "--epochs", str(DEMO_EPOCHS)],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    return cwd, p.stdout


def written(root: Path) -> Counter:
    """(run, tag as written, kind) -> count, by TensorBoard's own record loader and protobuf
    classes: the kind from what the value holds and the plugin its metadata names."""
    out: Counter = Counter()
    for run, files in event_files(root).items():
        for f in files:
            for ev in tb_events(f):
                for v in ev.summary.value:
                    plugin = v.metadata.plugin_data.plugin_name
                    if v.HasField("simple_value"):
                        kind = "scalars"
                    elif v.HasField("histo"):
                        kind = "histograms"
                    elif v.HasField("image"):
                        kind = "images"
                    elif v.HasField("audio"):
                        kind = "audio"
                    elif plugin in ("text", "pr_curves", "hparams"):
                        kind = plugin
                    elif v.HasField("tensor"):  # other plugins' tensors (custom scalars, mesh)
                        kind = "tensors"
                    else:
                        kind = f"unexpected {plugin!r}"
                    out[(run, v.tag, kind)] += 1
    return out


def test_readme_reading_example_on_the_quick_start_output(demo_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cwd, _ = demo_dir
    code = readme_block("## Reading", "python")
    p = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=child_env(), capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    run, step, value = p.stdout.split()
    (demo_run,) = (cwd / "runs").glob("demo-*/digits-mlp")
    assert run == demo_run.relative_to(cwd / "runs").as_posix()
    acc = EventAccumulator(str(cwd / "runs" / run))
    acc.Reload()
    last = acc.Scalars("val/accuracy")[-1]
    assert (int(step), float(value)) == (last.step, last.value)
    assert last.step == DEMO_EPOCHS - 1


def test_readme_cli_block_on_the_quick_start_output(demo_dir, tmp_path):
    # Two demo runs, so that README's `cat` glob matches several files.
    cwd = tmp_path / "q"
    shutil.copytree(demo_dir[0], cwd)
    (first,) = (cwd / "runs").iterdir()
    shutil.copytree(first, cwd / "runs" / "demo-29991231-235959")
    outputs = {}
    for line in readme_block("The `ferroboard` command", "sh").splitlines():
        args = shlex.split(line.split("#")[0])
        assert args[0] == "ferroboard"
        argv = []
        for a in args[1:]:
            argv += sorted(str(p.relative_to(cwd)) for p in cwd.glob(a)) if "*" in a else [a]
        p = subprocess.run(
            [sys.executable, "-m", "ferroboard.cli", *argv],
            cwd=cwd,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, (line, p.stderr)
        outputs[args[1]] = p.stdout
    truth = written(cwd / "runs")
    runs = sorted({r for r, _, _ in truth})
    assert [ln.split("  (")[0] for ln in outputs["ls"].splitlines() if "  (" in ln] == runs
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(cwd / "s.parquet")
    assert table.num_rows == sum(n for (_, _, k), n in truth.items() if k == "scalars")
    files = sum(len(fs) for fs in event_files(cwd / "runs").values())
    assert f"{files} files checked, 0 with corruption" in outputs["verify"]
    headers = [ln for ln in outputs["cat"].splitlines() if ln.startswith("==> ")]
    assert len(headers) == 2
    assert all("/digits-mlp/events.out.tfevents." in h for h in headers)


def test_one_naming_rule_for_read_ls_export_and_the_demo(demo_dir):
    """Tags as written in the file, kinds as ferroboard classifies them (PR curves are
    ``pr_curves``, not ``tensors``), the same in ``ferroboard.read``, ``ls``, ``export`` and
    the demo's read-back; TensorBoard's loader is the judge of what the file holds."""
    import ferroboard

    cwd, demo_out = demo_dir
    (root,) = (cwd / "runs").iterdir()
    truth = written(root)
    assert ("digits-mlp", "config/text_summary", "text") in truth
    assert ("digits-mlp", "pr/digit_0", "pr_curves") in truth
    assert ("digits-mlp/loss_val", "loss", "scalars") in truth

    ls = json.loads(run_cli("ls", str(root), "--json").stdout)
    from_ls = Counter({(r["run"], t["tag"], t["kind"]): t["count"] for r in ls for t in r["tags"]})
    assert from_ls == truth

    res = ferroboard.read(root)
    from_read = Counter()
    for row in res.tag_summary():
        for kind, n in row["counts"].items():
            from_read[(row["run"], row["tag"], kind)] += n
    assert from_read == truth

    for kind in ("scalars", "histograms", "text", "pr_curves", "tensors"):
        lines = run_cli("export", str(root), "-f", "jsonl", "--kind", kind).stdout.splitlines()
        got = Counter((r["run"], r["tag"], kind) for r in map(json.loads, lines))
        assert got == Counter({k: n for k, n in truth.items() if k[2] == kind}), kind
    # The demo's tensors: its custom-scalars layout and the three parts of its mesh.
    out = run_cli("export", str(root), "--kind", "tensors").stdout
    tensors = list(csv.reader(io.StringIO(out)))
    assert tensors[0] == ["run", "tag", "step", "wall_time", "value"]
    assert sorted(tuple(r[:2]) for r in tensors[1:]) == sorted(
        (run, tag) for (run, tag, kind) in truth if kind == "tensors"
    )
    assert ("digits-mlp", "custom_scalars__config__") in {tuple(r[:2]) for r in tensors[1:]}

    # The demo's read-back prints the same (run, tag, kind, count) rows.
    rows = re.findall(r"^  (\S+)\s+(\S+)\s+(\w+)\s+(\d+)", demo_out, re.M)
    assert Counter({(r, t, k): int(n) for r, t, k, n in rows}) == truth
