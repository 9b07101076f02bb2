"""Small real files of every kind the type check must tell apart, built in memory.

Office Open XML and OpenDocument files are real ZIP packages with the parts the formats
require; .xlsx comes from openpyxl; legacy Office files and installers are real OLE2 compound
files with the named stream (written here: no library writes new OLE2 files).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 32 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
TEXT = "Báo cáo kết quả thực hiện".encode()


def pdf(size: int = 0) -> bytes:
    """A PDF of about `size` bytes (random filler inside a stream)."""
    if size <= len(PDF):
        return PDF
    return PDF[:-6] + os.urandom(size - len(PDF)) + b"\n%%EOF\n"


def _zip(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(stored_first, entries.pop(stored_first), zipfile.ZIP_STORED)
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main}"/>'
        "</Types>"
    ).encode()


def docx(*, macros: bool = False, filler: int = 0) -> bytes:
    """A .docx; `filler` bytes of incompressible media make it as large as wanted."""
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    entries = {
        "[Content_Types].xml": _content_types(main),
        "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        "word/document.xml": '<?xml version="1.0"?><w:document><w:body>Kế hoạch CCHC</w:body></w:document>'.encode(),
    }
    if macros:
        entries["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + b"\x00" * 60
    if filler:
        entries["word/media/image1.png"] = os.urandom(filler)
    return _zip(entries)


def docm() -> bytes:
    main = "application/vnd.ms-word.document.macroEnabled.main+xml"
    return _zip(
        {
            "[Content_Types].xml": _content_types(main),
            "word/document.xml": b"<w:document/>",
            "word/vbaProject.bin": b"\x00" * 64,
        }
    )


def xlsx() -> bytes:
    from openpyxl import Workbook

    from tests.helpers import worksheet

    book = Workbook()
    worksheet(book)["A1"] = "Tỷ lệ hồ sơ đúng hạn"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def odf(mimetype: str = "application/vnd.oasis.opendocument.text") -> bytes:
    return _zip(
        {
            "mimetype": mimetype.encode(),
            "content.xml": b'<?xml version="1.0"?><office:document-content/>',
            "META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest/>',
        },
        stored_first="mimetype",
    )


def plain_zip() -> bytes:
    return _zip({"a.txt": b"hello", "b/c.txt": b"world"})


# --- OLE2 compound files --------------------------------------------------------------------

_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(
    name: str,
    kind: int,
    *,
    child: int = _NOSTREAM,
    start: int = _END,
    size: int = 0,
    clsid: bytes = b"",
) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", _NOSTREAM, _NOSTREAM, child)
        + clsid.ljust(16, b"\x00")
        + b"\x00" * 4  # state bits
        + b"\x00" * 16  # creation and modification times
        + struct.pack("<IQ", start, size)
    )


def ole(stream_name: str, *, clsid: str = "") -> bytes:
    """A version 3 compound file with one 4 KiB stream (no mini stream needed)."""
    sector = 512
    data_sectors = 8
    fat = [_FATSECT, _END, *range(3, 2 + data_sectors), _END]
    fat += [_FREE] * (sector // 4 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    clsid_bytes = _clsid_bytes(clsid) if clsid else b""
    directory = (
        _dir_entry("Root Entry", 5, child=1, clsid=clsid_bytes)
        + _dir_entry(stream_name, 2, start=2, size=4096)
        + _dir_entry("", 0)
        + _dir_entry("", 0)
    )
    body = os.urandom(sector * data_sectors)
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def _clsid_bytes(text: str) -> bytes:
    import uuid

    return uuid.UUID(text).bytes_le


MSI_CLSID = "000C1084-0000-0000-C000-000000000046"
