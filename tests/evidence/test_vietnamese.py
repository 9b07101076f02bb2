"""Refusals reach users in Vietnamese by default, with the file name intact."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings as django_settings

from evidence.storage import Storage
from tests.evidence import samples
from tests.evidence.helpers import upload

CATALOGUES = ("locale/vi/LC_MESSAGES/django.po", "locale-pending/vi-3.po")


def test_a_refusal_is_in_vietnamese_by_default(
    world: SimpleNamespace, local_store: Storage, settings: Any, tmp_path: Path
) -> None:
    source = next(p for p in (Path(django_settings.BASE_DIR) / c for c in CATALOGUES) if p.exists())
    target = tmp_path / "vi" / "LC_MESSAGES"
    target.mkdir(parents=True)
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(source)], check=True)
    settings.LOCALE_PATHS = [tmp_path]

    empty = upload(world.staff_a, world.case_a, "1.1.1", b"", "Tờ trình.pdf", language="vi")
    program = upload(
        world.staff_a, world.case_a, "1.1.1", samples.EXE, "Quyết định.pdf", language="vi"
    )

    assert empty.json()["detail"] == "Tệp “Tờ trình.pdf” trống."
    assert program.json()["detail"] == (
        "Không thể nhận tệp “Quyết định.pdf”: đây là chương trình Windows (.exe/.dll)."
    )
