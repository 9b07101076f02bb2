"""Deadline endpoints under /api/v1/: extensions of a case and the working-day calendar.

Thin views: `cases.permissions` finds the case (404 / 403) and who may act is asked before
the body is read; the input serializers type the body (a date, the model's choice, a text;
400 naming the field otherwise), one service call in `deadlines.services` does the rest;
domain errors become JSON in `config.api_errors`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import InvalidInput, NotAllowed
from cases.inputs import text, validated
from cases.users import SignedInApiRequest
from deadlines import services
from deadlines.calendar import local_date, not_a_date, parse_day, public_holidays, weekend_workdays
from deadlines.models import CalendarOverride, Extension

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ExtensionSerializer(serializers.ModelSerializer):
    granted_by = serializers.CharField(source="granted_by.username")

    class Meta:
        model = Extension
        fields = [
            "id",
            "case",
            "kind",
            "previous_due",
            "due_date",
            "reason",
            "granted_by",
            "granted_at",
        ]


class CalendarOverrideSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = CalendarOverride
        fields = ["day", "kind", "reason", "created_by", "created_at"]


@extend_schema_field(OpenApiTypes.STR)
class DayInput(serializers.Field[date, Any, str, Any]):
    """A date written dd/mm/yyyy or yyyy-mm-dd, as the pages take it; read into a `date`."""

    def to_internal_value(self, data: Any) -> date:
        day = parse_day(data)
        if day is None:
            raise serializers.ValidationError(not_a_date(data))
        return day

    def to_representation(self, value: date) -> str:
        return value.isoformat()


def _choice(choices: list[str], message: StrOrPromise, **kwargs: Any) -> serializers.ChoiceField:
    """One of the model's choices; anything else (missing, empty, another word, a list)
    refused with the same sentence naming them."""
    errors = {"required": message, "null": message, "invalid_choice": message}
    return serializers.ChoiceField(choices, error_messages=errors, **kwargs)


ExtensionInput = inline_serializer(
    "ExtensionInput",
    {
        "kind": _choice(
            Extension.Kind.values,
            gettext_lazy("Say which deadline to extend: “self_assessment” or “explanation”."),
        ),
        "due_date": DayInput(help_text="dd/mm/yyyy or yyyy-mm-dd"),
        "reason": text(),
    },
)
CalendarDayInput = inline_serializer(
    "CalendarDayInput",
    {
        "day": DayInput(help_text="dd/mm/yyyy or yyyy-mm-dd"),
        "kind": _choice(
            CalendarOverride.Kind.values,
            gettext_lazy("Say what the day becomes: “day_off” or “working_day”."),
        ),
        "reason": text(),
    },
)
CalendarOutput = inline_serializer(
    "CalendarOutput",
    {
        "year": serializers.IntegerField(),
        "public_holidays": serializers.ListField(child=serializers.DateField()),
        "weekend_workdays": serializers.ListField(child=serializers.DateField()),
        "overrides": CalendarOverrideSerializer(many=True),
    },
)


CalendarRemoveInput = inline_serializer("CalendarRemoveInput", {"reason": text()})


class CaseExtensionsView(APIView):
    @extend_schema(responses=ExtensionSerializer(many=True))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(request.user, pk)
        rows = Extension.objects.filter(case=case).select_related("granted_by")
        return Response(ExtensionSerializer(rows, many=True).data)

    @extend_schema(request=ExtensionInput, responses={201: ExtensionSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        # Who may extend is asked before the body is read: nobody else learns what it needs.
        services.require_extender(request.user, permissions.get_case_for_user(request.user, pk))
        data = validated(request, ExtensionInput)
        extension = services.grant_extension(
            pk,
            kind=Extension.Kind(data["kind"]),
            due_date=data["due_date"],
            reason=data.get("reason") or "",
            actor=request.user,
        )
        return Response(ExtensionSerializer(extension).data, status=201)


class CalendarView(APIView):
    @extend_schema(parameters=[OpenApiParameter("year", int)], responses=CalendarOutput)
    def get(self, request: SignedInApiRequest) -> Response:
        if not permissions.may_view_cycles(request.user):
            raise NotAllowed(_("You are not allowed to do this."))
        raw = request.query_params.get("year", "")
        if raw and not (raw.isdigit() and 2000 <= int(raw) <= 2100):
            raise InvalidInput(_("The year must be a number such as 2026."))
        year = int(raw) if raw else local_date(timezone.now()).year
        start, end = date(year, 1, 1), date(year, 12, 31)
        overrides = CalendarOverride.objects.filter(day__range=(start, end)).select_related(
            "created_by"
        )
        return Response(
            {
                "year": year,
                "public_holidays": sorted(public_holidays(year)),
                "weekend_workdays": sorted(weekend_workdays(year)),
                "overrides": CalendarOverrideSerializer(overrides, many=True).data,
            }
        )

    @extend_schema(request=CalendarDayInput, responses={201: CalendarOverrideSerializer})
    def post(self, request: SignedInApiRequest) -> Response:
        services.require_calendar_keeper(request.user)  # before the body is read
        data = validated(request, CalendarDayInput)
        override = services.add_calendar_day(
            data["day"],
            CalendarOverride.Kind(data["kind"]),
            data.get("reason") or "",
            actor=request.user,
        )
        return Response(CalendarOverrideSerializer(override).data, status=201)


class CalendarDayView(APIView):
    @extend_schema(request=CalendarRemoveInput, responses={204: None})
    def delete(self, request: SignedInApiRequest, day: str) -> Response:
        services.require_calendar_keeper(request.user)  # before the address or body is read
        try:
            the_day = DayInput().run_validation(day)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"day": error.detail}) from None
        reason = validated(request, CalendarRemoveInput).get("reason") or ""
        services.remove_calendar_day(the_day, reason, actor=request.user)
        return Response(status=204)
