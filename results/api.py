"""API of the results: the ranking, its Excel table, open data, the leader's exclusions.

Who sees results (cases.permissions): anyone, signed in or not, once the cycle is published;
before, the secretariat, the leader and the auditor (a unit that can see the cycle gets 403,
anyone else 404). The honesty signal goes only to those `may_view_honesty` admits.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.inputs import MultiPartFormParser, text, validated
from cases.models import Case, Cycle, Unit
from cases.users import AnonymousUser, SignedInApiRequest, User
from deadlines.calendar import typed_day
from results import documents, exports, history, ranking, services
from workflow.api import CSV, DOCX, XLSX, _visible_cycles, attachment


def _cycle_for(user: User, pk: int, allowed: bool, refusal: str) -> Cycle:
    """404 to whoever may not see the cycle; 403 with `refusal` to whoever may see it but
    not this document."""
    cycle = _visible_cycles(user).filter(pk=pk).first() if user.is_authenticated else None
    if cycle is None:
        raise NotFound(_("This cycle does not exist or you may not see it."))
    if not allowed:
        raise NotAllowed(refusal)
    return cycle


def results_cycle(user: User | AnonymousUser, pk: int) -> Cycle:
    """The cycle whose results this user may read now; 404 / 403 as the module says."""
    cycle = Cycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise NotFound(_("This cycle does not exist or you may not see it."))
    if cycle.status == Cycle.Status.PUBLISHED or permissions.may_view_provisional_results(user):
        return cycle
    if isinstance(user, User) and _visible_cycles(user).filter(pk=pk).exists():
        raise NotAllowed(_("The results of this cycle are not published yet."))
    raise NotFound(_("This cycle does not exist or you may not see it."))


class _ResultsBase(APIView):
    permission_classes = [AllowAny]

    def _results(self, request: Request, pk: int) -> ranking.CycleResults:
        return ranking.compute_results(results_cycle(request.user, pk))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200 and not request.user.is_authenticated:
            # Published results as the public sees them, the same for everyone: the one
            # answer that may be cached (everything else is no-store, ops.middleware).
            patch_cache_control(response, public=True, max_age=settings.PUBLIC_RESULTS_MAX_AGE)
        return response


class ResultsView(_ResultsBase):
    """Ranking per unit group: rank, unit, score (the index), group (A/B/C/D), excluded."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        computed = self._results(request, pk)
        return Response(
            exports.as_payload(
                computed,
                private=permissions.may_view_provisional_results(request.user),
                honesty=permissions.may_view_honesty(request.user),
            )
        )


def _name(cycle: Cycle, ext: str) -> str:
    return f"ket-qua-chi-so-cchc-{cycle.year}-{cycle.pk}.{ext}"


class ResultsXlsxView(_ResultsBase):
    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        content = exports.to_xlsx(computed, honesty=permissions.may_view_honesty(request.user))
        return attachment(content, _name(computed.cycle, "xlsx"), XLSX)


class ResultsCsvView(_ResultsBase):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        return attachment(exports.to_csv(computed), _name(computed.cycle, "csv"), CSV)


class ResultsJsonView(_ResultsBase):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        response = HttpResponse(exports.to_json(computed), content_type="application/json")
        response["Content-Disposition"] = f'inline; filename="{_name(computed.cycle, "json")}"'
        return response


ReasonInput = inline_serializer("ReasonInput", {"reason": text()})
ExclusionInput = inline_serializer(
    "ExclusionInput",
    {
        "reason": text(),
        "follow_up_by": text(help_text="who must clarify the responsibility"),
        "follow_up_due": text(help_text="by when (dd/mm/yyyy or yyyy-mm-dd)"),
    },
)


class ExclusionView(APIView):
    """POST {reason}: the leader takes the unit out of the ranking. DELETE {reason}: back in."""

    @extend_schema(request=ExclusionInput, responses={201: None})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        body = validated(request, ExclusionInput)
        exclusion = services.exclude_from_ranking(
            pk,
            body.get("reason") or "",
            actor=request.user,
            follow_up_by=body.get("follow_up_by") or "",
            follow_up_due=typed_day(
                str(body.get("follow_up_due") or ""), services.follow_up_due_label()
            ),
        )
        return Response(
            {
                "case": exclusion.case_id,
                "excluded": True,
                "reason": exclusion.reason,
                "decided_by": request.user.username,
                "decided_at": exclusion.decided_at,
                "follow_up_by": exclusion.follow_up_by,
                "follow_up_due": exclusion.follow_up_due,
            },
            status=201,
        )

    @extend_schema(request=ReasonInput, responses={200: None})
    def delete(self, request: SignedInApiRequest, pk: int) -> Response:
        case = services.reinstate_in_ranking(
            pk, validated(request, ReasonInput).get("reason") or "", actor=request.user
        )
        return Response({"case": case.pk, "excluded": False})


def _docx_name(stem: str, cycle: Cycle, ext: str = "docx") -> str:
    return f"{stem}-{cycle.year}-{cycle.pk}.{ext}"


class CaseReportView(APIView):
    """The unit's self-assessment report: whoever may see the case. Once sent, the report
    kept at the sending (the paper that was sent); before, the draft as the table stands."""

    @extend_schema(responses={(200, DOCX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponse:
        case = permissions.get_case_for_user(
            request.user, pk, queryset=Case.objects.select_related("cycle", "unit")
        )
        name = f"bao-cao-tu-danh-gia-{case.unit.code.lower()}-{case.cycle.year}.docx"
        content = services.submitted_report(case) or documents.self_assessment_report(case)
        return attachment(content, name, DOCX)


class AppraisalReportView(APIView):
    """Sở Nội vụ's appraisal report to the council chair (409 before a case is finalised)."""

    @extend_schema(responses={(200, DOCX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponse:
        cycle = _cycle_for(
            request.user,
            pk,
            permissions.may_view_appraisal_report(request.user),
            _("Only the secretariat, the leader and the auditor read the appraisal report."),
        )
        content = documents.appraisal_report(cycle)
        return attachment(content, _docx_name("bao-cao-tham-dinh", cycle), DOCX)


class ResultsAnnexView(_ResultsBase):
    """The annex of the publishing decision: public once published, like the results."""

    file_type = "docx"

    @extend_schema(responses={(200, DOCX): OpenApiTypes.BINARY, (200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        if self.file_type == "xlsx":
            content, kind = documents.results_annex_xlsx(computed), XLSX
        else:
            content, kind = documents.results_annex_docx(computed), DOCX
        name = _docx_name("phu-luc-ket-qua", computed.cycle, self.file_type)
        return attachment(content, name, kind)


class RewardsView(APIView):
    """The emulation and reward proposal: the units meeting the cycle's rule (409 while no
    unit is ranked)."""

    file_type = "xlsx"

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY, (200, DOCX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponse:
        cycle = _cycle_for(
            request.user,
            pk,
            permissions.may_view_reward_proposal(request.user),
            _("Only the secretariat and the leader read the reward proposal."),
        )
        computed = ranking.compute_results(cycle)
        if self.file_type == "docx":
            content, kind = documents.rewards_docx(computed), DOCX
        else:
            content, kind = documents.rewards_xlsx(computed), XLSX
        return attachment(content, _docx_name("de-xuat-khen-thuong", cycle, self.file_type), kind)


def _latest_authority() -> str | None:
    latest = Cycle.objects.filter(status=Cycle.Status.PUBLISHED).order_by("-year", "-pk").first()
    return latest.authority if latest else None


class UnitHistoryView(APIView):
    """A unit's published results across cycles, its predecessors' years included. Public:
    only what was announced is shown. `?format=xlsx` (or the .xlsx path): the export."""

    permission_classes = [AllowAny]
    file_type = "json"

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> HttpResponse:
        unit = Unit.objects.filter(code__iexact=code.replace("\x00", "")).first()
        if unit is None:
            raise NotFound(_("There is no unit with this code."))
        years = history.unit_history(unit)
        if self.file_type == "xlsx":
            title = _("PAR Index of %(unit)s over the years") % {"unit": unit.name}
            content = history.history_xlsx(title, years, None)
            return attachment(content, f"chi-so-cchc-qua-cac-nam-{unit.code.lower()}.xlsx", XLSX)
        return Response(
            {
                "unit": {"code": unit.code, "name": unit.name},
                "years": [y.as_dict() for y in years],
            }
        )


class ProvinceHistoryView(APIView):
    """The province's published cycles side by side: average index, groups, area averages
    and the areas that fell. `?authority=` chooses the province (default: the latest one
    that published)."""

    permission_classes = [AllowAny]
    file_type = "json"

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        authority = str(request.query_params.get("authority", "")).replace("\x00", "")
        authority = authority or _latest_authority() or ""
        years = history.province_history(authority)
        if self.file_type == "xlsx":
            title = _("PAR Index of %(authority)s over the years") % {"authority": authority}
            return attachment(
                history.history_xlsx(title, None, years), "chi-so-cchc-qua-cac-nam.xlsx", XLSX
            )
        return Response({"authority": authority, "years": [y.as_dict() for y in years]})


class SignedReportView(APIView):
    """POST multipart `file`: the head attaches the scan of the signed report (PDF)."""

    parser_classes = [MultiPartFormParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "SignedReportFile", {"file": serializers.FileField()}
            )
        },
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        report = services.attach_signed_report(pk, request.FILES.get("file"), actor=request.user)
        return Response(
            {
                "id": report.pk,
                "filename": report.document.filename,
                "sha256": report.document.sha256,
                "size": report.document.size,
                "uploaded_at": report.uploaded_at,
            },
            status=201,
        )
