"""ObjectStore: S3, Google Cloud Storage, Azure Blob Storage and HTTP through ``obstore``.

URLs: ``s3://bucket/prefix``, ``gs://bucket/prefix`` (or ``gcs://``),
``az://container/prefix`` (or ``azure://``, ``abfs://``), ``http(s)://host/path``
(read-only). ``storage_options`` go to obstore's store constructor: its configuration keys
(``endpoint``, ``region``, ``access_key_id``, ``account_name``, ``skip_signature`` ...),
client options (``allow_http``, ``timeout``, ``connect_timeout`` ... or a whole
``client_options`` dict), ``retry_config`` and ``credential_provider``. ``allow_http``
defaults to true for ``http://`` URLs and ``http://`` endpoints.

Errors: only a missing object reads as ``None``; any other failure, a missing bucket or
container included, raises :class:`~zarrkit.errors.StoreError` naming the key and the
operation. Transient failures
(5xx, connection errors, timeouts of safe requests) are retried by obstore with bounded
exponential backoff and jitter (:data:`DEFAULT_RETRY`, overridable with ``retry_config``).

Consistency: each ``set`` is one PUT, atomic per object on S3, GCS and Azure. There are no
multi-object transactions: ``set_many`` writes objects concurrently and a failure may leave
some written. Concurrent writers of the same key: the last PUT wins.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import obstore
import obstore.exceptions
import obstore.store

from zarrkit.errors import StoreError
from zarrkit.keys import validate_prefix
from zarrkit.storage.base import Store, slice_for
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest, SuffixRequest

T = TypeVar("T")

#: obstore retry settings used unless ``retry_config`` is given: at most 5 retries with
#: exponential backoff from 100 ms (x2, capped at 5 s), all within 60 s.
DEFAULT_RETRY: dict[str, Any] = {
    "max_retries": 5,
    "backoff": {
        "init_backoff": datetime.timedelta(milliseconds=100),
        "max_backoff": datetime.timedelta(seconds=5),
        "base": 2,
    },
    "retry_timeout": datetime.timedelta(seconds=60),
}

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
# Requests in flight at once for get_many / set_many; object stores reward concurrency
# far beyond the core count since each request mostly waits on the network.
_CONCURRENCY = 32


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
    options = dict(storage_options)
    client = dict(options.pop("client_options", None) or {})
    client.update({k: options.pop(k) for k in list(options) if k in _CLIENT_KEYS})
    endpoint = str(options.get("endpoint", ""))
    if parts.scheme.lower() == "http" or endpoint.startswith("http://"):
        client.setdefault("allow_http", True)  # a plain-HTTP URL or endpoint asks for it
    common: dict[str, Any] = {
        "client_options": client or None,
        "retry_config": options.pop("retry_config", DEFAULT_RETRY),
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
        raise ValueError(f"storage_options for {url!r}: {_trim(e)}") from e


class ObjectStore(Store):
    """A bucket or container of a cloud object store, or a read-only HTTP directory.

    Parameters
    ----------
    url
        ``s3://bucket/prefix``, ``gs://``, ``az://``, ``http(s)://`` (see the module
        docstring), or an already configured obstore store.
    read_only
        Refuse writes; always true for HTTP.
    concurrency
        Requests in flight at once in ``get_many`` and ``set_many``.
    **storage_options
        Passed to obstore (credentials, ``endpoint``, ``region``, ``allow_http`` ...).

    Examples
    --------
    >>> store = ObjectStore("s3://my-bucket/data.zarr", region="eu-west-1", skip_signature=True)
    >>> store.read_only
    False
    """

    @property
    def native_concurrency(self) -> bool:
        return True

    def __init__(
        self,
        url: str | Any,
        *,
        read_only: bool = False,
        concurrency: int = _CONCURRENCY,
        **storage_options: Any,
    ) -> None:
        if isinstance(url, str):
            self.url: str | None = url
            self.obstore = build_obstore(url, storage_options)
        else:
            self.url, self.obstore = None, url
        http = isinstance(self.obstore, obstore.store.HTTPStore)
        super().__init__(read_only=read_only or http)
        self.supports_listing = not http
        self.storage_options = storage_options
        self.concurrency = concurrency

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> ObjectStore:
        """Open ``url`` with ``options`` as storage options."""
        return cls(url, read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"ObjectStore({self.url or self.obstore!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        source = self.url if self.url is not None else self.obstore
        return (_rebuild, (source, self.read_only, self.concurrency, self.storage_options))

    # --- reads -----------------------------------------------------------------------------
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        try:
            return self._fetch(key, byte_range)
        except Exception as e:
            if _is_missing_key(e):
                return None
            raise _error(e, key, "get") from e

    def _fetch(self, key: str, request: ByteRequest | None) -> bytes:
        if request is None:
            return bytes(obstore.get(self.obstore, key).bytes())
        # Object stores refuse empty ranges and ranges starting past the end (HTTP 416),
        # which a Store answers with b"": the object's size tells those apart.
        if not _is_empty(request):
            try:
                return bytes(self._fetch_range(key, request))
            except FileNotFoundError:
                raise
            except Exception:
                part = slice_for(request, self._size(key))
                if part.start < part.stop:
                    raise
        self._size(key)  # raises FileNotFoundError when the key is missing
        return b""

    def _fetch_range(self, key: str, request: ByteRequest) -> Any:
        if isinstance(request, RangeRequest):
            return obstore.get_range(self.obstore, key, start=request.start, end=request.end)
        if isinstance(request, OffsetRequest):
            options: Any = {"range": {"offset": request.offset}}
        elif isinstance(self.obstore, obstore.store.AzureStore):
            # Azure has no suffix ranges: ask for the size first.
            size = self._size(key)
            return obstore.get_range(
                self.obstore, key, start=max(size - request.suffix, 0), end=size
            )
        else:
            options = {"range": {"suffix": request.suffix}}
        return obstore.get(self.obstore, key, options=options).bytes()

    def _size(self, key: str) -> int:
        try:
            return int(obstore.head(self.obstore, key)["size"])
        except FileNotFoundError:
            # A HEAD response has no body, so a missing bucket looks like a missing key
            # there; the body of a GET tells them apart (see _is_missing_key).
            return len(obstore.get(self.obstore, key).bytes())

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if len(keys) < 2:
            return [self._get(key, None) for key in keys]
        with ThreadPoolExecutor(min(self.concurrency, len(keys))) as pool:
            return list(pool.map(lambda key: self._get(key, None), keys))

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        """One HEAD for the size, then obstore's coalescing, parallel ranged GETs."""
        try:
            size = self._size(key)
            parts = [slice_for(request, size) for request in ranges]
            fetched = iter(self._fetch_ranges(key, [p for p in parts if p.start < p.stop]))
        except Exception as e:
            if _is_missing_key(e):
                return None
            raise _error(e, key, "get_ranges") from e
        return [bytes(next(fetched)) if part.start < part.stop else b"" for part in parts]

    def _fetch_ranges(self, key: str, parts: list[slice]) -> list[Any]:
        if not parts:
            return []
        starts = [part.start for part in parts]
        ends = [part.stop for part in parts]
        ranges: list[Any] = obstore.get_ranges(self.obstore, key, starts=starts, ends=ends)
        return ranges

    # --- writes ----------------------------------------------------------------------------
    def _set(self, key: str, value: Blob) -> None:
        try:
            obstore.put(self.obstore, key, memoryview(value))
        except Exception as e:
            raise _error(e, key, "set") from e

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        if len(items) < 2:
            super()._set_many(items)
            return
        with ThreadPoolExecutor(min(self.concurrency, len(items))) as pool:
            list(pool.map(lambda item: self._set(*item), items))

    def _delete(self, key: str) -> None:
        try:
            obstore.delete(self.obstore, key)
        except Exception as e:
            if not _is_missing_key(e):  # Azure reports deleting a missing blob
                raise _error(e, key, "delete") from e

    def _delete_many(self, keys: Sequence[str]) -> None:
        self._delete_keys(list(keys))

    def _delete_keys(self, keys: list[str]) -> None:
        """Bulk deletes (one request per 1000 keys on S3); key by key if one is missing."""
        if not keys:
            return
        try:
            obstore.delete(self.obstore, keys)
        except Exception as e:
            if not _is_missing_key(e):
                raise _error(e, keys[0], "delete_many") from e
            for key in keys:
                self._delete(key)

    # --- listing ---------------------------------------------------------------------------
    def _list_prefix(self, prefix: str) -> Iterator[str]:
        try:
            stream = obstore.list(self.obstore, prefix=prefix.rstrip("/") or None)
            return iter([meta["path"] for chunk in stream for meta in chunk])
        except Exception as e:
            raise _error(e, prefix, "list") from e

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Names directly under ``prefix``, from one delimited listing."""
        prefix = validate_prefix(prefix)
        try:
            listing = obstore.list_with_delimiter(self.obstore, prefix=prefix.rstrip("/") or None)
        except Exception as e:
            raise _error(e, prefix, "list") from e
        start = len(prefix)
        names = [meta["path"][start:] for meta in listing["objects"]]
        names += [sub[start:].rstrip("/") for sub in listing["common_prefixes"]]
        return iter(names)


def _is_empty(request: ByteRequest) -> bool:
    if isinstance(request, RangeRequest):
        return request.start == request.end
    return isinstance(request, SuffixRequest) and request.suffix == 0


_MISSING_CONTAINER = ("NoSuchBucket", "ContainerNotFound", "bucket does not exist")


def _is_missing_key(error: Exception) -> bool:
    """Whether ``error`` says the object is missing (a missing bucket is a failure)."""
    message = str(error)
    return isinstance(error, FileNotFoundError) and not any(
        marker in message for marker in _MISSING_CONTAINER
    )


def _trim(error: Exception) -> str:
    """An obstore error message without its multi-line debug dump."""
    return str(error).split("\n\nDebug source", 1)[0].strip()


def _error(error: Exception, key: str, operation: str) -> StoreError:
    return StoreError(f"{type(error).__name__}: {_trim(error)}", key=key, operation=operation)


def _rebuild(
    source: Any, read_only: bool, concurrency: int, storage_options: dict[str, Any]
) -> ObjectStore:
    return ObjectStore(source, read_only=read_only, concurrency=concurrency, **storage_options)
