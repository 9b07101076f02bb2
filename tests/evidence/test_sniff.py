"""The type of a file is judged from its bytes: what each kind of file is taken for."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from evidence.sniff import identify
from tests.evidence import samples


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(samples.pdf(), "pdf", id="pdf"),
        pytest.param(b"\r\n" + samples.pdf(), "pdf", id="pdf-after-junk"),
        pytest.param(samples.docx(), "docx", id="docx"),
        pytest.param(samples.docx(macros=True), "docm", id="docx-carrying-macros"),
        pytest.param(samples.docm(), "docm", id="docm"),
        pytest.param(samples.xlsx(), "xlsx", id="xlsx"),
        pytest.param(samples.odf(), "odt", id="odt"),
        pytest.param(
            samples.odf("application/vnd.oasis.opendocument.spreadsheet"), "ods", id="ods"
        ),
        pytest.param(samples.odf("application/vnd.oasis.opendocument.graphics"), "odf", id="odg"),
        pytest.param(samples.ole("WordDocument"), "doc", id="doc"),
        pytest.param(samples.ole("Workbook"), "xls", id="xls"),
        pytest.param(samples.ole("Book"), "xls", id="xls-5"),
        pytest.param(samples.ole("PowerPoint Document"), "ppt", id="ppt"),
        pytest.param(samples.ole("EncryptedPackage"), "encrypted", id="password-protected"),
        pytest.param(samples.ole("Anything", clsid=samples.MSI_CLSID), "msi", id="msi"),
        pytest.param(samples.ole("Anything"), "ole", id="other-ole"),
        pytest.param(samples.JPEG, "jpeg", id="jpeg"),
        pytest.param(samples.PNG, "png", id="png"),
        pytest.param(samples.EXE, "exe", id="exe"),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 20, "elf", id="elf"),
        pytest.param(b"#!/bin/sh\nrm -rf /\n", "script", id="script"),
        pytest.param(samples.plain_zip(), "zip", id="zip"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, "zip", id="damaged-zip"),
        pytest.param(b"Rar!\x1a\x07\x00" + b"\x00" * 20, "rar", id="rar"),
        pytest.param(samples.HTML, "html", id="html"),
        pytest.param(b'<?xml version="1.0"?><svg/>', "xml", id="svg"),
        pytest.param(samples.TEXT, "text", id="vietnamese-text"),
        pytest.param(b"{\\rtf1\\ansi hello}", "rtf", id="rtf"),
        pytest.param(bytes(range(256)) * 4, "unknown", id="binary"),
        pytest.param(b"", "empty", id="empty"),
    ],
)
def test_a_file_is_taken_for_what_its_bytes_say(content: bytes, code: str) -> None:
    stream = io.BytesIO(content)
    assert identify(stream).code == code
    assert stream.tell() == 0  # left ready to be stored


def test_a_zip_with_too_many_entries_is_an_archive_whatever_its_name(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        for i in range(5001):
            archive.writestr(f"x/{i}", b"")
    with open(path, "rb") as stream:
        assert identify(stream).code == "zip"
