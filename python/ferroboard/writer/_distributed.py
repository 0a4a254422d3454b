"""``get_rank``: this process's rank in a distributed job, to choose ``log_dir`` or
``write_to_disk`` by."""

from __future__ import annotations

import os
import sys


def get_rank() -> int:
    """This process's rank in its distributed job: ``torch.distributed.get_rank()`` once
    ``torch.distributed`` is initialised, else the ``RANK`` environment variable (set by
    ``torchrun`` and most launchers), else 0. Never imports torch.

    For the two usual ways to log from a distributed job::

        # one run, written by rank 0 only (the other ranks validate and drop their calls)
        writer = SummaryWriter(log_dir, write_to_disk=ferroboard.get_rank() == 0)
        # one run per rank: log_dir/rank0, log_dir/rank1, ...
        writer = SummaryWriter(os.path.join(log_dir, f"rank{ferroboard.get_rank()}"))
    """
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    value = os.environ.get("RANK", "").strip()
    if not value:
        return 0
    try:
        rank = int(value)
    except ValueError:
        raise ValueError(
            f"the RANK environment variable must be a non-negative integer, got {value!r}"
        ) from None
    if rank < 0:
        raise ValueError(
            f"the RANK environment variable must be a non-negative integer, got {rank}"
        )
    return rank
