"""Every message has its Vietnamese translation, and the compiled catalogue is current; the
messages DRF shows the API's users are all in the project's catalogue."""

from __future__ import annotations

import ast
import gettext
import re
import subprocess
from pathlib import Path

import rest_framework
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import translation
from rest_framework.exceptions import Throttled

from config import drf_messages

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"

# What DRF marks for translation but only its browsable API shows (its HTML pages and forms,
# off with DEBUG off), and URL versioning, which the API does not use.
DRF_NOT_SHOWN = {
    "More than {count} items...",
    "Search",
    "Ordering",
    "ascending",
    "descending",
    'Invalid version in "Accept" header.',
    "Invalid version in URL path.",
    "Invalid version in URL path. Does not match any version namespace.",
    "Invalid version in hostname.",
    "Invalid version in query parameter.",
}
TRANSLATING = {"_", "gettext", "gettext_lazy", "ngettext"}


def in_drf_sources() -> set[str]:
    """Every text the installed DRF's Python sources give to gettext."""
    found = set()
    for source in Path(rest_framework.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in TRANSLATING
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}|%\(\w+\)[sdf]|%[sdf]", text))


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


def test_the_project_names_every_message_drf_shows_the_api_users() -> None:
    with translation.override(None):
        nul = str(ProhibitNullCharactersValidator.message)  # DRF's CharField adds it
    in_sources = in_drf_sources()
    assert DRF_NOT_SHOWN - in_sources == set()
    assert sorted(drf_messages.MESSAGES) == sorted(in_sources - DRF_NOT_SHOWN | {nul})


def test_every_drf_message_has_its_vietnamese_with_the_same_placeholders() -> None:
    # The compiled catalogue holds only the translated messages that are not fuzzy, and it
    # matches the .po file (above).
    with PO.with_suffix(".mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    untranslated, changed = [], []
    for msgid in drf_messages.MESSAGES:
        msgstr = catalogue.gettext(msgid)
        if msgstr == msgid or not msgstr.strip():
            untranslated.append(msgid)
        elif placeholders(msgstr) != placeholders(msgid):
            changed.append((msgid, msgstr))
    assert untranslated == [] and changed == []


def test_drfs_throttling_message_names_the_wait_in_vietnamese() -> None:
    # DRF translates both forms, fills in the wait, then picks one with ngettext: the
    # Vietnamese must survive that path (no endpoint throttles with DRF's classes yet).
    with translation.override("vi"):
        one, five = str(Throttled(wait=1).detail), str(Throttled(wait=4.2).detail)
    with translation.override("en"):
        english = str(Throttled(wait=5).detail)
    refused = "Đã gửi quá nhiều yêu cầu: yêu cầu này tạm thời bị từ chối."
    assert one == f"{refused} Vui lòng thử lại sau 1 giây."
    assert five == f"{refused} Vui lòng thử lại sau 5 giây."
    assert english == "Request was throttled. Expected available in 5 seconds."
