"""API of a cycle's appraisal council: the decision, its people, the areas of its member
departments. Thin views over `workflow.council`, which checks and audits."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.inputs import text, validated
from cases.models import Council, CouncilArea, CouncilMember, Cycle
from cases.users import SignedInApiRequest, display_name
from deadlines.calendar import parse_day
from workflow import council
from workflow.api_appraisal import visible_cycle


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    department = serializers.CharField(source="department.code", allow_null=True, default=None)

    class Meta:
        model = CouncilMember
        fields = ["id", "user", "name", "role", "department"]

    def get_name(self, member: CouncilMember) -> str:
        return display_name(member.user)


class AreaSerializer(serializers.ModelSerializer):
    area = serializers.CharField(source="area_code")
    department = serializers.CharField(source="department.code")

    class Meta:
        model = CouncilArea
        fields = ["id", "area", "department"]


class CouncilSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    areas = serializers.SerializerMethodField()

    class Meta:
        model = Council
        fields = ["decision_number", "decision_date", "decision_signer", "members", "areas"]

    @extend_schema(responses=MemberSerializer(many=True))
    def get_members(self, obj: Council) -> Any:
        rows = obj.members.select_related("user", "department").order_by("role", "user__username")
        return MemberSerializer(rows, many=True).data

    @extend_schema(responses=AreaSerializer(many=True))
    def get_areas(self, obj: Council) -> Any:
        rows = obj.areas.select_related("department").order_by("area_code", "department__code")
        return AreaSerializer(rows, many=True).data


DecisionInput = inline_serializer(
    "CouncilDecisionInput",
    {"decision_number": text(), "decision_date": text(), "decision_signer": text()},
)
MemberInput = inline_serializer(
    "CouncilMemberInput",
    {
        "user": serializers.CharField(help_text="username or user id", max_length=150),
        "role": serializers.ChoiceField(CouncilMember.Role.choices),
        "department": text(),
    },
)
AreaInput = inline_serializer(
    "CouncilAreaInput",
    {"area": serializers.CharField(max_length=32), "department": serializers.CharField()},
)


def _readable(request: SignedInApiRequest, pk: int) -> Council | None:
    cycle = visible_cycle(request.user, pk)
    if not permissions.may_view_provisional_results(request.user):
        raise NotAllowed(_("You are not allowed to see the appraisal council."))
    return Council.objects.filter(cycle=cycle).first()


def _managed(request: SignedInApiRequest, pk: int) -> Cycle:
    """The cycle, for a change: 404 to who may not see it, 403 to who may not change its
    council, before any input is read."""
    cycle = visible_cycle(request.user, pk)
    if not permissions.may_manage_cycle(request.user):
        raise NotAllowed(_("Only the secretariat records the appraisal council."))
    return cycle


class CouncilView(APIView):
    """GET: the council of the cycle. POST {decision_number, decision_date, decision_signer}:
    form it, or correct its decision (secretariat)."""

    @extend_schema(responses=CouncilSerializer)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        found = _readable(request, pk)
        if found is None:
            raise NotFound(_("The council of this cycle is not recorded yet."))
        return Response(CouncilSerializer(found).data)

    @extend_schema(request=DecisionInput, responses=CouncilSerializer)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = _managed(request, pk)
        data = validated(request, DecisionInput)
        formed = council.form_council(
            cycle.pk,
            data.get("decision_number") or "",
            parse_day(data.get("decision_date") or ""),
            data.get("decision_signer") or "",
            actor=request.user,
        )
        return Response(CouncilSerializer(formed).data)


class CouncilMemberListView(APIView):
    @extend_schema(request=MemberInput, responses={201: MemberSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = _managed(request, pk)
        data = validated(request, MemberInput)
        member = council.add_member(
            cycle.pk, data["user"], data["role"], data.get("department") or "", actor=request.user
        )
        return Response(MemberSerializer(member).data, status=201)


class CouncilMemberView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: SignedInApiRequest, pk: int, member_id: int) -> Response:
        cycle = _managed(request, pk)
        council.remove_member(cycle.pk, member_id, actor=request.user)
        return Response(status=204)


class CouncilAreaListView(APIView):
    @extend_schema(request=AreaInput, responses={201: AreaSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = _managed(request, pk)
        data = validated(request, AreaInput)
        row = council.assign_area(cycle.pk, data["area"], data["department"], actor=request.user)
        return Response(AreaSerializer(row).data, status=201)


class CouncilAreaView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: SignedInApiRequest, pk: int, row_id: int) -> Response:
        cycle = _managed(request, pk)
        council.unassign_area(cycle.pk, row_id, actor=request.user)
        return Response(status=204)
