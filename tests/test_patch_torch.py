"""ferroboard.patch_torch() / unpatch_torch(): torch.utils.tensorboard.SummaryWriter becomes
ferroboard's where libraries look it up, and is torch's again, exactly, afterwards."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
import textwrap
import types

import ferroboard
import ferroboard._patch
import pytest
import torch.utils.tensorboard
import torch.utils.tensorboard.writer
from tensorboard.backend.event_processing import event_accumulator

# Kept in a tuple: the patch rebinds every module-level name bound to torch's class, this
# module's too.
_KEPT = (torch.utils.tensorboard.writer.SummaryWriter,)
_names = itertools.count()


@pytest.fixture(autouse=True)
def _always_unpatched():
    assert not ferroboard.torch_patched()
    yield
    ferroboard.unpatch_torch()
    assert torch.utils.tensorboard.SummaryWriter is _KEPT[0]


@pytest.fixture
def fake_module():
    """Makes modules from source, as an import of a file would (registered in sys.modules)."""
    made = []

    def make(source: str) -> types.ModuleType:
        name = f"_ferroboard_fake_{next(_names)}"
        module = types.ModuleType(name)
        sys.modules[name] = module
        made.append(name)
        exec(compile(textwrap.dedent(source), name, "exec"), module.__dict__)
        return module

    yield make
    for name in made:
        sys.modules.pop(name, None)


def bindings_of(cls: type) -> set[tuple[str, str]]:
    """Every (module, name) in sys.modules bound to ``cls``."""
    out = set()
    for mod_name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if isinstance(module, types.ModuleType) and isinstance(namespace, dict):
            out.update((mod_name, k) for k, v in list(namespace.items()) if v is cls)
    return out


# The ways libraries reach the class, as their sources do it.
TRANSFORMERS_STYLE = """
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard import SummaryWriter as TBWriter

    class Callback:  # transformers' TensorBoardCallback stores the class in __init__
        def __init__(self):
            self._SummaryWriter = SummaryWriter

    def is_writer(obj):
        return isinstance(obj, SummaryWriter)
"""
LIGHTNING_STYLE = """
    def experiment(log_dir):  # lightning.fabric.loggers.tensorboard imports it when needed
        from torch.utils.tensorboard import SummaryWriter
        return SummaryWriter(log_dir=log_dir)
"""
ACCELERATE_STYLE = """
    from torch.utils import tensorboard

    def tracker(log_dir):
        return tensorboard.SummaryWriter(log_dir)
"""


def test_patch_replaces_torch_module_attributes(tmp_path):
    ferroboard.patch_torch()
    assert ferroboard.torch_patched()
    patched = torch.utils.tensorboard.SummaryWriter
    assert patched is torch.utils.tensorboard.writer.SummaryWriter
    assert patched is ferroboard._patch.SummaryWriter
    assert issubclass(patched, ferroboard.SummaryWriter)
    with torch.utils.tensorboard.SummaryWriter(str(tmp_path)) as w:
        assert isinstance(w, ferroboard.SummaryWriter)
        w.add_scalar("loss", 0.5, 3)
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(3, 0.5)]


def test_module_imported_before_patch(fake_module):
    mod = fake_module(TRANSFORMERS_STYLE)
    assert mod.SummaryWriter is _KEPT[0]
    ferroboard.patch_torch()
    assert mod.SummaryWriter is ferroboard._patch.SummaryWriter
    assert mod.TBWriter is ferroboard._patch.SummaryWriter
    ferroboard.unpatch_torch()
    assert mod.SummaryWriter is _KEPT[0]
    assert mod.TBWriter is _KEPT[0]


def test_module_imported_while_patched_gets_torch_class_back(fake_module):
    ferroboard.patch_torch()
    mod = fake_module(TRANSFORMERS_STYLE)
    assert mod.SummaryWriter is ferroboard._patch.SummaryWriter
    ferroboard.unpatch_torch()
    assert mod.SummaryWriter is _KEPT[0]
    assert mod.TBWriter is _KEPT[0]


def test_libraries_that_look_it_up_when_needed(fake_module, tmp_path):
    lightning = fake_module(LIGHTNING_STYLE)
    accelerate = fake_module(ACCELERATE_STYLE)
    ferroboard.patch_torch()
    for i, make in enumerate([lightning.experiment, accelerate.tracker]):
        w = make(str(tmp_path / str(i)))
        assert type(w) is ferroboard._patch.SummaryWriter
        w.close()
    ferroboard.unpatch_torch()
    w = lightning.experiment(str(tmp_path / "torch"))
    assert type(w) is _KEPT[0]
    w.close()


def test_unpatch_restores_every_binding_exactly(fake_module):
    fake_module(TRANSFORMERS_STYLE)
    before = bindings_of(_KEPT[0])
    assert ("torch.utils.tensorboard", "SummaryWriter") in before
    ferroboard.patch_torch()
    assert bindings_of(_KEPT[0]) == {("ferroboard._patch", "_original")}
    fake_module(TRANSFORMERS_STYLE)  # imported while patched
    ferroboard.unpatch_torch()
    after = bindings_of(_KEPT[0])
    assert before < after
    assert {m for m, _ in after - before} == {m for m, _ in after - before if "_fake_" in m}
    assert bindings_of(ferroboard._patch.SummaryWriter) == {("ferroboard._patch", "SummaryWriter")}


def test_twice_is_harmless(fake_module):
    mod = fake_module(TRANSFORMERS_STYLE)
    ferroboard.unpatch_torch()  # not patched: nothing happens
    assert mod.SummaryWriter is _KEPT[0]
    ferroboard.patch_torch()
    ferroboard.patch_torch()
    assert mod.SummaryWriter is ferroboard._patch.SummaryWriter
    ferroboard.unpatch_torch()  # one unpatch undoes both
    assert not ferroboard.torch_patched()
    assert mod.SummaryWriter is _KEPT[0]
    ferroboard.unpatch_torch()
    assert mod.SummaryWriter is _KEPT[0]
    assert torch.utils.tensorboard.SummaryWriter is _KEPT[0]


def test_isinstance_checks_as_documented(fake_module, tmp_path):
    mod = fake_module(TRANSFORMERS_STYLE)
    stored_before = mod.Callback()._SummaryWriter  # an attribute: not replaced
    torch_writer = _KEPT[0](str(tmp_path / "torch"))
    ferroboard.patch_torch()
    ours = torch.utils.tensorboard.SummaryWriter(str(tmp_path / "ours"))
    # Checks against the name as looked up now hold for writers created through it.
    assert isinstance(ours, torch.utils.tensorboard.SummaryWriter)
    assert mod.is_writer(ours)
    assert isinstance(ours, ferroboard.SummaryWriter)
    # A writer made before the patch, or from a reference kept elsewhere, is torch's.
    assert not mod.is_writer(torch_writer)
    assert stored_before is _KEPT[0]
    assert mod.Callback()._SummaryWriter is ferroboard._patch.SummaryWriter
    assert not isinstance(ours, _KEPT[0])
    ferroboard.unpatch_torch()
    assert mod.is_writer(torch_writer)
    assert not mod.is_writer(ours)
    assert isinstance(ours, ferroboard.SummaryWriter)
    ours.close()
    torch_writer.close()


def test_patched_writer_pickles_to_its_class(tmp_path):
    ferroboard.patch_torch()
    w = torch.utils.tensorboard.SummaryWriter(str(tmp_path), fsync=True)
    copy = pickle.loads(pickle.dumps(w))
    assert type(copy) is ferroboard._patch.SummaryWriter
    assert copy._fsync is True
    copy.close()
    w.close()


def _python(code: str, env_value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FERROBOARD_PATCH_TORCH=env_value)
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_environment_variable_patches_at_ferroboard_import():
    code = """
        from torch.utils.tensorboard import SummaryWriter   # imported before ferroboard
        import torch.utils.tensorboard as tb
        kept = [SummaryWriter]  # a reference outside module-level names: not replaced
        import ferroboard
        assert ferroboard.torch_patched()
        assert SummaryWriter is ferroboard._patch.SummaryWriter
        assert tb.SummaryWriter is ferroboard._patch.SummaryWriter
        ferroboard.unpatch_torch()
        assert tb.SummaryWriter is kept[0] and SummaryWriter is kept[0]
        print("ok")
    """
    result = _python(code, "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(("value", "patched"), [("0", False), ("", False), ("on", True)])
def test_environment_variable_patches_when_torch_is_imported_later(value, patched):
    code = f"""
        import importlib.util, inspect, sys
        import ferroboard
        assert "torch" not in sys.modules  # importing ferroboard does not import torch
        assert not ferroboard.torch_patched()
        assert importlib.util.find_spec("torch.utils.tensorboard") is not None  # only looks
        from torch.utils.tensorboard import SummaryWriter  # Lightning's way, later
        import torch.utils.tensorboard as tb
        assert ferroboard.torch_patched() is {patched}
        assert (SummaryWriter is ferroboard._patch.SummaryWriter) is {patched}
        assert (tb.writer.SummaryWriter is ferroboard._patch.SummaryWriter) is {patched}
        assert "FileWriter" in inspect.getsource(tb)  # torch's module, loaded as usual
        ferroboard.unpatch_torch()
        assert SummaryWriter is tb.SummaryWriter is tb.writer.SummaryWriter
        assert SummaryWriter.__module__ == "torch.utils.tensorboard.writer"
    """
    result = _python(code, value)
    assert result.returncode == 0, result.stderr


def test_unpatch_before_torch_is_imported_calls_the_patch_off():
    code = """
        import ferroboard
        ferroboard.unpatch_torch()
        import torch.utils.tensorboard as tb
        assert not ferroboard.torch_patched()
        assert tb.SummaryWriter.__module__ == "torch.utils.tensorboard.writer"
    """
    result = _python(code, "1")
    assert result.returncode == 0, result.stderr


def test_environment_variable_bad_value_warns_and_does_not_patch():
    result = _python("import ferroboard", "maybe")
    assert result.returncode != 0
    assert "FERROBOARD_PATCH_TORCH must be" in result.stderr
    assert "'maybe'" in result.stderr


def test_environment_variable_without_torch():
    code = """
        import sys, warnings
        sys.modules["torch"] = None  # as if torch were not installed
        warnings.simplefilter("error")
        import ferroboard  # no warning, no error: torch is never imported, nothing to patch
        assert not ferroboard.torch_patched()
        try:
            ferroboard.patch_torch()
        except ImportError:
            print("ok")
    """
    result = _python(code, "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
