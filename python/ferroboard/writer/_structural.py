"""``add_hparams`` and ``add_custom_scalars`` (with its two shorthands), and torch's
``FileWriter`` surface on the writer itself (``add_summary``, ``add_event``): the structural
summaries of ``SummaryWriter``.

The summaries are built in Rust (``ferroboard_core::summary::hparams`` and
``::custom_scalars``) from the values ``ferroboard._inputs`` adapts; every check runs before
anything is written, so a refused call writes nothing.

Where ferroboard differs from torch, on purpose:

* **add_hparams** types booleans as booleans (``DATA_TYPE_BOOL``, ``bool_value``); torch
  writes them as the numbers 1.0 and 0.0 (``DATA_TYPE_FLOAT64``), so TensorBoard shows them
  as numbers and filters them as intervals. Values may be numpy scalars and one-element
  tensors or arrays of any shape (torch raises ``IndexError`` for a 0-d tensor, takes the
  first element of a larger one, and refuses numpy's ``float32`` and ``bool_``); a larger
  tensor is a ``ValueError``. An unsupported type is a ``TypeError`` naming the key (torch: a
  ``ValueError`` naming no key). ``hparam_domain_discrete`` applies to every value type
  (torch drops it for tensors) and is checked: its keys are keys of ``hparam_dict``, its
  values of the hyperparameter's kind (``TypeError``), and the logged value one of them
  (``ValueError``). ``hparam_dict``, ``metric_dict`` and ``hparam_domain_discrete`` may be any
  mapping (torch wants exactly ``dict``). A ``metric_dict`` value may be ``None``: the metric
  is named in the experiment (TensorBoard shows the scalars logged under that tag) and no
  scalar is written for it.
* **run_name**: as torch, by default each call writes into a new sub-run of ``log_dir`` named
  by the time (``str(time.time())``), or into ``log_dir/run_name`` when given: a new event
  file there, closed before the call returns. ``run_name="."`` writes into the writer's own
  run and event file instead: no extra run, the metrics' scalars beside the ones the writer
  logs (torch writes a second event file into ``log_dir`` for ``"."``; TensorBoard shows the
  same). A ``run_name`` leaving ``log_dir`` (absolute, or with ``..``) is a ``ValueError``.
* **add_tensor** stores float16 and bfloat16 values as their 16-bit patterns in
  ``half_val`` and uint8 values in ``int_val``, where TensorFlow and TensorBoard read them
  (torch stores float32 bit patterns in ``half_val``, and uint8 values in ``uint32_val``:
  neither reads back); it accepts numpy arrays too.
* **add_custom_scalars** accepts the chart kinds ``"Multiline"`` and ``"Margin"`` only
  (torch draws anything that is not ``"Margin"`` as a multiline chart); a margin chart
  without exactly three tags is a ``ValueError`` (torch: ``AssertionError``).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Optional, cast

from .. import _inputs
from .._native import custom_scalars_event, hparams_events, tensor_event

if TYPE_CHECKING:
    from ._file_writer import FileWriter

#: ``add_hparams(run_name=OWN_RUN)`` writes into the writer's own run and event file.
OWN_RUN = "."


def _check_run_name(run_name: Any) -> str:
    if not isinstance(run_name, str):
        raise TypeError(f"run_name must be a str or None, got {type(run_name).__name__}")
    parts = run_name.replace("\\", "/").split("/")
    if "\0" in run_name or os.path.isabs(run_name) or run_name.startswith("/") or ".." in parts:
        raise ValueError(
            f"run_name must name a directory inside log_dir (relative, without '..' or NUL), "
            f"got {run_name!r}"
        )
    return run_name


def _check_titles(category: Any, title: Any) -> None:
    for name, v in (("category", category), ("title", title)):
        if not isinstance(v, str):
            raise TypeError(f"{name} must be a str, got {type(v).__name__}")


class StructuralMethods:
    """The hparams, custom-scalars and protobuf-event methods of ``SummaryWriter`` (mixed
    into it)."""

    if TYPE_CHECKING:
        log_dir: str
        filename_suffix: str
        max_queue: int
        flush_secs: float
        _write_to_disk: bool
        _fsync: bool

        def _write_event(self, payload: bytes) -> None: ...  # NativeWriter's
        def _get_file_writer(self) -> FileWriter: ...

    def add_hparams(
        self,
        hparam_dict: Any,
        metric_dict: Any,
        hparam_domain_discrete: Optional[Any] = None,
        run_name: Optional[str] = None,
        global_step: Optional[int] = None,
        *,
        name: Optional[str] = None,
    ) -> None:
        """Adds a set of hyperparameters and metrics for TensorBoard's HPARAMS dashboard.

        Args:
            hparam_dict: Hyperparameter name to value: ``bool``, ``str``, a real number, a
                one-element tensor or array, or ``None`` (left out, as torch does).
            metric_dict: Metric tag to value: each is written as a scalar under that tag in the
                hparams run (``None``: only named, nothing written). Use tags that no
                ``add_scalar`` of the same run uses, unless that is what you want (torch's
                advice).
            hparam_domain_discrete: Hyperparameter name to the list of values it can take;
                the logged value must be one of them.
            run_name: The sub-run of ``log_dir`` to write into (default: the current time, a
                new sub-run per call, as torch); ``"."`` writes into the writer's own run.
            global_step: The step of every event written.
            name: tensorboardX's name for ``run_name`` (keyword only); giving both, with
                different values, is a ``TypeError``.

        tensorboardX's positional order, ``(hparam_dict, metric_dict, name, global_step)``, is
        accepted too: a ``str`` where torch has ``hparam_domain_discrete`` (a dict) is the
        run's name, and then the next argument is the step.
        """
        if isinstance(hparam_domain_discrete, str):
            if name is not None or global_step is not None or isinstance(run_name, str):
                raise TypeError(
                    "hparam_domain_discrete must be a dict of str to list of values, got str "
                    f"{hparam_domain_discrete!r}; read as tensorboardX's positional name, it "
                    "conflicts with the name, run_name or global_step also given"
                )
            step: Any = run_name  # tensorboardX's fourth parameter
            name, global_step = hparam_domain_discrete, step
            hparam_domain_discrete = run_name = None
        if name is not None:
            if run_name is not None and run_name != name:
                raise TypeError(
                    "run_name and name (tensorboardX's name for it) were both given, with "
                    f"different values: {run_name!r} and {name!r}"
                )
            run_name = name
        hp = _inputs.hparam_items(hparam_dict)
        metrics = _inputs.metric_items(metric_dict)
        domains = _inputs.hparam_domains(hparam_domain_discrete)
        run = str(time.time()) if run_name is None or run_name == "" else run_name
        run = _check_run_name(run)
        events = hparams_events(hp, domains, metrics, global_step)
        if os.path.normpath(run) == OWN_RUN:
            for payload in events:
                self._write_event(payload)
            return
        from ._summary_writer import SummaryWriter

        with SummaryWriter(
            os.path.join(self.log_dir, run),
            max_queue=self.max_queue,
            flush_secs=cast(int, self.flush_secs),  # torch's annotation; any number works
            filename_suffix=self.filename_suffix,
            write_to_disk=self._write_to_disk,
            fsync=self._fsync,
        ) as sub:
            for payload in events:
                sub._write_event(payload)

    def add_custom_scalars(self, layout: Any) -> None:
        """Adds the layout of the CUSTOM SCALARS dashboard: ``{category: {chart title:
        [kind, tags]}}``, kind ``"Multiline"`` (one line per tag; tags are regular
        expressions) or ``"Margin"`` (exactly three tags: value, lower, upper). As torch,
        TensorBoard uses one layout per run: call it once."""
        self._write_event(custom_scalars_event(_inputs.custom_scalars_layout(layout)))

    def add_custom_scalars_multilinechart(
        self, tags: Any, category: str = "default", title: str = "untitled"
    ) -> None:
        """``add_custom_scalars({category: {title: ["Multiline", tags]}})``."""
        tags = _inputs.chart_tags(tags)
        _check_titles(category, title)
        self._write_event(custom_scalars_event([(category, [(title, "Multiline", tags)])]))

    def add_custom_scalars_marginchart(
        self, tags: Any, category: str = "default", title: str = "untitled"
    ) -> None:
        """``add_custom_scalars({category: {title: ["Margin", tags]}})``: ``tags`` are exactly
        three: the value, its lower and its upper bound."""
        tags = _inputs.chart_tags(tags)
        _check_titles(category, title)
        if len(tags) != 3:
            raise ValueError(
                f"tags: a margin chart needs exactly 3 tags (value, lower, upper), got {len(tags)}"
            )
        self._write_event(custom_scalars_event([(category, [(title, "Margin", tags)])]))

    def add_tensor(
        self,
        tag: str,
        tensor: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds a whole tensor (torch's ``add_tensor``): its dtype, shape and values in a
        ``TensorProto``, the ``tensor`` plugin named. float16 and bfloat16 values are stored
        as their 16-bit patterns and uint8 values in ``int_val``, as TensorBoard reads them
        (torch's do not read back). A numpy array is accepted too."""
        values, dtype, shape = _inputs.tensor_data(tensor)
        self._write_event(tensor_event(tag, values, dtype, shape, global_step, walltime))

    def add_summary(
        self, summary: Any, global_step: Optional[int] = None, walltime: Optional[float] = None
    ) -> None:
        """``writer._get_file_writer().add_summary(...)``: writes a ``Summary`` protobuf
        message (TensorBoard's, torch's or tensorboardX's: anything with
        ``SerializeToString``) as one event."""
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_event(
        self, event: Any, step: Optional[int] = None, walltime: Optional[float] = None
    ) -> None:
        """``writer._get_file_writer().add_event(...)``: writes an ``Event`` protobuf message."""
        self._get_file_writer().add_event(event, step, walltime)
