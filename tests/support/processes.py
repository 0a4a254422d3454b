"""Children: code run in a fresh interpreter that imports this checkout's ferroboard."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

from tests.support.paths import PYTHON_DIR


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Children start with SIGINT raising KeyboardInterrupt, as under an interactive shell, even when
# this test process ignores SIGINT: a backgrounded `make test &` from a non-interactive shell
# starts pytest with SIGINT ignored, ignored dispositions survive exec, and Python then leaves
# SIGINT ignored, so the tests that send SIGINT would wait for a child that never reacts. Done in
# the child's own first line rather than by a ``preexec_fn`` (not safe in a process with threads,
# and this one has the writers' and the reader's threads).
SIGINT_DEFAULT = "import signal as _s; _s.signal(_s.SIGINT, _s.default_int_handler); del _s\n"


def child_argv(code: str, *args: str) -> list[str]:
    """The command line running ``code`` in a fresh interpreter, SIGINT at its default."""
    return [sys.executable, "-c", SIGINT_DEFAULT + textwrap.dedent(code), *args]


def run_child(
    code: str, *args: str, timeout: float = 60, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter (ferroboard importable), with a hard timeout."""
    return subprocess.run(
        child_argv(code, *args),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def popen_child(code: str, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        child_argv(code, *args),
        env=child_env(),
        text=True,
        **kw,
    )
