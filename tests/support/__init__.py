"""Helpers shared by the fast suite (tests/) and the robustness suite (tests/robustness/), one
home per concern; tests/conftest.py holds only fixtures and pytest hooks.

- :mod:`tests.support.paths`: where the checkout and its Python package are.
- :mod:`tests.support.framing`: the one CRC32C oracle, ``frame()`` and hand-made records.
- :mod:`tests.support.judges`: the events as TensorBoard's readers see them, ours beside them.
- :mod:`tests.support.standin_tf`: the stand-in TensorFlow that lets tbparse decode images and
  audio (TensorFlow is not installed).
- :mod:`tests.support.logdirs`: log directories written by torch, tensorboardX and TensorFlow,
  and how to find the event files in a log directory.
- :mod:`tests.support.processes`: children running code in a fresh interpreter.
- :mod:`tests.support.bad_input`: the bad-input tables, one per method family.
"""
