"""Validators for codec configuration fields: untrusted JSON in, typed values out.

Each raises :class:`~zarrkit.errors.MetadataError` naming the codec, the field, the value
and what was expected, so ``{"name": "zstd", "configuration": {"level": "3"}}`` fails with
``field 'level': codec 'zstd': expected an integer in -131072..22, got '3'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zarrkit.errors import MetadataError


def parse_int(value: object, *, codec: str, field: str, lo: int, hi: int | None = None) -> int:
    """An ``int`` (not a ``bool``) in ``lo..hi``."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and value >= lo and (hi is None or value <= hi):  # type: ignore[operator]
        return value  # type: ignore[return-value]
    span = f"{lo}..{hi}" if hi is not None else f">= {lo}"
    raise MetadataError(
        f"codec {codec!r}: expected an integer in {span}, got {value!r}", field=field
    )


def parse_bool(value: object, *, codec: str, field: str) -> bool:
    """A JSON boolean."""
    if isinstance(value, bool):
        return value
    raise MetadataError(f"codec {codec!r}: expected true or false, got {value!r}", field=field)


def parse_choice(value: object, choices: Iterable[str], *, codec: str, field: str) -> str:
    """One of ``choices``."""
    options = tuple(choices)
    if isinstance(value, str) and value in options:
        return value
    raise MetadataError(
        f"codec {codec!r}: expected one of {', '.join(options)}, got {value!r}", field=field
    )


def parse_named(data: object) -> tuple[str, dict[str, Any]]:
    """Split a v3 codec entry (``"name"`` or ``{"name": ..., "configuration": {...}}``)."""
    if isinstance(data, str):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        extra = sorted(set(data) - {"name", "configuration", "must_understand"})
        if extra:
            raise MetadataError(f"codec {data['name']!r}: unexpected keys {extra}", field=extra[0])
        configuration = data.get("configuration", {})
        if not isinstance(configuration, dict):
            raise MetadataError(
                f"codec {data['name']!r}: configuration must be an object, got {configuration!r}",
                field="configuration",
            )
        return data["name"], dict(configuration)
    raise MetadataError(f"expected a codec object with a 'name', got {data!r}", field="codecs")
