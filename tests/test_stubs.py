"""The hand-written stubs in _native.pyi match the compiled module."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ferroboard
import pytest
from ferroboard import _native

STUB = Path(ferroboard.__file__).with_name("_native.pyi")


def _stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def _stub_names() -> dict[str, ast.AST]:
    out = {}
    for node in _stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
    return out


def test_every_public_native_name_is_stubbed_and_vice_versa():
    public = {n for n in dir(_native) if not n.startswith("_")} | {"__version__"}
    stubbed = set(_stub_names())
    assert public <= stubbed, f"not stubbed: {public - stubbed}"
    missing = {n for n in stubbed if not hasattr(_native, n)}
    assert not missing, f"stubbed but not in the module: {missing}"


def _stub_params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n not in ("self", "cls")]


@pytest.mark.parametrize(
    ("cls", "method"),
    [
        (c.name, f.name)
        for c in _stub_tree().body
        if isinstance(c, ast.ClassDef)
        for f in c.body
        if isinstance(f, ast.FunctionDef) and not f.name.startswith("__")
    ],
)
def test_method_parameters_match(cls, method):
    node = next(
        f
        for c in _stub_tree().body
        if isinstance(c, ast.ClassDef) and c.name == cls
        for f in c.body
        if isinstance(f, ast.FunctionDef) and f.name == method
    )
    obj = getattr(getattr(_native, cls), method)
    if isinstance(obj, property) or not callable(obj):
        return
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls", "$self")]
    assert [p.name for p in params] == _stub_params(node)


def test_module_functions_match():
    for name, node in _stub_names().items():
        if isinstance(node, ast.FunctionDef):
            sig = inspect.signature(getattr(_native, name))
            assert list(sig.parameters) == _stub_params(node), name


def test_the_literal_kind_names_match_the_native_codes():
    # The stub types READER_KINDS with the Literal ReaderKind: the same names, in code order,
    # as the compiled module gives.
    from typing import get_args

    from ferroboard.reader._contract import ReaderKind

    assert get_args(ReaderKind) == _native.READER_KINDS
