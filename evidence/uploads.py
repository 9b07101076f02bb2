"""The upload handler of evidence requests: bounded memory, size limit while receiving.

Django's default handlers keep files under 2.5 MB in memory and accept any size. This one
spools every file to a temporary file in 1 MiB chunks (larger chunks parse the multipart body
faster), refuses a request whose declared length is already over the limit before reading it,
and stops reading as soon as a file passes the limit, deleting what was spooled.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import TemporaryFileUploadHandler

from evidence.services import limit_bytes, too_large

# Room for the multipart boundaries, headers and the small text fields next to the file.
MULTIPART_SLACK = 256 * 1024


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = limit_bytes()

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes,
        encoding: str | None = None,
    ) -> None:
        if content_length and content_length > self.limit + MULTIPART_SLACK:
            raise too_large()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.upload_interrupted()
            raise too_large(self.file_name)
        self.file.write(raw_data)
        return None
