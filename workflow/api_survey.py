"""API of the survey import: the secretariat's upload and the template to fill."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions, survey
from cases.errors import NotAllowed
from cases.inputs import MultiPartFormParser
from cases.models import Cycle, SurveyImport
from cases.users import SignedInApiRequest
from workflow import survey as survey_services
from workflow.api import CSV, XLSX, attachment
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


def _secretariat_cycle(request: SignedInApiRequest, pk: int) -> Cycle:
    cycle = visible_cycle(request.user, pk)
    if not permissions.may_manage_cycle(request.user):
        raise NotAllowed(_("Only the secretariat imports survey scores."))
    return cycle


class SurveyImportView(APIView):
    """POST multipart `file` (.xlsx or .csv): all rows or none. GET: the imports so far."""

    parser_classes = [MultiPartFormParser, FormParser]

    @extend_schema(responses=SurveyImportList)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
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
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
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
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponse:
        cycle = _secretariat_cycle(request, pk)
        if self.file_type == "csv":
            return attachment(survey.template_csv(cycle), f"dieu-tra-xhh-{cycle.year}.csv", CSV)
        return attachment(survey.template_xlsx(cycle), f"dieu-tra-xhh-{cycle.year}.xlsx", XLSX)
