"""The bulk reader against TensorBoard's EventAccumulator and tbparse, on logdirs written by
torch's and tensorboardX's own writers, and on the TensorFlow-written fixtures."""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from pathlib import Path

import ferroboard
import numpy as np
import pandas as pd
import pytest
from ferroboard import reader as fr

from tests.support.logdirs import TF_FIXTURES, write_tbx_logdir, write_torch_logdir


@pytest.fixture(scope="session")
def mixed_logdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    write_torch_logdir(root)
    write_tbx_logdir(root)
    return root


@pytest.fixture(scope="session")
def mixed_result(mixed_logdir):
    return ferroboard.read(mixed_logdir)


# ------------------------------------------------------------------ EventAccumulator


def _accumulator(run_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    size = {k: 0 for k in ("scalars", "images", "audio", "histograms", "tensors")}
    size["compressedHistograms"] = 0
    ea = EventAccumulator(str(run_dir), size_guidance=size)
    ea.Reload()
    return ea


def _ours_by_run(res: fr.ReadResult):
    """run -> kind -> tag -> records, with scalar tensors under 'tensors' as TensorBoard's
    legacy accumulator files them."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    s = res.raw_scalars
    for i in range(len(s["step"])):
        run, tag = res.runs[s["run"][i]], res.tags[s["tag"][i]]
        kind = "scalars" if s["encoding"][i] == 0 else "tensors"
        out[run][kind][tag].append((float(s["wall_time"][i]), int(s["step"][i]), s["value"][i]))
    for kind in ("histograms", "images", "audio", "text", "tensors", "pr_curves"):
        for r in res.records(kind):
            k = "tensors" if "tensor" in r else kind
            out[r["run"]][k][r["tag"]].append(r)
    return out


def test_equals_event_accumulator(mixed_logdir, mixed_result):
    from tensorboard.util import tensor_util

    ours = _ours_by_run(mixed_result)
    runs = {
        os.path.relpath(d, mixed_logdir)
        for d, _, files in os.walk(mixed_logdir)
        if any("tfevents" in f for f in files)
    }
    assert set(mixed_result.runs) == runs
    for run in runs:
        ea = _accumulator(mixed_logdir / run)
        tags = ea.Tags()
        o = ours[run]
        assert sorted(tags["scalars"]) == sorted(o["scalars"]), run
        for tag in tags["scalars"]:
            theirs = [(e.wall_time, e.step, e.value) for e in ea.Scalars(tag)]
            assert theirs == o["scalars"][tag], (run, tag)
        assert sorted(tags["histograms"]) == sorted(o["histograms"]), run
        for tag in tags["histograms"]:
            theirs = ea.Histograms(tag)
            mine = o["histograms"][tag]
            assert len(theirs) == len(mine)
            for e, m in zip(theirs, mine):
                h = e.histogram_value
                assert (e.wall_time, e.step) == (m["wall_time"], m["step"])
                assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (
                    m["min"],
                    m["max"],
                    m["num"],
                    m["sum"],
                    m["sum_squares"],
                )
                assert list(h.bucket_limit) == m["limits"].tolist()
                assert list(h.bucket) == m["counts"].tolist()
        assert sorted(tags["images"]) == sorted(o["images"]), run
        for tag in tags["images"]:
            theirs = [
                (e.wall_time, e.step, e.encoded_image_string, e.width, e.height)
                for e in ea.Images(tag)
            ]
            mine = [
                (m["wall_time"], m["step"], m["encoded"], m["width"], m["height"])
                for m in o["images"][tag]
            ]
            assert theirs == mine
        assert sorted(tags["audio"]) == sorted(o["audio"]), run
        for tag in tags["audio"]:
            theirs = [
                (
                    e.wall_time,
                    e.step,
                    e.encoded_audio_string,
                    e.content_type,
                    e.sample_rate,
                    e.length_frames,
                )
                for e in ea.Audio(tag)
            ]
            mine = [
                (
                    m["wall_time"],
                    m["step"],
                    m["encoded"],
                    m["content_type"],
                    m["sample_rate"],
                    m["length_frames"],
                )
                for m in o["audio"][tag]
            ]
            assert theirs == mine
        # Every tensor: text, PR curves, scalar tensors all land in the accumulator's tensors.
        ours_tensors = {**o["tensors"]}
        for k in ("text", "pr_curves"):
            for tag, recs in o[k].items():
                ours_tensors.setdefault(tag, []).extend(recs)
        hparams_tags = (
            set(ea.PluginTagToContent("hparams"))
            if "hparams" in str(ea._plugin_to_tag_to_content.keys())
            else set()
        )
        assert sorted(t for t in tags["tensors"] if t not in hparams_tags) == sorted(
            ours_tensors
        ), run
        for tag in ours_tensors:
            theirs = ea.Tensors(tag)
            mine = ours_tensors[tag]
            assert len(theirs) == len(mine), (run, tag)
            for e, m in zip(theirs, mine):
                arr = tensor_util.make_ndarray(e.tensor_proto)
                if isinstance(m, tuple):
                    assert (e.wall_time, e.step) == m[:2]
                    assert arr.shape == ()
                    assert arr.item() == m[2]
                else:
                    assert (e.wall_time, e.step) == (m["wall_time"], m["step"])
                    assert arr.dtype == m["tensor"].dtype
                    np.testing.assert_array_equal(arr, m["tensor"])
        assert bool(tags["graph"]) == mixed_result.has_graph[run], run


def test_hparams_and_graph(mixed_result):
    hp = mixed_result.hparams()
    assert hp == {"hp/trial": {"flag": 1.0, "lr": 0.1, "opt": "sgd"}}
    assert mixed_result.has_graph["a"]
    assert not mixed_result.has_graph["b/nested"]
    assert mixed_result.metric_tags() == ["hp/metric"]


# ------------------------------------------------------------------ tbparse


def _cell_eq(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_cell_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            type(a) is type(b)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        )
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_frames_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a.shape == b.shape
    pd.testing.assert_index_equal(a.index, b.index)
    for c in a.columns:
        assert a[c].dtype == b[c].dtype, c
        if a[c].dtype == object:
            for i, (x, y) in enumerate(zip(a[c], b[c])):
                assert _cell_eq(x, y), (c, i, x, y)
        else:
            pd.testing.assert_series_equal(a[c], b[c], check_exact=True)


OPTIONS = [
    {},
    {"extra_columns": {"dir_name", "wall_time", "file_name"}},
    {"pivot": True},
    {"pivot": True, "extra_columns": {"dir_name", "wall_time"}},
]


@pytest.fixture(scope="session")
def tbparse_readers(mixed_logdir):
    import tbparse

    cache = {}

    def get(which: str, i: int, kind: str):
        kw = dict(OPTIONS[i])
        if kind == "histograms" and "extra_columns" in kw:
            kw["extra_columns"] = kw["extra_columns"] | {"min", "max", "num", "sum", "sum_squares"}
        key = (which, i, kind)
        if key not in cache:
            if which == "tbparse":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # tbparse's own pandas deprecations
                    cache[key] = getattr(tbparse.SummaryReader(str(mixed_logdir), **kw), kind)
            else:
                cache[key] = getattr(ferroboard.SummaryReader(mixed_logdir, **kw), kind)
        return cache[key]

    return get


@pytest.mark.parametrize("kind", ["scalars", "tensors", "histograms", "text", "hparams"])
@pytest.mark.parametrize("opt", range(len(OPTIONS)))
def test_summary_reader_equals_tbparse(tbparse_readers, kind, opt):
    theirs = tbparse_readers("tbparse", opt, kind)
    ours = tbparse_readers("ours", opt, kind)
    assert len(theirs) > 0
    assert_frames_identical(theirs, ours)


def test_summary_reader_on_one_file_equals_tbparse(mixed_logdir):
    import tbparse

    f = next((mixed_logdir / "a").glob("*tfevents*"))
    for kw in ({}, {"extra_columns": {"dir_name", "file_name", "wall_time"}}, {"pivot": True}):
        a, b = tbparse.SummaryReader(str(f), **kw), ferroboard.SummaryReader(f, **kw)
        for kind in ("scalars", "tensors", "histograms", "text"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tbparse's own pandas deprecations
                theirs = getattr(a, kind)
            assert_frames_identical(theirs, getattr(b, kind))


def test_summary_reader_images_audio_pr(mixed_logdir):
    r = ferroboard.SummaryReader(
        mixed_logdir,
        extra_columns={"width", "height", "content_type", "sample_rate", "length_frames"},
        decode=False,
    )
    im = r.images
    assert list(im.columns) == ["step", "tag", "value", "height", "width"]
    assert len(im) == 6
    assert all(v.startswith(b"\x89PNG") for v in im["value"])
    assert set(im["width"]) == {5, 2}
    assert set(im["height"]) == {4, 3}
    au = r.audio
    assert list(au.columns) == [
        "step",
        "tag",
        "value",
        "content_type",
        "length_frames",
        "sample_rate",
    ]
    assert set(au["content_type"]) == {"audio/wav"}
    assert set(au["sample_rate"]) == {8000.0}
    pr = r.pr_curves
    assert len(pr) == 5
    assert pr["precision"].iloc[0].shape == (11,)
    img = ferroboard.SummaryReader(mixed_logdir, event_types={"images"}).images
    shapes = {t: v.shape for t, v in zip(img["tag"], img["value"])}
    assert shapes == {"img": (4, 5, 3), "gray": (3, 2, 3)}  # tensorboardX writes RGB
    assert img["value"].iloc[0].dtype == np.uint8
    dec = ferroboard.SummaryReader(mixed_logdir, event_types={"audio"}).audio
    assert dec["value"].iloc[0].shape == (800, 1)
    hp = r.hparams_table()
    assert hp.to_dict("records") == [
        {"dir_name": "hp/trial", "flag": 1.0, "lr": 0.1, "opt": "sgd", "hp/metric": 0.5}
    ]


def test_summary_reader_argument_checks(mixed_logdir, tmp_path):
    with pytest.raises(KeyError):
        ferroboard.SummaryReader(mixed_logdir, extra_columns={"nope"})
    with pytest.raises(KeyError):
        ferroboard.SummaryReader(mixed_logdir, event_types={"nope"})
    with pytest.raises(ValueError, match="not found"):
        ferroboard.SummaryReader(tmp_path / "missing")
    r = ferroboard.SummaryReader(mixed_logdir, event_types={"scalars"})
    with pytest.raises(ValueError, match="ignored"):
        _ = r.histograms
    assert ferroboard.SummaryReader(tmp_path).scalars.empty


def test_unify_puts_tensor_encodings_in_their_kinds(mixed_logdir):
    r = ferroboard.SummaryReader(mixed_logdir, unify=True)
    sc = r.scalars
    assert {"acc", "acc64", "loss"} <= set(sc["tag"])
    assert "acc" not in set(r.tensors["tag"]) if len(r.tensors) else True


# ------------------------------------------------------------------ fast path


def test_read_scalars_all_encodings_and_filters(mixed_logdir, mixed_result):
    s = ferroboard.read_scalars(mixed_logdir)
    assert set(s) == {"run", "tag", "step", "wall_time", "value"}
    assert s["step"].dtype == np.int64
    assert s["value"].dtype == np.float64
    n_all = len(s["step"])
    assert n_all == len(mixed_result.raw_scalars["step"])
    sel = (s["tag"] == "acc64") & (s["run"] == "a")
    np.testing.assert_array_equal(s["value"][sel], np.arange(10) * 0.1)
    f = ferroboard.read_scalars(mixed_logdir, tags=["acc", "loss"], runs=["a", "tbx"])
    assert set(f["tag"]) == {"acc", "loss"}
    assert set(f["run"]) == {"a", "tbx"}
    both = np.isin(s["tag"], ["acc", "loss"]) & np.isin(s["run"], ["a", "tbx"])
    assert both.sum() == len(f["step"])
    np.testing.assert_array_equal(f["value"], s["value"][both])


def test_arrow_pandas_polars(mixed_logdir):
    s = ferroboard.read_scalars(mixed_logdir)
    df = ferroboard.scalars_frame(mixed_logdir)
    assert list(df.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert isinstance(df["tag"].dtype, pd.CategoricalDtype)
    assert df["tag"].astype(str).tolist() == s["tag"].tolist()
    pa = pytest.importorskip("pyarrow")
    t = ferroboard.scalars_arrow(mixed_logdir, tags=["loss"])
    assert t.num_rows == int((s["tag"] == "loss").sum())
    assert pa.types.is_dictionary(t.schema.field("tag").type)
    try:
        import polars  # noqa: F401
    except ImportError:
        return
    assert ferroboard.scalars_polars(mixed_logdir).height == len(s["step"])


# ------------------------------------------------------------------ TensorFlow's own files


def test_tf_fixture_every_kind():
    res = ferroboard.read(TF_FIXTURES)
    assert res.corrupt_records == 0
    assert set(res.runs) == {"train", "eval", "hparams/trial0", "hparams/trial1", "graph", "tf1"}
    s = res.scalars
    train_loss = s["value"][(s["run"] == "train") & (s["tag"] == "loss")]
    assert len(train_loss) == 41
    assert len(s["step"][(s["run"] == "tf1") & (s["tag"] == "v1/scalar")]) == 10
    assert res.has_graph["graph"]
    assert res.hparams()["hparams/trial0"] == {"dropout": False, "lr": 0.1, "optimizer": "sgd"}
    hist = res.records("histograms")
    assert {h["tag"] for h in hist} == {"weights/dense", "weights/empty_buckets", "v1/hist"}
    assert {r["tag"] for r in res.records("images")} == {"samples"}
    assert {r["tag"] for r in res.records("audio")} == {"tone"}
    assert {r["tag"] for r in res.records("text")} == {"notes"}
    assert {r["tag"] for r in res.records("tensors")} == {"raw/tensor", "f"}


def test_tf_fixture_against_event_accumulator():
    from tensorboard.util import tensor_util

    res = ferroboard.read(TF_FIXTURES)
    ours = _ours_by_run(res)
    for run in res.runs:
        ea = _accumulator(TF_FIXTURES / run)
        tags = ea.Tags()
        for tag in tags["scalars"]:
            assert [(e.wall_time, e.step, e.value) for e in ea.Scalars(tag)] == ours[run][
                "scalars"
            ][tag]
        for tag in tags["tensors"]:
            theirs = ea.Tensors(tag)
            kinds = [
                k
                for k in ("tensors", "histograms", "images", "audio", "text")
                if tag in ours[run][k]
            ]
            if not kinds:
                continue  # hparams summaries
            mine = ours[run][kinds[0]][tag]
            assert len(theirs) == len(mine), (run, tag)
            for e, m in zip(theirs, mine):
                arr = tensor_util.make_ndarray(e.tensor_proto)
                if isinstance(m, tuple):
                    assert arr.item() == m[2]
                    assert e.step == m[1]
                else:
                    np.testing.assert_array_equal(arr, m["tensor"])


def test_tf_fixture_unified_frames():
    r = ferroboard.SummaryReader(
        TF_FIXTURES,
        unify=True,
        extra_columns={"dir_name", "width", "height", "sample_rate", "length_frames"},
    )
    sc = r.scalars
    assert set(sc["tag"]) >= {"loss", "metrics/acc", "loss_f64", "v1/scalar", "hp/accuracy"}
    h = r.histograms
    dense = h[h["tag"] == "weights/dense"]
    assert len(dense) == 5
    first = dense.iloc[0]
    assert len(first["limits"]) == len(first["counts"]) == 31
    im = r.images
    assert len(im) == 10
    assert set(im["width"]) == {5}
    assert set(im["height"]) == {6}
    au = r.audio
    assert len(au) == 5
    assert au["sample_rate"].iloc[0] > 0
    tx = r.text
    assert tx["value"].iloc[0] == "step **0** of seed 1: ünïcode ✓"
    t = r.tensors
    raw = t[t["tag"] == "raw/tensor"]["value"].iloc[0]
    assert raw.shape == (2, 3)
    assert raw.dtype == np.float64
    hp = r.hparams_table()
    assert hp["dir_name"].tolist() == ["hparams/trial0", "hparams/trial1"]


def test_symlinked_runs_are_runs_as_for_tensorboard(tmp_path):
    """TensorBoard's multiplexer walks into a symbolic link to a run directory; so do we."""
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from torch.utils.tensorboard import SummaryWriter

    for run in ("elsewhere/exp", "logdir/own"):
        w = SummaryWriter(tmp_path / run)
        for s in range(3):
            w.add_scalar("x", float(s), s)
        w.close()
    root = tmp_path / "logdir"
    (root / "exp").symlink_to(tmp_path / "elsewhere" / "exp", target_is_directory=True)
    m = pem.EventMultiplexer()
    m.AddRunsFromDirectory(str(root))
    s = ferroboard.read_scalars(root)
    assert sorted(set(s["run"])) == sorted(m.Runs()) == ["exp", "own"]
    for run in ("exp", "own"):
        ea = _accumulator(root / run)
        assert [(e.wall_time, e.step, e.value) for e in ea.Scalars("x")] == [
            (w, st, v)
            for r, w, st, v in zip(s["run"], s["wall_time"], s["step"], s["value"])
            if r == run
        ]


# ------------------------------------------------------------------ restarts


def test_restart_view(tmp_path):
    from tests.support.framing import frame, header_event, scalar_event

    data = frame(header_event())
    for s in [0, 1, 2, 3, 4, 2, 3]:
        data += frame(scalar_event("x", s, float(s)))
    data += frame(scalar_event("y", 1, 1.0))
    p = tmp_path / "events.out.tfevents.1.host"
    p.write_bytes(data)
    as_written = ferroboard.read_scalars(p)
    assert as_written["step"].tolist() == [0, 1, 2, 3, 4, 2, 3, 1]
    tb_view = ferroboard.read_scalars(p, purge_restarts=True)
    assert tb_view["step"].tolist() == [0, 1, 2, 3, 1]
    assert tb_view["tag"].tolist() == ["x"] * 4 + ["y"]


def test_restart_view_is_the_data_servers_not_the_event_accumulators(tmp_path):
    """Documented difference: ``purge_restarts`` follows TensorBoard's data server (per tag, a
    step going back drops that tag's records at steps >= it). EventAccumulator, on version-2
    files, keeps steps that go back and purges every tag at a SessionLog.START (torch's
    ``purge_step``), also tags not logged again. Both rules, checked against the accumulator."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(tmp_path / "purged", filename_suffix=".1")
    for s in range(10):
        w.add_scalar("x", float(s), s)
        w.add_scalar("z", float(s), s)  # not logged again after the restart
    w.close()
    w = SummaryWriter(tmp_path / "purged", purge_step=5, filename_suffix=".2")
    for s in (7, 8):  # resumes above the purge step
        w.add_scalar("x", 100.0 + s, s)
    w.close()
    w = SummaryWriter(tmp_path / "back")
    for s in (0, 1, 2, 3, 1, 2):
        w.add_scalar("y", float(s), s)
    w.close()
    s = ferroboard.read_scalars(tmp_path, purge_restarts=True)
    ours = defaultdict(list)
    for r, t, st in zip(s["run"], s["tag"], s["step"].tolist()):
        ours[(r, t)].append(st)
    theirs = {}
    for run in ("back", "purged"):
        ea = _accumulator(tmp_path / run)
        for tag in ea.Tags()["scalars"]:
            theirs[(run, tag)] = [e.step for e in ea.Scalars(tag)]
    assert theirs == {
        ("back", "y"): [0, 1, 2, 3, 1, 2],
        ("purged", "x"): [0, 1, 2, 3, 4, 7, 8],
        ("purged", "z"): [0, 1, 2, 3, 4],
    }
    assert dict(ours) == {
        ("back", "y"): [0, 1, 2],
        ("purged", "x"): [0, 1, 2, 3, 4, 5, 6, 7, 8],
        ("purged", "z"): list(range(10)),
    }


def test_log_tail_reports_what_a_restart_supersedes(tmp_path):
    from tests.support.framing import frame, header_event, scalar_event

    batches = [
        [("x", 0), ("x", 1), ("x", 2), ("x", 3), ("y", 5)],
        [("x", 4), ("x", 2), ("x", 3), ("y", 6)],  # x restarts at 2: batch 1's 2, 3 go
        [("x", 4), ("y", 1)],  # y restarts at 1: its 5 and 6 go
    ]
    run = tmp_path / "run"
    run.mkdir()
    p = run / "events.out.tfevents.1.host"
    p.write_bytes(frame(header_event()))
    tail = ferroboard.LogTail(tmp_path, purge_restarts=True)
    rows: list[tuple[str, str, int, float]] = []
    seen_purges = []
    for i, batch in enumerate(batches):
        with open(p, "ab") as f:
            for tag, step in batch:
                f.write(frame(scalar_event(tag, step, float(10 * i + step))))
        r = tail.read()
        seen_purges.append(r.purges)
        for pg in r.purges:
            gone = {(pg["run"], pg["tag"])}
            rows = [x for x in rows if not ((x[0], x[1]) in gone and x[2] >= pg["step"])]
        s = r.scalars
        rows += list(zip(s["run"], s["tag"], s["step"].tolist(), s["value"].tolist()))
    assert seen_purges == [
        [],
        [{"run": "run", "tag": "x", "step": 2}],
        [{"run": "run", "tag": "y", "step": 1}],
    ]
    once = ferroboard.read_scalars(tmp_path, purge_restarts=True)
    assert ferroboard.read(tmp_path, purge_restarts=True).purges == []
    expected = list(zip(once["run"], once["tag"], once["step"].tolist(), once["value"].tolist()))
    assert rows == expected
    assert [(t, st, v) for _, t, st, v in rows] == [
        ("x", 0, 0.0),
        ("x", 1, 1.0),
        ("x", 2, 12.0),
        ("x", 3, 13.0),
        ("x", 4, 24.0),
        ("y", 1, 21.0),
    ]


def test_take_names_builds_object_arrays_and_checks_codes():
    from ferroboard._native import take_names

    names = ["a", "b/c", "ünï"]
    codes = np.array([2, 0, 0, 1, 2], dtype=np.uint32)
    got = take_names(names, codes)
    assert got.dtype == object
    assert got.tolist() == ["ünï", "a", "a", "b/c", "ünï"]
    assert all(g is names[c] for g, c in zip(got, codes))
    assert take_names(names, np.array([], dtype=np.uint32)).shape == (0,)
    with pytest.raises(IndexError, match="codes: 3 is out of range"):
        take_names(names, np.array([0, 3], dtype=np.uint32))


def test_take_names_holds_exactly_one_reference_per_entry():
    # The entries are written on the reader's threads and each name then gets its count of
    # references in one step: every entry must own exactly one, all released with the array,
    # none taken by a call that fails.
    import sys

    from ferroboard._native import take_names

    names = [f"run-{i}-" * 3 for i in range(3)]  # fresh (mortal) strings
    # Longer than one task of rows, with runs of one code and alternating codes.
    codes = np.array([0] * 70_000 + [2] * 5 + [0, 1] * 40_000, dtype=np.uint32)

    def refs() -> list[int]:
        return [sys.getrefcount(s) for s in names]

    before = refs()
    got = take_names(names, codes)
    taken = np.subtract(refs(), before).tolist()
    assert taken == np.bincount(codes, minlength=3).tolist()
    assert got.tolist() == [names[c] for c in codes.tolist()]
    strided = take_names(names, codes[::3])  # codes that are not contiguous
    assert strided.tolist() == [names[c] for c in codes[::3].tolist()]
    del got, strided
    assert refs() == before
    with pytest.raises(IndexError, match="codes: 7 is out of range"):
        take_names(names, np.array([1] * 100_000 + [7], dtype=np.uint32))
    assert refs() == before


# ------------------------------------------------------------------ repr, optional packages


def test_read_result_repr_counts_runs_files_kinds_and_corruption(mixed_logdir, tmp_path):
    from tests.support.framing import scalar_file

    res = ferroboard.read(mixed_logdir)
    text = repr(res)
    assert f"{len(res.runs)} runs, {len(res.files)} files" in text
    for kind in ("scalars", "histograms", "images", "audio", "text", "pr_curves"):
        assert f"{kind}={res.record_counts()[kind]}" in text
    # Legacy images, audio and histograms counted as TensorBoard's accumulator counts them.
    for kind, get in (("images", "Images"), ("audio", "Audio"), ("histograms", "Histograms")):
        n = 0
        for run in res.runs:
            ea = _accumulator(mixed_logdir / run)
            n += sum(len(getattr(ea, get)(t)) for t in ea.Tags()[kind])
        assert res.record_counts()[kind] == n > 0, kind
    data, offsets = scalar_file("x", range(5))
    bad = bytearray(data)
    bad[offsets[2] + 14] ^= 0xFF  # inside record 2's payload: its CRC fails
    (tmp_path / "events.out.tfevents.1.x").write_bytes(bytes(bad))
    r = ferroboard.read(tmp_path)
    assert r.corrupt_records == 1
    assert "scalars=4" in repr(r)
    assert "corrupt records: 1" in repr(r)


@pytest.mark.parametrize(
    ("module", "extra", "call"),
    [
        ("pandas", "pandas", lambda p: ferroboard.SummaryReader(p)),
        ("pandas", "pandas", lambda p: fr.scalars_frame(p)),
        ("pyarrow", "arrow", lambda p: fr.scalars_arrow(p)),
        ("polars", "polars", lambda p: fr.scalars_polars(p)),
    ],
)
def test_missing_optional_package_says_what_to_install(
    mixed_logdir, monkeypatch, module, extra, call
):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    with pytest.raises(ModuleNotFoundError) as e:
        call(mixed_logdir)
    assert f"pip install {module}" in str(e.value)
    assert f"pip install 'ferroboard[{extra}]'" in str(e.value)
    assert e.value.name == module
