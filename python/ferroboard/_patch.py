"""``patch_torch()`` / ``unpatch_torch()``: make ``torch.utils.tensorboard.SummaryWriter``
ferroboard's, for libraries (Lightning, transformers, accelerate, ...) that create the writer
themselves.

What is replaced, and nothing else:

* the attributes ``torch.utils.tensorboard.SummaryWriter`` and
  ``torch.utils.tensorboard.writer.SummaryWriter``;
* every module-level name, in every module already imported (``sys.modules``), that is bound
  to torch's class, whatever the name (``from torch.utils.tensorboard import SummaryWriter``,
  ``... import SummaryWriter as TBWriter``).

They are bound to :class:`SummaryWriter` of this module, a subclass of
``ferroboard.SummaryWriter`` that adds nothing but an identity of its own, so that
``unpatch_torch()`` can find and restore exactly what the patch made: the names it replaced,
and the module-level names that modules imported while patched bound to it. References held
elsewhere (an attribute of an object or class, a closure, a default argument) are not
touched: a library that stored torch's class before the patch (transformers'
``TensorBoardCallback`` does, in ``__init__``) keeps creating torch's writers.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading
import warnings
from types import ModuleType
from typing import Any, Optional

from . import writer as _writer

_TORCH_MODULES = ("torch.utils.tensorboard", "torch.utils.tensorboard.writer")


class SummaryWriter(_writer.SummaryWriter):
    """``ferroboard.SummaryWriter`` as installed by :func:`patch_torch` in place of
    ``torch.utils.tensorboard.SummaryWriter``; ``isinstance(w, ferroboard.SummaryWriter)``
    holds for its writers."""


_lock = threading.Lock()
# torch's class while patched; None while not.
_original: Optional[type] = None


def _module_dicts() -> list[tuple[ModuleType, dict[str, Any]]]:
    out = []
    for module in list(sys.modules.values()):
        if not isinstance(module, ModuleType):
            continue
        try:
            namespace = vars(module)
        except TypeError:
            continue
        if isinstance(namespace, dict):
            out.append((module, namespace))
    return out


def _rebind(old: type, new: type) -> None:
    """Binds to ``new`` every module-level name bound to ``old``, in every imported module
    but this one."""
    for _module, namespace in _module_dicts():
        if namespace is globals():
            continue
        for name, value in list(namespace.items()):
            if value is old:
                namespace[name] = new


def patch_torch() -> None:
    """Makes ``torch.utils.tensorboard.SummaryWriter`` ferroboard's ``SummaryWriter``, in
    torch's modules and in every module already imported that holds torch's class under a
    module-level name; modules imported later get ferroboard's from torch's modules.

    Imports ``torch.utils.tensorboard`` (an ``ImportError`` when torch or tensorboard is
    missing). Calling it again while patched does nothing; :func:`unpatch_torch` undoes it.
    Writers already created stay what they are.
    """
    global _original
    _remove_import_hook()
    import torch.utils.tensorboard as tb
    import torch.utils.tensorboard.writer as tb_writer

    with _lock:
        if _original is not None:
            return
        original: Any = vars(tb_writer)["SummaryWriter"]
        if original is SummaryWriter or not isinstance(original, type):
            raise RuntimeError(
                "torch.utils.tensorboard.writer.SummaryWriter is not torch's class "
                f"(it is {original!r}); another patch is in place"
            )
        _rebind(original, SummaryWriter)
        vars(tb)["SummaryWriter"] = SummaryWriter
        vars(tb_writer)["SummaryWriter"] = SummaryWriter
        _original = original


def unpatch_torch() -> None:
    """Undoes :func:`patch_torch`: every module-level name bound to the patched class
    (those the patch replaced, ``torch.utils.tensorboard``'s two, and those bound while
    patched) is bound to torch's class again, and a patch still waiting for torch's import
    (``FERROBOARD_PATCH_TORCH``) is called off. Does nothing when not patched. Writers
    created while patched stay ferroboard's."""
    global _original
    _remove_import_hook()
    with _lock:
        original = _original
        if original is None:
            return
        _rebind(SummaryWriter, original)
        for name in _TORCH_MODULES:
            module = sys.modules.get(name)
            if module is not None:
                vars(module)["SummaryWriter"] = original
        _original = None


def torch_patched() -> bool:
    """Whether :func:`patch_torch` is in effect."""
    return _original is not None


class _PatchingLoader(importlib.abc.Loader):
    """torch.utils.tensorboard's own loader, then :func:`patch_torch` once the package is
    fully executed (so the patch sees it as any later caller would)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_module(self, spec: Any) -> Optional[ModuleType]:
        module: Optional[ModuleType] = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        try:
            patch_torch()
        except Exception as e:
            # torch's own import succeeded: it must not fail because of the patch.
            warnings.warn(
                f"FERROBOARD_PATCH_TORCH: could not patch torch.utils.tensorboard ({e})",
                RuntimeWarning,
                stacklevel=2,
            )


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds ``torch.utils.tensorboard`` with the other finders and hands out its spec with
    :class:`_PatchingLoader` around the loader; removed when that loader runs (a spec only
    looked up, by ``importlib.util.find_spec``, leaves it in place)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "torch.utils.tensorboard":
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec = None if find is None else find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        return spec


_hook: Optional[_PatchOnImport] = None


def _remove_import_hook() -> None:
    global _hook
    hook, _hook = _hook, None
    if hook is not None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(hook)


def _patch_when_imported() -> None:
    """``FERROBOARD_PATCH_TORCH``: :func:`patch_torch` now if ``torch.utils.tensorboard``
    is imported already, else right after something imports it (ferroboard itself does not
    import torch). Without torch, nothing ever happens."""
    global _hook
    if "torch.utils.tensorboard" in sys.modules:
        patch_torch()
        return
    if _hook is None:
        _hook = _PatchOnImport()
        sys.meta_path.insert(0, _hook)
