"""``ferroboard plot``: PNG and SVG of the expected size, and a self-contained HTML page holding
every point of the chosen tags, as TensorBoard's accumulator reads them."""

from __future__ import annotations

import io
import json
import math
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from ferroboard.cli import main as cli_main
from ferroboard.cli.plot import smooth


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ferroboard import SummaryWriter  # torch's bytes; TensorBoard's accumulator judges

    root = tmp_path_factory.mktemp("plot") / "logs"
    for run, shift in (("a", 0.0), ("b", 0.5)):
        w = SummaryWriter(root / run)
        for s in range(40):
            w.add_scalar("train/loss", 1.0 / (s + 1) + shift, s)
            w.add_scalar("train/acc", math.sin(s / 4) + shift, s)
            w.add_scalar("val/loss", float("nan") if s == 7 else s * 0.1, s)
        w.close()
    return root


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(["plot", *argv])
    return code, out.getvalue(), err.getvalue()


def tb_scalars(root: Path) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(run, tag) -> [(step, value)] as TensorBoard's accumulator reads them."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    out = {}
    for run in sorted(p.name for p in root.iterdir()):
        acc = pea.EventAccumulator(str(root / run), size_guidance={pea.TENSORS: 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            out[(run, tag)] = [
                (e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)
            ]
    return out


def test_png_has_the_size_asked_for_and_one_panel_per_tag(logdir: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "p.png"
    code, text, _ = run_cli(str(logdir), "-o", str(out), "--size", "640x480")
    assert code == 0
    assert "3 tags, 6 series" in text
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (640, 480)
    # Default: 420 x 300 pixels per panel, at most 3 per row.
    code, _, _ = run_cli(str(logdir), "-o", str(out), "--tag", "train/*")
    with Image.open(out) as im:
        assert im.size == (840, 300)
        pixels = np.asarray(im.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # something was drawn


def test_svg_is_svg(logdir: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "p.svg"
    assert run_cli(str(logdir), "-o", str(out), "--run", "a")[0] == 0
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert "train/acc" in out.read_text()


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.data = ""
        self.urls: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._in_data = tag == "script" and a.get("id") == "ferroboard-data"
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k] or "")
        assert tag != "link"

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data += data

    def handle_endtag(self, tag: str) -> None:
        self._in_data = False


def test_html_is_self_contained_and_holds_every_point(logdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    code, _, _ = run_cli(str(logdir), "-o", str(out), "--tag", "*loss", "--smoothing", "0.3")
    assert code == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.urls == []  # nothing fetched: no src, no href
    data = json.loads(page.data)
    assert data["smoothing"] == 0.3
    got = {
        (r["run"], t["tag"]): list(
            zip(r["steps"], [float(v) if isinstance(v, str) else v for v in r["values"]])
        )
        for t in data["tags"]
        for r in t["runs"]
    }
    want = {k: v for k, v in tb_scalars(logdir).items() if k[1].endswith("loss")}
    assert got.keys() == want.keys()
    for k in want:
        assert len(got[k]) == len(want[k])
        for (s1, v1), (s2, v2) in zip(got[k], want[k]):
            assert s1 == s2
            assert v1 == v2 or (math.isnan(v1) and math.isnan(v2))
    assert any(v == "nan" for t in data["tags"] for r in t["runs"] for v in r["values"])


def test_smoothing_is_tensorboards() -> None:
    # TensorBoard's formula by hand: last = last * w + (1 - w) * v, over 1 - w ** n.
    assert smooth(np.array([1.0, 0.0]), 0.5).tolist() == [1.0, pytest.approx(0.25 / 0.75)]
    assert smooth(np.array([2.0, 2.0, 2.0]), 0.9).tolist() == [2.0, 2.0, 2.0]  # constant
    got = smooth(np.array([1.0, float("nan"), 3.0]), 0.5)
    assert got[0] == 1.0
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(1.75 / 0.75)
    assert smooth(np.array([1.0, 5.0]), 0.0).tolist() == [1.0, 5.0]


def test_png_without_matplotlib_says_what_to_install(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run_cli(str(logdir), "-o", str(tmp_path / "p.png"))
    assert code == 2
    assert "pip install matplotlib" in err
    # HTML needs nothing.
    assert run_cli(str(logdir), "-o", str(tmp_path / "p.html"))[0] == 0
    assert not os.path.exists(tmp_path / "p.png")


def test_bad_arguments(logdir: Path, tmp_path: Path) -> None:
    err = io.StringIO()
    with redirect_stderr(err):
        assert cli_main(["plot", str(logdir), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "-o" in err.getvalue()
    code, text, _ = run_cli(str(logdir), "-o", str(tmp_path / "x.html"), "--tag", "nope")
    assert code == 2
    assert "no scalars" in text


def test_size_must_be_positive(logdir: Path, tmp_path: Path) -> None:
    # A clear usage error naming --size, not matplotlib's "Singular matrix".
    for size in ("0x0", "640x0", "0x480", "100x-5", "10x20x30"):
        out = tmp_path / "x.png"
        code, _, err = run_cli(str(logdir), "-o", str(out), "--size", size)
        assert code == 2, size
        assert err == f"ferroboard plot: --size: expected WxH in pixels, got {size!r}\n", size
        assert not out.exists()
