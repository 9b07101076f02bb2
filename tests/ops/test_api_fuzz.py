"""API fuzzing: schemathesis generates requests from the OpenAPI schema and sends them to the
application (its WSGI handler, in this process: no server thread taking turns with the
generator) with each role's token. No request may get a 5xx, and every documented response
must match its schema. The examples per operation are few (FUZZ_EXAMPLES) to keep the run
short; raise them for a deeper run.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from cases.models import Case
from cases.permissions import ensure_role_groups
from tests.factories import build_world
from workflow import cycle_services

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
ROLES = ("secretariat", "leader", "auditor", "appraiser", "head_a", "staff_a", "outsider", None)
# Signing out would revoke the token the rest of the run uses.
SKIP = {("DELETE", "/api/v1/auth/token/")}


def fuzzer(
    cases: Any,
    base: str,
    app: Any,
    headers: dict[str, str],
    counter: list[int],
) -> Any:
    """A Hypothesis test sending EXAMPLES requests drawn from `cases` (the strategy of one
    operation, shared by its roles: built and checked once) as one role."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def fuzz(case: Any) -> None:
        counter[0] += 1
        case.call_and_validate(
            base_url=base,
            app=app,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
        )

    return fuzz


@pytest.fixture
def fuzz_world(transactional_db: Any) -> SimpleNamespace:
    """Committed, as each request's work is: what runs on commit runs."""
    ensure_role_groups()
    w = build_world()
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    w.case_a = Case.objects.get(cycle=w.cycle, unit=w.unit_a)
    return w


def test_no_generated_request_gets_a_5xx_or_an_off_schema_answer(
    fuzz_world: SimpleNamespace,
) -> None:
    app = WSGIHandler()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    base = "http://localhost"
    counter = [0]
    failures: list[str] = []
    started = timezone.now()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        cases = operation.as_strategy()
        for role in ROLES:
            user = getattr(fuzz_world, role) if role else None
            headers = {"Accept-Language": "en"}
            if user is not None:
                headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"

            fuzz = fuzzer(cases, base, app, headers, counter)
            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as exc:  # one per failing operation and role
                failures.append(f"{operation.method.upper()} {operation.path} as {role}: {exc}")
    seconds = (timezone.now() - started).total_seconds()
    sent = counter[0]
    print(f"schemathesis: {sent} generated requests in {seconds:.0f} s")
    assert failures == [], "\n\n".join(failures)
    assert sent > 200
