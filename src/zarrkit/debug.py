"""``print_debug_info()``: the versions a bug report needs (zarr-python's name)."""

from __future__ import annotations

import platform
from importlib import metadata

from zarrkit.version import __version__

#: Distributions zarrkit needs, then those its extras use.
REQUIRED = ("numpy", "numcodecs", "google-crc32c")
OPTIONAL = (
    "zstandard",
    "isal",
    "obstore",
    "lmdb",
    "redis",
    "psycopg",
    "dask",
    "distributed",
    "xarray",
    "typer",
    "rich",
    "ml_dtypes",
    "pyarrow",
    "jinja2",
)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def print_debug_info() -> None:
    """Print the platform, Python, zarrkit and dependency versions, and which optional
    dependencies are not installed."""
    print(f"platform: {platform.platform()}")
    print(f"python: {platform.python_version()}")
    print(f"zarrkit: {__version__}")
    print("\n**Required dependencies:**")
    for name in REQUIRED:
        print(f"{name}: {_version(name)}")
    installed = [(name, _version(name)) for name in OPTIONAL]
    print("\n**Optional dependencies:**")
    for name, version in installed:
        if version is not None:
            print(f"{name}: {version}")
    print("\n**Not Installed:**")
    for name, version in installed:
        if version is None:
            print(name)
