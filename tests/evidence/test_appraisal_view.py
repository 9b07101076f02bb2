"""The appraiser sees, for each criterion, the evidence next to the score."""

from __future__ import annotations

from types import SimpleNamespace

from evidence.storage import Storage
from tests.evidence import samples
from tests.evidence.helpers import upload
from tests.helpers import api, force_state


def test_the_appraiser_sees_each_criterions_current_evidence_beside_the_scores(
    world: SimpleNamespace, local_store: Storage
) -> None:
    first = upload(
        world.staff_a,
        world.case_a,
        "1.1.1",
        samples.PDF,
        "Kế hoạch CCHC 2026.pdf",
        note="Mục II, trang 3",
    )
    assert first.status_code == 201, first.json()
    second = upload(world.staff_a, world.case_a, "1.1.1", samples.PDF, "Kế hoạch (sửa đổi).pdf")
    assert second.status_code == 201
    force_state(world.case_a, "appraising")

    body = api(world.appraiser).get(f"/api/v1/cases/{world.case_a.pk}/appraisal/").json()

    rows = {c["criterion"]: c for area in body["areas"] for c in area["criteria"]}
    files = rows["1.1.1"]["evidence"]
    assert [(f["version"], f["filename"]) for f in files] == [
        (2, "Kế hoạch (sửa đổi).pdf"),
        (1, "Kế hoạch CCHC 2026.pdf"),
    ]
    assert files[1]["note"] == "Mục II, trang 3"
    assert files[0]["download"] == f"/api/v1/evidence/{second.json()['id']}/download/"
    assert rows["1.1.2"]["evidence"] == []
