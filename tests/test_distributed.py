"""Several processes of one torch.distributed job (gloo, env:// rendezvous on 127.0.0.1) logging
to one logdir: one event file per process (its pid in the name), every record of every rank
read back whole by ferroboard's reader and by TensorBoard's EventAccumulator; and the two
usual layouts, rank 0 only (write_to_disk=) and one run per rank, through ferroboard.get_rank().
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import ferroboard
import pytest
import torch.distributed as dist
from tensorboard.backend.event_processing import event_accumulator

STEPS = 300

WORKER = textwrap.dedent(
    """
    import json, os, sys
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    import ferroboard
    from ferroboard import SummaryWriter

    root, steps = sys.argv[1], int(sys.argv[2])
    dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
    rank, world = ferroboard.get_rank(), dist.get_world_size()
    assert rank == dist.get_rank() == int(os.environ["RANK"])

    # All ranks into one run (one event file each), rank 0 only, and one run per rank.
    shared = SummaryWriter(os.path.join(root, "shared"))
    zero = SummaryWriter(os.path.join(root, "zero"), write_to_disk=ferroboard.get_rank() == 0)
    own = SummaryWriter(os.path.join(root, "per_rank", f"rank{ferroboard.get_rank()}"))
    t = torch.zeros(1, dtype=torch.float64)
    for step in range(steps):
        local = rank * 1000 + step
        t.fill_(local)
        dist.all_reduce(t)  # the sum over ranks, as a training loop would average a loss
        shared.add_scalar(f"rank{rank}/x", local, step)
        shared.add_text(f"rank{rank}/note", f"rank {rank} step {step}", step)
        zero.add_scalar("loss", t.item(), step)
        own.add_scalar("x", local, step)
    files = {
        k: None if w._event_file is None else str(w._event_file)
        for k, w in [("shared", shared), ("per_rank", own), ("zero", zero)]
    }
    for w in (shared, zero, own):
        w.close()
    dist.barrier()
    dist.destroy_process_group()
    print(json.dumps({"rank": rank, "pid": os.getpid(), "files": files}))
    """
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(root: Path, world: int) -> tuple[list[dict], Path]:
    """Runs WORKER as ``world`` ranks; returns each rank's report, by rank. A port taken
    between choosing it and rank 0 listening on it (another process won the race) means a
    new port and a fresh directory, up to three times."""
    for attempt in range(3):
        logdir = root if attempt == 0 else root.with_name(f"{root.name}-retry{attempt}")
        try:
            return _run_job_once(logdir, world), logdir
        except _PortTaken:
            continue
    raise AssertionError("no free port for the rendezvous in three tries")


class _PortTaken(Exception):
    pass


def _run_job_once(root: Path, world: int) -> list[dict]:
    port = free_port()
    procs = []
    for rank in range(world):
        env = dict(
            os.environ,
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world),
            GLOO_SOCKET_IFNAME="lo",
            OMP_NUM_THREADS="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(root), str(STEPS)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    reports = []
    try:
        for rank, proc in enumerate(procs):
            out, err = proc.communicate(timeout=240)
            if proc.returncode != 0 and "address already in use" in err.lower():
                raise _PortTaken
            assert proc.returncode == 0, f"rank {rank} failed:\n{err}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return reports


def accumulate(path: Path) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(
        str(path),
        size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0},
    )
    acc.Reload()
    return acc


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_ranks_log_to_one_logdir(tmp_path, world):
    reports, logdir = run_job(tmp_path, world)
    assert [r["rank"] for r in reports] == list(range(world))
    hostname = socket.gethostname()

    # One event file per process in the shared run, its pid (and the per-process counter)
    # in the name: no clash.
    shared = sorted(p.name for p in (logdir / "shared").iterdir())
    assert len(shared) == world
    for report in reports:
        name = os.path.basename(report["files"]["shared"])
        assert name in shared
        m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)", name)
        assert m, name
        assert m.group(2) == hostname
        assert int(m.group(3)) == report["pid"]
    assert len({r["pid"] for r in reports}) == world

    steps = list(range(STEPS))
    expected_sum = [1000 * world * (world - 1) // 2 + world * s for s in steps]

    # TensorBoard's reader: every record of every rank, whole.
    acc = accumulate(logdir / "shared")
    for r in range(world):
        events = acc.Scalars(f"rank{r}/x")
        assert [e.step for e in events] == steps
        assert [e.value for e in events] == [r * 1000 + s for s in steps]
        texts = acc.Tensors(f"rank{r}/note/text_summary")  # torch's tag for add_text
        assert [t.tensor_proto.string_val[0].decode() for t in texts] == [
            f"rank {r} step {s}" for s in steps
        ]
    zero = accumulate(logdir / "zero")
    assert [(e.step, e.value) for e in zero.Scalars("loss")] == list(zip(steps, expected_sum))
    for r in range(world):
        own = accumulate(logdir / "per_rank" / f"rank{r}")
        assert [(e.step, e.value) for e in own.Scalars("x")] == [(s, r * 1000 + s) for s in steps]

    # Only rank 0 wrote the rank-0-only run; the other ranks wrote no file there.
    assert len(list((logdir / "zero").iterdir())) == 1
    assert reports[0]["files"]["zero"] is not None
    assert all(r["files"]["zero"] is None for r in reports[1:])

    # ferroboard's reader: the same records.
    got = ferroboard.read_scalars(logdir)
    rows = sorted(
        zip(got["run"].tolist(), got["tag"].tolist(), got["step"].tolist(), got["value"].tolist())
    )
    expected = sorted(
        [("shared", f"rank{r}/x", s, float(r * 1000 + s)) for r in range(world) for s in steps]
        + [("zero", "loss", s, float(v)) for s, v in zip(steps, expected_sum)]
        + [(f"per_rank/rank{r}", "x", s, float(r * 1000 + s)) for r in range(world) for s in steps]
    )
    assert rows == expected


@pytest.fixture
def no_process_group():
    assert not dist.is_initialized()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_get_rank_from_environment(monkeypatch, no_process_group):
    monkeypatch.delenv("RANK", raising=False)
    assert ferroboard.get_rank() == 0
    monkeypatch.setenv("RANK", "3")
    assert ferroboard.get_rank() == 3
    monkeypatch.setenv("RANK", " 2 ")
    assert ferroboard.get_rank() == 2


@pytest.mark.parametrize("value", ["x", "-1", "1.5"])
def test_get_rank_bad_environment(monkeypatch, no_process_group, value):
    monkeypatch.setenv("RANK", value)
    with pytest.raises(ValueError, match="RANK environment variable"):
        ferroboard.get_rank()


def test_get_rank_prefers_initialised_process_group(monkeypatch, no_process_group):
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1
    )
    assert ferroboard.get_rank() == 0
    dist.destroy_process_group()
    assert ferroboard.get_rank() == 5
