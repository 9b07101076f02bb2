"""Server-rendered pages. Thin: permission helper, one query or service call, a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cases import permissions
from deadlines import policy


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cases = (
        permissions.visible_cases(request.user)
        .select_related("cycle", "unit")
        .annotate(self_due=policy.effective_self_due())
        .order_by("-cycle__year", "unit__code")[:200]
    )
    return render(request, "web/home.html", {"cases": cases})
