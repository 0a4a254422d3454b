"""A real ``tensorboard --logdir`` server on a loopback port, for tests of its HTTP API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


class TensorBoardServer:
    """A real `tensorboard --logdir` process on a free loopback port."""

    def __init__(self, logdir: Path, log_path: Path, load_fast: str = "true") -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        tb = Path(sys.executable).with_name("tensorboard")
        self.proc = subprocess.Popen(
            [
                str(tb),
                "--logdir",
                str(logdir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--load_fast",
                load_fast,
                "--reload_interval",
                "1",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )

    def get(self, route: str, **params: str) -> Any:
        assert self.proc.poll() is None, self.log_path.read_text()
        return _get(f"{self.base}{route}?{urllib.parse.urlencode(params)}")

    def wait_for(
        self, route: str, ready: Callable[[Any], bool], timeout: float = 90, **params: str
    ) -> Any:
        """Polls ``route`` until ``ready(answer)`` holds; returns the answer."""
        deadline = time.monotonic() + timeout
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = self.get(route, **params)
                if ready(answer):
                    return answer
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"{route} {params} never ready: {answer}\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def get_bytes(self, route: str, **params: str) -> bytes:
        """The raw body of ``route`` (images, audio, graph data)."""
        assert self.proc.poll() is None, self.log_path.read_text()
        url = f"{self.base}{route}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return bytes(r.read())
