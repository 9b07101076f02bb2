"""An upload form's size limit, said on the page before the file is sent.

The server refuses a body over the limit of its address (config/bodies.py, 413) before
reading it; a page that sent the file anyway would keep the user waiting for the whole
upload to hear it. A form (or an element around the forms of a list) carries its limit
(`data-max-bytes`) and the words for a file over it (`data-too-large`, with `{size}` for the
chosen file's size, which app.js writes with the page's decimal separator); app.js says them
beside the file field and sends nothing, and says them too when the server answers 413 all
the same. The form stays as it was.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

MB = 1024 * 1024


def file_limits_mb() -> dict[str, float]:
    """Kind of upload → the largest file (MB) its service accepts: evidence by the setting,
    signed reports as evidence, and each workbook import by its reader's own limit."""
    from cases.frameworks.excel import MAX_BYTES as CRITERIA_MAX_BYTES
    from cases.people import MAX_BYTES as PEOPLE_MAX_BYTES
    from cases.survey import MAX_BYTES as SURVEY_MAX_BYTES

    evidence = float(settings.EVIDENCE_MAX_UPLOAD_MB)
    return {
        "evidence": evidence,
        "signed_report": evidence,
        "survey": SURVEY_MAX_BYTES / MB,
        "criteria": CRITERIA_MAX_BYTES / MB,
        "people": PEOPLE_MAX_BYTES / MB,
    }


# URL name → the kind of file its view takes. A new upload address adds its name here;
# every other address gets REQUEST_BODY_MAX_MB.
UPLOAD_KINDS = {
    "case-evidence": "evidence",
    "web:upload": "evidence",
    "case-signed-report": "signed_report",
    "web:signed-report": "signed_report",
    "survey": "survey",
    "web:survey": "survey",
    "framework-list": "criteria",
    "web:framework-import": "criteria",
    "units-import": "people",
    "web:people": "people",
}


def limit_mb(kind: str) -> float:
    """The file limit of an upload form, read where the server reads it: the kind's own,
    and for any other form the request body limit."""
    return file_limits_mb().get(kind, float(settings.REQUEST_BODY_MAX_MB))


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
