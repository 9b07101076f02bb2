"""The upload handler of evidence requests: bounded memory, size limit while receiving, and
the file on its way to the store before the view runs.

Django's default handlers keep files under 2.5 MB in memory, accept any size, and hand the
view a complete file, so the store would receive nothing until the view had checked it
whole. This handler:

- refuses a request whose declared length is over the limit before reading it, and stops
  reading as soon as the file passes the limit (413);
- looks at the first bytes of the file. When they alone decide its type (PDF, JPEG, PNG: the
  scans) and the type is allowed and the case takes evidence from this user, the file goes to
  the store without waiting for the view:
  - a file of one part at most (`PART_SIZE`, 5 MiB: most scans) is kept in memory as it
    arrives and stored by one request once its last byte is in, its SHA-256 computed once
    (`Storage.put_bytes`). The store's SDK held such a file whole before sending a byte of
    it anyway; a thread and a queue between the two only added work;
  - a larger one is streamed while it arrives: through a small bounded queue (3 MiB) to a
    thread running the store's `put` (a multipart upload), which computes the SHA-256 on the
    way. Receiving and storing overlap; memory stays at a few parts.
  Otherwise (Office and OpenDocument containers, whose type is known only from their
  directory at the end; refused types) it spools to a temporary file, and the service checks
  it before a byte is stored;
- never leaves a partial object: a refusal or an error aborts the store's multipart upload
  (the reader raises instead of ending the stream), a file kept in memory is dropped, and an
  object stored but not claimed by the service when the request ends is deleted (`close`,
  called by the view).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import Case
from evidence import sniff
from evidence.errors import StoreUnavailable
from evidence.services import check_may_add, limit_bytes, too_large
from evidence.storage import PART_SIZE, Storage, StorageError, Stored, get_storage, new_key

logger = logging.getLogger(__name__)

# Room for the multipart boundaries, headers and the small text fields next to the file.
MULTIPART_SLACK = 256 * 1024
# Types decided by their first bytes, worth storing while they arrive.
STREAMABLE = frozenset({"pdf", "jpeg", "png"})
QUEUE_CHUNKS = 3  # 3 × 1 MiB between the request and the store
PIPE_PART = 1024 * 1024  # what the handler gathers before handing it to the store's thread
ONE_REQUEST = PART_SIZE  # a file up to this size is kept in memory and stored in one request
STALL_SECONDS = 300  # a sender silent this long is gone: the store's upload is aborted


class UploadAborted(Exception):
    """Raised to the store's reader so that it aborts instead of storing a truncated file."""


_END, _ABORT = object(), object()


class _Pipe:
    """Bytes from the request thread to the store's thread; bounded, abortable."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_CHUNKS)
        self._parts: list[bytes] = []
        self._have = 0
        self._ended = False
        self.reader_gone = threading.Event()

    # the request thread
    def write(self, data: Any) -> None:
        while True:
            if self.reader_gone.is_set():
                raise UploadAborted("the store stopped reading")
            try:
                self._queue.put(data, timeout=0.2)
                return
            except queue.Full:
                continue

    def end(self) -> None:
        self.write(_END)

    def abort(self) -> None:
        while True:  # make room, then wake the reader
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_ABORT)

    # the store's thread
    def read(self, size: int = -1) -> bytes:
        while not self._ended and (size < 0 or self._have < size):
            try:
                item = self._queue.get(timeout=STALL_SECONDS)
            except queue.Empty:
                raise UploadAborted("the sender stalled") from None
            if item is _ABORT:
                raise UploadAborted("the upload was refused or interrupted")
            if item is _END:
                self._ended = True
                break
            self._parts.append(item)
            self._have += len(item)
        if size < 0 or self._have <= size:
            data, self._parts, self._have = b"".join(self._parts), [], 0
            return data
        # Copy each byte once: whole chunks, then the head of the chunk that straddles `size`.
        taken, count = 0, 0
        while taken + len(self._parts[count]) <= size:
            taken += len(self._parts[count])
            count += 1
        split = self._parts[count]
        cut = size - taken
        data = b"".join([*self._parts[:count], split[:cut]])
        self._parts = [split[cut:], *self._parts[count + 1 :]]
        self._have -= size
        return data


class _StreamingPut(threading.Thread):
    def __init__(self, store: Storage, key: str, content_type: str) -> None:
        super().__init__(name=f"evidence-put-{key}", daemon=True)
        self.store, self.key, self.content_type = store, key, content_type
        self.pipe = _Pipe()
        self.result: Stored | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.store.put(self.key, self.pipe, -1, self.content_type)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the request thread
            self.error = exc
        finally:
            self.pipe.reader_gone.set()


class StreamedUpload:
    """What the view gets for a file already in the store (instead of a spooled file)."""

    def __init__(
        self, name: str, size: int, kind: sniff.FileKind, stored: Stored, store: Storage
    ) -> None:
        self.name, self.size, self.kind, self.stored, self.store = name, size, kind, stored, store
        self.claimed = False  # set by the service once it answers for the object

    def close(self) -> None:
        pass


def _unavailable() -> StoreUnavailable:
    return StoreUnavailable(
        _(
            "The evidence store cannot be reached right now. Nothing was saved; try again in a few minutes."
        )
    )


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    # Django's own size: its multipart parser copies the rest of its chunk each time it looks
    # for a boundary, which cost 2.4 ms of CPU per 1 MB file in chunks of 1 MiB and 0.4 ms in
    # chunks of 64 KiB. The store's thread still gets its data in parts of PIPE_PART.
    chunk_size = 64 * 1024

    def __init__(self, request: Any = None, *, case_id: Any = None) -> None:
        super().__init__(request)
        self.limit = limit_bytes()
        self.case_id = case_id
        self.case: Case | None = None  # set once the user may add evidence to it
        self.seen_file = False
        self.mode = ""
        self.head = bytearray()
        self.store: Storage | None = None
        self.put: _StreamingPut | None = None
        self.stored: Stored | None = None  # what the file's request or thread stored
        self.upload: StreamedUpload | None = None
        self.gathered: list[bytes] = []  # chunks not yet stored or handed to the store's thread
        self.gathered_bytes = 0

    def allow(self, case: Case) -> None:
        self.case = case

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes,  # type: ignore[override]  # Django passes bytes; its stubs say str
        encoding: str | None = None,
    ) -> None:
        if content_length and content_length > self.limit + MULTIPART_SLACK:
            raise too_large()
        # A session-authenticated POST is parsed by the CSRF check before the view runs:
        # check the user here, before any byte is stored.
        user = getattr(self.request, "user", None)
        if self.case is None and self.case_id is not None and user and user.is_authenticated:
            self.case = check_may_add(self.case_id, user)

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if field_name != "file" or self.seen_file:
            raise InvalidInput(_("Send one file per request, in the field “file”."))
        self.seen_file = True
        self.field_name, self.file_name = field_name, file_name
        self._new_file_args = (field_name, file_name, *args)
        self._new_file_kwargs = kwargs
        self.mode = "deciding"

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.close()
            self.upload_interrupted()
            raise too_large(self.file_name)
        if self.mode == "deciding":
            self.head += raw_data
            if len(self.head) >= sniff.HEAD_BYTES:
                self._decide(sniff.identify_head(bytes(self.head)))
            return None
        self._emit(raw_data)
        return None

    def _decide(self, kind: sniff.FileKind | None) -> None:
        data, self.head = bytes(self.head), bytearray()
        if (
            kind is not None
            and self.case is not None
            and kind.code in STREAMABLE
            and kind.code in settings.EVIDENCE_ALLOWED_TYPES
        ):
            self.mode, self.kind, self.store = "gather", kind, get_storage()
        else:
            self.mode = "spool"
            super().new_file(*self._new_file_args, **self._new_file_kwargs)
        self._emit(data)

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        if self.mode == "spool":
            self.file.write(data)
            return
        self.gathered.append(data)
        self.gathered_bytes += len(data)
        if self.mode == "gather":
            if self.gathered_bytes > ONE_REQUEST:
                self._start_streaming()
        elif self.gathered_bytes >= PIPE_PART:
            self._hand_over()

    def _start_streaming(self) -> None:
        """A file larger than one request: stored while the rest of it arrives."""
        assert self.case is not None and self.store is not None
        self.mode = "stream"
        self.put = _StreamingPut(self.store, new_key(self.case.pk), self.kind.mime)
        self.put.start()
        self._hand_over()

    def _store_whole(self) -> Stored:
        """A file that fits one request, stored once its last byte is in."""
        assert self.case is not None and self.store is not None
        data = b"".join(self.gathered)
        self.gathered, self.gathered_bytes = [], 0
        digest = hashlib.sha256(data).hexdigest()
        try:
            return self.store.put_bytes(new_key(self.case.pk), data, digest, self.kind.mime)
        except StorageError as exc:
            logger.warning("Evidence upload to the store failed: %s", exc)
            raise _unavailable() from exc

    def _hand_over(self) -> None:
        """The chunks gathered so far, as one part to the store's thread."""
        assert self.put is not None
        data = b"".join(self.gathered)
        self.gathered, self.gathered_bytes = [], 0
        if not data:
            return
        try:
            self.put.pipe.write(data)
        except UploadAborted:
            self.put.join()
            self._raise_store_error()

    def _raise_store_error(self) -> None:
        assert self.put is not None
        error = self.put.error
        if error is None or isinstance(error, StorageError):
            logger.warning("Evidence upload to the store failed: %s", error)
            raise _unavailable() from error
        raise error

    def file_complete(self, file_size: int) -> Any:
        if self.mode == "deciding":
            self._decide(None)  # shorter than the sample: judged whole by the service
        if self.mode == "spool":
            return super().file_complete(file_size)
        if self.mode == "gather":
            self.stored = self._store_whole()
        else:
            self.stored = self._finish_streaming()
        if self.stored.size != file_size:
            logger.error("Evidence stream stored %s bytes of %s", self.stored.size, file_size)
            self.close()
            raise _unavailable()
        assert self.file_name is not None and self.store is not None  # set by new_file()
        self.upload = StreamedUpload(self.file_name, file_size, self.kind, self.stored, self.store)
        return self.upload

    def _finish_streaming(self) -> Stored:
        assert self.put is not None
        self._hand_over()
        with contextlib.suppress(UploadAborted):
            self.put.pipe.end()
        self.put.join()
        if self.put.error is not None or self.put.result is None:
            self._raise_store_error()
        assert self.put.result is not None
        return self.put.result

    def close(self) -> None:
        """At the end of the request: abort an unfinished upload, delete an unclaimed object."""
        put, self.put = self.put, None
        stored, self.stored = self.stored, None
        self.gathered, self.gathered_bytes = [], 0  # a file kept in memory is dropped
        if put is not None:
            if put.is_alive():
                put.pipe.abort()
                put.join()
            stored = stored or put.result
        upload = self.upload
        if stored is None or self.store is None or (upload is not None and upload.claimed):
            return
        try:
            self.store.delete(stored.key, stored.version_id)
        except StorageError:
            logger.error(
                "Evidence object %s has no row and could not be deleted; "
                "evidence_check --repair will remove it.",
                stored.key,
            )
