"""The evidence store: one thin interface, two backends.

- `S3Storage`: MinIO (or any S3 server) through the official `minio` SDK, chosen when
  `MINIO_ENDPOINT` is set. The bucket is versioned and, where the server supports it, created
  with object lock, so that a frozen case's objects can be given a governance-mode retention.
- `LocalStorage`: a folder (`EVIDENCE_LOCAL_DIR`), the embedded default.

Invariants:
- Keys are made by `new_key()` from ids and a random UUID; nothing a user sends reaches a key
  (no traversal, no overwrite: an existing key is never written again).
- `put()` streams: it reads the source in parts, computes the SHA-256 and the size on the way
  and never holds the whole file in memory. `put_bytes()` stores a body already in memory, at
  most one part (`PART_SIZE`), whose SHA-256 the caller computed, in one request: on S3 over
  plain HTTP that digest is what the SDK signs as the payload's, so the body is hashed once,
  not twice, and the server's check of the body against it vouches for the digest recorded.
- Every SDK, network or file-system failure leaves this module as `StorageError`, so callers
  have one thing to catch (the API answers 503). The S3 client is built lazily, once per
  configuration, with short timeouts and few retries: when the store is down a user waits
  seconds, not minutes.
- The bucket is created when missing by `manage.py evidence_bucket` and, lazily, by the first
  write of each process (one HEAD request), never at import time.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import certifi
import urllib3
from django.conf import settings
from django.utils.http import content_disposition_header

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
PART_SIZE = 5 * 1024 * 1024  # the SDK holds a few parts in flight: memory stays bounded


class StorageError(Exception):
    """The store cannot be reached or refused the operation."""


class ObjectMissing(StorageError):
    """The object (or that version of it) is not in the store."""


@dataclass(frozen=True)
class Stored:
    """What a completed `put` wrote."""

    key: str
    version_id: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectRef:
    """One object (version) found by `list_objects`."""

    key: str
    version_id: str
    size: int
    last_modified: datetime | None


@dataclass(frozen=True)
class BucketStatus:
    created: bool
    versioning: bool
    object_lock: bool


def new_key(case_id: int) -> str:
    """A fresh storage key for a file of this case; no user input goes into it."""
    return f"case-{int(case_id)}/{uuid.uuid4().hex}"


class HashingReader:
    """Wraps a stream: counts and hashes what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class Storage(ABC):
    """What the evidence app needs from a store; see the module docstring."""

    name = ""

    @abstractmethod
    def ensure_bucket(self) -> BucketStatus: ...

    @abstractmethod
    def put(self, key: str, stream: BinaryIO, length: int, content_type: str) -> Stored: ...

    def put_bytes(self, key: str, data: bytes, sha256: str, content_type: str) -> Stored:
        """Store a body held in memory whose SHA-256 the caller computed; see the module
        docstring. This default hashes it again as `put` does."""
        return self.put(key, io.BytesIO(data), len(data), content_type)

    @abstractmethod
    def stat(self, key: str, version_id: str = "") -> ObjectRef:
        """The object's size and date; ObjectMissing when absent."""

    @abstractmethod
    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]: ...

    @abstractmethod
    def delete(self, key: str, version_id: str = "") -> None: ...

    @abstractmethod
    def list_objects(self) -> Iterator[ObjectRef]:
        """Every stored object version (what a row may reference)."""

    def retention_supported(self) -> bool:
        return False

    def retain(self, key: str, version_id: str, until: datetime) -> None:
        raise StorageError("This store has no object lock.")

    def retention(self, key: str, version_id: str = "") -> tuple[str, datetime | None]:
        """The object's lock mode and date ("" when none)."""
        return ("", None)

    def download_url(
        self, key: str, version_id: str, *, filename: str, content_type: str
    ) -> str | None:
        """A short-lived URL to fetch the object directly, or None (stream it instead)."""
        return None

    def open(self, key: str, version_id: str = "") -> BinaryIO:
        """A readable stream of the object (for backends without download URLs)."""
        raise NotImplementedError

    def sha256(self, key: str, version_id: str = "") -> str:
        """The SHA-256 of the stored bytes, read back in chunks."""
        digest = hashlib.sha256()
        for chunk in self.iter_chunks(key, version_id):
            digest.update(chunk)
        return digest.hexdigest()


# --- S3 / MinIO -----------------------------------------------------------------------------


def _translate(exc: BaseException) -> StorageError:
    from minio.error import S3Error

    if isinstance(exc, S3Error) and exc.code in ("NoSuchKey", "NoSuchVersion", "NoSuchObject"):
        return ObjectMissing(str(exc))
    return StorageError(f"{type(exc).__name__}: {exc}")


def _no_answer(exc: BaseException) -> bool:
    """The store took no request or gave no answer within the timeouts (hung or unreachable)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    return isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError))


def _sdk_errors() -> tuple[type[BaseException], ...]:
    from minio.error import MinioException

    return (MinioException, urllib3.exceptions.HTTPError, OSError)


# The header under which `put_bytes` hands its digest to the client below.
PAYLOAD_SHA256 = "x-amz-content-sha256"


class _Body:
    """A body in memory, read whole by the SDK without a copy (io.BytesIO.read copies)."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data or b"", None
        return data


@functools.cache
def _client_class() -> type[Any]:
    from minio import Minio

    class Client(Minio):
        """The SDK's client, signing a payload digest the caller already computed.

        Over plain HTTP the SDK signs every request with its body's SHA-256, which it
        computes in `_build_headers`; given the digest (`PAYLOAD_SHA256` among the request's
        headers, from `put_bytes`), it signs that one instead of hashing the body again. Over
        HTTPS the SDK's own headers stand (UNSIGNED-PAYLOAD, TLS guarding the body)."""

        def _build_headers(
            self, host: str, headers: Any = None, body: Any = None, creds: Any = None
        ) -> tuple[Any, Any]:
            given = headers.get(PAYLOAD_SHA256) if headers else None
            if given is None or body is None or creds is None or self._base_url.is_https:
                return super()._build_headers(host, headers, body, creds)
            built, date = super()._build_headers(host, headers, None, creds)
            built["Content-Length"] = str(len(body))
            built[PAYLOAD_SHA256] = given
            return built, date

    return Client


class S3Storage(Storage):
    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool,
        region: str,
        public_endpoint: str = "",
        public_secure: bool | None = None,
        connect_timeout: float = 3,
        read_timeout: float = 20,
        retries: int = 2,
    ) -> None:
        self.endpoint, self.bucket, self.secure, self.region = endpoint, bucket, secure, region
        self._access_key, self._secret_key = access_key, secret_key
        self._public_endpoint = public_endpoint or endpoint
        self._public_secure = secure if public_secure is None else public_secure
        self._timeouts = (connect_timeout, read_timeout, retries)
        self._client: Any = None
        self._public_client: Any = None
        self._ready = False
        self._lock_enabled: bool | None = None
        self._mutex = threading.Lock()

    def _http(self) -> urllib3.PoolManager:
        connect, read, retries = self._timeouts
        return urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect, read=read),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            # Retried: a refused connection and an error status. Never a request the store
            # received but did not answer (read=0): a hung store would make the user wait
            # that many times the read timeout, and each PUT it finished later would leave
            # one more object without a row.
            retries=urllib3.Retry(
                total=retries,
                read=0,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._mutex:
                if self._client is None:
                    self._client = _client_class()(
                        self.endpoint,
                        access_key=self._access_key,
                        secret_key=self._secret_key,
                        secure=self.secure,
                        region=self.region or None,
                        http_client=self._http(),
                    )
        return self._client

    def _public(self) -> Any:
        """Signs download URLs for the host users reach (signing needs no request)."""
        if self._public_client is None:
            from minio import Minio

            self._public_client = Minio(
                self._public_endpoint,
                access_key=self._access_key,
                secret_key=self._secret_key,
                secure=self._public_secure,
                region=self.region or "us-east-1",
            )
        return self._public_client

    def ensure_bucket(self) -> BucketStatus:
        from minio.error import S3Error
        from minio.versioningconfig import ENABLED, VersioningConfig

        client = self.client
        created = False
        try:
            if not client.bucket_exists(self.bucket):
                try:
                    client.make_bucket(self.bucket, object_lock=True)
                    created = True
                except S3Error as exc:
                    if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        pass  # another process won the race
                    elif exc.code in ("InvalidRequest", "NotImplemented", "InvalidArgument"):
                        # A server without object lock: a plain versioned bucket.
                        client.make_bucket(self.bucket)
                        created = True
                    else:
                        raise
            versioning = client.get_bucket_versioning(self.bucket).status == ENABLED
            if not versioning:
                client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
                versioning = True
            self._lock_enabled = self._read_lock_config()
        except _sdk_errors() as exc:
            raise _translate(exc) from exc
        self._ready = True
        return BucketStatus(created=created, versioning=versioning, object_lock=self._lock_enabled)

    def _read_lock_config(self) -> bool:
        from minio.error import S3Error

        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in ("ObjectLockConfigurationNotFoundError", "NotImplemented"):
                return False
            raise
        return True

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.ensure_bucket()

    def put(self, key: str, stream: BinaryIO, length: int, content_type: str) -> Stored:
        self._ensure_ready()
        reader = HashingReader(stream)
        try:
            result = self.client.put_object(
                self.bucket,
                key,
                reader,
                length,
                content_type=content_type,
                part_size=PART_SIZE if length < 0 else 0,  # 0: the SDK's own (5 MiB here)
            )
        except _sdk_errors() as exc:
            raise self._failed_put(key, exc) from exc
        if length >= 0 and reader.size != length:
            self._forget_partial(key, result.version_id or "")
            raise StorageError(f"read {reader.size} bytes, expected {length}")
        return Stored(key, result.version_id or "", reader.size, reader.hexdigest())

    def put_bytes(self, key: str, data: bytes, sha256: str, content_type: str) -> Stored:
        if len(data) > PART_SIZE:  # more than one request: the parts are signed each
            return super().put_bytes(key, data, sha256, content_type)
        self._ensure_ready()
        try:
            result = self.client.put_object(
                self.bucket,
                key,
                _Body(data),
                len(data),
                content_type=content_type,
                metadata={PAYLOAD_SHA256: sha256},
            )
        except _sdk_errors() as exc:
            raise self._failed_put(key, exc) from exc
        return Stored(key, result.version_id or "", len(data), sha256)

    def _failed_put(self, key: str, exc: BaseException) -> StorageError:
        """After the SDK failed a put: no object left behind where the store answers."""
        if _no_answer(exc):
            # Asking a store that does not answer to delete would only make the user wait
            # as long again; if it finishes the upload later, evidence_check --repair
            # finds the object without a row and removes it.
            logger.warning("The store did not answer the upload of %s in time", key)
        else:
            self._forget_partial(key)
        return _translate(exc)

    def _forget_partial(self, key: str, version_id: str = "") -> None:
        """Best effort after a failed put: no object may stay behind (the SDK already aborted
        a multipart upload; MinIO also expires stale incomplete uploads after a day)."""
        try:
            if version_id:
                self.client.remove_object(self.bucket, key, version_id=version_id)
            else:
                for ref in self.client.list_objects(self.bucket, prefix=key, include_version=True):
                    if ref.object_name == key:
                        self.client.remove_object(self.bucket, key, version_id=ref.version_id)
        except _sdk_errors():
            logger.warning("Could not clean up a failed upload of %s", key)

    def stat(self, key: str, version_id: str = "") -> ObjectRef:
        try:
            st = self.client.stat_object(self.bucket, key, version_id=version_id or None)
        except _sdk_errors() as exc:
            raise _translate(exc) from exc
        return ObjectRef(key, st.version_id or "", st.size or 0, st.last_modified)

    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, key, version_id=version_id or None)
        except _sdk_errors() as exc:
            raise _translate(exc) from exc
        try:
            yield from response.stream(CHUNK)
        except _sdk_errors() as exc:
            raise _translate(exc) from exc
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str, version_id: str = "") -> None:
        try:
            self.client.remove_object(self.bucket, key, version_id=version_id or None)
        except _sdk_errors() as exc:
            raise _translate(exc) from exc

    def list_objects(self) -> Iterator[ObjectRef]:
        try:
            for obj in self.client.list_objects(self.bucket, recursive=True, include_version=True):
                if obj.is_delete_marker or obj.is_dir:
                    continue
                yield ObjectRef(
                    obj.object_name, obj.version_id or "", obj.size or 0, obj.last_modified
                )
        except _sdk_errors() as exc:
            raise _translate(exc) from exc

    def retention_supported(self) -> bool:
        if self._lock_enabled is None:
            try:
                self._lock_enabled = self._read_lock_config()
            except _sdk_errors() as exc:
                raise _translate(exc) from exc
        return self._lock_enabled

    def retain(self, key: str, version_id: str, until: datetime) -> None:
        from minio.commonconfig import GOVERNANCE
        from minio.retention import Retention

        try:
            self.client.set_object_retention(
                self.bucket, key, Retention(GOVERNANCE, until), version_id=version_id or None
            )
        except _sdk_errors() as exc:
            raise _translate(exc) from exc

    def retention(self, key: str, version_id: str = "") -> tuple[str, datetime | None]:
        # Read from the object's headers: some servers' GetObjectRetention is unreliable.
        try:
            st = self.client.stat_object(self.bucket, key, version_id=version_id or None)
        except _sdk_errors() as exc:
            raise _translate(exc) from exc
        meta = {k.lower(): v for k, v in (st.metadata or {}).items()}
        mode = meta.get("x-amz-object-lock-mode", "")
        raw = meta.get("x-amz-object-lock-retain-until-date", "")
        until = datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None
        return (mode, until)

    def download_url(
        self, key: str, version_id: str, *, filename: str, content_type: str
    ) -> str | None:
        return self._public().presigned_get_object(
            self.bucket,
            key,
            expires=timedelta(seconds=settings.EVIDENCE_DOWNLOAD_URL_SECONDS),
            version_id=version_id or None,
            response_headers={
                "response-content-disposition": content_disposition_header(True, filename),
                "response-content-type": content_type,
                "response-cache-control": "private, no-store",
            },
        )


# --- local folder ---------------------------------------------------------------------------

_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*")


class LocalStorage(Storage):
    """Files under one folder; read-only once written. No versions, no retention."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY_RE.fullmatch(key) or ".." in key.split("/"):
            raise StorageError(f"invalid key {key!r}")
        return self.root / key

    def ensure_bucket(self) -> BucketStatus:
        existed = self.root.is_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        return BucketStatus(created=not existed, versioning=False, object_lock=False)

    def put(self, key: str, stream: BinaryIO, length: int, content_type: str) -> Stored:
        path = self._path(key)
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        reader = HashingReader(stream)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "xb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if length >= 0 and reader.size != length:
                raise StorageError(f"read {reader.size} bytes, expected {length}")
            os.link(partial, path)  # fails rather than overwrite an existing key
            path.chmod(0o440)
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        return Stored(key, "", reader.size, reader.hexdigest())

    def stat(self, key: str, version_id: str = "") -> ObjectRef:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        return ObjectRef(key, "", st.st_size, _mtime(st.st_mtime))

    def open(self, key: str, version_id: str = "") -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageError(str(exc)) from exc

    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def delete(self, key: str, version_id: str = "") -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageError(str(exc)) from exc

    def list_objects(self) -> Iterator[ObjectRef]:
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                st = path.stat()
                key = path.relative_to(self.root).as_posix()
                yield ObjectRef(key, "", st.st_size, _mtime(st.st_mtime))


def _mtime(timestamp: float) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(timestamp, tz=UTC)


# --- the configured store -------------------------------------------------------------------

_current: tuple[tuple[Any, ...], Storage] | None = None
_current_lock = threading.Lock()


def _config() -> tuple[Any, ...]:
    return (
        settings.MINIO_ENDPOINT,
        settings.MINIO_ACCESS_KEY,
        settings.MINIO_SECRET_KEY,
        settings.MINIO_BUCKET,
        settings.MINIO_SECURE,
        settings.MINIO_REGION,
        settings.MINIO_PUBLIC_ENDPOINT,
        settings.MINIO_PUBLIC_SECURE,
        settings.MINIO_CONNECT_TIMEOUT,
        settings.MINIO_READ_TIMEOUT,
        settings.MINIO_RETRIES,
        str(settings.EVIDENCE_LOCAL_DIR),
    )


def build_storage() -> Storage:
    """A store for the current settings (not cached)."""
    if settings.MINIO_ENDPOINT:
        return S3Storage(
            endpoint=settings.MINIO_ENDPOINT,
            access_key=settings.MINIO_ACCESS_KEY,
            secret_key=settings.MINIO_SECRET_KEY,
            bucket=settings.MINIO_BUCKET,
            secure=settings.MINIO_SECURE,
            region=settings.MINIO_REGION,
            public_endpoint=settings.MINIO_PUBLIC_ENDPOINT,
            public_secure=settings.MINIO_PUBLIC_SECURE,
            connect_timeout=settings.MINIO_CONNECT_TIMEOUT,
            read_timeout=settings.MINIO_READ_TIMEOUT,
            retries=settings.MINIO_RETRIES,
        )
    return LocalStorage(settings.EVIDENCE_LOCAL_DIR)


def get_storage() -> Storage:
    """The configured store, built once per configuration and process."""
    global _current
    config = _config()
    current = _current
    if current is not None and current[0] == config:
        return current[1]
    with _current_lock:
        if _current is None or _current[0] != config:
            _current = (config, build_storage())
        return _current[1]
