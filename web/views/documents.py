"""A case's documents: its self-assessment report (the draft, or the one kept at the sending)
and the head's signed scan, attached here where the cycle requires it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.errors import DomainError, NotAllowed, NotFound
from cases.models import Case
from cases.users import SignedInRequest
from results import services
from web.pages.documents import case_documents
from web.shortcuts import back_to, case_for


def _render(
    request: SignedInRequest, case: Case, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "case": case,
        "docs": case_documents(case, request.user, timezone.now()),
        "upload_error": error,
    }
    return render(request, "web/case_documents.html", context, status=status)


@login_required
def documents(request: SignedInRequest, pk: int) -> HttpResponse:
    return _render(request, case_for(request, pk))


@login_required
@require_POST
def attach_signed_report(request: SignedInRequest, pk: int) -> HttpResponse:
    """The head attaches the signed scan; a refusal is shown under the file field."""
    case = case_for(request, pk, "submit_case")
    try:
        report = services.attach_signed_report(pk, request.FILES.get("file"), actor=request.user)
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except NotAllowed as error:
        raise PermissionDenied(str(error.message)) from None
    except DomainError as error:
        return _render(request, case, error=str(error.message), status=error.status_code)
    messages.success(
        request,
        _("The signed report “%(name)s” is attached.") % {"name": report.document.filename},
    )
    return back_to("web:case-documents", pk)
