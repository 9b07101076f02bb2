"""Demo data: a realistic province with its departments and communes, one account per role,
the two years before this one finished and published (last year's ranks change against the
year before), and this year's under way (a few units submitted,
one answering the council's questions).

Idempotent: running it twice changes nothing. Used by `seed_demo`, the benchmarks and the
browser tests. Accounts all share the password DEMO_PASSWORD (default demo12345).

Every step of a case and of a cycle goes through the workflow's services, the past years' dated
as it would have happened. The score rows alone are written in bulk (`_self_assess_in_bulk`,
`_agree_in_bulk`): a service call per leaf, for every unit of every past year, kept the first
`make run` (which seeds the demo) waiting too long. They follow the same scoring
rules (`cases.scoring`) and each row gets its audit entry, as a service call would write; the
ranking is then computed and published by the services. E-mails of the seeded
events are recorded as not sent: nobody reads the demo's addresses.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from cases import frameworks
from cases.models import (
    NOT_SELF_SCORED,
    Appraisal,
    Case,
    Council,
    CouncilMember,
    Criterion,
    Cycle,
    Framework,
    Membership,
    Method,
    Score,
    Unit,
    UnitGroup,
)
from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from cases.scoring import appraisal_needs_reason, check_points, resolve_self_score
from cases.survey import template_headers, template_rows
from notifications.models import Delivery, Notification
from workflow import audit, council, services
from workflow.cycle_services import (
    add_membership,
    assign_appraiser,
    open_cycle,
    publish_cycle,
    submit_results,
)
from workflow.survey import import_survey

AUTHORITY = "UBND tỉnh Sơn Hà"

DEPARTMENTS = [
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SCT", "Sở Công Thương"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("SXD", "Sở Xây dựng"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SDTTG", "Sở Dân tộc và Tôn giáo"),
    ("SNGV", "Sở Ngoại vụ"),
    ("TTT", "Thanh tra tỉnh"),
    ("VPUBND", "Văn phòng UBND tỉnh"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế"),
    ("DPTTH", "Đài Phát thanh và Truyền hình tỉnh"),
    ("BQLDA", "Ban Quản lý dự án đầu tư xây dựng tỉnh"),
    ("QDTPT", "Quỹ Đầu tư phát triển tỉnh"),
    ("LMHTX", "Liên minh Hợp tác xã tỉnh"),
    ("TCDSH", "Trường Cao đẳng Sơn Hà"),
]
COMMUNES = [
    ("PSONHA", "Phường Sơn Hà"),
    ("PBACHDANG", "Phường Bạch Đằng"),
    ("PHOABINH", "Phường Hòa Bình"),
    ("XANLAC", "Xã An Lạc"),
    ("XDONGTIEN", "Xã Đồng Tiến"),
    ("XTANLAP", "Xã Tân Lập"),
    ("XPHUMY", "Xã Phú Mỹ"),
    ("XHOANGHOA", "Xã Hoằng Hóa"),
    ("XNGHIAHUNG", "Xã Nghĩa Hưng"),
    ("XTHANHSON", "Xã Thanh Sơn"),
    ("XQUANGTRUNG", "Xã Quảng Trung"),
    ("DKCONSON", "Đặc khu Côn Sơn"),
]
# The council is formed by a decision of the chair each year; the demo's two appraisers are
# its support team, who may appraise any area.
COUNCIL_DECISION = "01/QĐ-HĐTĐ"
APPRAISER_AREAS = {"appraiser1": ["1", "2", "3", "4"], "appraiser2": ["5", "6", "7", "8", "9"]}
# This year: departments that have submitted, and the one answering the council's questions.
SUBMITTED = ["SNV", "STC", "SKHCN", "SYT"]
IN_EXPLANATION = "STP"
QUESTION = ("1.1.1", "Đề nghị bổ sung Kế hoạch CCHC năm đã được ký ban hành.")


def _past_years(today: date) -> list[int]:
    """Two published years before this one: last year's ranks change against the year before,
    and the years page has years to set side by side."""
    return [today.year - 2, today.year - 1]


LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    """Hash the shared demo password once, not per account: the hash is slow on purpose."""
    return make_password(settings.DEMO_PASSWORD)


def _user(username: str, first_name: str, last_name: str = "") -> User:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@demo.local",
        },
    )
    if created:
        user.password = _demo_password_hash()
        user.save(update_fields=["password"])
    return user


def seed(today: date | None = None) -> Cycle:
    """Build (or complete) the demo province; returns its open cycle."""
    today = today or date.today()
    cycle, secretariat = _build(today)
    with _emails_held():
        for year in _past_years(today):
            if not Cycle.objects.filter(year=year, authority=AUTHORITY).exists():
                _past_year(year, secretariat)
        if cycle.status == Cycle.Status.DRAFT:
            open_cycle(cycle.pk, actor=secretariat)
            cycle.refresh_from_db()
            _this_year_under_way(cycle, secretariat)
    return cycle


@contextmanager
def _emails_held() -> Iterator[None]:
    """No e-mail goes out while the demo is seeded (none at each commit, none left for the
    notifier): the deliveries are kept, marked as not sent. Pushes to open pages still go."""
    started = timezone.now()
    inline = settings.NOTIFY_EMAIL_INLINE_MAX
    settings.NOTIFY_EMAIL_INLINE_MAX = 0
    try:
        yield
    finally:
        settings.NOTIFY_EMAIL_INLINE_MAX = inline
        Delivery.objects.filter(
            channel=Delivery.Channel.EMAIL,
            status__in=Delivery.OPEN,
            created_at__gte=started,
        ).update(
            status=Delivery.Status.SKIPPED,
            next_attempt_at=None,
            last_error="demo data: e-mail not sent",
        )


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL)


def _user_named(username: str) -> User:
    return get_user_model().objects.get(username=username)


def _self_score_data(criterion: Criterion, rng: random.Random) -> services.SelfScoreChange:
    """A plausible answer for one leaf: mostly done, now and then short of it."""
    config = criterion.config or {}
    points: str | None = None
    value: int | None = None
    if criterion.method == Method.YES_NO:
        value = 1 if rng.random() < 0.85 else 0
    elif criterion.method == Method.GRADED:
        levels = len(config.get("levels", [])) or 1
        value = max(0, levels - 1 - (rng.random() < 0.3))
    elif criterion.method == Method.PERCENTAGE:
        value = rng.choice([70, 85, 95, 100, 100])
    elif criterion.method == Method.DEDUCTION:
        value = rng.choice([0, 0, 0, 1, 2])
    else:
        share = Decimal(rng.choice(["1", "1", "1", "0.5"]))
        points = str((criterion.max_points * share).quantize(Decimal("0.01")))
    return services.SelfScoreChange(
        self_score=points,
        value=value,
        evidence_explanation=(
            "Theo báo cáo công tác CCHC năm và các văn bản kèm theo."
            if criterion.evidence_required
            else services.NOT_GIVEN
        ),
    )


def _self_scored_rows(case: Case) -> list[Score]:
    return [s for s in case.score_rows() if s.criterion.method not in NOT_SELF_SCORED]


def _answers(case: Case) -> dict[str, services.SelfScoreChange]:
    """The unit's answer for every leaf it scores, the same each time for a unit and year."""
    rng = random.Random(f"{case.unit.code}-{case.cycle.year}")
    return {s.criterion.code: _self_score_data(s.criterion, rng) for s in _self_scored_rows(case)}


def _locked(case: Case) -> Case:
    """The case row locked with its audit chain's head, as the services lock it."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("cycle", "unit")
        .annotate(**audit.case_head())
        .get(pk=case.pk)
    )


def _write(scores: list[Score], fields: list[str]) -> None:
    """UPDATE these columns of the score rows in one executemany: `bulk_update`'s CASE
    expressions took longer to build than the writing itself."""
    stamp = timezone.now()
    for score in scores:
        score.updated_at = stamp
    columns = [Score._meta.get_field(name) for name in [*fields, "updated_at"]]
    concrete = [c for c in columns if isinstance(c, Field)]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE id = %s".format(
        quote(Score._meta.db_table),
        ", ".join(f"{quote(c.column or c.attname)} = %s" for c in concrete),
    )
    rows = [
        [c.get_db_prep_save(getattr(s, c.attname), connection) for c in concrete] + [s.pk]
        for s in scores
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@transaction.atomic
def _self_assess_in_bulk(case: Case, staff: User) -> None:
    """A unit's self scores in one statement and one audit entry per leaf: what
    `services.set_self_score` writes for each answer, by the rules it applies."""
    case = _locked(case)
    rows = _self_scored_rows(case)
    answers = _answers(case)
    changed = []
    for score in rows:
        answer = answers[score.criterion.code]
        before = audit.score_fields(score)
        score.self_score, score.value = resolve_self_score(
            score.criterion, points=answer.self_score, value=answer.value
        )
        explanation = answer.evidence_explanation
        score.evidence_explanation = "" if explanation is services.NOT_GIVEN else explanation
        score.version += 1
        changed.append((score, before))
    _write([s for s, _b in changed], ["self_score", "value", "evidence_explanation", "version"])
    for score, before in changed:
        score.case = case
        audit.score_changed(score, actor=staff, before=before, appraised=False, case_locked=True)


def _self_assess(case: Case, now: datetime | None = None) -> None:
    """The unit's staff scores every leaf it scores; its head submits."""
    code = case.unit.code.lower()
    _self_assess_in_bulk(case, _user_named(f"{code}.staff"))
    services.run_transition(case.pk, "submit", actor=_user_named(f"{code}.head"), now=now)


def _appraiser_of(area: str) -> str:
    return next(name for name, areas in APPRAISER_AREAS.items() if area in areas)


@transaction.atomic
def _agree_in_bulk(case: Case, day: date) -> None:
    """A past year's appraisal of one case: the council agrees with each self score, except
    one point in some units it finds unsupported (given with its reason, as the rules ask).
    The rows, the round's Appraisal records and the audit entries that
    `services.set_appraised_score` writes, without a service call per leaf."""
    case = _locked(case)
    appraisers = {name: _user_named(name) for name in APPRAISER_AREAS}
    rows = _self_scored_rows(case)
    doubted = next((s for s in rows if s.self_score), None)
    if sum(map(ord, case.unit.code)) % 3:
        doubted = None
    at = _at(day)
    changed = []
    for score in rows:
        before = audit.score_fields(score)
        points, comment = score.self_score, ""
        if score is doubted:
            points, comment = Decimal(0), "Chưa có tài liệu kiểm chứng kết quả thực hiện."
        points = check_points(score.criterion, Decimal(points or 0))
        if appraisal_needs_reason(points, score.self_score) and not comment:
            raise ValueError(f"{case.unit.code} {score.criterion.code}: a reason is needed")
        score.appraised_score, score.appraised_comment = points, comment
        score.appraised_round = case.appraisal_round
        score.appraised_by = appraisers[_appraiser_of(score.criterion.area_code)]
        score.appraised_at = at
        score.version += 1
        changed.append((score, before))
    fields = ["appraised_score", "appraised_comment", "appraised_round", "appraised_by"]
    _write([s for s, _b in changed], [*fields, "appraised_at", "version"])
    Appraisal.objects.bulk_create(
        Appraisal(
            score=s,
            round=case.appraisal_round,
            appraised_score=s.appraised_score,
            not_applicable=False,
            comment=s.appraised_comment,
            appraiser=s.appraised_by,
            at=at,
        )
        for s, _b in changed
    )
    for score, before in changed:
        score.case = case
        actor = score.appraised_by
        assert actor is not None
        audit.score_changed(
            score,
            actor=actor,
            before=before,
            appraised=True,
            comment=score.appraised_comment,
            case_locked=True,
        )


def _survey_file(cycle: Cycle) -> bytes:
    """The survey scores as the secretariat's CSV (a share of each criterion's maximum)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(template_headers())
    for unit_code, name, code, title, max_points, _score in template_rows(cycle):
        share = Decimal(random.Random(f"{unit_code}-{code}-{cycle.year}").randint(60, 95)) / 100
        points = (Decimal(max_points) * share).quantize(Decimal("0.01"))
        writer.writerow([unit_code, name, code, title, max_points, str(points).replace(".", ",")])
    return out.getvalue().encode()


def _past_year(year: int, secretariat: User) -> Cycle:
    """A past year's cycle, from opening to publication, dated as it happened."""
    opened = date(year, 1, 10)
    cycle = Cycle.objects.create(
        year=year,
        authority=AUTHORITY,
        title=f"Đánh giá Chỉ số CCHC năm {year}",
        self_assessment_due=opened + timedelta(days=30),
        appraisal_due=opened + timedelta(days=75),
        publication_target=opened + timedelta(days=100),
    )
    for group_code in ("khoi_so", "khoi_xa"):
        group = UnitGroup.objects.get(code=group_code)
        frameworks.load_builtin(group_code, cycle=cycle, unit_group=group)
    council.form_council(cycle.pk, COUNCIL_DECISION, opened, actor=secretariat)
    for username, areas in APPRAISER_AREAS.items():
        user = _user_named(username)
        council.add_member(cycle.pk, user.pk, CouncilMember.Role.SUPPORT, actor=secretariat)
        for area in areas:
            assign_appraiser(cycle, user, area, actor=secretariat)
    open_cycle(cycle.pk, actor=secretariat, now=_at(opened))
    cases = list(Case.objects.filter(cycle=cycle).select_related("unit", "cycle").order_by("pk"))
    submitted = opened + timedelta(days=20)
    for case in cases:
        _self_assess(case, _at(submitted, 15))
    appraisal = opened + timedelta(days=35)
    ids = [c.pk for c in cases]
    _all_done(
        services.run_transitions(ids, "start_appraisal", actor=secretariat, now=_at(appraisal, 8))
    )
    for case in Case.objects.filter(pk__in=ids).select_related("unit", "cycle").order_by("pk"):
        _agree_in_bulk(case, appraisal)
    import_survey(cycle.pk, "xhh.csv", _survey_file(cycle), actor=secretariat, now=_at(appraisal))
    finalised = _at(opened + timedelta(days=60))
    _all_done(services.run_transitions(ids, "finalise", actor=secretariat, now=finalised))
    submit_results(cycle.pk, actor=secretariat)
    published = opened + timedelta(days=90)
    publish_cycle(
        cycle.pk,
        actor=_user_named("leader"),
        decision_number=f"{year % 100 + 190}/QĐ-UBND",
        decision_date=published,
        signer="Chủ tịch UBND tỉnh",
        now=_at(published),
    )
    # A past year's news is old news: the inboxes open on this year's.
    Notification.objects.filter(case__cycle=cycle, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return cycle


def _all_done(outcomes: Iterator[tuple[int, BaseException | None]]) -> None:
    refused = [(case_id, error) for case_id, error in outcomes if error is not None]
    if refused:
        raise RuntimeError(f"demo: a step was refused: {refused[:3]}")


def _this_year_under_way(cycle: Cycle, secretariat: User) -> None:
    """A few departments have submitted; one answers the council's questions."""
    for code in [*SUBMITTED, IN_EXPLANATION]:
        case = Case.objects.select_related("unit", "cycle").get(cycle=cycle, unit__code=code)
        _self_assess(case)
    case = Case.objects.get(cycle=cycle, unit__code=IN_EXPLANATION)
    services.run_transition(case.pk, "start_appraisal", actor=secretariat)
    criterion, question = QUESTION
    services.ask_clarification(case.pk, criterion, question, actor=_user_named("appraiser1"))
    services.run_transition(case.pk, "request_explanation", actor=_user_named("appraiser1"))


@transaction.atomic
def _build(today: date) -> tuple[Cycle, User]:
    ensure_role_groups()
    secretariat = _user("secretariat", "Thư ký", "Sở Nội vụ")
    secretariat.is_staff = True
    secretariat.save(update_fields=["is_staff"])
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    _user("leader", "Chủ tịch", "Hội đồng").groups.add(Group.objects.get(name=LEADER))
    _user("auditor", "Thanh tra", "viên").groups.add(Group.objects.get(name=AUDITOR))

    so, _c = UnitGroup.objects.get_or_create(
        code="khoi_so", defaults={"name": "Khối sở, ban, ngành"}
    )
    xa, _c = UnitGroup.objects.get_or_create(
        code="khoi_xa", defaults={"name": "Khối xã, phường, đặc khu"}
    )
    units = []
    for group, rows in ((so, DEPARTMENTS), (xa, COMMUNES)):
        for code, name in rows:
            unit, _c = Unit.objects.get_or_create(
                code=code, defaults={"name": name, "group": group}
            )
            units.append(unit)

    cycle, _c = Cycle.objects.get_or_create(
        year=today.year,
        authority=AUTHORITY,
        defaults={
            "title": f"Đánh giá Chỉ số CCHC năm {today.year}",
            "self_assessment_due": today + timedelta(days=7),
            "appraisal_due": today + timedelta(days=60),
            "publication_target": today + timedelta(days=90),
        },
    )
    for group, level in ((so, "khoi_so"), (xa, "khoi_xa")):
        if not Framework.objects.filter(cycle=cycle, unit_group=group).exists():
            frameworks.load_builtin(level, cycle=cycle, unit_group=group)
    for unit in units:
        for role in (Membership.Role.STAFF, Membership.Role.HEAD):
            label = "Chuyên viên" if role == Membership.Role.STAFF else "Thủ trưởng"
            user = _user(f"{unit.code.lower()}.{role}", label, unit.name)
            if not Membership.objects.filter(user=user, unit=unit, role=role).exists():
                add_membership(user, unit, role, actor=secretariat)
    if not Council.objects.filter(cycle=cycle).exists():
        signed = min(today, date.today())  # a decision is never dated in the future
        council.form_council(cycle.pk, COUNCIL_DECISION, signed, actor=secretariat)
    for username, areas in APPRAISER_AREAS.items():
        user = _user(username, "Thành viên", f"Hội đồng thẩm định ({username[-1]})")
        if not CouncilMember.objects.filter(council__cycle=cycle, user=user).exists():
            council.add_member(cycle.pk, user.pk, CouncilMember.Role.SUPPORT, actor=secretariat)
        for area in areas:
            assign_appraiser(cycle, user, area, actor=secretariat)
    return cycle, secretariat
