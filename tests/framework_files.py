"""Criteria-set workbooks for the tests: the template's header and a small correct set."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from cases.models import Framework
from tests.helpers import worksheet
from workflow import audit
from workflow.models import AuditEntry

HEADER = [
    "Mã (STT)",
    "Nội dung",
    "Điểm tối đa",
    "Phương pháp chấm",
    "Thiết lập của phương pháp",
    "Cách chấm",
    "Tài liệu kiểm chứng bắt buộc",
    "Được không áp dụng",
    "Hướng dẫn cho đơn vị",
    "Nguồn số liệu",
]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = worksheet(book)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD: list[list[Any]] = [
    HEADER,
    ["1", "Công tác chỉ đạo, điều hành CCHC", 3, "", "", "", "", "", "", ""],
    ["1.1", "Ban hành kế hoạch CCHC năm", 1, "Có/Không", "", "", "Có", "Không", "Kế hoạch", ""],
    [
        "1.2",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        2,
        "percentage_threshold",
        "≥ 100%: 2\n≥ 90%: 1,5; ≥ 0%: 0",
        "",
        "Có",
        "Không",
        "",
        "Hệ thống một cửa",
    ],
]


def framework_changes(framework: Framework) -> list[AuditEntry]:
    """The audit entries of the edits made to a set, oldest first."""
    return list(
        AuditEntry.objects.filter(
            action=audit.FRAMEWORK_CHANGED, object_id=str(framework.pk)
        ).order_by("pk")
    )
