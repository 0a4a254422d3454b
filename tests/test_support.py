"""The suite's own helpers (tests/support/) against the judges: the CRC32C oracle and frame()
against TensorBoard's record code, and the vendored TensorFlow-written fixture is there."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from tests.support.framing import crc32c, frame, header_event, masked_crc, scalar_event
from tests.support.judges import tb_events
from tests.support.logdirs import TF_FIXTURES, event_files


def test_crc32c_check_value():
    # The CRC-32C (Castagnoli) check value of the nine ASCII digits (RFC 3720, B.4).
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_masked_crc_equals_tensorboards(data):
    assert masked_crc(data) == masked_crc32c(data)


def test_frame_is_read_by_tensorboard(tmp_path):
    path = tmp_path / "events.out.tfevents.1.hand"
    path.write_bytes(frame(header_event(5.0)) + frame(scalar_event("loss", -3, 0.25, 6.0)))
    header, scalar = tb_events(path)
    assert (header.wall_time, header.file_version) == (5.0, "brain.Event:2")
    assert (scalar.wall_time, scalar.step) == (6.0, -3)
    (value,) = scalar.summary.value
    assert (value.tag, value.simple_value) == ("loss", 0.25)


def test_the_tensorflow_written_fixture_is_vendored():
    """tests/data/tf2-written is part of the checkout, not an optional download: the tests that
    read it fail (never skip) without it, and this one says why."""
    runs = event_files(TF_FIXTURES)
    assert set(runs) >= {"train", "eval", "graph", "tf1", "hparams/trial0", "hparams/trial1"}, (
        f"{TF_FIXTURES} is missing or incomplete (see its README): {sorted(runs)}"
    )
    for files in runs.values():
        assert all(len(tb_events(f)) > 1 for f in files)
