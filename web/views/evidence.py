"""Evidence on the pages: one file uploaded to one criterion (progress shown by app.js).

The criterion and the page to come back to travel in the query string, not the body: when
the body is refused while it arrives (too large, a type not allowed, the store down), the
refusal can still be shown under the right file field.
"""

from __future__ import annotations

from typing import BinaryIO, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from cases.errors import DomainError, InvalidInput, NotAllowed, NotFound
from cases.models import Case
from cases.users import SignedInRequest
from evidence import services as evidence_services
from evidence.models import EvidenceLink
from evidence.uploads import EvidenceUploadHandler
from web import pages, rows
from web.shortcuts import HtmxHttpRequest, back_to, case_for
from web.views.appraisal import render_appraisal
from web.views.cases import render_sheet


@csrf_exempt  # the token is checked by `_receive`, once the upload handler is in place
@login_required
@require_POST
def upload(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    handler = EvidenceUploadHandler(request, case_id=pk)
    request.upload_handlers = [handler]
    try:
        return _receive(request, pk, handler)
    except (NotFound, NotAllowed) as error:
        raise (Http404 if isinstance(error, NotFound) else PermissionDenied)(
            str(error.message)
        ) from None
    except DomainError as error:
        return _refused(request, pk, str(error.message))
    finally:
        handler.close()  # no object left in the store by a refused request


@csrf_protect
def _receive(request: HtmxHttpRequest, pk: int, handler: EvidenceUploadHandler) -> HttpResponse:
    case = evidence_services.check_may_add(pk, request.user)
    handler.allow(case)  # the file may now go on to the store as it arrives
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput(_("Choose the file to upload."))
    code = request.GET.get("criterion", "")
    link = evidence_services.add_evidence(
        pk,
        code,
        cast(BinaryIO, upload),  # a Django upload reads like a binary file
        actor=request.user,
        filename=upload.name or "",
        size=upload.size or 0,
        note=request.POST.get("note", ""),
    )
    done = _("“%(name)s” was uploaded as version %(version)s.") % {
        "name": link.document.filename,
        "version": link.version,
    }
    if request.htmx:
        return _block(request, case, code, status_text=done)
    messages.success(request, done)
    return back_to(_page(request), pk, anchor=pages.anchor(code))


def _refused(request: HtmxHttpRequest, pk: int, message: str) -> HttpResponse:
    case = case_for(request, pk)
    code = request.GET.get("criterion", "")
    if request.htmx:
        return _block(request, case, code, error=message, status=400)
    if _page(request) == "web:appraisal":
        sheet = pages.appraisal_sheet(case, request.user, timezone.now())
        pages.attach_upload_error(sheet, code, message)
        return render_appraisal(request, case, sheet, status=400)
    return render_sheet(request, case, upload_error=(code, message), status=400)


def _block(
    request: SignedInRequest,
    case: Case,
    code: str,
    *,
    status_text: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The criterion's evidence block alone, swapped in place by HTMX."""
    row = pages.evidence_row(case, code, request.user, timezone.now())
    if row is None:
        raise Http404
    row.upload_error = error
    back = "appraisal" if _page(request) == "web:appraisal" else "sheet"
    page = rows.SheetContext.for_page(request, case, back)
    html = rows.evidence_block(row, page, status=rows.escape_text(status_text))
    return HttpResponse(html, status=status)


def _page(request: SignedInRequest) -> str:
    return "web:appraisal" if request.GET.get("back") == "appraisal" else "web:case"


# --- one version: withdraw it, or link its document to another criterion -----------------

LINK_PAGE = EvidenceLink.objects.select_related(
    "document", "document__uploaded_by", "criterion", "withdrawn_by"
)


def _version(request: SignedInRequest, pk: int) -> tuple[EvidenceLink, Case]:
    """The version and its case: 404 to whoever may not see the case (as for a version that
    does not exist), 403 to whoever may see it but not change the unit's evidence."""
    link = LINK_PAGE.filter(pk=pk).first()
    if link is None:
        raise Http404
    return link, case_for(request, link.case_id, "edit_self_score")


def _page_error(error: DomainError) -> tuple[str, int]:
    if isinstance(error, NotFound):
        raise Http404(str(error.message))
    if isinstance(error, NotAllowed):
        raise PermissionDenied(str(error.message))
    return str(error.message), error.status_code


@login_required
def withdraw(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the confirmation step (a page, so that it works without JavaScript). POST:
    withdraw the version; the file stays in the store and in the history."""
    link, case = _version(request, pk)
    error, status = "", 200
    if request.method == "POST":
        try:
            evidence_services.withdraw_link(
                link.pk, actor=request.user, reason=request.POST.get("reason", "")
            )
        except DomainError as refused:
            error, status = _page_error(refused)
        else:
            messages.success(
                request,
                _("Version %(version)s of the evidence of %(code)s (“%(name)s”) was withdrawn.")
                % {
                    "version": link.version,
                    "code": link.criterion.code,
                    "name": link.document.filename,
                },
            )
            return back_to("web:case", case.pk, anchor=pages.anchor(link.criterion.code))
    context = {
        "case": case,
        "link": link,
        "error": error,
        "reason": request.POST.get("reason", ""),
        "back": pages.anchor(link.criterion.code),
    }
    return render(request, "web/evidence_withdraw.html", context, status=status)


@login_required
def relink(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: choose another criterion for a document already uploaded, with the section or
    page that applies there. POST: link it (a new version of that criterion's evidence)."""
    link, case = _version(request, pk)
    posted = {k: request.POST.get(k, "") for k in ("criterion", "note")}
    error, status = "", 200
    if request.method == "POST":
        try:
            added = evidence_services.link_document(
                case.pk,
                link.document_id,
                posted["criterion"],
                actor=request.user,
                note=posted["note"],
            )
        except DomainError as refused:
            error, status = _page_error(refused)
        else:
            messages.success(
                request,
                _("“%(name)s” is now also evidence of criterion %(code)s (version %(version)s).")
                % {
                    "name": link.document.filename,
                    "code": added.criterion.code,
                    "version": added.version,
                },
            )
            return back_to("web:case", case.pk, anchor=pages.anchor(added.criterion.code))
    context = {
        "case": case,
        "link": link,
        "choices": pages.relink_choices(case, link.document_id),
        "posted": posted,
        "error": error,
        "back": pages.anchor(link.criterion.code),
    }
    return render(request, "web/evidence_relink.html", context, status=status)
