"""Killed-run driver: forks a logging child per trial and SIGKILLs it at a random moment.

Usage: ``python kill_driver.py OUT_DIR TRIALS SEED``. Prints one JSON line per trial:
``{"trial", "dir", "flushed", "delay"}`` where ``flushed`` is the number of records (after the
header) that the child had added before the last ``flush()`` it saw return (the child reports
it through a pipe right after ``flush()`` returns, so the figure can only err low).

The child logs record ``i`` (``i = 0, 1, 2, ...``) with ``global_step=i``, cycling through the
summary kinds it has: scalars (tag ``s``, value ``i``), text (tag ``t``, see ``text_for``) and,
once ferroboard has them, histograms (tag ``h``, ``histo_values(i)``). It logs in bursts with
short sleeps so that each trial's file stays small, and calls ``flush()`` every few records.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time


def text_for(i: int) -> str:
    """Record i's text: mostly short, sometimes 8 KiB (several pages, partial writes)."""
    n = 8192 if i % 97 == 13 else (i * 7919) % 200
    return f"t{i}:" + "é" * n


def histo_values(i: int) -> list[float]:
    return [float((i * k) % 17) - 8.0 for k in range(1 + i % 50)]


def kinds(writer: object) -> list[str]:
    out = ["scalar", "text"]
    if hasattr(writer, "add_histogram"):
        out.append("histogram")
    return out


def kind_of(i: int, kinds_: list[str]) -> str:
    return kinds_[i % len(kinds_)]


def child(out_dir: str, wfd: int, seed: int) -> None:
    from ferroboard import SummaryWriter

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    rng = random.Random(seed)
    w = SummaryWriter(out_dir)
    ks = kinds(w)
    i = 0
    next_flush = rng.randint(1, 200)
    while True:
        for _ in range(rng.randint(1, 40)):
            k = kind_of(i, ks)
            if k == "scalar":
                w.add_scalar("s", float(i), global_step=i)
            elif k == "text":
                w.add_text("t", text_for(i), global_step=i)
            else:
                w.add_histogram("h", histo_values(i), global_step=i)
            i += 1
            if i >= next_flush:
                w.flush()
                os.write(wfd, f"{i}\n".encode())
                next_flush = i + rng.randint(1, 200)
        time.sleep(rng.random() * 0.002)


def main() -> None:
    import ferroboard  # noqa: F401 - loaded once here, inherited by every forked child

    out_root, trials, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    for t in range(trials):
        trial_dir = os.path.join(out_root, f"trial{t:04d}")
        r, w = os.pipe()
        delay = rng.random() * 0.12
        child_seed = rng.randrange(2**32)
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                child(trial_dir, w, child_seed)
            finally:
                os._exit(3)
        os.close(w)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        lines = b"".join(chunks).decode().split("\n")
        complete = [int(x) for x in lines[:-1] if x]  # the last piece may be cut short
        flushed = max(complete, default=0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print(
            json.dumps(
                {
                    "trial": t,
                    "dir": trial_dir,
                    "flushed": flushed,
                    "delay": delay,
                    "killed": killed,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
