"""The suite's property tests never replay examples saved by an earlier run and draw the same
examples on every run (the ``ferroboard`` hypothesis profile of ``tests/conftest.py``), so
`make test` and CI either pass or fail, not one time in twenty; and nothing is written into
the checkout's ``.hypothesis/``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.paths import REPO
from tests.support.processes import child_env

pytestmark = pytest.mark.skipif(
    os.environ.get("HYPOTHESIS_PROFILE", "ferroboard") != "ferroboard",
    reason="another hypothesis profile was asked for",
)


def test_the_profile_has_no_database_and_fixed_examples() -> None:
    s = settings()
    assert s.database is None
    assert s.derandomize
    assert s.print_blob
    assert not s.report_multiple_bugs
    assert s.deadline is None


def test_no_test_file_overrides_the_profile_database_or_seed() -> None:
    for path in (REPO / "tests").rglob("*.py"):
        if path.name != "conftest.py":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\b(database|derandomize)\s*=|@seed\(", text), path


def test_a_failing_property_is_short_repeatable_and_leaves_no_files(tmp_path: Path) -> None:
    """A failing property test, run twice in a fresh directory under this suite's conftest:
    the same minimal example and blob both times, a short report, no ``.hypothesis/``."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tests / "test_prop.py").write_text(
        textwrap.dedent(
            """
            from hypothesis import given, settings, strategies as st

            @settings(max_examples=200, deadline=None)
            @given(st.lists(st.integers()))
            def test_sum(xs):
                assert sum(xs) < 100
            """
        )
    )
    env = child_env()
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    env.pop("HYPOTHESIS_PROFILE", None)
    outputs = []
    for _ in range(2):
        p = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 1, p.stdout + p.stderr
        outputs.append(p.stdout)
    first, second = outputs
    assert "xs=[100]" in first
    blob = re.search(r"@reproduce_failure\(.*?\)", first)
    assert blob
    assert blob.group(0) in second
    report = first[first.index("= FAILURES =") : first.index("short test summary")]
    assert len(report.splitlines()) < 30, report
    assert not (tmp_path / ".hypothesis").exists()
    assert not (tests / ".hypothesis").exists()
