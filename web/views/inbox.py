"""The inbox: the user's notifications, newest first; opening one marks it read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cases.errors import NotFound
from notifications import services
from web.shortcuts import back_to

PAGE = 100


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    rows = services.inbox(request.user, unread_only=unread_only)[:PAGE]
    return render(request, "web/inbox.html", {"notifications": rows, "unread_only": unread_only})


@login_required
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link; the first opening is its proof of notice."""
    try:
        row = services.mark_read(request.user, pk)
    except NotFound:
        raise Http404 from None
    link = row.link or ""
    if not url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        link = ""
    return HttpResponseRedirect(link or back_to("web:inbox").url)


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(request.user)
    return back_to("web:inbox")
