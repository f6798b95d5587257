"""The installed package is what pyproject.toml says: its version, and in the two test
environments its extras: ``make test`` runs with every extra installed, and the no-extras
job (``make test-core``, ZARRKIT_CORE=1) with none of them, so the skips of
tests/optional.py happen there and only there."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from optional import CORE

import zarrkit

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: The module each extra's distribution installs.
MODULES = {
    "zstandard": "zstandard",
    "isal": "isal",
    "obstore": "obstore",
    "fsspec": "fsspec",
    "lmdb": "lmdb",
    "redis": "redis",
    "psycopg": "psycopg",
    "dask": "dask",
    "distributed": "distributed",
    "xarray": "xarray",
    "typer": "typer",
    "rich": "rich",
    "ml_dtypes": "ml_dtypes",
    "pyarrow": "pyarrow",
    "jinja2": "jinja2",
    "zfpy": "zfpy",
    "opentelemetry-api": "opentelemetry.trace",
    "opentelemetry-sdk": "opentelemetry.sdk",
}


def extra_distributions() -> set[str]:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    requirements = [r for rs in extras.values() for r in rs if not r.startswith("zarrkit[")]
    return {re.split(r"[\[<>=~!; ]", r, maxsplit=1)[0].lower() for r in requirements}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def test_version_is_pyprojects() -> None:
    assert zarrkit.__version__ == tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_every_extra_is_known_here() -> None:
    assert extra_distributions() == set(MODULES)


def test_extras_are_all_installed_or_none() -> None:
    installed = {m for m in MODULES.values() if _installed(m)}
    if CORE:
        assert installed == set(), "the no-extras job must not have an extra's library"
    else:
        assert installed == set(MODULES.values()), "the full job must have every extra"


def test_a_source_tree_that_is_not_installed_still_imports(tmp_path):
    """``PYTHONPATH=src python -c 'import zarrkit'`` from a checkout, as harnesses and
    contributors run it, where no installed metadata names a version."""
    env = {**os.environ, "PYTHONPATH": str(PYPROJECT.parent / "src")}
    script = (
        "import importlib.metadata as m\n"
        "def missing(name):\n"
        "    raise m.PackageNotFoundError(name)\n"
        "m.version = missing\n"
        "import zarrkit\n"
        "print(zarrkit.__version__, zarrkit.zeros((2,))[:].sum())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0+unknown", "0.0"]


def test_reading_a_local_array_imports_no_asyncio(tmp_path):
    """Synchronous reads and writes on local files never load asyncio (and ssl with it):
    5 MiB and 12 ms a process (measured), paid only by the async API and store adapters."""
    zarrkit.create_array(tmp_path / "a.zarr", shape=(4,), chunks=(2,), dtype="i4")[:] = 1
    script = (
        "import sys, zarrkit\n"
        f"a = zarrkit.open_array({str(tmp_path / 'a.zarr')!r}, mode='r+')\n"
        "a[:2] = 2\n"
        "print(a[:].tolist(), 'asyncio' in sys.modules, 'ssl' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[2,", "2,", "1,", "1]", "False", "False"]
