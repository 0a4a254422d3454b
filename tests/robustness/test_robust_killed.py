"""Killed runs: a child logging scalars, text (and histograms, once ferroboard has them) is
SIGKILLed at a random moment, 200 times. Every record added before the last ``flush()`` that
returned must be readable, by our reader and by TensorBoard's; the file must be whole records
plus at most one incomplete record at its tail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ferroboard
import pytest
from kill_driver import histo_values, kind_of, text_for

from tests.support.framing import scan_raw
from tests.support.judges import tb_loaded_events
from tests.support.logdirs import all_event_files
from tests.support.processes import child_env

TRIALS = int(os.environ.get("FERROBOARD_KILL_TRIALS", "200"))
DRIVER = Path(__file__).with_name("kill_driver.py")


def check_trial(trial: dict, kinds: list[str]) -> tuple[int, int, bool]:
    """Checks one trial's directory; returns (records found, incomplete tail bytes, had file)."""
    files = all_event_files(trial["dir"])
    if not files:
        # Killed before the writer created its file: nothing can have been flushed.
        assert trial["flushed"] == 0, trial
        return 0, 0, False
    assert len(files) == 1, files
    path = files[0]
    data = path.read_bytes()
    raw = scan_raw(data, check_payload_crc=False)
    assert raw.problem is None, (trial, raw.problem)

    it = ferroboard.iter_events(path)
    events = list(it)
    assert it.corrupt_records == 0, trial
    assert len(events) == len(raw.payloads), trial
    if raw.tail:
        assert it.truncated == len(data) - raw.tail, trial
    else:
        assert it.truncated is None, trial
    if not events:  # killed while writing the header
        assert trial["flushed"] == 0, trial
        return 0, raw.tail, True
    assert events[0]["kind"] == "file_version"
    records = events[1:]
    # Exactly records 0, 1, ..., n-1 in order: no gap, no duplicate, no garbage.
    assert [e["step"] for e in records] == list(range(len(records))), trial
    assert len(records) >= trial["flushed"], trial
    for i, e in enumerate(records):
        (v,) = e["values"]
        kind = kind_of(i, kinds)
        if kind == "scalar":
            assert (v["tag"], v["value"]) == ("s", float(i))
        elif kind == "text":
            assert v["tag"] == "t/text_summary"
            assert v["tensor"].tolist() == [text_for(i).encode()]
        else:
            assert v["tag"] == "h"
            assert v["num"] == len(histo_values(i))

    # TensorBoard's own loader (pure-Python CRC checks) sees the same records.
    tb = tb_loaded_events(path)
    assert len(tb) == len(events), trial
    assert [e.step for e in tb[1:]] == list(range(len(records)))
    return len(records), raw.tail, True


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_flushed(tmp_path: Path, robust_report) -> None:
    from ferroboard import SummaryWriter
    from kill_driver import kinds as kinds_of

    kinds = kinds_of(SummaryWriter)
    start = time.monotonic()
    trials = expected = found = tails = with_file = 0
    with subprocess.Popen(
        [sys.executable, str(DRIVER), str(tmp_path), str(TRIALS), "20261123"],
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:  # verify each trial while the driver runs the next ones
                trial = json.loads(line)
                assert trial["killed"], trial
                n, tail, had = check_trial(trial, kinds)
                trials += 1
                expected += trial["flushed"]
                found += n
                tails += tail > 0
                with_file += had
        finally:
            proc.kill()
    elapsed = time.monotonic() - start
    summary = (
        f"killed runs: {trials} trials (SIGKILL), kinds {'+'.join(kinds)}: "
        f"{expected} records flushed before the kill, all found; {found} records readable "
        f"in total (TensorBoard's loader agrees on every file); {tails} files ended in one "
        f"incomplete record, {trials - with_file} trials were killed before the file existed; "
        f"{elapsed:.1f} s"
    )
    robust_report(summary)
    assert trials == TRIALS
    assert found >= expected
