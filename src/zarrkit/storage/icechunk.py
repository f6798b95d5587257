"""Icechunk repositories by URL, read-only: for the CLI and anything else that takes a URL.

``icechunk://path/to/repo`` (a local repository; ``icechunk:///abs/path`` for an absolute
one), ``icechunk+s3://bucket/prefix`` and ``icechunk+gs://bucket/prefix``, with
``?branch=NAME`` (default ``main``), ``?tag=NAME`` or ``?snapshot=ID`` choosing the
version. ``storage_options`` go to Icechunk's ``s3_storage`` / ``gcs_storage``
(``endpoint_url``, ``region``, ``allow_http``, ``force_path_style``, ``access_key_id``,
``from_env`` ...). The repository's session store is read through
:class:`~zarrkit.storage.adapter.ZarrPythonStore`.

Writing needs a commit, which a URL cannot give: write in a writable session and pass its
``store`` to zarrkit (``zarrkit.open_group(session.store)``), then ``session.commit(...)``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import icechunk

from zarrkit.errors import StoreError
from zarrkit.storage.adapter import ZarrPythonStore


def open_icechunk(url: str, *, read_only: bool = True, **storage_options: Any) -> ZarrPythonStore:
    """A read-only store on the version of the Icechunk repository that ``url`` names.

    Examples
    --------
    >>> import tempfile, icechunk
    >>> path = tempfile.mkdtemp()
    >>> repo = icechunk.Repository.create(icechunk.local_filesystem_storage(path))
    >>> open_icechunk(f"icechunk://{path}?branch=main").read_only
    True
    """
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if len(query) > 1 or not set(query) <= {"branch", "tag", "snapshot"}:
        raise ValueError(f"{url!r}: give at most one of ?branch=, ?tag=, ?snapshot=")
    try:
        repository = icechunk.Repository.open(_storage(url, storage_options))
        session = repository.readonly_session(
            branch=query.get("branch", None if query else "main"),
            tag=query.get("tag"),
            snapshot_id=query.get("snapshot"),
        )
    except icechunk.IcechunkError as e:
        message = str(e).strip().split("\n", 1)[0].lstrip("x ").strip()
        raise StoreError(f"Icechunk: {message}", key=url, operation="open") from e
    return ZarrPythonStore(session.store, read_only=True)


def _storage(url: str, options: dict[str, Any]) -> icechunk.Storage:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "icechunk":
        if options:
            raise ValueError(f"a local Icechunk repository takes no options, got {sorted(options)}")
        return icechunk.local_filesystem_storage(parts.netloc + parts.path)
    prefix = parts.path.strip("/") or None
    if scheme == "icechunk+s3":
        return icechunk.s3_storage(bucket=parts.netloc, prefix=prefix, **options)
    if scheme == "icechunk+gs":
        return icechunk.gcs_storage(bucket=parts.netloc, prefix=prefix, **options)
    raise ValueError(
        f"unsupported Icechunk URL {url!r}: icechunk://, icechunk+s3://, icechunk+gs://"
    )
