"""Opening a workbook a user uploaded (units and accounts, criteria sets): the checks made
before openpyxl reads a byte, so that an empty file, a file too large, something that is not
a workbook or a small file that unpacks into millions of empty cells is refused with its
reason instead of filling the memory."""

from __future__ import annotations

import io
import zipfile

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

UNREADABLE_ERRORS = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError)


class Unreadable(ValueError):
    """The workbook cannot be read; the message says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def unreadable() -> Unreadable:
    return Unreadable(_("The file is not an Excel workbook (.xlsx) that can be read."))


def open_uploaded(
    content: bytes, *, max_bytes: int, max_sheet_bytes: int, too_large: str, not_xlsx: str = ""
) -> Workbook:
    """The workbook, read-only with values, or `Unreadable`. `too_large` is the message for
    sheets that unpack beyond `max_sheet_bytes`; `not_xlsx` for a file that is not a zip."""
    if not content:
        raise Unreadable(_("The file is empty."))
    if len(content) > max_bytes:
        raise Unreadable(
            _("The file is larger than %(size)s MB.") % {"size": max_bytes // (1024 * 1024)}
        )
    if not content.startswith(b"PK\x03\x04"):
        raise Unreadable(not_xlsx) if not_xlsx else unreadable()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(
                i.file_size for i in archive.infolist() if i.filename.startswith("xl/worksheets/")
            )
        if unpacked > max_sheet_bytes:
            raise Unreadable(too_large)
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except UNREADABLE_ERRORS as exc:
        if isinstance(exc, Unreadable):
            raise
        raise unreadable() from None
