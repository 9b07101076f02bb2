"""Each upload address is let through the body layer up to the file its own service reads,
and its form tells the browser the same limit before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from config.bodies import limit_of
from web.uploads import limit_attributes

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/cases/1/evidence/", 50),
        ("/api/v1/cases/1/signed-report/", 50),
        ("/cases/1/documents/signed-report/", 50),
        ("/api/v1/cycles/1/survey/", 10),
        ("/api/v1/frameworks/", 5),
        ("/frameworks/import/", 5),
        ("/api/v1/units/import/", 5),
        ("/people/", 5),
        ("/api/v1/cases/1/scores/1.1/", 3),  # everything else: the request body limit
    ],
)
def test_every_upload_address_takes_the_file_its_service_reads(
    path: str, limit: int, settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 50
    settings.REQUEST_BODY_MAX_MB = 3
    assert limit_of(path) == (limit, limit != 3)


@pytest.mark.parametrize(
    ("kind", "limit"), [("criteria", 5), ("people", 5), ("signed_report", 50), ("survey", 10)]
)
def test_each_upload_form_tells_the_browser_its_limit(kind: str, limit: int, settings: Any) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 50
    assert f'data-max-bytes="{limit * MB}"' in limit_attributes(kind)
