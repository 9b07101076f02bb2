"""The secretariat's tools for a cycle: importing the survey scores, assigning appraisers.

Each write is one service call (`workflow.survey`, `workflow.cycle_services`), which checks
the permission again, audits, and refuses with a message that the page shows where the
problem is: a refused file's every problem by row and column, an assignment's refusal
beside its appraiser's row.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import survey
from cases.errors import DomainError, ImportRefused, InvalidInput
from web.pages import secretariat as pages
from web.shortcuts import back_to, managed_cycle
from workflow import survey as survey_services


@login_required
def survey_import(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the template, what is in force, the imports so far. POST: import a file, all
    rows or none."""
    cycle = managed_cycle(request, pk)
    file_error = ""
    refused: pages.Refusal | None = None
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise InvalidInput(_("Choose the survey file (.xlsx or .csv) to import."))
            if upload.size and upload.size > survey.MAX_BYTES:
                raise InvalidInput(
                    _("The file is larger than %(size)s MB.")
                    % {"size": survey.MAX_BYTES // (1024 * 1024)}
                )
            record = survey_services.import_survey(
                cycle.pk, upload.name or "", upload.read(), actor=request.user
            )
        except ImportRefused as error:
            refused = pages.refusal(str(error.message), error.problems)
            status = error.status_code
        except DomainError as error:  # no file, too large, the cycle not open
            file_error = str(error.message)
            status = error.status_code
        else:
            _say_imported(request, pages.import_summary(record))
            return back_to("web:survey", cycle.pk)
    context = {
        "cycle": cycle,
        "page": pages.survey_page(cycle),
        "file_error": file_error,
        "refused": refused,
    }
    return render(request, "web/cycle_survey.html", context, status=status)


def _say_imported(request: HttpRequest, summary: pages.ImportSummary) -> None:
    record = summary.record
    messages.success(
        request,
        _("“%(file)s” was imported: %(scores)s, %(units)s, %(criteria)s.")
        % {
            "file": record.filename,
            "scores": ngettext("%(n)s score", "%(n)s scores", record.row_count)
            % {"n": record.row_count},
            "units": ngettext("%(n)s unit", "%(n)s units", summary.units) % {"n": summary.units},
            "criteria": ngettext("%(n)s criterion", "%(n)s criteria", summary.criteria)
            % {"n": summary.criteria},
        },
    )
    if summary.replaced is None:
        messages.info(request, _("This is the cycle's first survey import."))
    else:
        when = timezone.localtime(summary.replaced.imported_at)
        messages.info(
            request,
            _("It replaces the import of %(when)s (“%(file)s”).")
            % {
                "when": date_format(when, "SHORT_DATETIME_FORMAT"),
                "file": summary.replaced.filename,
            },
        )
