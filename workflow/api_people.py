"""API of the units and accounts import: the secretariat's upload and the template to fill."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import people, permissions
from cases.errors import NotAllowed
from cases.users import SignedInApiRequest
from workflow import people as people_services
from workflow.api import XLSX, attachment

ImportOutput = inline_serializer(
    "UnitsImportOutput",
    {
        "filename": serializers.CharField(),
        "sha256": serializers.CharField(),
        "groups_created": serializers.IntegerField(),
        "units_created": serializers.IntegerField(),
        "units_unchanged": serializers.IntegerField(),
        "accounts_created": serializers.IntegerField(),
        "memberships_added": serializers.IntegerField(),
        "invitations_sent": serializers.IntegerField(),
    },
)


class UnitsImportView(APIView):
    """POST multipart `file` (.xlsx, the template's two sheets): all rows or none; each new
    account is e-mailed its invitation."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer("UnitsFile", {"file": serializers.FileField()})
        },
        responses={201: ImportOutput},
    )
    def post(self, request: SignedInApiRequest) -> Response:
        summary = people_services.import_upload(
            request.FILES.get("file"),
            actor=request.user,
            missing=_("Attach the workbook (.xlsx) in the field “file”."),
        )
        return Response(summary.as_dict(), status=201)


class UnitsTemplateView(APIView):
    """The workbook to fill: units and accounts."""

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest) -> HttpResponse:
        if not permissions.may_manage_people(request.user):
            raise NotAllowed(_("Only the secretariat manages units and accounts."))
        return attachment(people.template_xlsx(), "don-vi-tai-khoan.xlsx", XLSX)
