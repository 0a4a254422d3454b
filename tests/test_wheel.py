"""The packages anyone installs: ``pip wheel .`` builds one abi3 wheel (manylinux on Linux),
``maturin sdist`` a source distribution; each installs into a fresh virtual environment that
has nothing but numpy, and works there (import, write a scalar, read it back, the console
script).

Slow (release builds of the extension), so off unless ``FERROBOARD_WHEEL_CHECK=1``:
``make wheel-check`` runs them. Needs numpy and maturin wheels from the package index or pip's
cache (downloaded once per run into a wheelhouse; the installs themselves use
``--no-index``). ``FERROBOARD_WHEEL_PYTHONS`` (interpreters, space-separated) installs into
one virtual environment per interpreter (default: the one running the tests);
``FERROBOARD_WHEEL_CARGO_TARGET`` reuses a cargo target directory for the sdist build
(default: none, a build from scratch in pip's temporary directory).
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None

REPO = Path(__file__).resolve().parents[1]
# The interpreter the sdist is built and installed for: the one running the tests.
SDIST_PYTHON = getattr(sys, "_base_executable", sys.executable)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("FERROBOARD_WHEEL_CHECK") != "1",
        reason="release builds: run with FERROBOARD_WHEEL_CHECK=1 (make wheel-check)",
    ),
]

SMOKE = textwrap.dedent(
    """
    import os, sys, tempfile
    import ferroboard
    from ferroboard import SummaryWriter, read_scalars

    assert ferroboard.__file__.startswith(sys.prefix), (ferroboard.__file__, sys.prefix)
    with tempfile.TemporaryDirectory() as d:
        with SummaryWriter(d) as w:
            w.add_scalar("loss", 0.25, 7)
            w.add_scalars("pair", {"a": 1.0, "b": 2.0}, 8)
        got = read_scalars(d)
        rows = sorted(zip(got["run"].tolist(), got["tag"].tolist(), got["step"].tolist(),
                          got["value"].tolist()))
        assert rows == [(".", "loss", 7, 0.25), ("pair_a", "pair", 8, 1.0),
                        ("pair_b", "pair", 8, 2.0)], rows
    print(ferroboard.__version__)
    """
)


def run(cmd: list[str], *, timeout: float = 1800, **kw) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def cargo_version() -> str:
    text = (REPO / "Cargo.toml").read_text()
    if tomllib is not None:
        return tomllib.loads(text)["workspace"]["package"]["version"]
    m = re.search(r'\[workspace\.package\][^\[]*?\nversion = "([^"]+)"', text)
    assert m
    return m.group(1)


def interpreters() -> list[str]:
    names = os.environ.get("FERROBOARD_WHEEL_PYTHONS", "").split()
    if not names:
        names = [SDIST_PYTHON]
    # Checked by the tests, not here: this runs at collection, also when the tests are off.
    return [shutil.which(name) or name for name in names]


def python_version(python: str) -> str:
    return run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without pip's extra package sources (PIP_FIND_LINKS and the like) and
    PYTHONPATH, so an install sees only what it is given and imports only what it installed."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "CARGO_TARGET", "PYTHON"))
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """numpy for every interpreter under test, and the build backend (maturin), as wheels."""
    house = tmp_path_factory.mktemp("wheelhouse")
    pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(house)]
    for version in sorted({python_version(p) for p in [*interpreters(), SDIST_PYTHON]}):
        run([*pip, "--python-version", version, "numpy>=1.22"])
    run([*pip, "maturin>=1.5,<2"])
    return house


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    start = time.monotonic()
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            str(REPO),
            "-w",
            str(out),
            # maturin's PEP 517 backend tags wheels plain `linux` unless told otherwise:
            # `pypi` audits the library and picks the lowest manylinux tag it satisfies.
            "-C",
            "build-args=--compatibility pypi",
        ],
        cwd=REPO,
    )
    print(f"\npip wheel: {time.monotonic() - start:.0f} s")
    wheels = list(out.iterdir())
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or shutil.which(
        "maturin"
    )
    assert maturin, "maturin is not installed"
    run([maturin, "sdist", "-o", str(out)], cwd=REPO)
    found = list(out.iterdir())
    assert len(found) == 1, found
    return found[0]


def fresh_venv(tmp_path: Path, python: str) -> Path:
    venv = tmp_path / f"venv-{python_version(python)}"
    run([python, "-m", "venv", str(venv)])
    return venv / "bin" / "python"


def check_installed(venv_python: Path, tmp_path: Path) -> None:
    """Only ferroboard and numpy were installed (besides pip), and they work."""
    listed = run([str(venv_python), "-m", "pip", "list", "--format=freeze"], env=clean_env())
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert names - {"pip", "setuptools"} == {"ferroboard", "numpy"}, names
    result = run([str(venv_python), "-c", SMOKE], cwd=tmp_path, env=clean_env())
    assert result.stdout.strip() == cargo_version()
    cli = venv_python.parent / "ferroboard"
    assert "usage" in run([str(cli), "--help"], cwd=tmp_path, env=clean_env()).stdout.lower()


def test_wheel_is_one_abi3_wheel_with_metadata(wheel):
    version = cargo_version()
    tag = r"manylinux_2_\d+_x86_64(\.manylinux\w+)*" if sys.platform == "linux" else r"\w+"
    assert re.fullmatch(rf"ferroboard-{re.escape(version)}-cp39-abi3-{tag}\.whl", wheel.name), (
        wheel.name
    )
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
    assert "ferroboard/py.typed" in names
    assert "ferroboard/_native.abi3.so" in names or any(
        n.startswith("ferroboard/_native") and n.endswith(".pyd") for n in names
    )
    assert meta["Version"] == version
    assert meta["Requires-Python"] == ">=3.9"
    assert meta.get_all("Requires-Dist")[0].replace(" ", "") == "numpy>=1.22"
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    assert meta["License"] == "Apache-2.0"


@pytest.mark.skipif(sys.platform != "linux", reason="auditwheel is for Linux wheels")
def test_wheel_is_manylinux_compliant_by_auditwheel(wheel):
    pytest.importorskip("auditwheel", reason="pip install auditwheel for an independent check")
    shown = run([sys.executable, "-m", "auditwheel", "show", str(wheel)]).stdout
    m = re.search(
        r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"(manylinux_2_\d+_x86_64)"', shown
    )
    assert m, shown
    assert m.group(1) in wheel.name


def install_offline(venv_python: Path, wheelhouse: Path, target: Path, env: dict[str, str]) -> None:
    """``pip install`` of ``target`` (a wheel or an sdist) into the venv of ``venv_python``,
    from ``wheelhouse`` only (its numpy, and maturin for an sdist): no package index."""
    run(
        [
            str(venv_python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            str(target),
        ],
        env=env,
    )


@pytest.mark.parametrize("python", interpreters())
def test_wheel_installs_with_only_numpy(wheel, wheelhouse, tmp_path, python):
    assert Path(python).exists(), f"FERROBOARD_WHEEL_PYTHONS: {python} not found"
    venv_python = fresh_venv(tmp_path, python)
    install_offline(venv_python, wheelhouse, wheel, clean_env())
    check_installed(venv_python, tmp_path)


def test_sdist_builds_from_source_and_installs(sdist, wheelhouse, tmp_path):
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for required in (
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "rust/core/Cargo.toml",
        "rust/python/Cargo.toml",
        "python/ferroboard/__init__.py",
        "python/ferroboard/py.typed",
        "python/ferroboard/_native.pyi",
    ):
        assert required in names, required
    assert not any(n.endswith(".so") for n in names), "a built extension leaked into the sdist"
    venv_python = fresh_venv(tmp_path, SDIST_PYTHON)
    extra = {}
    if os.environ.get("FERROBOARD_WHEEL_CARGO_TARGET"):
        extra["CARGO_TARGET_DIR"] = os.environ["FERROBOARD_WHEEL_CARGO_TARGET"]
    start = time.monotonic()
    install_offline(venv_python, wheelhouse, sdist, clean_env(**extra))
    print(f"\nsdist build and install: {time.monotonic() - start:.0f} s")
    check_installed(venv_python, tmp_path)
