"""While self-scoring, the unit withdraws a version of a criterion's evidence (after a
confirmation page that needs no JavaScript) or links an uploaded document to another
criterion; every refusal is the evidence service's, shown on the page, changing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Cycle
from deadlines.calendar import local_date
from evidence.models import EvidenceLink
from tests.evidence.helpers import upload
from tests.evidence.samples import PDF
from tests.helpers import force_state
from tests.web.html import Page
from workflow.models import AuditEntry


def _uploaded(world: Any, code: str = "1.1.1", name: str = "Kế hoạch CCHC.pdf") -> EvidenceLink:
    response = upload(world.staff_a, world.case_a, code, PDF, name, note="Mục I")
    assert response.status_code == 201, response.content
    return EvidenceLink.objects.select_related("document").get(pk=response.json()["link"]["id"])


def _withdraw_url(link: EvidenceLink) -> str:
    return reverse("web:withdraw", args=[link.pk])


def _relink_url(link: EvidenceLink) -> str:
    return reverse("web:relink", args=[link.pk])


def _evidence_audit() -> int:
    return AuditEntry.objects.filter(action__startswith="evidence.link").count()


def test_each_current_version_on_the_sheet_offers_withdraw_and_another_criterion(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    first = _uploaded(world, name="v1.pdf")
    second = _uploaded(world, name="v2.pdf")
    first.withdrawn_at = timezone.now()
    first.save(update_fields=["withdrawn_at"])
    sheet = reverse("web:case", args=[world.case_a.pk])

    page = Page(signed_in(world.staff_a).get(sheet))

    assert page.first("a", href=_withdraw_url(second)).text == "Rút…"
    assert page.first("a", href=_relink_url(second)).text == "Dùng cho tiêu chí khác…"
    assert page.first_or_none("a", href=_withdraw_url(first)) is None  # already withdrawn
    for reader in (world.secretariat, world.appraiser):
        assert page_has_no_version_actions(signed_in(reader).get(sheet))
    force_state(world.case_a, Case.State.SUBMITTED)
    assert page_has_no_version_actions(signed_in(world.staff_a).get(sheet))


def page_has_no_version_actions(response: Any) -> bool:
    return 'class="version-actions"' not in response.content.decode()


def test_the_unit_confirms_on_a_page_and_the_version_is_withdrawn(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    client = signed_in(world.staff_a)

    confirm = Page(client.get(_withdraw_url(link)))
    assert "Rút phiên bản 1 của tài liệu kiểm chứng tiêu chí 1.1.1?" in confirm.text
    assert "Kế hoạch CCHC.pdf" in confirm.text
    assert confirm.first_or_none("form", id="withdraw-form") is not None
    assert not EvidenceLink.objects.filter(
        withdrawn_at__isnull=False
    ).exists()  # GET changes nothing

    response = client.post(_withdraw_url(link), {"reason": "Nhầm tệp"})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:case", args=[world.case_a.pk]) + "#c-1-1-1"
    link.refresh_from_db()
    assert link.withdrawn_at is not None and link.withdrawn_by == world.staff_a
    assert link.withdraw_reason == "Nhầm tệp"
    assert AuditEntry.objects.filter(action="evidence.link.withdrawn").count() == 1
    page = Page(client.get(response["Location"]))
    assert "Đã rút phiên bản 1 tài liệu kiểm chứng của tiêu chí 1.1.1 (“Kế hoạch CCHC.pdf”)." in (
        page.text
    )
    assert "đã rút: Nhầm tệp" in page.id("c-1-1-1-evidence").text


def test_after_submission_withdrawing_is_refused_with_the_services_reason(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    force_state(world.case_a, Case.State.SUBMITTED)
    before = _evidence_audit()

    response = signed_in(world.staff_a).post(_withdraw_url(link), {"reason": "x"})

    assert response.status_code == 409
    error = Page(response).id("withdraw-error").text
    assert "Chỉ được rút tài liệu kiểm chứng trong giai đoạn tự chấm điểm" in error
    link.refresh_from_db()
    assert link.withdrawn_at is None and _evidence_audit() == before


def test_after_the_deadline_withdrawing_is_refused_with_the_services_reason(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    due = local_date(timezone.now()) - timedelta(days=2)
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=due)

    response = signed_in(world.staff_a).post(_withdraw_url(link))

    assert response.status_code == 400
    assert (
        f"Đã quá hạn tự đánh giá ngày {due:%d/%m/%Y}." in Page(response).id("withdraw-error").text
    )
    link.refresh_from_db()
    assert link.withdrawn_at is None


def test_a_version_withdrawn_meanwhile_is_not_withdrawn_twice(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    client = signed_in(world.staff_a)
    assert client.post(_withdraw_url(link)).status_code == 302
    before = _evidence_audit()

    again = client.post(_withdraw_url(link), {"reason": "lần hai"})

    assert again.status_code == 409
    page = Page(again)
    assert "Tài liệu kiểm chứng này đã được rút trước đó." in page.id("withdraw-error").text
    assert "Phiên bản này đã được rút lúc" in page.id("withdraw-state").text
    assert page.first_or_none("form", id="withdraw-form") is None
    assert _evidence_audit() == before


def test_the_unit_links_an_uploaded_document_to_another_criterion_with_its_page(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    client = signed_in(world.staff_a)
    form = Page(client.get(_relink_url(link)))
    options = [o["value"] for o in form.all("option")]
    assert "1.5" in options and "1.6" not in options  # the survey takes no evidence
    assert "đã có tài liệu này" in form.first("option", value="1.1.1").text

    response = client.post(_relink_url(link), {"criterion": "1.5", "note": "Mục III, trang 7"})

    assert response.status_code == 302
    assert response["Location"].endswith("#c-1-5")
    added = EvidenceLink.objects.get(case=world.case_a, criterion__code="1.5")
    assert (added.document_id, added.version, added.note) == (
        link.document_id,
        1,
        "Mục III, trang 7",
    )
    assert AuditEntry.objects.filter(action="evidence.link.added").count() == 1
    page = Page(client.get(response["Location"]))
    assert (
        "“Kế hoạch CCHC.pdf” nay cũng là tài liệu kiểm chứng của tiêu chí 1.5 (phiên bản 1)."
        in (page.text)
    )
    assert "Mục III, trang 7" in page.id("c-1-5-evidence").text


def test_linking_refusals_are_the_services_and_change_nothing(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    client = signed_in(world.staff_a)
    before = (EvidenceLink.objects.count(), _evidence_audit())
    cases = [
        ({"criterion": "1.1.1"}, 409, "đã là tài liệu kiểm chứng của tiêu chí 1.1.1"),
        ({"criterion": "1.6"}, 400, "không cần tài liệu kiểm chứng"),
        ({"criterion": ""}, 400, "Hãy cho biết tài liệu kiểm chứng dùng cho tiêu chí nào."),
    ]
    for data, status, message in cases:
        response = client.post(_relink_url(link), {**data, "note": "trang 2"})
        assert response.status_code == status, data
        page = Page(response)
        assert message in page.id("relink-error").text
        assert page.id("relink-note")["value"] == "trang 2"  # what was typed stays
    force_state(world.case_a, Case.State.SUBMITTED)
    frozen = client.post(_relink_url(link), {"criterion": "1.5"})
    assert frozen.status_code == 409
    assert "Tài liệu kiểm chứng của hồ sơ này đã được khóa" in Page(frozen).id("relink-error").text
    assert (EvidenceLink.objects.count(), _evidence_audit()) == before


def test_only_the_units_own_staff_reach_these_pages(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    link = _uploaded(world)
    for user, status in (
        (world.staff_b, 404),  # another unit's evidence does not exist for them
        (world.outsider, 404),
        (world.secretariat, 403),
        (world.appraiser, 403),
        (world.auditor, 403),
    ):
        client = signed_in(user)
        for url in (_withdraw_url(link), _relink_url(link)):
            assert client.get(url).status_code == status, (user, url)
            assert client.post(url, {"criterion": "1.5"}).status_code == status, (user, url)
    assert signed_in(world.head_a).get(_withdraw_url(link)).status_code == 200
    assert (
        signed_in(world.staff_a).get(reverse("web:withdraw", args=[link.pk + 99])).status_code
        == 404
    )
    link.refresh_from_db()
    assert link.withdrawn_at is None and EvidenceLink.objects.count() == 1
