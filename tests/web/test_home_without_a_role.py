"""The home page of someone with no role yet: it says whom to ask.

In a module of its own: it starts from an empty database rather than the province, and in
tests/web/test_home.py that made every other test of the module build its own province
(tests/sharing.py).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from tests.factories import make_user
from tests.web.html import Page


def test_a_user_without_a_role_is_told_whom_to_ask(db: Any, signed_in: Any) -> None:
    page = Page(signed_in(make_user("newcomer")).get(reverse("web:home")))
    assert "Sở Nội vụ" in page.text
