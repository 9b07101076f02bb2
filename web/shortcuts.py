"""The few helpers every view uses: find a case through the one permission module, and
turn a domain error into what a page shows."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django_htmx.middleware import HtmxDetails

from cases import permissions
from cases.errors import DomainError, NotAllowed, NotFound
from cases.models import Case, Cycle
from cases.users import SignedInRequest


class HtmxHttpRequest(SignedInRequest):
    """A request as django-htmx's middleware leaves it (`request.htmx`), for the type checker."""

    htmx: HtmxDetails


def case_page() -> QuerySet[Case]:
    """A case with what its pages show of it: its cycle, its unit and the unit's group."""
    return Case.objects.select_related("cycle", "unit", "unit__group")


def case_for(request: HttpRequest, pk: Any, perm: str = "view_case") -> Case:
    """The case, or 404 (may not see it) / 403 (may see it, may not do `perm`); with every
    permission the user holds on it, which the page's rules read (no query of their own)."""
    try:
        return permissions.get_case_for_user(request.user, pk, perm, case_page, every=True)
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except NotAllowed as error:
        raise PermissionDenied(str(error.message)) from None


def refuse(request: HttpRequest, error: DomainError) -> None:
    """A refused action: its message, then each reason, as page messages."""
    messages.error(request, str(error.message))
    for reason in error.errors:
        messages.error(request, str(reason), extra_tags="reason")


def back_to(to: str, *args: Any, anchor: str = "", query: str = "") -> HttpResponseRedirect:
    url = resolve_url(to, *args)
    return HttpResponseRedirect(
        url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")
    )


def cycle_for(request: HttpRequest, pk: Any, perm: str = "cases.view_cycle") -> Cycle:
    """A whole cycle, for the roles that see whole cycles (secretariat, leader, auditor)."""
    if not permissions.has_global(request.user, perm):
        raise PermissionDenied
    cycle = Cycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle


def managed_cycle(request: HttpRequest, pk: Any) -> Cycle:
    """A cycle the secretariat runs (survey import, appraisers, calendar): 403 for anyone
    else, 404 for a cycle that does not exist."""
    if not permissions.may_manage_cycle(request.user):
        raise PermissionDenied
    cycle = Cycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle
