"""The home page: what this user has to do now, whatever their role."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cases.users import SignedInRequest
from web import pages


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    context = pages.home(pages.Viewer(request.user), timezone.now())
    return render(request, "web/home.html", context)
