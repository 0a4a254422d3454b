"""``add_embedding``: the projector method of ``SummaryWriter``.

The files are torch's, laid out as torch lays them out under ``log_dir``
(``{global_step:05d}/{tag}/tensors.tsv``, ``metadata.tsv``, ``sprite.png``, and
``projector_config.pbtxt`` listing every embedding the writer logged); TensorBoard's projector
shows them as it shows torch's. Encoding (the TSV text, the sprite's PNG, the config's text)
and the file writes run in Rust (``ferroboard_core::summary::embedding``) with the GIL
released; no TensorFlow, no ``tf.io.gfile``. Like torch, no event is written.

Where ferroboard differs from torch, on purpose:

* **Nothing half-written**: every file is written to a temporary name and renamed into place,
  the embedding's files before the config, so a failed write leaves no config entry pointing
  at missing or partial files (torch appends to the config in memory first and writes files
  in place).
* **Checked first**: ``mat`` must be 2-D with at least one row and column; ``metadata`` as
  many labels as rows (rows of as many values as ``metadata_header`` has names);
  ``label_img`` ``(N, C, H, W)`` with ``C`` 1 or 3; labels may not contain tabs or line
  breaks; a ``metadata_header`` needs two names or more (TensorBoard reads a first line
  without a tab as a label). ``ValueError``/``TypeError`` naming the argument, nothing
  written. torch checks some of these with ``assert``-like errors after writing other files.
* **The same tag and step again** replaces that embedding's entry in the config (torch adds a
  second entry with the same name, which TensorBoard ignores) and warns as torch does.
* **uint8 label images** are taken as 0..255 pixels (as ``add_image`` takes them); torch
  multiplies them by 255 too, so every non-zero pixel becomes white. Other dtypes are
  scaled as torch scales them.
* **label_img** may be a numpy array (torch requires a tensor), and bfloat16 values are
  written exactly (torch rounds ``mat`` to float16 first); a boolean ``mat`` is written as 0
  and 1 (torch writes ``True``, which TensorBoard cannot read); tensor labels are written as
  numpy shows their values (``3``, where torch writes ``tensor(3)``).
* **write_to_disk=False** checks and encodes, and writes nothing; with **fsync=True**, every
  file is on the storage device before ``add_embedding`` returns.
* **A resumed run** (a new writer on a ``log_dir`` with a config) keeps the embeddings listed
  there; torch starts a new config with each writer.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any, Optional

from .. import _inputs
from .._native import Projector

_PROJECTOR_LOCK = threading.Lock()


class EmbeddingMethods:
    """The embedding method of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:
        log_dir: str  # SummaryWriter's
        _write_to_disk: bool
        _fsync: bool

        def _open(self) -> None: ...  # NativeWriter's

    _projector: Optional[Projector] = None

    def _get_projector(self) -> Projector:
        with _PROJECTOR_LOCK:
            if self._projector is None:
                self._projector = Projector(self.log_dir, self._fsync)
            return self._projector

    def add_embedding(
        self,
        mat: Any,
        metadata: Any = None,
        label_img: Any = None,
        global_step: Optional[int] = None,
        tag: str = "default",
        metadata_header: Any = None,
    ) -> None:
        """Adds embedding projector data, as torch's ``add_embedding``.

        Args:
            mat: A matrix ``(N, D)``, each row the feature vector of a point (numpy array,
                torch tensor or nested sequence; any real dtype).
            metadata: A list of ``N`` labels, each converted with ``str``; with
                ``metadata_header``, ``N`` rows of values, one per header name.
            label_img: Images ``(N, C, H, W)`` for the points, ``C`` 1 or 3: uint8 pixels, or
                floats in ``[0, 1]`` (scaled by 255 as torch does).
            global_step: Global step value to record (``None`` is 0, as in torch).
            tag: Name for the embedding.
            metadata_header: Column names of multi-column ``metadata`` (two or more).

        Raises:
            ValueError, TypeError: bad input (naming the argument); nothing is written.
            OSError: a file could not be written; the config has no entry for it.
        """
        arr, enc = _inputs.embedding_matrix(mat)
        labels: Any = None
        header = None
        if metadata is not None:
            labels, header = _inputs.embedding_metadata(metadata, metadata_header)
        img = img_enc = None
        scale = True
        if label_img is not None:
            img, img_enc, scale = _inputs.label_images(label_img)
        step = 0 if global_step is None else global_step
        replaced = self._get_projector().add(
            arr,
            enc,
            labels,
            header,
            img,
            img_enc,
            scale,
            step,
            tag,
            self._write_to_disk,
        )
        if replaced:
            warnings.warn(
                f"add_embedding: an embedding with tag {tag!r} and step {step} was already "
                "logged; its files and config entry are replaced (did you set global_step?)",
                stacklevel=2,
            )
        # torch's _get_file_writer(): a closed writer reopens (its run keeps an event file,
        # which is how TensorBoard finds the run's projector config).
        self._open()
