"""Fixtures and pytest hooks of the whole suite, and its hypothesis settings (``make test``, CI,
a plain ``pytest``): see ``_hypothesis_profiles`` below. Helpers live in ``tests/support/``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import Verbosity, settings

# Hypothesis keeps its other files (caches, patch files for failing examples) in
# $HYPOTHESIS_STORAGE_DIRECTORY, by default ``.hypothesis/`` in the working directory: keep them out
# of the checkout. Read by hypothesis when it first needs the directory, i.e. after this import.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(tempfile.gettempdir(), f"ferroboard-hypothesis-{os.getuid()}"),
)


def _hypothesis_profiles() -> None:
    """Registers and loads the suite's hypothesis profile.

    ``ferroboard`` (the default, for ``make test``, CI and plain ``pytest``): the same examples on
    every run (``derandomize=True``, seeded from each test's source) and no example database, so
    a run never replays a failure saved by an earlier run and one machine's result is every
    machine's: the suite either passes or fails, never one time in twenty. A failure prints one
    minimal falsifying example (``report_multiple_bugs=False``), the ``@reproduce_failure`` blob
    and a short traceback (see ``pytest_runtest_makereport``). No deadline: timing is not a test
    result here (a loaded 2-core machine would make deadlines flaky).

    ``explore`` (opt-in: ``HYPOTHESIS_PROFILE=explore make test`` or ``pytest
    --hypothesis-profile=explore``): new random examples each run, to look for bugs; failures are
    kept in memory only (shrunk and replayed within the run) and reported with the blob to paste
    as ``@reproduce_failure(...)``; add the example to the test as an ``@example`` to keep it.

    Per-test ``@settings(...)`` in the suite set only ``max_examples``, ``deadline`` and
    ``suppress_health_check``; everything else (the database above all) comes from this profile,
    which is loaded before any test module is imported.
    """
    from hypothesis.database import InMemoryExampleDatabase

    common = {
        "deadline": None,
        "print_blob": True,
        "report_multiple_bugs": False,
        "verbosity": Verbosity.normal,
    }
    settings.register_profile("ferroboard", derandomize=True, database=None, **common)
    settings.register_profile(
        "explore", derandomize=False, database=InMemoryExampleDatabase(), **common
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ferroboard"))


_hypothesis_profiles()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failing property test's report is short: hypothesis's falsifying example and blob, and
    ``--tb=short`` frames (unless ``--tb`` was given explicitly)."""
    outcome = yield
    rep = outcome.get_result()
    short_repr = getattr(item, "_repr_failure_py", None)  # what --tb uses; absent: no change
    if (
        rep.failed
        and call.excinfo is not None
        and rep.when == "call"
        and short_repr is not None
        and getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        and item.config.getoption("tbstyle", "auto") == "auto"
    ):
        rep.longrepr = short_repr(call.excinfo, style="short")


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d
