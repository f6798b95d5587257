"""obstore stores from URLs and ``storage_options``: the schemes, obstore's client options,
fsspec's names for the same options (which zarr-python's users give), and zarrkit's retry
policy in place of obstore's (see :mod:`zarrkit.storage.object`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import obstore
import obstore.exceptions
import obstore.store

#: obstore's retry settings for the stores zarrkit builds: none (zarrkit.retry retries).
NO_RETRIES: dict[str, Any] = {"max_retries": 0}

_CLIENT_KEYS = frozenset(
    {
        "allow_http",
        "allow_invalid_certificates",
        "connect_timeout",
        "default_content_type",
        "default_headers",
        "http1_only",
        "http2_only",
        "pool_idle_timeout",
        "pool_max_idle_per_host",
        "proxy_url",
        "proxy_ca_certificate",
        "proxy_excludes",
        "randomize_addresses",
        "read_timeout",
        "root_certificate",
        "timeout",
        "user_agent",
    }
)
_SCHEMES = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "http": "http",
    "https": "http",
}


#: s3fs's names for the options obstore names otherwise (zarr-python sends ``s3://`` URLs
#: to fsspec, so its users' ``storage_options`` use these), and those of its
#: ``client_kwargs``.
_S3FS_NAMES = {
    "key": "access_key_id",
    "secret": "secret_access_key",
    "token": "session_token",
    "endpoint_url": "endpoint",
}
_S3FS_CLIENT_NAMES = {"region_name": "region", "endpoint_url": "endpoint"}


def _from_fsspec(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with fsspec's names (s3fs, gcsfs, adlfs) turned into obstore's:
    ``anon=True`` (gcsfs: ``token="anon"``) is ``skip_signature``; s3fs's ``key``,
    ``secret``, ``token``, ``endpoint_url`` and ``client_kwargs``' ``region_name`` and
    ``endpoint_url``. A name given both ways is refused."""
    found = dict(options)
    renames: dict[str, tuple[str, Any]] = {}  # the name given: obstore's name, the value
    anonymous = bool(found.pop("anon", False))
    if kind == "gcs" and found.get("token") == "anon":
        del found["token"]
        anonymous = True
    if anonymous:
        renames["anon"] = ("skip_signature", True)
    if kind == "s3":
        for name, native in _S3FS_NAMES.items():
            if name in found:
                renames[name] = (native, found.pop(name))
        client = dict(found.pop("client_kwargs", None) or {})
        for name, native in _S3FS_CLIENT_NAMES.items():
            if name in client:
                renames[f"client_kwargs.{name}"] = (native, client.pop(name))
        if client:
            raise ValueError(
                f"client_kwargs {sorted(client)} have no obstore equivalent; "
                "give obstore's client options (timeout, proxy_url ...) instead"
            )
    for name, (native, value) in renames.items():
        if native in found:
            raise ValueError(f"storage_options give both {name!r} and {native!r}")
        found[native] = value
    return found


def build_obstore(url: str, storage_options: dict[str, Any]) -> Any:
    """The obstore store for ``url`` configured with ``storage_options``.

    Examples
    --------
    >>> build_obstore("s3://bucket/data", {"region": "eu-west-1", "skip_signature": True})
    S3Store(bucket="bucket", prefix="data")
    """
    parts = urlsplit(url)
    kind = _SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise ValueError(f"unsupported object store URL {url!r}; schemes: {sorted(_SCHEMES)}")
    options = _from_fsspec(kind, storage_options)
    client = dict(options.pop("client_options", None) or {})
    client.update({k: options.pop(k) for k in list(options) if k in _CLIENT_KEYS})
    endpoint = str(options.get("endpoint", ""))
    if parts.scheme.lower() == "http" or endpoint.startswith("http://"):
        client.setdefault("allow_http", True)  # a plain-HTTP URL or endpoint asks for it
    common: dict[str, Any] = {
        "client_options": client or None,
        "retry_config": options.pop("retry_config", NO_RETRIES),
    }
    if kind == "http":
        if options:
            raise ValueError(
                f"HTTP stores take only client and retry options, got {sorted(options)}"
            )
        return obstore.store.HTTPStore(url, **common)
    if not parts.netloc:
        raise ValueError(f"object store URL {url!r} names no bucket or container")
    common["prefix"] = parts.path.strip("/") or None
    common["credential_provider"] = options.pop("credential_provider", None)
    cls = {
        "s3": obstore.store.S3Store,
        "gcs": obstore.store.GCSStore,
        "azure": obstore.store.AzureStore,
    }[kind]
    try:
        return cls(parts.netloc, **common, **options)
    except obstore.exceptions.BaseError as e:
        raise ValueError(f"storage_options for {url!r}: {trim_message(e)}") from e


def trim_message(error: Exception) -> str:
    """An obstore error message without its multi-line debug dump."""
    return str(error).split("\n\nDebug source", 1)[0].strip()
