"""Store keys: what makes a key safe, so that no key can escape a store's root.

Stores check every key with :func:`validate_key`; consolidated metadata checks the node
paths it names with it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zarrkit.errors import InvalidKeyError

_DRIVE = re.compile(r"^[A-Za-z]:")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative store key, else raise :class:`InvalidKeyError`.

    Segments are separated by ``/``; empty, ``.`` and ``..`` segments, backslashes, NUL,
    absolute paths and drive letters are refused so no key can escape a store's root.
    """
    if not isinstance(key, str):
        raise InvalidKeyError(f"store key must be a str, got {type(key).__name__}: {key!r}")
    if not key:
        raise InvalidKeyError("store key is empty")
    if "\\" in key or "\x00" in key:
        raise InvalidKeyError(f"store key {key!r} contains a backslash or NUL")
    if key.startswith("/") or _DRIVE.match(key):
        raise InvalidKeyError(f"store key {key!r} is absolute")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"store key {key!r} has an empty, '.' or '..' segment")
    return key


# What a bad key leaves in the keys of a batch joined by "/" (and framed by it): a
# backslash or NUL, a drive letter's colon, and empty, "." or ".." segments.
_BAD_JOINED = ("\\", "\x00", ":", "//", "/./", "/../")


def validate_keys(keys: Sequence[str]) -> None:
    """:func:`validate_key` for every key of ``keys``: a few scans of the batch joined by
    "/" (reads of small chunks check thousands of keys), and each key alone when a scan
    finds a suspect, so errors name the key and only bad keys raise."""
    try:
        joined = "/" + "/".join(keys) + "/"
    except TypeError:
        joined = "//"
    if any(bad in joined for bad in _BAD_JOINED):
        for key in keys:
            validate_key(key)


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` ('' or a valid key followed by '/') or raise."""
    if prefix == "":
        return prefix
    if not prefix.endswith("/"):
        raise InvalidKeyError(f"store prefix {prefix!r} must be empty or end with '/'")
    validate_key(prefix[:-1])
    return prefix
