"""The score sheet's submit checklist counts as evidence what the submission does: a current
version whose document is intact. The sheet reads every version once; the checklist takes
the current ones from that read, and must agree with the submission's own guard."""

from __future__ import annotations

from types import SimpleNamespace

from django.test import Client
from django.urls import reverse

from cases.models import Cycle
from evidence import services
from evidence.models import Document
from evidence.storage import Storage
from tests.evidence import samples
from tests.evidence.helpers import upload
from tests.helpers import api, fill_self_scores
from tests.web.html import Page

REQUIRES = "Tiêu chí {} yêu cầu tài liệu kiểm chứng: hãy đính kèm tài liệu."


def test_unit_head_is_told_which_criteria_lack_a_current_intact_document(
    world: SimpleNamespace, store: Storage
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(explanation_may_replace_evidence=False)
    fill_self_scores(world.case_a)
    for code in ("1.1.1", "1.1.2", "1.2"):
        response = upload(world.staff_a, world.case_a, code, samples.pdf(4000), f"{code}.pdf")
        assert response.status_code == 201, response.content
    for code in ("1.1.2", "1.4"):  # a second version of 1.1.2, the only one of 1.4
        withdrawn = upload(world.staff_a, world.case_a, code, samples.pdf(4100), "nhầm.pdf")
        services.withdraw_link(withdrawn.json()["link"]["id"], actor=world.staff_a)
    Document.objects.filter(case=world.case_a, filename="1.2.pdf").update(
        integrity=Document.Integrity.MISMATCH
    )
    client = Client()
    client.force_login(world.head_a)

    checklist = Page(client.get(reverse("web:case", args=[world.case_a.pk]))).id("checklist").text
    refused = api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")

    assert REQUIRES.format("1.1.1") not in checklist  # its document is current and intact
    assert REQUIRES.format("1.1.2") not in checklist  # version 1 stays current
    assert REQUIRES.format("1.4") in checklist  # its only version was withdrawn
    assert REQUIRES.format("1.2") in checklist  # its only document was altered in the store
    assert REQUIRES.format("1.5") in checklist  # never had one
    assert refused.status_code == 400
    reasons = [r for r in refused.json()["errors"] if "yêu cầu tài liệu" in r]
    assert reasons and all(reason in checklist for reason in reasons)
    assert checklist.count("yêu cầu tài liệu") == len(reasons)  # the same criteria, no more
