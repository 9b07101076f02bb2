"""API of units and accounts: the secretariat's import and the template to fill, and the
correction of a misspelt unit name."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import people, permissions
from cases.errors import NotAllowed
from cases.inputs import MultiPartFormParser, text, validated
from cases.users import SignedInApiRequest, User
from workflow import people as people_services
from workflow.api import XLSX, UnitRefSerializer, attachment

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

    parser_classes = [MultiPartFormParser, FormParser]

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
        _manager(request.user)
        return attachment(people.template_xlsx(), "don-vi-tai-khoan.xlsx", XLSX)


NameCorrectionInput = inline_serializer(
    "UnitNameCorrectionInput",
    {
        "name": text(help_text="the name as it should have been written"),
        "note": text(help_text="why, such as the document that spells it right"),
    },
)


def _manager(user: User) -> None:
    """403 to whoever does not keep the units, before any input is read."""
    if not permissions.may_manage_people(user):
        raise NotAllowed(_("Only the secretariat manages units and accounts."))


class UnitNameCorrectionView(APIView):
    """POST {name, note}: a misspelt name corrected in place. The unit stays the one its
    cases, people and past years belong to, even while it is assessed; a name changed by
    decision is a renaming (a new unit continuing it), in the pages."""

    @extend_schema(request=NameCorrectionInput, responses=UnitRefSerializer)
    def post(self, request: SignedInApiRequest, code: str) -> Response:
        _manager(request.user)
        data = validated(request, NameCorrectionInput)
        unit = people_services.correct_unit_name(
            code,
            new_name=data.get("name") or "",
            note=data.get("note") or "",
            actor=request.user,
        )
        return Response(UnitRefSerializer(unit).data)
