"""An upload form's size limit, said on the page before the file is sent.

The server refuses a body over the limit of its address (config/bodies.py, 413) before
reading it; a page that sent the file anyway would keep the user waiting for the whole
upload to hear it. A form carries its limit (`data-max-bytes`) and the words for a file over
it (`data-too-large`, with `{size}` for the chosen file's size, which app.js writes with the
page's decimal separator); app.js says them beside the file field and sends nothing, and
says them too when the server answers 413 all the same. The form stays as it was.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

MB = 1024 * 1024


def limit_mb(kind: str) -> float:
    """The file limit of an upload form, read where the server reads it: the evidence
    setting, the survey import's own, and for every other form the request body limit."""
    from cases.survey import MAX_BYTES as SURVEY_MAX_BYTES

    if kind == "evidence":
        return float(settings.EVIDENCE_MAX_UPLOAD_MB)
    if kind == "survey":
        return SURVEY_MAX_BYTES / MB
    return float(settings.REQUEST_BODY_MAX_MB)


def too_large_text(limit_mb: float) -> str:
    whole = float(limit_mb).is_integer()
    return _("The file is too large (%(size)s MB): the limit is %(limit)s MB.") % {
        "size": "{size}",
        "limit": number_format(int(limit_mb) if whole else limit_mb),  # 10, or 2,5
    }


def limit_attributes(kind: str) -> SafeString:
    """` data-max-bytes="…" data-too-large="…"` for the form of an upload of that kind."""
    limit = limit_mb(kind)
    return format_html(
        ' data-max-bytes="{}" data-too-large="{}"', int(limit * MB), too_large_text(limit)
    )
