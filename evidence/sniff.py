"""Judge an uploaded file's type from its bytes, never from its name or declared type.

Magic numbers decide the simple formats (PDF, JPEG, PNG, programs, archives). Two containers
hold several formats each and need a look inside:

- ZIP: Office Open XML (.docx/.xlsx/.pptx, and their macro-enabled twins, told apart by
  `[Content_Types].xml` and a `vbaProject.bin` part), OpenDocument (the `mimetype` entry), or
  a plain archive;
- OLE2 compound files: Word/Excel/PowerPoint 97–2003 (by their main stream), password-protected
  Office files (`EncryptedPackage`), Windows installers (.msi, by the root CLSID).

Only the container's directory is read, seeking in the spooled upload (`zipfile`, `olefile`),
never the whole file into memory. Why not `python-magic` or `filetype`: the first needs
libmagic on every machine, the second guesses .docx from a byte pattern and .doc/.xls from
fixed offsets, so it cannot tell a macro-enabled workbook or an installer from an allowed
document — the distinctions that matter here.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import olefile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

HEAD_BYTES = 2048
MAX_ZIP_ENTRIES = 5000  # Office files have hundreds at most; more is an archive (or a bomb)
CONTENT_TYPES_MAX = 256 * 1024


@dataclass(frozen=True)
class FileKind:
    """What a file really is: a short code (the allow-list's words), a MIME type, a label."""

    code: str
    mime: str
    label: str | Promise

    def __str__(self) -> str:
        return str(self.label)


def _k(code: str, mime: str, label: str | Promise) -> FileKind:
    return FileKind(code, mime, label)


KINDS: dict[str, FileKind] = {
    k.code: k
    for k in (
        _k("pdf", "application/pdf", _("a PDF document")),
        _k("doc", "application/msword", _("a Word 97–2003 document (.doc)")),
        _k(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _("a Word document (.docx)"),
        ),
        _k(
            "docm",
            "application/vnd.ms-word.document.macroEnabled.12",
            _("a Word document with macros (.docm)"),
        ),
        _k("xls", "application/vnd.ms-excel", _("an Excel 97–2003 workbook (.xls)")),
        _k(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _("an Excel workbook (.xlsx)"),
        ),
        _k(
            "xlsm",
            "application/vnd.ms-excel.sheet.macroEnabled.12",
            _("an Excel workbook with macros (.xlsm)"),
        ),
        _k("ppt", "application/vnd.ms-powerpoint", _("a PowerPoint 97–2003 presentation (.ppt)")),
        _k(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            _("a PowerPoint presentation (.pptx)"),
        ),
        _k(
            "pptm",
            "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
            _("a PowerPoint presentation with macros (.pptm)"),
        ),
        _k("ooxml", "application/octet-stream", _("an Office file of another kind")),
        _k("odt", "application/vnd.oasis.opendocument.text", _("an OpenDocument text (.odt)")),
        _k(
            "ods",
            "application/vnd.oasis.opendocument.spreadsheet",
            _("an OpenDocument spreadsheet (.ods)"),
        ),
        _k(
            "odp",
            "application/vnd.oasis.opendocument.presentation",
            _("an OpenDocument presentation (.odp)"),
        ),
        _k("odf", "application/octet-stream", _("an OpenDocument file of another kind")),
        _k("jpeg", "image/jpeg", _("a JPEG image")),
        _k("png", "image/png", _("a PNG image")),
        _k("gif", "image/gif", _("a GIF image")),
        _k("bmp", "image/bmp", _("a BMP image")),
        _k("tiff", "image/tiff", _("a TIFF image")),
        _k("webp", "image/webp", _("a WebP image")),
        _k("heic", "image/heic", _("a HEIC image")),
        _k("media", "application/octet-stream", _("a video or audio file")),
        _k("zip", "application/zip", _("a ZIP archive")),
        _k("rar", "application/vnd.rar", _("a RAR archive")),
        _k("7z", "application/x-7z-compressed", _("a 7-Zip archive")),
        _k("gzip", "application/gzip", _("a gzip archive")),
        _k(
            "exe",
            "application/vnd.microsoft.portable-executable",
            _("a Windows program (.exe/.dll)"),
        ),
        _k("msi", "application/x-msi", _("a Windows installer (.msi)")),
        _k("elf", "application/x-executable", _("a Linux program")),
        _k("macho", "application/octet-stream", _("a macOS or Java program")),
        _k("script", "text/plain", _("a script")),
        _k("encrypted", "application/octet-stream", _("a password-protected Office file")),
        _k("ole", "application/octet-stream", _("an Office 97–2003 file of another kind")),
        _k("rtf", "application/rtf", _("a Rich Text Format document (.rtf)")),
        _k("html", "text/html", _("a web page (HTML)")),
        _k("xml", "application/xml", _("an XML or SVG document")),
        _k("text", "text/plain", _("plain text")),
        _k("unknown", "application/octet-stream", _("data of an unrecognised type")),
        _k("empty", "application/octet-stream", _("an empty file")),
    )
}

# (offset, signature, kind) checked in order on the first bytes.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"MZ", "exe"),
    (0, b"\x7fELF", "elf"),
    (0, b"\xfe\xed\xfa\xce", "macho"),
    (0, b"\xfe\xed\xfa\xcf", "macho"),
    (0, b"\xce\xfa\xed\xfe", "macho"),
    (0, b"\xcf\xfa\xed\xfe", "macho"),
    (0, b"\xca\xfe\xba\xbe", "macho"),
    (0, b"#!", "script"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"{\\rtf", "rtf"),
    (0, b"%PDF-", "pdf"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MSI_CLSIDS = {
    "000C1084-0000-0000-C000-000000000046",  # installer package
    "000C1086-0000-0000-C000-000000000046",  # patch
    "000C1082-0000-0000-C000-000000000046",  # transform
}
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptm",
}
_MACRO_TWIN = {"docx": "docm", "xlsx": "xlsm", "pptx": "pptm"}
_ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_CONTENT_TYPE_RE = re.compile(rb'ContentType\s*=\s*"([^"]+)"')


def identify(stream: BinaryIO) -> FileKind:
    """The kind of the file in `stream` (seekable; left positioned at 0)."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    try:
        if not head:
            return KINDS["empty"]
        return KINDS[_from_bytes(stream, head)]
    finally:
        stream.seek(0)


def identify_head(head: bytes) -> FileKind | None:
    """The kind when the first bytes alone decide it (not a container, not too short to tell);
    None when the whole file is needed. Agrees with `identify` on the whole file."""
    if len(head) < HEAD_BYTES or head.startswith(_OLE_MAGIC) or head.startswith(_ZIP_MAGICS):
        return None
    return KINDS[_from_bytes(None, head[:HEAD_BYTES])]


def _from_bytes(stream: BinaryIO | None, head: bytes) -> str:
    if stream is not None and head.startswith(_OLE_MAGIC):
        return _ole_kind(stream)
    if stream is not None and head.startswith(_ZIP_MAGICS):
        return _zip_kind(stream)
    for offset, signature, code in _MAGIC:
        if head.startswith(signature, offset):
            return code
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "heic" if head[8:12] in (b"heic", b"heix", b"mif1", b"msf1") else "media"
    if head.startswith(b"BM") and len(head) > 14:
        return "bmp"
    if b"%PDF-" in head[:1024]:
        return "pdf"  # readers accept a header preceded by junk; so do we
    return _text_kind(head)


def _text_kind(head: bytes) -> str:
    if b"\x00" in head:
        return "unknown"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "unknown"
        text = head[: exc.start].decode("utf-8")
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<script" in lowered:
        return "html"
    if lowered.startswith(("<?xml", "<svg")):
        return "xml"
    return "text"


def _zip_entry_count(stream: BinaryIO) -> int | None:
    """Entries announced by the end-of-central-directory record (None: not found / ZIP64)."""
    stream.seek(0, 2)
    size = stream.tell()
    tail_len = min(size, 65536 + 22)
    stream.seek(size - tail_len)
    tail = stream.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return None
    (entries,) = struct.unpack("<H", tail[pos + 10 : pos + 12])
    return None if entries == 0xFFFF else entries


def _zip_kind(stream: BinaryIO) -> str:
    count = _zip_entry_count(stream)
    if count is None or count > MAX_ZIP_ENTRIES:
        return "zip"
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(200).decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return _ODF.get(declared, "odf")
            if "[Content_Types].xml" in names:
                with archive.open("[Content_Types].xml") as entry:
                    types = entry.read(CONTENT_TYPES_MAX)
                return _ooxml_kind(types, names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        return "zip"
    return "zip"


def _ooxml_kind(types: bytes, names: set[str]) -> str:
    declared = {m.decode("ascii", "replace").lower() for m in _CONTENT_TYPE_RE.findall(types)}
    found = [code for mime, code in _OOXML_MAIN.items() if mime in declared]
    if len(found) != 1:
        return "ooxml"
    code = found[0]
    # Word and Excel refuse a .docx/.xlsx that carries macros; a renamed .docm would not.
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return _MACRO_TWIN.get(code, code)
    return code


def _ole_kind(stream: BinaryIO) -> str:
    stream.seek(0)
    try:
        ole = olefile.OleFileIO(stream)
    except Exception:  # olefile raises assorted errors on damaged files
        return "ole"
    try:
        streams = {"/".join(path) for path in ole.listdir(streams=True, storages=False)}
        clsid = (ole.root.clsid or "").upper() if ole.root is not None else ""
    finally:
        ole.close()
    if clsid in _MSI_CLSIDS:
        return "msi"
    if "EncryptedPackage" in streams:
        return "encrypted"
    if "WordDocument" in streams:
        return "doc"
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "PowerPoint Document" in streams:
        return "ppt"
    return "ole"
