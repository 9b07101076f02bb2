"""The secretariat's tools: importing a cycle's survey scores, assigning its appraisers, and
the working-day calendar (days off, make-up working days).

Each write is one service call (`workflow.survey`, `workflow.cycle_services`,
`deadlines.services`), which checks the permission again, audits, and refuses with a message
that the page shows where the problem is: a refused file's every problem by row and column,
an assignment's refusal beside its appraiser's row, a calendar change's beside its form or
row.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError, ImportRefused, NotAllowed
from cases.models import AppraiserAssignment, Cycle
from cases.users import SignedInRequest, display_name
from deadlines import services as deadline_services
from deadlines import texts
from deadlines.calendar import local_date, parse_day
from web.forms import CalendarDayForm
from web.pages import secretariat as pages
from web.shortcuts import back_to, managed_cycle
from workflow import cycle_services
from workflow import survey as survey_services


@login_required
def survey_import(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the template, what is in force, the imports so far. POST: import a file, all
    rows or none."""
    cycle = managed_cycle(request, pk)
    file_error = ""
    refused: pages.Refusal | None = None
    status = 200
    if request.method == "POST":
        try:
            record = survey_services.import_upload(
                cycle.pk,
                request.FILES.get("file"),
                actor=request.user,
                missing=_("Choose the survey file (.xlsx or .csv) to import."),
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


def _say_imported(request: SignedInRequest, summary: pages.ImportSummary) -> None:
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


@login_required
def appraisers(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: council members × areas. POST: assign one member to one area, from a cell of
    their row (`row` = their id) or from the form that adds a member by user name."""
    cycle = managed_cycle(request, pk)
    if request.method != "POST":
        return _render_table(request, pages.assignment_table(cycle))
    user_ref = request.POST.get("user", "").strip()
    area = request.POST.get("area", "").strip()
    try:
        assignment, created = cycle_services.create_assignment(
            cycle.pk, user_ref, area, actor=request.user
        )
    except DomainError as error:
        return _refused(request, cycle, error, request.POST.get("row", ""))
    name = display_name(assignment.user)
    if created:
        messages.success(
            request,
            _("%(name)s now appraises area %(area)s.") % {"name": name, "area": area},
        )
    else:
        messages.info(
            request,
            _("%(name)s already appraises area %(area)s.") % {"name": name, "area": area},
        )
    return back_to("web:appraisers", cycle.pk, anchor=f"ap-{assignment.user_id}")


@login_required
@require_POST
def unassign(request: SignedInRequest, pk: int, assignment_id: int) -> HttpResponse:
    cycle = managed_cycle(request, pk)
    assignment = (
        AppraiserAssignment.objects.filter(cycle=cycle, pk=assignment_id)
        .select_related("user")
        .first()
    )
    row = request.POST.get("row", "")
    try:
        cycle_services.delete_assignment(cycle.pk, assignment_id, actor=request.user)
    except DomainError as error:
        return _refused(request, cycle, error, row)
    assert assignment is not None  # the service found it
    messages.success(
        request,
        _("%(name)s no longer appraises area %(area)s.")
        % {
            "name": display_name(assignment.user),
            "area": assignment.area_code,
        },
    )
    return back_to("web:appraisers", cycle.pk, anchor=f"ap-{assignment.user_id}")


def _refused(request: SignedInRequest, cycle: Cycle, error: DomainError, row: str) -> HttpResponse:
    """The table again, the service's refusal beside the row it came from (or beside the
    form that adds a member)."""
    if isinstance(error, NotAllowed):
        raise PermissionDenied(str(error.message))
    table = pages.assignment_table(cycle)
    reasons = [str(error.message), *(str(e) for e in error.errors)]
    if not (row.isdigit() and table.attach_error(int(row), reasons)):
        table.add_errors = reasons
        table.add_posted = {k: request.POST.get(k, "") for k in ("user", "area")}
    return _render_table(request, table, status=error.status_code)


def _render_table(
    request: SignedInRequest, table: pages.AssignmentTable, status: int = 200
) -> HttpResponse:
    context = {"cycle": table.cycle, "table": table}
    return render(request, "web/cycle_appraisers.html", context, status=status)


# --- the working-day calendar ----------------------------------------------------------------


def _secretariat(request: SignedInRequest) -> None:
    if not permissions.may_manage_cycle(request.user):
        raise PermissionDenied


@login_required
def calendar(request: SignedInRequest) -> HttpResponse:
    """GET: the year's days off and make-up working days. POST: add one, with its reason."""
    _secretariat(request)
    today = local_date(timezone.now())
    year = pages.calendar_year(request.GET.get("year", ""), today)
    if request.method != "POST":
        return _render_calendar(request, pages.calendar_page(year))
    posted = {k: request.POST.get(k, "").strip() for k in ("day", "kind", "reason")}
    form = CalendarDayForm(request.POST)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _refused_addition(request, year, posted, problems, status=400)
    try:
        override = deadline_services.add_calendar_day(
            form.cleaned_data["day"],
            form.cleaned_data["kind"],
            form.cleaned_data["reason"],
            actor=request.user,
        )
    except DomainError as error:
        return _refused_addition(request, year, posted, [str(error.message)], error.status_code)
    messages.success(
        request,
        _("%(date)s is now: %(kind)s.")
        % {"date": texts.day(override.day), "kind": override.get_kind_display()},
    )
    return back_to(
        "web:calendar",
        query=f"year={override.day.year}",
        anchor=f"day-{override.day.isoformat()}",
    )


def _refused_addition(
    request: SignedInRequest, year: int, posted: dict[str, str], errors: list[str], status: int
) -> HttpResponse:
    """The calendar again, what was typed kept and the refusal above the form."""
    page = pages.calendar_page(year)
    page.add_errors, page.add_posted = errors, posted
    return _render_calendar(request, page, status=status)


@login_required
@require_POST
def calendar_remove(request: SignedInRequest, day: str) -> HttpResponse:
    """Take back one change of the calendar, with the reason."""
    _secretariat(request)
    the_day = parse_day(day)
    if the_day is None:
        raise Http404
    try:
        deadline_services.remove_calendar_day(
            the_day, request.POST.get("reason", ""), actor=request.user
        )
    except DomainError as error:
        page = pages.calendar_page(the_day.year)
        if any(o.day == the_day for o in page.overrides):
            page.row_errors[the_day.isoformat()] = [str(error.message)]
        else:
            page.add_errors = [str(error.message)]
        return _render_calendar(request, page, status=error.status_code)
    messages.success(
        request, _("The calendar change of %(date)s was removed.") % {"date": texts.day(the_day)}
    )
    return back_to("web:calendar", query=f"year={the_day.year}", anchor="calendar-changes")


def _render_calendar(
    request: SignedInRequest, page: pages.CalendarPage, status: int = 200
) -> HttpResponse:
    return render(request, "web/calendar.html", {"page": page}, status=status)
