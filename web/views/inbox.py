"""The inbox: the user's notifications, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from notifications.models import Notification


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    rows = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-pk")
    return render(request, "web/inbox.html", {"notifications": rows[:200]})
