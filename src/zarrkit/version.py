"""zarrkit's version: pyproject.toml's, the one source (read from the installed metadata)."""

import importlib.metadata

try:
    __version__ = importlib.metadata.version("zarrkit")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"
