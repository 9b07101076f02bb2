"""The case list's filters take any text: one PostgreSQL cannot compare (a NUL character,
as the API fuzzing sends) matches no case instead of failing with a server error."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import api


def test_a_filter_holding_a_nul_character_matches_no_case(world: SimpleNamespace) -> None:
    client = api(world.auditor)
    for query in ("unit=%00ST", "state=self%00scoring", "unit=STP&state=%00"):
        response = client.get(f"/api/v1/cases/?{query}")
        assert response.status_code == 200, query
        assert response.json() == []
    assert len(client.get("/api/v1/cases/?unit=stp").json()) == 1
