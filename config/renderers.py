"""The API's JSON: every timestamp in the province's time zone, with its offset.

Serializer fields already convert; this covers the values views put in a response
themselves (a decision's time, an import's time), which the stock encoder writes as stored,
in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils import encoders


class LocalTimeEncoder(encoders.JSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, datetime) and timezone.is_aware(obj):
            obj = timezone.localtime(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = LocalTimeEncoder
