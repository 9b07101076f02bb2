"""API of the survey import and of the results: the ranking, its Excel table, open data.

Who sees results (cases.permissions): anyone, signed in or not, once the cycle is published;
before, the secretariat, the leader and the auditor (a unit that can see the cycle gets 403,
anyone else 404). The honesty signal goes only to those `may_view_honesty` admits.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import exports, permissions, results, survey
from cases.errors import NotAllowed, NotFound
from cases.models import Cycle, SurveyImport
from workflow import survey as survey_services
from workflow.api import _visible_cycles
from workflow.api_appraisal import visible_cycle

SurveyImportOutput = inline_serializer(
    "SurveyImportOutput",
    {
        "id": serializers.IntegerField(),
        "filename": serializers.CharField(),
        "sha256": serializers.CharField(),
        "rows": serializers.IntegerField(),
        "imported_by": serializers.CharField(),
        "imported_at": serializers.DateTimeField(),
    },
)
SurveyImportList = inline_serializer(
    "SurveyImportList",
    {
        "id": serializers.IntegerField(),
        "filename": serializers.CharField(),
        "sha256": serializers.CharField(),
        "rows": serializers.IntegerField(),
        "imported_by": serializers.CharField(),
        "imported_at": serializers.DateTimeField(),
    },
    many=True,
)


def _import_json(record: SurveyImport) -> dict[str, Any]:
    return {
        "id": record.pk,
        "filename": record.filename,
        "sha256": record.sha256,
        "rows": record.row_count,
        "imported_by": record.imported_by.username,
        "imported_at": record.imported_at,
    }


def _secretariat_cycle(request: Request, pk: int) -> Cycle:
    cycle = visible_cycle(request.user, pk)
    if not permissions.may_manage_cycle(request.user):
        raise NotAllowed(_("Only the secretariat imports survey scores."))
    return cycle


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class SurveyImportView(APIView):
    """POST multipart `file` (.xlsx or .csv): all rows or none. GET: the imports so far."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=SurveyImportList)
    def get(self, request: Request, pk: int) -> Response:
        cycle = _secretariat_cycle(request, pk)
        rows = SurveyImport.objects.filter(cycle=cycle).select_related("imported_by")
        return Response([_import_json(r) for r in rows])

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "SurveyFile", {"file": serializers.FileField()}
            )
        },
        responses={201: SurveyImportOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        cycle = _secretariat_cycle(request, pk)
        record = survey_services.import_upload(
            cycle.pk,
            request.FILES.get("file"),
            actor=request.user,
            missing=_("Attach the survey file (.xlsx or .csv) in the field “file”."),
        )
        return Response(_import_json(record), status=201)


class SurveyTemplateView(APIView):
    """The file to fill: every unit and survey criterion of the cycle, current scores in."""

    file_type = "xlsx"

    @extend_schema(
        responses={(200, XLSX): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        cycle = _secretariat_cycle(request, pk)
        if self.file_type == "csv":
            return _download(survey.template_csv(cycle), f"dieu-tra-xhh-{cycle.year}.csv", CSV)
        return _download(survey.template_xlsx(cycle), f"dieu-tra-xhh-{cycle.year}.xlsx", XLSX)


def results_cycle(user: Any, pk: int) -> Cycle:
    """The cycle whose results this user may read now; 404 / 403 as the module says."""
    cycle = Cycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise NotFound(_("This cycle does not exist or you may not see it."))
    if cycle.status == Cycle.Status.PUBLISHED or permissions.may_view_provisional_results(user):
        return cycle
    if user.is_authenticated and _visible_cycles(user).filter(pk=pk).exists():
        raise NotAllowed(_("The results of this cycle are not published yet."))
    raise NotFound(_("This cycle does not exist or you may not see it."))


class _ResultsBase(APIView):
    permission_classes = [AllowAny]

    def _results(self, request: Request, pk: int) -> results.CycleResults:
        return results.compute_results(results_cycle(request.user, pk))


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
        return _download(content, _name(computed.cycle, "xlsx"), XLSX)


class ResultsCsvView(_ResultsBase):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        return _download(exports.to_csv(computed), _name(computed.cycle, "csv"), CSV)


class ResultsJsonView(_ResultsBase):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        response = HttpResponse(exports.to_json(computed), content_type="application/json")
        response["Content-Disposition"] = f'inline; filename="{_name(computed.cycle, "json")}"'
        return response
