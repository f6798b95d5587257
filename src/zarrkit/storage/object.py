"""ObjectStore: S3, Google Cloud Storage, Azure Blob Storage and HTTP through ``obstore``.

URLs: ``s3://bucket/prefix``, ``gs://bucket/prefix`` (or ``gcs://``),
``az://container/prefix`` (or ``azure://``, ``abfs://``), ``http(s)://host/path``
(read-only). ``storage_options`` go to obstore's store constructor: its configuration keys
(``endpoint``, ``region``, ``access_key_id``, ``account_name``, ``skip_signature`` ...),
client options (``allow_http``, ``timeout``, ``connect_timeout`` ... or a whole
``client_options`` dict) and ``credential_provider``, and zarrkit's retry options
(``retry_attempts``, ``retry_deadline`` ...; see :mod:`zarrkit.retry`). ``allow_http``
defaults to true for ``http://`` URLs and ``http://`` endpoints. fsspec's names, which
zarr-python's users give, are translated (``anon=True`` is ``skip_signature``; s3fs's
``key``, ``secret``, ``endpoint_url`` ...).

Errors: only a missing object reads as ``None``; any other failure, a missing bucket or
container included, raises :class:`~zarrkit.errors.StoreError` naming the key and the
operation. Transient failures (5xx and 429 answers, connection errors, timeouts, bodies cut
short, checksum mismatches in transfer) are retried by :func:`zarrkit.retry.call`, and
obstore's own retries are off (``max_retries=0``), so every retry is counted, cancellable
and bounded by one policy; obstore's ``retry_config`` given as a storage option is read
into that policy. A store built beforehand with obstore's retries on keeps them, and what
obstore retried already is not retried again.

Consistency: each ``set`` is one PUT, atomic per object on S3, GCS and Azure. There are no
multi-object transactions: ``set_many`` writes objects concurrently; when some fail for
good, :class:`~zarrkit.errors.PartialWriteError` names exactly the keys not written (each
other key holds its new value, whole). Concurrent writers of the same key: the last PUT
wins, unless they write conditionally. A conditional write whose answer was lost is
resolved by reading the object again: written (its value is there), not written (the
version it required still is: it is sent again) or overtaken (a ``ConflictError``).

Versions: an object's version is its ETag (with its generation on GCS). Reads return it
and can require it (``If-Match``: a 412 raises :class:`~zarrkit.errors.ConflictError`);
``set_if`` writes with ``If-Match`` or ``If-None-Match: *`` on S3, GCS and Azure (HTTP
stores are read-only). S3-compatible servers that refuse conditional writes need
``conditional_writes=False``: read-modify-writes from several processes are then unsafe
there. A server that sends no ETag gives no versions: reads fall back to re-reading.

Over 400 lines: one obstore client for four services (S3, GCS, Azure, HTTP), with the
versions and conditional writes of each and what obstore's errors mean (absent, transient,
a conflict); URLs and options become obstore stores in :mod:`zarrkit.storage.obstore_config`.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar, cast

import obstore
import obstore.exceptions
import obstore.store

from zarrkit import config, retry
from zarrkit.errors import ConflictError, StoreError
from zarrkit.keys import validate_prefix
from zarrkit.storage.base import Store, slice_for
from zarrkit.storage.obstore_config import build_obstore, trim_message
from zarrkit.types import (
    Blob,
    ByteRequest,
    OffsetRequest,
    RangeRequest,
    SuffixRequest,
    Version,
    Versioned,
)

T = TypeVar("T")
T0 = TypeVar("T0")

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_CLIENTS = 64
os.register_at_fork(after_in_child=_clients.clear)  # a child builds clients of its own


def _shared_obstore(url: str, storage_options: dict[str, Any]) -> Any:
    """:func:`build_obstore`, reused by every store opened on the same URL with the same
    options: building one costs milliseconds (its HTTP client), and sharing it shares its
    open connections. Options holding objects (a credential provider) build a new one."""
    plain = (str, int, float, bool, type(None), datetime.timedelta, dict)
    if not all(isinstance(v, plain) for v in storage_options.values()):
        return build_obstore(url, storage_options)
    key = repr((url, sorted(storage_options.items())))
    with _clients_lock:
        found = _clients.get(key)
    if found is None:
        found = build_obstore(url, storage_options)
        with _clients_lock:
            if len(_clients) >= _CLIENTS:
                _clients.pop(next(iter(_clients)))
            found = _clients.setdefault(key, found)
    return found


class ObjectStore(Store):
    """A bucket or container of a cloud object store, or a read-only HTTP directory.

    Parameters
    ----------
    store
        ``s3://bucket/prefix``, ``gs://``, ``az://``, ``http(s)://`` (see the module
        docstring), or an already configured obstore store (zarr-python's
        ``ObjectStore(store=...)``).
    read_only
        Refuse writes; always true for HTTP.
    concurrency
        Requests in flight at once in batch calls (default: the ``io_threads`` setting,
        on a pool shared by every store of the process).
    conditional_writes
        Use the server's conditional writes (``set_if``); ``False`` for S3-compatible
        servers that refuse them.
    **storage_options
        Passed to obstore (credentials, ``endpoint``, ``region``, ``allow_http`` ...),
        except the retry options (``retry_attempts``, ``retry_deadline`` ...).

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
        store: str | Any,
        *,
        read_only: bool = False,
        concurrency: int | None = None,
        conditional_writes: bool = True,
        **storage_options: Any,
    ) -> None:
        options = dict(storage_options)
        self.retry_options = retry_options(options)
        if isinstance(store, str):
            self.url: str | None = store
            self.obstore = _shared_obstore(store, options)
        else:
            self.url, self.obstore = None, store
        http = isinstance(self.obstore, obstore.store.HTTPStore)
        super().__init__(read_only=read_only or http)
        self.supports_listing = not http
        self.storage_options = storage_options
        self.concurrency = concurrency
        self.conditional_writes = conditional_writes and not http
        self.supports_conditional_writes = self.conditional_writes

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> ObjectStore:
        """Open ``url`` with ``options`` as storage options."""
        return cls(url, read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"ObjectStore({self.url or self.obstore!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        source = self.url if self.url is not None else self.obstore
        options = {**self.storage_options, "conditional_writes": self.conditional_writes}
        return (_rebuild, (source, self.read_only, self.concurrency, options))

    def _request(self, operation: str, key: str, request: Callable[[], T]) -> T:
        """``request()`` (obstore calls), tried again while it fails transiently."""
        return retry.call(
            request, transient, self.retry_options, key=key, operation=operation, store=self
        )

    # --- reads -----------------------------------------------------------------------------
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        try:
            return self._request("get", key, lambda: self._fetch(key, byte_range))
        except StoreError:
            raise
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
            except Exception as e:
                if transient(e) is not None:
                    raise
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
        return obstore.get(self.obstore, key, options=cast(Any, options)).bytes()

    def _size(self, key: str) -> int:
        try:
            return int(obstore.head(self.obstore, key)["size"])
        except FileNotFoundError:
            # A HEAD response has no body, so a missing bucket looks like a missing key
            # there; the body of a GET tells them apart (see _is_missing_key).
            return len(obstore.get(self.obstore, key).bytes())

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._fan_out(lambda key: self._get(key, None), keys)

    def _fan_out(self, call: Callable[[T0], T], items: Sequence[T0]) -> list[T]:
        """``call`` on every item, concurrently; the first failure stops the rest."""
        with self._pool(len(items)) as pool:
            return retry.fan_out(call, items, pool)

    @contextlib.contextmanager
    def _pool(self, size: int) -> Iterator[Executor]:
        """The pool of a batch of ``size`` requests: the shared one, or one of at most
        ``concurrency`` threads."""
        if self.concurrency is None or size < 2:
            yield config.pool("requests")
            return
        with ThreadPoolExecutor(min(self.concurrency, size)) as pool:
            yield pool

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        """One HEAD for the size, then obstore's coalescing, parallel ranged GETs."""
        try:
            size = self._request("get_ranges", key, lambda: self._size(key))
            parts = [slice_for(request, size) for request in ranges]
            wanted = [p for p in parts if p.start < p.stop]
            found = self._request("get_ranges", key, lambda: self._fetch_ranges(key, wanted))
        except StoreError:
            raise
        except Exception as e:
            if _is_missing_key(e):
                return None
            raise _error(e, key, "get_ranges") from e
        fetched = iter(found)
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
        # An unconditional PUT is idempotent: one whose answer was lost is simply sent again.
        try:
            self._request("set", key, lambda: obstore.put(self.obstore, key, memoryview(value)))
        except StoreError:
            raise
        except Exception as e:
            raise _error(e, key, "set") from e

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        with self._pool(len(items)) as pool:
            retry.write_all(lambda item: self._set(*item), items, [[k] for k, _ in items], pool)

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    versions_cacheable = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        def fetch() -> Versioned:
            return self._fetch_versioned(key, byte_range, if_match)

        try:
            return self._request("get", key, fetch)
        except StoreError:
            raise
        except Exception as e:
            if _is_missing_key(e):
                if if_match is not None:
                    raise ConflictError("deleted", key=key, operation="get") from e
                return Versioned(None, None)
            if isinstance(e, obstore.exceptions.PreconditionError):
                raise ConflictError(f"not at version {if_match}", key=key, operation="get") from e
            raise _error(e, key, "get") from e

    def _fetch_versioned(
        self, key: str, request: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        options: dict[str, Any] = {} if if_match is None else {"if_match": _etag(if_match)}
        if request is not None and isinstance(self.obstore, obstore.store.AzureStore):
            request = self._azure_range(key, request, options)
        if request is not None and _is_empty(request):
            return self._empty_part(key, request, options)
        if request is not None:
            options["range"] = _range_option(request)
        try:
            result = obstore.get(self.obstore, key, options=cast(Any, options))
            value = bytes(result.bytes())
        except (FileNotFoundError, obstore.exceptions.PreconditionError):
            raise
        except Exception as e:
            if request is None or transient(e) is not None:
                raise
            return self._empty_part(key, request, options, e)  # a range past the end: 416
        start, _ = result.range
        return Versioned(value, _version_of(result.meta), start)

    def _azure_range(self, key: str, request: ByteRequest, options: dict[str, Any]) -> ByteRequest:
        """Azure has no suffix ranges: the size (and version, which the ranged read then
        requires) come from a HEAD first."""
        if not isinstance(request, SuffixRequest):
            return request
        meta = obstore.get(self.obstore, key, options=cast(Any, {**options, "head": True})).meta
        options["if_match"] = meta["e_tag"] or options.get("if_match")
        size = int(meta["size"])
        return RangeRequest(max(size - request.suffix, 0), size)

    def _empty_part(
        self,
        key: str,
        request: ByteRequest,
        options: dict[str, Any],
        error: Exception | None = None,
    ) -> Versioned:
        """The bytes of a request that selects nothing (or starts past the end) are b"": the
        object's size and version come from a HEAD (which raises when it is missing); a
        request that does select bytes failed with ``error``."""
        head = {k: v for k, v in options.items() if k != "range"}
        meta = obstore.get(self.obstore, key, options=cast(Any, {**head, "head": True})).meta
        part = slice_for(request, int(meta["size"]))
        if part.start < part.stop and error is not None:
            raise error
        return Versioned(b"", _version_of(meta), part.start)

    def _get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]:
        return self._fan_out(lambda key: self._get_versioned(key, None, None), keys)

    def _get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        """One conditional ranged GET per range, concurrently."""
        parts = self._fan_out(lambda r: self._get_versioned(key, r, if_match), list(ranges))
        return [part.value or b"" for part in parts]

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        try:
            return self._request("set_if", key, lambda: self._put_if(key, value, if_match))
        except StoreError:
            raise
        except (obstore.exceptions.PreconditionError, obstore.exceptions.AlreadyExistsError) as e:
            found = "exists" if if_match is None else f"is not at version {if_match}"
            raise ConflictError(found, key=key, operation="set_if") from e
        except Exception as e:
            raise _error(e, key, "set_if") from e

    def _put_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        mode: Any = "create" if if_match is None else _update_version(if_match)

        def put() -> Version:
            result = obstore.put(self.obstore, key, memoryview(value), mode=mode)
            return _version_of(result) or ""  # "": written, at a version the server did not say

        return self._write_once(put, transient, key, value, if_match)

    def _set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        def write(item: tuple[str, Blob, Version | None]) -> Version | None:
            try:
                return self._set_if(*item)
            except ConflictError:
                return None

        with self._pool(len(items)) as pool:
            return retry.write_all(write, items, [[item[0]] for item in items], pool)

    def _delete(self, key: str) -> None:
        try:
            self._request("delete", key, lambda: obstore.delete(self.obstore, key))
        except StoreError:
            raise
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
            self._request("delete_many", keys[0], lambda: obstore.delete(self.obstore, keys))
        except StoreError:
            raise
        except Exception as e:
            if not _is_missing_key(e):
                raise _error(e, keys[0], "delete_many") from e
            for key in keys:
                self._delete(key)

    # --- listing ---------------------------------------------------------------------------
    def _list_prefix(self, prefix: str) -> Iterator[str]:
        def listing() -> list[str]:
            stream = obstore.list(self.obstore, prefix=prefix.rstrip("/") or None)
            return [meta["path"] for chunk in stream for meta in chunk]

        try:
            return iter(self._request("list", prefix, listing))
        except StoreError:
            raise
        except Exception as e:
            raise _error(e, prefix, "list") from e

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Names directly under ``prefix``, from one delimited listing."""
        prefix = validate_prefix(prefix)

        def listing() -> Any:
            return obstore.list_with_delimiter(self.obstore, prefix=prefix.rstrip("/") or None)

        try:
            found = self._request("list", prefix, listing)
        except StoreError:
            raise
        except Exception as e:
            raise _error(e, prefix, "list") from e
        start = len(prefix)
        names = [meta["path"][start:] for meta in found["objects"]]
        names += [sub[start:].rstrip("/") for sub in found["common_prefixes"]]
        return iter(names)


def _range_option(request: ByteRequest) -> Any:
    if isinstance(request, RangeRequest):
        return (request.start, request.end)
    if isinstance(request, OffsetRequest):
        return {"offset": request.offset}
    return {"suffix": request.suffix}


# A version is the object's ETag; where the store also keeps a generation (GCS, versioned
# buckets) it follows after a newline, since GCS conditions writes on the generation.
def _version_of(meta: Any) -> Version | None:
    """The version in an object's metadata (``None``: the server sent no ETag)."""
    etag, generation = meta.get("e_tag") or "", meta.get("version")
    return f"{etag}\n{generation}" if generation else etag or None


def _etag(version: Version) -> str:
    return version.split("\n", 1)[0]


def _update_version(version: Version) -> dict[str, str]:
    etag, _, generation = version.partition("\n")
    return {"e_tag": etag, "version": generation} if generation else {"e_tag": etag}


def _is_empty(request: ByteRequest) -> bool:
    if isinstance(request, RangeRequest):
        return request.start == request.end
    return isinstance(request, SuffixRequest) and request.suffix == 0


# What obstore's errors say (its exceptions carry no status or kind of their own): the
# HTTP status of an answer, and the kinds of a transport error in its debug text.
_STATUS = re.compile(r"status code: (\d{3})")
_KIND = re.compile(r"kind: (\w+)")
_RETRIED = re.compile(r"after \d+ retries")
# 400 answers that say a request was damaged or cut short in transfer (S3, Azure).
_TRANSFER_FAULTS = {
    "BadDigest": "checksum mismatch",
    "InvalidDigest": "checksum mismatch",
    "XAmzContentSHA256Mismatch": "checksum mismatch",
    "Md5Mismatch": "checksum mismatch",
    "IncompleteBody": "truncated body",
    "RequestTimeout": "timeout",
}


_ERROR_ANSWER = "Server returned error response"
_ERRORS_IN_200 = {"InternalError": "500", "SlowDown": "503"}


def transient(error: BaseException) -> str | None:
    """Why ``error`` (raised by obstore) is worth another try: "503", "429", "timeout",
    "truncated body", "connection reset" ...; ``None`` when it is not: a missing key (404),
    a refusal (403, 400), a conflict (412), or a failure obstore itself already retried
    (a store built with obstore's retries on)."""
    if not isinstance(error, obstore.exceptions.GenericError):
        return None  # not found, precondition, permission, not supported ...
    message = str(error)
    if _RETRIED.search(message):
        return None
    status = _STATUS.search(message)
    if status is not None:
        return _transient_status(int(status[1]), message)
    if _ERROR_ANSWER in message:  # S3 may answer 200 and an error (completing multipart uploads)
        return next((why for code, why in _ERRORS_IN_200.items() if code in message), None)
    kinds = set(_KIND.findall(message))
    if "Timeout" in kinds:
        return "timeout"
    if kinds & {"Body", "Decode"}:
        return "truncated body"
    if "ConnectionRefused" in kinds:
        return "connection refused"
    if kinds & {"Connect", "Request", "Interrupted"}:
        return "connection reset"
    return None


def _transient_status(status: int, message: str) -> str | None:
    if status >= 500 or status in (408, 429):
        return str(status)
    if status == 400:
        return next((why for code, why in _TRANSFER_FAULTS.items() if code in message), None)
    return None


def retry_options(options: dict[str, Any]) -> dict[str, Any]:
    """Remove the retry options from a store's ``options`` and return them as zarrkit's
    ``retry_*`` settings, with obstore's ``retry_config`` (a ``RetryConfig``) read into
    them (zarrkit's names win)."""
    found = retry.split_options(options)
    obstore_retry = options.pop("retry_config", None) or {}
    backoff = obstore_retry.get("backoff", {})
    retries = obstore_retry.get("max_retries")
    translated = {
        "retry_attempts": None if retries is None else retries + 1,
        "retry_deadline": _seconds(obstore_retry.get("retry_timeout")),
        "retry_backoff": _seconds(backoff.get("init_backoff")),
        "retry_max_backoff": _seconds(backoff.get("max_backoff")),
        "retry_multiplier": backoff.get("base"),
    }
    return {**{k: v for k, v in translated.items() if v is not None}, **found}


def _seconds(value: datetime.timedelta | float | None) -> float | None:
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


_MISSING_CONTAINER = ("NoSuchBucket", "ContainerNotFound", "bucket does not exist")


def _is_missing_key(error: Exception) -> bool:
    """Whether ``error`` says the object is missing (a missing bucket is a failure)."""
    message = str(error)
    return isinstance(error, FileNotFoundError) and not any(
        marker in message for marker in _MISSING_CONTAINER
    )


def _error(error: Exception, key: str, operation: str) -> StoreError:
    return StoreError(
        f"{type(error).__name__}: {trim_message(error)}", key=key, operation=operation
    )


def _rebuild(
    source: Any, read_only: bool, concurrency: int | None, storage_options: dict[str, Any]
) -> ObjectStore:
    return ObjectStore(source, read_only=read_only, concurrency=concurrency, **storage_options)
