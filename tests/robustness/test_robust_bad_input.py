"""Bad input, writer side: the tables of invalid calls of tests/support/bad_input.py, one per
method family, across every ``add_*`` of ``SummaryWriter`` and its constructor (a test checks
that every public ``add_*`` has rows). Each raises a clear ``TypeError``/``ValueError`` naming
the argument; afterwards the writer still works and earlier data is intact. Directory and file
names made from user strings never point outside ``log_dir``.

Valid edge cases (NaN and infinite values, negative and extreme int64 steps, empty and NUL
tags, huge text) are accepted, as torch accepts them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ferroboard import SummaryWriter

from tests.support.bad_input import AFTER, CONSTRUCTOR, FAMILIES, METHOD_ROWS, Row, row_id
from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bad_input")
    w = SummaryWriter(root / "run")
    w.add_scalar("before", 1.0, 1)
    w.add_scalars("m", {"a": 1.0}, 1)
    w.add_text("t", "before", 1)
    w.flush()
    yield w
    w.close()


@pytest.mark.parametrize(("family", "row"), METHOD_ROWS, ids=[row_id(r) for _f, r in METHOD_ROWS])
def test_invalid_call_raises_naming_the_argument(
    writer: SummaryWriter, family: str, row: Row
) -> None:
    method, args, kwargs, exc, match = row
    with pytest.raises(exc) as info:
        getattr(writer, method)(*args, **kwargs)
    assert re.search(match, str(info.value)), str(info.value)
    assert len(str(info.value)) < 1000  # clear, not a dump of a 70 KB tag


@pytest.mark.parametrize("row", CONSTRUCTOR, ids=[row_id(r) for r in CONSTRUCTOR])
def test_invalid_constructor_argument(tmp_path: Path, row: Row) -> None:
    _init, args, kwargs, exc, match = row
    kwargs = {"log_dir": tmp_path / "run", **kwargs}
    with pytest.raises(exc) as info:
        SummaryWriter(*args, **kwargs)
    assert re.search(match, str(info.value)), str(info.value)
    assert not all_event_files(tmp_path)


def _public_add_methods() -> set[str]:
    return {
        m
        for m in dir(SummaryWriter)
        if m.startswith("add_") and callable(getattr(SummaryWriter, m))
    }


def test_every_public_method_has_rows_in_its_family_table() -> None:
    """A new ``add_*`` method (or family) fails here until tests/support/bad_input.py has rows
    for it; so does a constructor table left empty."""
    assert len(CONSTRUCTOR) + sum(len(rows) for rows in FAMILIES.values()) >= 60
    assert CONSTRUCTOR
    assert {r[0] for r in CONSTRUCTOR} == {"__init__"}
    covered = {row[0] for _family, row in METHOD_ROWS}
    missing = _public_add_methods() - covered
    assert not missing, f"every add_* needs rows in tests/support/bad_input.py: {sorted(missing)}"
    # Each row's family has a valid call to check the writer after it (tests/test_bad_input.py).
    assert {family for family, _row in METHOD_ROWS} <= set(AFTER)
    # Rows name real methods.
    assert covered <= _public_add_methods()


def test_writer_still_works_and_earlier_data_is_intact(writer: SummaryWriter) -> None:
    # Runs after the table (same module-scoped writer).
    writer.add_scalar("after", 2.0, 2)
    writer.add_scalars("m", {"a": 2.0}, 2)
    writer.add_text("t", "after", 2)
    writer.flush()
    log_dir = Path(writer.log_dir)
    files = all_event_files(log_dir)
    # Nothing was created outside log_dir/run, and only the sub-run the valid calls made.
    assert {f.parent for f in files} == {log_dir, log_dir / "m_a"}
    assert not list(log_dir.parent.glob("escape*"))
    main = [e for e in our_events(log_dir / files[0].name) if e["kind"] == "summary"]
    assert len(tb_loaded_events(files[0])) == len(main) + 1
    got = [(e["values"][0]["tag"], e["step"]) for e in main]
    assert got == [("before", 1), ("t/text_summary", 1), ("after", 2), ("t/text_summary", 2)]
    sub = [e for e in our_events(next(f for f in files if f.parent.name == "m_a"))]
    assert [e["step"] for e in sub if e["kind"] == "summary"] == [1, 2]


def test_absolute_looking_keys_stay_inside_log_dir(tmp_path: Path) -> None:
    # torch joins "{main}_{key}": "/etc/x" becomes the nested directory "m_/etc/x", inside.
    with SummaryWriter(tmp_path / "run") as w:
        w.add_scalars("m", {"/etc/x": 1.0, "./y": 2.0}, 0)
        w.add_scalars("a/b", {"c": 3.0}, 0)
    root = (tmp_path / "run").resolve()
    dirs = {f.parent.resolve() for f in all_event_files(tmp_path)}
    assert all(d == root or root in d.parents for d in dirs), dirs
    assert root / "m_" / "etc" / "x" in dirs
    assert root / "a_b_c" in dirs


VALID: list[tuple[str, tuple]] = [
    ("add_scalar", ("nan", NAN, 0)),
    ("add_scalar", ("inf", INF, 1)),
    ("add_scalar", ("-inf", -INF, 2)),
    ("add_scalar", ("neg_step", 1.0, -5)),
    ("add_scalar", ("min_step", 1.0, -(2**63))),
    ("add_scalar", ("max_step", 1.0, 2**63 - 1)),
    ("add_scalar", ("", 1.0, 3)),
    ("add_scalar", ("nul\0tag", 1.0, 4)),
    ("add_scalar", ("ünïcödé/标签", np.float16(0.5), np.int64(5))),
    ("add_scalar", ("bool", True, torch.tensor(6))),
    ("add_scalar", ("big", 1e308, 7.0)),
    ("add_text", ("huge", "z" * 10_000_000, 8)),
    ("add_text", ("empty", "", 9)),
    ("add_scalars", ("nan", {"a": NAN, "b": -INF}, 10)),
]


def test_valid_edge_cases_are_accepted(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as w:
        for method, args in VALID:
            getattr(w, method)(*args)
    (main,) = [f for f in all_event_files(tmp_path) if f.parent == tmp_path]
    events = [e for e in our_events(main) if e["kind"] == "summary"]
    by_tag: dict[str, Any] = {e["values"][0]["tag"]: e for e in events}
    assert math.isnan(by_tag["nan"]["values"][0]["value"])
    assert by_tag["-inf"]["values"][0]["value"] == -INF
    assert by_tag["min_step"]["step"] == -(2**63)
    assert by_tag["max_step"]["step"] == 2**63 - 1
    assert by_tag["neg_step"]["step"] == -5
    assert "nul\0tag" in by_tag
    assert len(by_tag["huge/text_summary"]["values"][0]["tensor"][0]) == 10_000_000
    assert len(events) == len(VALID) - 1
