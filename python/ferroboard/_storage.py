"""Where logdirs live, as the core's storage layer sees them: local paths and ``s3://`` URLs.

Every reader entry point asks here instead of ``os.path``, so an ``s3://bucket/prefix`` is a
directory like a local one, and a URL scheme the core does not support (``gs://``,
``hdfs://``, ...) is a ``ValueError`` instead of a missing local folder named ``gs:``.
"""

from __future__ import annotations

import os
from typing import Literal, Union

from ._native import storage_kind

PathLike = Union[str, "os.PathLike[str]"]


def path_kind(path: PathLike) -> Literal["file", "dir", "missing"]:
    """``"file"``, ``"dir"`` or ``"missing"`` (ValueError for an unsupported URL scheme)."""
    return storage_kind(os.fspath(path))


def exists(path: PathLike) -> bool:
    """Whether ``path`` names a file or a directory (an object or a prefix)."""
    return path_kind(path) != "missing"


def isdir(path: PathLike) -> bool:
    """Whether ``path`` is a directory (a prefix with objects under it, or a bucket)."""
    return path_kind(path) == "dir"


def isfile(path: PathLike) -> bool:
    """Whether ``path`` is a file (an object)."""
    return path_kind(path) == "file"
