"""atheris fuzz target: ``ferroboard.iter_events`` and ``ferroboard.reader.read`` over arbitrary
file contents.

Run by ``test_robust_hostile_files.py`` for a short time; for a longer campaign:
``python tests/robustness/fuzz_iter_events_atheris.py -max_total_time=3600 CORPUS_DIR``.
Only ``OSError`` and ``ValueError`` may escape; anything else (or a crash) is a finding: add the
input to ``tests/data/regressions/``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import ferroboard
    import ferroboard.reader

_fd, _PATH = tempfile.mkstemp(suffix=".tfevents")
os.close(_fd)


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as f:
        f.write(data)
    try:
        for event in ferroboard.iter_events(_PATH):
            assert isinstance(event, dict)
            assert event["kind"]
    except (OSError, ValueError):
        pass
    for strict in (False, True):
        try:
            res = ferroboard.reader.read(_PATH, strict=strict)
            res.tag_summary()
            for kind in ("tensors", "histograms", "text", "pr_curves"):
                res.records(kind)
        except (OSError, ValueError):  # CorruptRecordError is an OSError
            pass


def main() -> None:
    try:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
    finally:
        os.unlink(_PATH)


if __name__ == "__main__":
    main()
