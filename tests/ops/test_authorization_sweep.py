"""Every API endpoint and page × every role × own/other unit, generated from the URL
configuration: a new endpoint fails here until it has a row in EXPECTED, so none escapes.

For each URL the table says which roles read it (GET 200) for their own unit's objects; any
other role gets 401/403/404/405 and never data; another unit's case ids give 404 to unit
staff; anonymous users never get data; nothing answers 5xx, whatever the method. Writes
with an empty body are tried too, after the reads (they may change a case's state). A write
only the secretariat may make is tried first with a body it could send: every other role is
refused and nothing is written.

One test per URL and role, so that a failure names both. The province and its sample objects
are built once for the module, in a transaction rolled back at its end; what each test's
requests change rolls back with the test, so every test starts from the same state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from cases.models import Case, CouncilArea, CouncilMember, Criterion, Cycle, Framework
from cases.users import User
from evidence.models import EvidenceLink
from notifications.services import notify
from tests.evidence.helpers import upload
from tests.evidence.samples import PDF
from tests.factories import open_world
from tests.helpers import built_once
from workflow.models import AuditEntry, Clarification

pytestmark = pytest.mark.django_db

ROLES = (
    "secretariat",
    "leader",
    "auditor",
    "appraiser",
    "staff_a",
    "head_a",
    "outsider",
    "anonymous",
)
GLOBAL = {"secretariat", "leader", "auditor"}
EVERYONE_SIGNED_IN = set(ROLES) - {"anonymous"}
UNIT_A = {"staff_a", "head_a"}


@dataclass(frozen=True)
class Write:
    """A write only the secretariat may make, and a body it could send (`{name}` is the
    sample value of that name): the secretariat gets past the permission check (the sample
    set is frozen and the cycle open, so it may still be refused with 409), every other role
    is refused (403, or 404 where the object is hidden from it; a page sends the anonymous to
    the sign-in) and writes nothing, not even an audit entry."""

    method: str = "post"
    body: dict[str, str] = field(default_factory=dict)

    def data(self, values: dict[str, Any]) -> dict[str, str]:
        return {key: value.format(**values) for key, value in self.body.items()}


# Who reads each URL (GET 200) when the object belongs to their own unit, before the cycle
# is published. None: the URL takes no GET (405) or is not an API read (pages, actions).
# A page given a set is checked the same way: 200 for those roles, never for the others.
# Write: the URL is the secretariat's write (see Write); it takes no GET either.
EXPECTED: dict[str, set[str] | Write | None] = {
    "token": None,
    "cycle-list": EVERYONE_SIGNED_IN,
    "cycle-detail": EVERYONE_SIGNED_IN - {"outsider"},
    "cycle-open": Write(),
    "cycle-frameworks": Write(body={"framework": "{framework}"}),
    "cycle-council": GLOBAL,
    "cycle-council-members": None,
    "cycle-council-member": None,
    "cycle-council-areas": None,
    "cycle-council-area": None,
    "cycle-submit-results": None,
    "cycle-publish": None,
    "cycle-assignments": GLOBAL,
    "cycle-assignment": None,
    "worklist": EVERYONE_SIGNED_IN - {"outsider"},  # each their own list
    "survey": None,
    # Criteria sets: read by the global roles, changed by the secretariat (the sample set is
    # the open cycle's, frozen: every write is refused).
    "framework-list": GLOBAL,
    "framework-template": GLOBAL,
    "framework-xlsx": GLOBAL,
    "framework-detail": GLOBAL,
    "framework-copy": Write(),
    "framework-renumber": None,
    "framework-criteria": Write(
        body={"parent": "1.1", "title": "Mới", "max_points": "1", "method": "manual"}
    ),
    "framework-criterion": Write("patch", {"method": "yes_no", "max_points": "1"}),
    "survey-template-xlsx": {"secretariat"},
    "survey-template-csv": {"secretariat"},
    "results": GLOBAL,
    "results-xlsx": GLOBAL,
    "results-csv": GLOBAL,
    "results-json": GLOBAL,
    # Documents (docs/documents.md). The appraisal report is 409 until a case is finalised and
    # the reward proposal until a unit is ranked, so here only their refusals are swept; who
    # reads them is tests/results/test_documents.py.
    "appraisal-report": None,
    "results-annex-docx": GLOBAL,
    "results-annex-xlsx": GLOBAL,
    "rewards": None,
    "rewards-docx": None,
    "case-report": GLOBAL | UNIT_A | {"appraiser"},
    "case-signed-report": None,
    # The years side by side: published figures only, public. The sample code is not a unit's.
    "unit-history": None,
    "unit-history-xlsx": None,
    "province-history": set(ROLES),
    "province-history-xlsx": set(ROLES),
    "case-list": EVERYONE_SIGNED_IN,
    "case-detail": GLOBAL | UNIT_A | {"appraiser"},
    "case-score": None,
    "case-score-not-applicable": None,
    "case-transition": None,
    "case-clarifications": GLOBAL | UNIT_A | {"appraiser"},
    "case-history": GLOBAL | UNIT_A | {"appraiser"},
    "case-appraisal": GLOBAL | UNIT_A | {"appraiser"},  # what each may see of it
    "case-exclusion": None,
    "clarification-answer": None,
    "case-extensions": GLOBAL | UNIT_A | {"appraiser"},
    "calendar": GLOBAL,
    "calendar-day": None,
    "notification-list": EVERYONE_SIGNED_IN,
    "notification-read-all": None,
    "notification-settings": EVERYONE_SIGNED_IN,
    "notification-read": None,
    "notification-socket-ticket": None,  # POST only; who gets one: tests/notifications
    "case-notices": GLOBAL,
    "case-evidence": GLOBAL | UNIT_A | {"appraiser"},
    "case-evidence-links": None,
    "evidence-withdraw": None,
    "evidence-download": GLOBAL | UNIT_A | {"appraiser"},
    # Units and accounts: the secretariat's.
    "units-import": None,
    "units-template": {"secretariat"},
    "unit-name-correction": None,  # POST only: tests/workflow/test_people.py
    "web:invitation": None,  # anyone holding the link; a wrong token shows the refusal page
    "schema": set(ROLES),  # the API's description, no data
    "set_language": None,
    "login": None,
    "logout": None,
    "sign-in-watch": {"secretariat"},
    "second-factor": None,  # only in the middle of a sign-in; otherwise back to the login
    "second-factor-setup": None,
    "account-security": EVERYONE_SIGNED_IN,  # each their own
    "admin-login": None,  # a redirect to the login page
    # Pages (namespace web:): no JSON reads to check, but the same refusals, no 5xx, and
    # another unit's case hidden.
    **dict.fromkeys(
        (
            "web:home",
            "web:case",
            "web:self-score",
            "web:transition",
            "web:history",
            "web:extend",
            "web:upload",
            "web:appraisal",
            "web:appraise",
            "web:ask",
            "web:answer",
            "web:cycles",
            "web:cycle",
            "web:submit-results",
            "web:publish",
            "web:results",
            "web:result-unit",
            "web:exclusion",
            "web:inbox",
            "web:open-notification",
            "web:read-all",
            "web:agree-area",
            "web:bulk-step",
        ),
        None,
    ),
    "web:survey": {"secretariat"},
    "web:appraisers": {"secretariat"},
    "web:cycle-new": {"secretariat"},
    "web:council": {"secretariat"},
    "web:cycle-settings": {"secretariat"},
    "web:cycle-set": Write(body={"framework": "{framework}"}),
    "web:cycle-open": Write(),
    "web:unassign": None,
    "web:withdraw": UNIT_A,  # the confirmation page, for the unit's own evidence
    "web:relink": UNIT_A,
    "web:notification-settings": EVERYONE_SIGNED_IN,
    "web:calendar": {"secretariat"},
    "web:frameworks": GLOBAL,
    "web:framework-import": {"secretariat"},
    "web:framework": GLOBAL,
    "web:framework-edit": Write(body={"op": "change", "code": "{code}", "max_points": "2"}),
    "web:framework-copy": Write(),
    "web:calendar-remove": None,
    "web:people": {"secretariat"},
    "web:person-invite": Write(),
    "web:person-deactivate": Write(body={"reason": "Nghỉ hưu"}),
    "web:person-reactivate": Write(),
    "web:unit-rename": {"secretariat"},
    "web:units-merge": {"secretariat"},
    "web:case-documents": GLOBAL | UNIT_A | {"appraiser"},
    "web:signed-report": None,
    "web:years": set(ROLES),
    "web:unit-years": None,
}
# URLs whose ids belong to a unit: another unit's id must give its staff 404.
PAGE_CASE_SCOPED = {
    "web:case",
    "web:case-documents",
    "web:signed-report",
    "web:self-score",
    "web:transition",
    "web:history",
    "web:extend",
    "web:upload",
    "web:appraisal",
    "web:appraise",
    "web:ask",
    "web:answer",
    "web:withdraw",
    "web:relink",
    "web:agree-area",
}
EVIDENCE_LINK_PAGES = {"web:withdraw", "web:relink"}
CASE_SCOPED = {
    name
    for name in EXPECTED
    if name.startswith(("case-", "evidence-", "clarification-")) and name != "case-list"
} | PAGE_CASE_SCOPED
WRITE_METHODS = ("post", "patch", "put", "delete")


def iter_patterns(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> list[tuple[str, str | None]]:
    """(route, name) of every URL; names carry their namespace (web:case); None: unnamed."""
    found: list[tuple[str, str | None]] = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue  # Django's admin: staff only, its own permission system
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += iter_patterns(entry, route, inner)
        elif isinstance(entry, URLPattern):
            found.append((route, f"{namespace}{entry.name}" if entry.name else None))
    return found


def samples(world: SimpleNamespace) -> dict[str, dict[str, Any]]:
    """A value for every URL argument, for objects of unit A ("own") and unit B ("other")."""
    crit = (
        world.case_a.scores.select_related("criterion")
        .filter(criterion__evidence_required=True)
        .first()
        .criterion
    )
    assignment = world.cycle.assignments.first()
    seat = CouncilMember.objects.filter(council__cycle=world.cycle).first()
    assert seat is not None
    area = CouncilArea.objects.create(  # set-up shortcut: an area of a member department
        council=seat.council, area_code="1", department=world.unit_a
    )
    found: dict[str, dict[str, Any]] = {}
    for key, case, staff in (
        ("own", world.case_a, world.staff_a),
        ("other", world.case_b, world.staff_b),
    ):
        response = upload(staff, case, crit.code, PDF)
        assert response.status_code == 201, response.content
        link = EvidenceLink.objects.filter(case=case).latest("pk")
        doc = link.document
        clar = Clarification.objects.create(
            case=case, criterion=crit, round=1, question="Vì sao?", asked_by=world.appraiser
        )
        with transaction.atomic():
            notes = notify(
                "deadlines.reminder.self_assessment",
                [staff],
                text_vi="Thử",
                text_en="Test",
                case=case,
            )
        note = notes[0] if notes else None
        found[key] = {
            "cycle": world.cycle.pk,
            "case": case.pk,
            "clarification": clar.pk,
            "document": doc.pk,
            "link": link.pk,
            "notification": note.pk if note is not None else None,
            "assignment_id": assignment.pk if assignment is not None else None,
            "member_id": seat.pk,
            "row_id": area.pk,
            "code": crit.code,
            "name": "submit",
            "day": timezone.localdate().isoformat(),
            "person": staff.pk,
            "unit": case.unit_id,
            "uidb64": urlsafe_base64_encode(force_bytes(staff.pk)),
            "token": "not-a-token",
            "framework": world.cycle.frameworks.get().pk,
        }
    return found


def pk_kind(name: str) -> str:
    """What the <int:pk> of a URL names."""
    if name in EVIDENCE_LINK_PAGES:
        return "link"
    if name.startswith("case-") or name in PAGE_CASE_SCOPED - {"web:answer"}:
        return "case"
    if name in {"clarification-answer", "web:answer"}:
        return "clarification"
    if name == "web:open-notification":
        return "notification"
    if name.startswith(("framework", "web:framework")):
        return "framework"
    if name == "evidence-download":
        return "document"
    if name == "evidence-withdraw":
        return "link"
    if name == "notification-read":
        return "notification"
    if name.startswith("web:person-"):
        return "person"
    if name == "web:unit-rename":
        return "unit"
    return "cycle"


def url_for(route: str, name: str, values: dict[str, Any]) -> str:
    url = "/" + route
    for arg in re.findall(r"<(?:\w+:)?(\w+)>", url):
        key = pk_kind(name) if arg == "pk" else arg
        value = values.get(key)
        assert value is not None, f"{name}: no sample for <{arg}>: add one to samples()"
        url = re.sub(rf"<(?:\w+:)?{arg}>", str(value), url)
    return url


def signed_in(user: Any) -> str:
    """The session cookie of a sign-in of the user (made once per module: a test's requests,
    signing out included, roll back with the test)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_for(user: Any, session: str | None, api: bool) -> Client:
    if api:
        api_client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        if user is not None:
            api_client.force_authenticate(user)
        return api_client
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if session is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = session
    return client


def request(client: Client, method: str, url: str) -> int:
    return getattr(client, method)(url).status_code


def footprint() -> tuple[Any, ...]:
    """What the secretariat's writes change: the audit trail, the sets and their criteria,
    the cycles' states and cases, who may sign in."""
    return (
        AuditEntry.objects.count(),
        Framework.objects.count(),
        list(Criterion.objects.order_by("pk").values_list("code", "max_points", "method")),
        list(Cycle.objects.order_by("pk").values_list("status", flat=True)),
        Case.objects.count(),
        list(User.objects.filter(is_active=False).values_list("pk", flat=True)),
    )


def write_refusals(
    write: Write, client: Client, url: str, name: str, role: str, values: dict[str, Any]
) -> list[str]:
    """The secretariat's write tried by the role: what is wrong with the answer (see Write)."""
    api = url.startswith("/api/")
    before = footprint()
    send = getattr(client, write.method)
    data = write.data(values)
    response = send(url, data, format="json") if api else send(url, data)
    status = response.status_code
    where = f"{write.method.upper()} {url} ({name}) as {role}: {status}"
    if role == "secretariat":
        return [f"the secretariat refused: {where}"] if status in (401, 403, 404, 405) else []
    problems = []
    if role == "anonymous" and not api:
        sign_in = resolve_url(settings.LOGIN_URL)
        refused = status == 302 and response["Location"].startswith(sign_in)
    else:
        refused = status in ((401, 403, 404) if role == "anonymous" else (403, 404))
    if not refused:
        problems.append(f"not refused: {where}")
    if footprint() != before:
        problems.append(f"a refused write changed something: {where}")
    return problems


def test_every_url_is_in_the_table() -> None:
    names = {name for _route, name in iter_patterns()}
    assert None not in names, "every URL needs a name for the sweep"
    assert names - set(EXPECTED) == set(), "new URLs: add them to EXPECTED"
    assert set(EXPECTED) - names == set(), "EXPECTED lists URLs that are gone"


@pytest.fixture(scope="module")
def swept(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[SimpleNamespace]:
    """The province, its users by role and the sample values, for every test of the module."""

    def build() -> SimpleNamespace:
        world = open_world()
        users = {role: getattr(world, role, None) for role in ROLES}
        users["anonymous"] = None
        sessions = {role: signed_in(user) for role, user in users.items() if user is not None}
        return SimpleNamespace(world=world, values=samples(world), users=users, sessions=sessions)

    with override_settings(
        MINIO_ENDPOINT="",
        EVIDENCE_LOCAL_DIR=tmp_path_factory.mktemp("evidence"),
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        yield from built_once(django_db_blocker, build)


# The URLs come from the URL configuration; test_every_url_is_in_the_table checks that each
# has its row in EXPECTED, so none is left out of the sweep.
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("route", "name"), iter_patterns(), ids=lambda value: value or "-")
def test_the_role_gets_what_the_table_says_and_nothing_else(
    swept: SimpleNamespace, route: str, name: str | None, role: str
) -> None:
    if name is None or name not in EXPECTED:
        pytest.fail(f"{route} ({name}) has no row in EXPECTED: add one")
    api = route.startswith("api/")
    expectation = EXPECTED[name]
    readers = expectation if isinstance(expectation, set) else None
    client = client_for(swept.users[role], swept.sessions.get(role), api)
    units = ("own", "other") if name in CASE_SCOPED else ("own",)
    problems: list[str] = []
    if isinstance(expectation, Write):
        url = url_for(route, name, swept.values["own"])
        problems += write_refusals(expectation, client, url, name, role, swept.values["own"])
    for methods in (("get",), WRITE_METHODS):
        for unit in units:
            url = url_for(route, name, swept.values[unit])
            for method in methods:
                status = request(client, method, url)
                where = f"{method.upper()} {url} ({name}) as {role}/{unit}: {status}"
                if status >= 500:
                    problems.append(f"server error: {where}")
                    continue
                public = name in {"token", "schema", "province-history", "province-history-xlsx"}
                if (
                    role == "anonymous"
                    and api
                    and not public
                    and status not in (401, 403, 404, 405)
                ):
                    problems.append(f"anonymous not refused: {where}")
                hidden = status in (404, 405)  # 405: refused before any lookup
                if unit == "other" and role in UNIT_A | {"outsider"} and not hidden:
                    problems.append(f"another unit's object not hidden: {where}")
                if method == "get" and readers is not None:
                    allowed = role in readers and not (unit == "other" and role in UNIT_A)
                    if allowed and status != 200:
                        problems.append(f"reader refused: {where}")
                    if not allowed and status == 200:
                        problems.append(f"data to a non-reader: {where}")
    assert problems == [], "\n".join(problems)
