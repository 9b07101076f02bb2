"""Who hears what: each workflow event becomes inbox rows for the right people only."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction

from cases.models import Case, Membership
from cases.permissions import sync_case_permissions
from deadlines.calendar import local_date
from notifications import rules
from notifications.models import Delivery, Notification
from notifications.services import notify
from tests.helpers import appraise_all, force_state, import_survey_scores
from tests.notifications.helpers import request_explanation, start_appraisal, submit
from workflow import cycle_services
from workflow import services as wf
from workflow.models import AuditEntry, Clarification


def recipients(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_a_submission_tells_the_secretariat_and_nobody_else(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(world)
    assert recipients("submitted") == {"secretariat"}
    row = Notification.objects.get(kind="submitted")
    assert row.case == world.case_a
    assert row.event == AuditEntry.objects.get(action="workflow.case.submit")
    assert "Sở Tư pháp" in row.text_vi and "Sở Tư pháp" in row.text_en
    assert row.link == f"/cases/{world.case_a.pk}/"
    assert Notification.objects.count() == 1


def test_appraisal_started_tells_the_unit_and_each_appraiser_their_areas(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    assert recipients("appraisal_started") == {"stp.staff", "stp.head", "appraiser1", "appraiser2"}
    told = Notification.objects.get(kind="appraisal_started", recipient=world.appraiser2)
    assert "lĩnh vực 5, 6, 7, 8, 9" in told.text_vi and "area(s) 5, 6, 7, 8, 9" in told.text_en
    unit = Notification.objects.get(kind="appraisal_started", recipient=world.head_a)
    assert "lĩnh vực" not in unit.text_vi


def test_a_clarification_request_tells_the_unit_its_answer_date(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request_explanation(world)
    assert recipients("explanation_requested") == {"stp.staff", "stp.head"}
    due_at = Clarification.objects.get(case=world.case_a).due_at
    assert due_at is not None
    due_day = local_date(due_at - timedelta(seconds=1)).strftime("%d/%m/%Y")
    row = Notification.objects.filter(kind="explanation_requested").first()
    assert row is not None and f"hết ngày {due_day}" in row.text_vi
    assert f"by the end of {due_day}" in row.text_en


def test_an_explanation_tells_only_the_appraisers_who_asked(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request_explanation(world)
    question = Clarification.objects.get(case=world.case_a)
    wf.answer_clarification(question.pk, "Ngày 15/01, kèm quyết định.", actor=world.staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        wf.run_transition(world.case_a.pk, "submit_explanation", actor=world.head_a)
    # appraiser2 appraises other areas and asked nothing; the secretariat asked nothing either.
    assert recipients("explanation_submitted") == {"appraiser1"}


def test_a_finalised_case_tells_its_unit(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    start_appraisal(world)
    appraise_all(world.case_a, world.appraiser)
    with django_capture_on_commit_callbacks(execute=True):
        wf.run_transition(world.case_a.pk, "finalise", actor=world.secretariat)
    assert recipients("case_finalised") == {"stp.staff", "stp.head"}


def test_results_sent_for_approval_tell_the_leader_and_published_results_every_unit(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for case in (world.case_a, world.case_b):
        force_state(case, Case.State.FINALISED)
    import_survey_scores(world.cycle)
    with django_capture_on_commit_callbacks(execute=True):
        cycle_services.submit_results(world.cycle.pk, actor=world.secretariat)
    assert recipients("results_awaiting_approval") == {"leader"}
    awaiting = Notification.objects.get(kind="results_awaiting_approval")
    assert awaiting.case is None
    assert awaiting.link == f"/cycles/{world.cycle.pk}/results/"

    with django_capture_on_commit_callbacks(execute=True):
        cycle_services.publish_cycle(
            world.cycle.pk,
            actor=world.leader,
            decision_number="123/QĐ-UBND",
            decision_date=date(2026, 5, 10),
        )
    published = Notification.objects.filter(kind="results_published")
    assert set(published.values_list("recipient__username", "case__unit__code")) == {
        ("stp.staff", "STP"),
        ("stp.head", "STP"),
        ("stc.staff", "STC"),
        ("stc.head", "STC"),
    }
    assert all("123/QĐ-UBND" in n.text_vi for n in published)


def test_notify_leaves_out_whoever_may_not_see_the_case(world: Any) -> None:
    """The sweep calls notify() directly: its kinds get the same protection."""
    with transaction.atomic():
        rows = notify(
            "deadlines.extension_granted",
            [world.head_a, world.head_b.pk, world.outsider, world.head_a],
            text_vi="Đơn vị được gia hạn đến hết ngày 10/04/2026.",
            text_en="The unit's deadline was extended to the end of 10/04/2026.",
            case=world.case_a,
            link=f"/cases/{world.case_a.pk}/",
        )
        reminder = notify(
            "deadlines.reminder.self_assessment",
            [world.staff_a],
            text_vi="Còn 3 ngày.",
            text_en="3 days left.",
            case=world.case_a,
        )
        summary = notify(
            "deadlines.reminder.appraisal",
            [world.secretariat, world.staff_a],
            text_vi="…",
            text_en="…",
        )
        approval = notify(
            "results_awaiting_approval", [world.leader, world.staff_a], text_vi="…", text_en="…"
        )
    assert [r.recipient for r in rows] == [world.head_a]
    assert [r.recipient for r in reminder] == [world.staff_a]
    # Without a case, a "named" kind (counts only) reaches whom the sender names; another
    # kind still needs its global permission.
    assert [r.recipient for r in summary] == [world.secretariat, world.staff_a]
    assert [r.recipient for r in approval] == [world.leader]
    assert Delivery.objects.filter(notification__in=rows + reminder).count() == 4


def test_notify_leaves_out_a_deactivated_account_and_tells_a_superuser(world: Any) -> None:
    type(world.head_a).objects.filter(pk=world.head_a.pk).update(is_active=False)
    root = type(world.head_a).objects.create_superuser("root", password="x")
    with transaction.atomic():
        rows = notify(
            "deadlines.extension_granted",
            [world.head_a, root],
            text_vi="Đơn vị được gia hạn.",
            text_en="The unit's deadline was extended.",
            case=world.case_a,
        )
    assert [r.recipient_id for r in rows] == [root.pk]


def test_a_rolled_back_transition_leaves_no_inbox_row_and_sends_nothing(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    submit(world)
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        wf.apply_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
        assert {"stp.staff", "stp.head"} <= recipients("appraisal_started")
        raise RuntimeError("something later in the same transaction failed")
    assert callbacks == []
    assert not Notification.objects.filter(kind="appraisal_started").exists()
    assert mail.outbox == []


def test_the_immediate_attempt_delivers_push_and_email_after_commit(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    rows = Delivery.objects.filter(notification__kind="appraisal_started")
    assert {(d.channel, d.status) for d in rows} == {("push", "delivered"), ("email", "delivered")}
    assert all(d.delivered_at is not None and d.attempts == 1 for d in rows)
    assert sorted(m.to[0] for m in mail.outbox if "thẩm định" in m.subject) == [
        "appraiser1@example.test",
        "appraiser2@example.test",
        "stp.head@example.test",
        "stp.staff@example.test",
    ]


def test_a_notification_in_a_rolled_back_savepoint_is_neither_kept_nor_pushed(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        (kept,) = notify(
            "deadlines.reminder.self_assessment",
            [world.head_a],
            text_vi="a",
            text_en="a",
            case=world.case_a,
        )
        with contextlib.suppress(RuntimeError), transaction.atomic():
            notify(
                "deadlines.reminder.self_assessment",
                [world.staff_a],
                text_vi="b",
                text_en="b",
                case=world.case_a,
            )
            raise RuntimeError("this part is undone")
    assert [
        n.recipient for n in Notification.objects.filter(kind="deadlines.reminder.self_assessment")
    ] == [world.head_a]
    (batch,) = callbacks  # the rolled-back savepoint's batch went with it
    assert [d.notification_id for d in batch.pushes] == [kept.pk]
    assert Delivery.objects.get(notification=kept, channel="push").status == "delivered"


def test_a_large_unit_gets_every_push_at_once_not_a_worker_batch(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    people = User.objects.bulk_create([User(username=f"stp.member{i}") for i in range(250)])
    Membership.objects.bulk_create(
        [Membership(user=u, unit=world.unit_a, role="staff") for u in people]
    )
    sync_case_permissions([world.case_a])
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    pushes = Delivery.objects.filter(notification__kind="appraisal_started", channel="push")
    assert pushes.count() == 252 + 2  # the unit, and the two appraisers of its areas
    assert set(pushes.values_list("status", flat=True)) == {"delivered"}


def test_a_broken_channel_layer_does_not_fail_the_transition(
    world: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "no.such.ChannelLayer"}}
    with django_capture_on_commit_callbacks(execute=True):
        case = start_appraisal(world)
    assert case.state == "appraising"
    push = Delivery.objects.get(
        notification__recipient=world.head_a, notification__kind="appraisal_started", channel="push"
    )
    assert (push.status, push.attempts) == ("pending", 1)
    assert "channel layer" in push.last_error


def test_a_kind_outside_the_table_is_refused_and_nothing_is_written(world: Any) -> None:
    with transaction.atomic(), pytest.raises(ValueError, match=r"not in notifications\.rules"):
        notify("no.such.kind", [world.head_a], text_vi="x", text_en="x", case=world.case_a)
    assert not Notification.objects.exists()


@pytest.mark.parametrize("code", sorted(rules.KINDS))
def test_every_kind_is_labelled_and_worded_in_vietnamese_and_english(code: str) -> None:
    kind = rules.KINDS[code]
    assert kind.label_in("vi") != kind.label_in("en")
    if kind.audiences is not None:  # the table writes its text (the sweep writes its own)
        context = {
            "unit": "Sở Tư pháp",
            "year": 2026,
            "questions": 2,
            "due": "10/04/2026",
            "cycle": "Đánh giá Chỉ số CCHC năm 2026",
            "decision": "123/QĐ-UBND",
            "explanation": True,
            "due_date": date(2026, 4, 10),
            "reason": "Đổi lãnh đạo",
            "address": "203.0.113.26",
            "accounts": 12,
            "minutes": 15,
        }
        text_vi, text_en = kind.texts(context)
        shown = "203.0.113.26" if code == rules.SIGNIN_SPRAYING else "2026"
        assert text_vi != text_en and shown in text_vi and shown in text_en
