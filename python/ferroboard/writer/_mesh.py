"""``add_mesh``: the mesh method of ``SummaryWriter``.

Checked and converted in Rust (``ferroboard_core::summary::mesh``); the event is built on the
writer's thread. torch's tags, plugin metadata and values, with each part in the dtype
TensorBoard's mesh plugin serves (float32 vertices, int32 faces, uint8 colors) where torch
writes every part as float. Every part is ``(B, N, 3)``; colors one per vertex; faces whole
vertex indices; colors within [0, 255]; otherwise ``ValueError``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import _inputs
from .._native import PendingEvent, mesh_event


def _part(value: Any, name: str) -> Optional[np.ndarray]:
    if value is None:
        return None
    arr, enc = _inputs.to_numpy(value, name)
    return _inputs.as_float64(arr, enc).reshape(arr.shape)


def json_config(config_dict: Any) -> str:
    """torch's ``_get_json_config``: ``json.dumps`` with sorted keys, ``"{}"`` for ``None``."""
    if config_dict is None:
        return "{}"
    try:
        return json.dumps(config_dict, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"config_dict: expected a JSON-serializable dict ({e})") from e


class MeshMethods:
    """The mesh method of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: Any = None,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds a mesh or point cloud, as torch's ``add_mesh``.

        Args:
            tag: Data identifier.
            vertices: ``(B, N, 3)`` coordinates.
            colors: ``(B, N, 3)`` colors within [0, 255], one per vertex (optional).
            faces: ``(B, F, 3)`` vertex indices of each triangle (optional).
            config_dict: Three.js scene configuration (JSON-serializable dict).
            global_step: Global step value to record.
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ValueError: shapes that disagree, non-finite vertices, faces that are not vertex
                indices, colors outside [0, 255].
            TypeError: not arrays of real numbers, or a ``config_dict`` JSON cannot encode.
        """
        v = _part(vertices, "vertices")
        if v is None:
            raise TypeError("vertices: expected an array of shape (B, N, 3), got None")
        c = _part(colors, "colors")
        f = _part(faces, "faces")
        config = json_config(config_dict)
        self._write_pending(mesh_event(tag, v, c, f, config, global_step, walltime))
