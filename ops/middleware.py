"""Middleware of the running product."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from ops import health


class HealthCheckMiddleware:
    """Serves /healthz and /readyz first: health checks call the container by its own
    address (not in ALLOWED_HOSTS) over plain HTTP (no HTTPS redirect), and need no
    session, user or language."""

    routes = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.routes.get(request.path_info.rstrip("/"))
        if view is not None:
            return view(request)
        return self.get_response(request)


class PrivateByDefaultMiddleware:
    """Answers carry case data unless their view says otherwise: `Cache-Control: no-store`,
    so that no shared cache, and no browser after sign-out, keeps a copy. A view whose
    answer is the same for everyone (published results to the public) sets its own
    Cache-Control. Static files are served before this (WhiteNoise) with a year's caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True)
        return response
