"""``add_graph`` and ``add_onnx_graph``: the graph methods of ``SummaryWriter``.

``add_graph`` traces the model with ``torch.jit.trace`` (tracing needs torch) and walks the
inlined graph into plain data: the used graph inputs, each operator node's kind, raw scope,
input and output names, output shapes and attribute text, the graph outputs, and the module
tree's aliases. The core (``ferroboard_core::summary::graph``) resolves scopes and names and
encodes the ``GraphDef`` and the ``step1`` run metadata exactly as torch's ``_pytorch_graph``
builds them; TensorBoard's graph dashboard shows the same graph for both files.

``add_onnx_graph`` reads the ONNX model file and converts it in Rust
(``ferroboard_core::summary::onnx``) as torch's ``_onnx_graph`` does; the ``onnx`` package is
not needed.

Where ferroboard differs from torch, on purpose:

* A model ``torch.jit.trace`` cannot trace raises :class:`GraphTraceError` (exported as
  ``ferroboard.writer.GraphTraceError``; a ``ValueError``
  and a ``RuntimeError``, so code catching torch's ``RuntimeError`` still works) naming the
  model's class and the tracer's reason; torch prints the reason and re-raises. Nothing is
  written and the writer stays usable.
* ``torch.jit.trace``'s deprecation notice (a ``FutureWarning`` telling to switch to
  ``torch.compile``) is not shown: the caller of ``add_graph`` cannot act on it. The tracer's
  own ``TracerWarning`` s are shown as torch shows them.
* ``add_onnx_graph`` prints nothing (torch prints every input, output and node name) and also
  accepts an open binary file or an ``onnx.ModelProto``; an ONNX attribute holding a subgraph,
  a type or a sparse tensor is shown as ``<graph NAME>``, ``<type>`` or ``<sparse tensor>``
  instead of torch's text dump of it.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

from .._native import graph_events, onnx_graph_event

_GETATTR = "prim::GetAttr"
_CLASSTYPE = "ClassType"
_TRACE_DEPRECATED = r"`torch\.jit\.trace(_method)?` is deprecated"

Shape = Optional[list[int]]
Value = tuple[str, Shape]
Op = tuple[str, str, list[str], list[Value], str]


class GraphTraceError(ValueError, RuntimeError):
    """``add_graph``: ``torch.jit.trace`` could not trace the model (the message names the
    model's class and the tracer's reason; the tracer's exception is the ``__cause__``)."""


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is installed where models exist
        raise ImportError("add_graph traces the model with torch: pip install torch") from e
    return torch


@contextlib.contextmanager
def _eval_mode(torch: Any, model: Any) -> Iterator[None]:
    """The model in eval mode while it is traced, restored after (as torch does)."""
    if isinstance(model, torch.jit.ScriptFunction):
        yield
        return
    training = model.training
    model.train(False)
    try:
        yield
    finally:
        model.train(training)


def _io_shape(value: Any) -> Shape:
    """A graph input's or output's shape as torch takes it: ``[1]`` when it is no tensor."""
    try:
        sizes = value.type().sizes()
    except RuntimeError:
        return [1]
    return None if sizes is None else list(sizes)


def _output_shape(value: Any) -> Shape:
    """An operator output's shape: known only for complete tensors."""
    return list(value.type().sizes()) if value.isCompleteTensor() else None


def _attributes(node: Any) -> str:
    """``str()`` of the node's attribute dict, as torch takes it (the core makes of it the
    text torch stores)."""
    return str({k: getattr(node, node.kindOf(k))(k) for k in node.attributeNames()})


def _module_name(torch: Any, module: Any) -> str:
    if isinstance(module, torch.jit.TracedModule):
        return str(module._name)
    return str(getattr(module, "original_name", "Module"))


def walk(
    torch: Any, trace: Any, graph: Any
) -> tuple[str, list[tuple[str, str]], list[Value], list[Op], list[Value]]:
    """The traced, inlined ``graph`` of ``trace`` as plain data for ``graph_events``."""
    inputs: list[Value] = [
        (v.debugName(), _io_shape(v))
        for v in graph.inputs()
        if len(v.uses()) != 0 and v.type().kind() != _CLASSTYPE
    ]
    ops: list[Op] = []
    attr_scopes: dict[str, str] = {}
    for node in graph.nodes():
        kind = node.kind()
        if kind == _GETATTR:
            name = node.s("name")
            out = node.output()
            parent = node.input().node()
            if parent.kind() == _GETATTR:
                parent_scope = attr_scopes[parent.output().debugName()]
                scope = f"{parent_scope}/{parent_scope.split('/')[-1]}.{name}"
            else:
                scope = f"__module.{name}"
            attr_scopes[out.debugName()] = scope
            if out.type().kind() == _CLASSTYPE:
                continue
        else:
            scope = node.scopeName()
        # inputsAt/outputsAt: ``node.inputs()`` and ``outputs()`` cost ~20 us a call
        inputs_at, outputs_at = node.inputsAt, node.outputsAt
        ops.append(
            (
                kind,
                scope,
                [inputs_at(i).debugName() for i in range(node.inputsSize())],
                [
                    (v.debugName(), _output_shape(v))
                    for v in map(outputs_at, range(node.outputsSize()))
                ],
                _attributes(node),
            )
        )
    outputs: list[Value] = [(v.debugName(), _io_shape(v)) for v in graph.outputs()]
    aliases = [
        (name, f"{_module_name(torch, module)}[{name.split('.')[-1]}]")
        for name, module in trace.named_modules(prefix="__module")
    ]
    return _module_name(torch, trace), aliases, inputs, ops, outputs


class GraphMethods:
    """The graph methods of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_event(self, payload: bytes) -> None: ...  # NativeWriter's

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Adds the graph of a model, as torch's ``add_graph``.

        Args:
            model: The ``torch.nn.Module`` (or ``torch.jit.ScriptFunction``) to draw.
            input_to_model: A tensor, or a tuple of tensors (one per argument of
                ``forward``), passed to ``torch.jit.trace`` as torch passes it.
            verbose: Print the traced graph.
            use_strict_trace: Passed to ``torch.jit.trace(strict=...)``; ``False`` lets the
                tracer record mutable containers (lists, dicts) as outputs.

        Raises:
            TypeError: ``model`` is not a module.
            GraphTraceError: ``torch.jit.trace`` failed on the model (a ``ValueError`` and a
                ``RuntimeError``); nothing is written.
        """
        torch = _torch()
        if not isinstance(model, (torch.nn.Module, torch.jit.ScriptFunction)):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        with _eval_mode(torch, model):
            try:
                with warnings.catch_warnings():
                    # torch's deprecation notice of jit.trace: add_graph's caller cannot act
                    # on it (the tracer's own warnings, TracerWarning, still show)
                    warnings.filterwarnings("ignore", _TRACE_DEPRECATED, FutureWarning)
                    trace = torch.jit.trace(model, input_to_model, strict=use_strict_trace)
                graph = trace.graph
                torch._C._jit_pass_inline(graph)
            except Exception as e:
                raise GraphTraceError(
                    f"add_graph could not trace {type(model).__name__} with torch.jit.trace: "
                    f"{type(e).__name__}: {e}"
                ) from e
        if verbose:
            print(graph)
        graph_event, metadata_event = graph_events(*walk(torch, trace, graph))
        self._write_event(graph_event)
        self._write_event(metadata_event)

    def add_onnx_graph(self, prototxt: Any) -> None:
        """Adds the graph of an ONNX model, as torch's ``add_onnx_graph`` (no ``onnx``
        package needed).

        Args:
            prototxt: The ONNX model file: a path (``str``, ``bytes`` or ``os.PathLike``), an
                open binary file, or an ``onnx.ModelProto``.

        Raises:
            TypeError: ``prototxt`` is none of these.
            OSError: The file cannot be read.
            ValueError: The file is not an ONNX model.
        """
        source: Any
        if isinstance(prototxt, (str, bytes, os.PathLike)):
            path = os.fspath(prototxt)
            source = path if isinstance(path, str) else os.fsdecode(path)
        elif hasattr(prototxt, "SerializeToString"):
            source = prototxt.SerializeToString()
        elif hasattr(prototxt, "read"):
            source = prototxt.read()
            if not isinstance(source, bytes):
                raise TypeError(
                    "prototxt must be opened in binary mode (read() returned "
                    f"{type(source).__name__})"
                )
        else:
            raise TypeError(
                "prototxt must be a path, a binary file or an onnx.ModelProto, got "
                f"{type(prototxt).__name__}"
            )
        if not isinstance(source, (str, bytes)):
            raise TypeError(
                f"prototxt.SerializeToString() returned {type(source).__name__}, not bytes"
            )
        self._write_event(onnx_graph_event(source))
