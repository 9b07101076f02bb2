"""Every message has its Vietnamese translation, and the compiled catalogue is current."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def test_every_message_is_translated_into_vietnamese() -> None:
    result = subprocess.run(
        ["msgfmt", "--statistics", "--check", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


def test_the_compiled_catalogue_matches_the_po_file(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(PO)], check=True)
    assert fresh.read_bytes() == PO.with_suffix(".mo").read_bytes()
