"""API of the appraisal work: appraiser assignments, the work list, the side-by-side view.
Thin views over the services."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.inputs import ScoreNumber, text, validated
from cases.models import AppraiserAssignment, Case, Criterion, Cycle, Score
from cases.users import SignedInApiRequest, User, display_name
from workflow import appraisal, cycle_services, services
from workflow.api import ScoreSerializer, _visible_cycles, score_data


def visible_cycle(user: User, pk: int) -> Cycle:
    cycle = _visible_cycles(user).filter(pk=pk).first()
    if cycle is None:
        raise NotFound(_("This cycle does not exist or you may not see it."))
    return cycle


class AssignmentSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    user_name = serializers.SerializerMethodField()
    area_title = serializers.SerializerMethodField()

    class Meta:
        model = AppraiserAssignment
        fields = ["id", "cycle", "user", "user_name", "area_code", "area_title"]

    def get_user_name(self, assignment: AppraiserAssignment) -> str:
        return display_name(assignment.user)

    def get_area_title(self, assignment: AppraiserAssignment) -> str:
        return self.context.get("area_titles", {}).get(assignment.area_code, "")


def _area_titles(cycle: Cycle) -> dict[str, str]:
    """Area code → title (the first framework's wording where groups share a code)."""
    titles: dict[str, str] = {}
    for code, title in (
        Criterion.objects.filter(framework__cycle=cycle, parent__isnull=True)
        .order_by("framework__unit_group__code", "position")
        .values_list("code", "title")
    ):
        titles.setdefault(code, title)
    return titles


AssignmentInput = inline_serializer(
    "AssignmentInput",
    {
        "user": serializers.CharField(help_text="username or user id", max_length=150),
        "area_code": serializers.CharField(max_length=20),
    },
)


class AssignmentListView(APIView):
    """GET: who appraises which area of the cycle. POST {user, area_code}: assign (secretariat)."""

    @extend_schema(responses=AssignmentSerializer(many=True))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = visible_cycle(request.user, pk)
        if not permissions.may_view_provisional_results(request.user):
            raise NotAllowed(_("You are not allowed to see the appraisers' assignments."))
        rows = (
            AppraiserAssignment.objects.filter(cycle=cycle)
            .select_related("user")
            .order_by("area_code", "user__username")
        )
        context = {"area_titles": _area_titles(cycle)}
        return Response(AssignmentSerializer(rows, many=True, context=context).data)

    @extend_schema(
        request=AssignmentInput, responses={201: AssignmentSerializer, 200: AssignmentSerializer}
    )
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = visible_cycle(request.user, pk)
        data = validated(request, AssignmentInput)
        assignment, created = cycle_services.create_assignment(
            cycle.pk, data["user"], data["area_code"], actor=request.user
        )
        context = {"area_titles": _area_titles(cycle)}
        return Response(
            AssignmentSerializer(assignment, context=context).data, status=201 if created else 200
        )


class AssignmentDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: SignedInApiRequest, pk: int, assignment_id: int) -> Response:
        cycle = visible_cycle(request.user, pk)
        cycle_services.delete_assignment(cycle.pk, assignment_id, actor=request.user)
        return Response(status=204)


WorkItem = inline_serializer(
    "WorkItem",
    {
        "id": serializers.IntegerField(),
        "unit": inline_serializer(
            "WorkItemUnit", {"code": serializers.CharField(), "name": serializers.CharField()}
        ),
        "state": serializers.CharField(),
        "appraisal_round": serializers.IntegerField(),
        "assigned": serializers.IntegerField(),
        "unappraised": serializers.IntegerField(),
    },
    many=True,
)


class WorklistView(APIView):
    """The appraiser's cases of the cycle, with how many of their criteria are unappraised."""

    @extend_schema(parameters=[OpenApiParameter("state", str)], responses=WorkItem)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        cycle = visible_cycle(request.user, pk)
        cases = appraisal.worklist(request.user, cycle, request.query_params.get("state", ""))
        return Response(
            [
                {
                    "id": case.pk,
                    "unit": {"code": case.unit.code, "name": case.unit.name},
                    "group": case.unit.group.code,
                    "state": case.state,
                    "appraisal_round": case.appraisal_round,
                    "assigned": case.assigned,
                    "unappraised": case.unappraised,
                }
                for case in cases
            ]
        )


class AppraisalView(APIView):
    """Side by side for each criterion: self score, evidence, appraised score, the difference."""

    @extend_schema(responses=inline_serializer("SideBySide", {"areas": serializers.ListField()}))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(
            request.user, pk, queryset=Case.objects.select_related("cycle", "unit")
        )
        return Response(appraisal.side_by_side(case, request.user))


CHOOSE_DECISION = gettext_lazy("Choose whether to confirm or reject the “not applicable”.")
NotApplicableDecision = inline_serializer(
    "NotApplicableDecision",
    {
        "decision": serializers.ChoiceField(
            ["confirm", "reject"],
            error_messages={"required": CHOOSE_DECISION, "invalid_choice": CHOOSE_DECISION},
        ),
        "reason": text(help_text="required to reject"),
        "appraised_score": ScoreNumber(
            required=False, allow_null=True, help_text="required to reject: the leaf's points"
        ),
        "version": serializers.IntegerField(required=False, allow_null=True),
    },
)


class NotApplicableView(APIView):
    """POST: the appraiser confirms the unit's "not applicable" on a leaf, or rejects it with
    the reason and the appraised score."""

    @extend_schema(request=NotApplicableDecision, responses=ScoreSerializer)
    def post(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        try:
            data = validated(request, NotApplicableDecision)
        except ValidationError:
            permissions.get_case_for_user(request.user, pk)  # a case out of sight: 404 first
            raise
        score = services.decide_not_applicable(
            pk,
            code,
            actor=request.user,
            confirm=data["decision"] == "confirm",
            reason=data.get("reason") or "",
            appraised_score=data.get("appraised_score"),
            version=data.get("version"),
        )
        score = Score.objects.select_related("criterion", "criterion__area").get(pk=score.pk)
        return Response(score_data(score))
