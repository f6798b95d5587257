"""zarrkit's version: pyproject.toml's, the one source."""

import importlib.metadata

__version__ = importlib.metadata.version("zarrkit")
