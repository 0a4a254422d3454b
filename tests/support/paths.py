"""Where the checkout is."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"  # the package's source tree (put first on a child's PYTHONPATH)
