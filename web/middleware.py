"""Pages speak Vietnamese unless the user chose English with the switch.

Many office browsers announce English (`Accept-Language: en-US`) although their users read
Vietnamese; the pages therefore ignore that header and follow only the language cookie
that the switch sets. The JSON API keeps Django's negotiation (Vietnamese by default,
English with `Accept-Language: en`), which integrations rely on.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

API_PREFIXES = ("/api/",)


class PageLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if request.path.startswith(API_PREFIXES) or chosen:
            super().process_request(request)
            return
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
