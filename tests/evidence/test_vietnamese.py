"""Refusals reach users in Vietnamese by default, with the file name intact."""

from __future__ import annotations

from types import SimpleNamespace

from evidence.storage import Storage
from tests.evidence import samples
from tests.evidence.helpers import upload


def test_a_refusal_is_in_vietnamese_by_default(
    world: SimpleNamespace, local_store: Storage
) -> None:
    empty = upload(world.staff_a, world.case_a, "1.1.1", b"", "Tờ trình.pdf", language="vi")
    program = upload(
        world.staff_a, world.case_a, "1.1.1", samples.EXE, "Quyết định.pdf", language="vi"
    )

    assert empty.json()["detail"] == "Tệp “Tờ trình.pdf” trống."
    assert program.json()["detail"] == (
        "Không thể nhận tệp “Quyết định.pdf”: đây là chương trình Windows (.exe/.dll)."
    )
