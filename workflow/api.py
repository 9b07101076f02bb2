"""The JSON API under /api/v1/ (its contract: the OpenAPI schema at /api/schema/).

Views stay thin: find the object through `cases.permissions`, call one service, return its
result; domain errors become JSON through `config.api_errors`.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.inputs import ScoreNumber, text, validated
from cases.models import Case, Cycle, Framework, Score
from cases.totals import totals_for
from cases.users import SignedInApiRequest, User, display_name
from deadlines import policy
from deadlines.calendar import last_day, typed_day
from workflow import cycle_services, cycle_settings, schedule, services
from workflow.models import AuditEntry, Clarification
from workflow.transitions import USER_TRANSITIONS

# --- serializers -------------------------------------------------------------------------


class UnitRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    group = serializers.CharField(source="group.code")


class BoundFrameworkSerializer(serializers.ModelSerializer):
    group = serializers.CharField(source="unit_group.code")

    class Meta:
        model = Framework
        fields = ["id", "group", "code", "title", "version", "derived_from"]


class OverdueSerializer(serializers.Serializer):
    appraisal_report = serializers.BooleanField(
        help_text="the appraisal report date passed and the results are not sent for approval"
    )
    publication = serializers.BooleanField(
        help_text="the publication target passed and the results are not published"
    )
    survey = serializers.BooleanField(
        help_text="the survey date passed and survey scores are still missing"
    )


class CycleSerializer(serializers.ModelSerializer):
    frameworks = BoundFrameworkSerializer(many=True, read_only=True)
    overdue = serializers.SerializerMethodField()

    @extend_schema_field(OverdueSerializer)
    def get_overdue(self, cycle: Cycle) -> dict[str, bool]:
        now = timezone.now()
        return {
            "appraisal_report": policy.report_overdue(cycle, now),
            "publication": policy.publication_overdue(cycle, now),
            "survey": policy.survey_overdue(cycle, now),
        }

    class Meta:
        model = Cycle
        fields = [
            "id",
            "status",
            *cycle_settings.SETTINGS,
            "frameworks",
            "decision_number",
            "decision_date",
            "decision_signer",
            "published_at",
            "overdue",
        ]


BandSerializer = inline_serializer(
    "Band",
    {
        "group": serializers.CharField(help_text="A, B, C …"),
        "min": serializers.DecimalField(5, 2, help_text="lowest points of the group"),
        "label": serializers.CharField(required=False, help_text="tốt, khá, trung bình, yếu"),
    },
)


def _date(help_text: str = "dd/mm/yyyy or ISO", *, optional: bool = False) -> Any:
    """A date as text; an optional one may be emptied (null or "")."""
    return lambda required: serializers.CharField(
        required=required, allow_null=optional, allow_blank=optional, help_text=help_text
    )


def _plain(field: type[serializers.Field], **options: Any) -> Any:
    return lambda required: field(required=required, **options)


# How the API documents each setting of `cycle_settings.SETTINGS` (the service reads and
# checks every value itself); a setting missing here fails at import.
class RewardRuleSerializer(serializers.Serializer):
    groups = serializers.ListField(
        child=serializers.CharField(), help_text='group codes, e.g. ["A"]'
    )
    top = serializers.IntegerField(help_text="first places of each unit group, e.g. 3")


_SETTING_FIELDS: dict[str, Any] = {
    "year": _plain(serializers.IntegerField, help_text="the year assessed"),
    "run_year": _plain(serializers.IntegerField, help_text="the year it runs (year + 1)"),
    "title": _plain(serializers.CharField),
    "authority": _plain(serializers.CharField),
    "plan_number": _plain(serializers.CharField),
    "plan_date": _date(optional=True),
    "basis_decision_number": _plain(serializers.CharField),
    "basis_decision_date": _date(optional=True),
    "self_assessment_due": _date(),
    "survey_due": _date("the survey scores imported, dd/mm/yyyy or ISO", optional=True),
    "appraisal_due": _date("the appraisal report to the chair, dd/mm/yyyy or ISO"),
    "publication_target": _date(optional=True),
    "explanation_window_days": _plain(serializers.IntegerField),
    "self_weight": _plain(serializers.DecimalField, max_digits=5, decimal_places=2),
    "survey_weight": _plain(serializers.DecimalField, max_digits=5, decimal_places=2),
    "group_thresholds": lambda required: serializers.ListField(
        required=required, child=copy.deepcopy(BandSerializer)
    ),
    "group_basis": _plain(serializers.ChoiceField, choices=Cycle.GroupBasis.choices),
    "reminder_offsets": lambda required: serializers.ListField(
        required=required,
        child=serializers.IntegerField(),
        help_text="days before, e.g. [7, 3, 1, 0]",
    ),
    "reward_rule": lambda required: RewardRuleSerializer(
        required=required, help_text="who is proposed for emulation and rewards"
    ),
    "overdue_reminder": _plain(serializers.BooleanField),
    "auto_start_appraisal": _plain(serializers.BooleanField),
    "signed_report_required": _plain(serializers.BooleanField),
    "explanation_may_replace_evidence": _plain(
        serializers.BooleanField,
        help_text="whether a written explanation may stand in for a document on a criterion "
        "that requires evidence",
    ),
}


def _settings_fields(required: tuple[str, ...] = ()) -> dict[str, serializers.Field]:
    return {name: _SETTING_FIELDS[name](name in required) for name in cycle_settings.SETTINGS}


CycleCreateSerializer = serializers.SerializerMetaclass(
    "CycleCreateSerializer",
    (serializers.Serializer,),
    {
        **_settings_fields(cycle_settings.REQUIRED),
        "frameworks": serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            help_text="ids of criteria sets, one per unit group; a set bound to another cycle "
            "is copied as a new version",
        ),
        "__module__": __name__,
        "__doc__": "The documented shape; the service reads and checks every value itself.",
    },
)
CyclePatchSerializer = serializers.SerializerMetaclass(
    "CyclePatchSerializer",
    (serializers.Serializer,),
    {
        **_settings_fields(),
        "reason": serializers.CharField(required=False, allow_blank=True),
        "confirm_lock": serializers.IntegerField(
            required=False,
            help_text="how many cases a self-assessment deadline moved into the past locks",
        ),
        "__module__": __name__,
        "__doc__": "Any setting of a draft; once it is open only its title, deadlines and "
        "reminders.",
    },
)


class AreaTotalsSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    max_points = serializers.DecimalField(7, 2)
    applicable_max = serializers.DecimalField(7, 2)
    self_points = serializers.DecimalField(7, 2)
    appraised_points = serializers.DecimalField(7, 2)
    index = serializers.DecimalField(7, 2, allow_null=True)


class PartSerializer(serializers.Serializer):
    points = serializers.DecimalField(7, 2, allow_null=True)
    of = serializers.DecimalField(7, 2)


class PartsSerializer(serializers.Serializer):
    """Figures of the same maximum side by side: the unit's self-assessed part and the
    appraised one both of the self-assessed maximum (70), the survey part of its own (30;
    null until imported)."""

    self_assessed = PartSerializer()
    appraised = PartSerializer()
    survey = PartSerializer()


class TotalsBriefSerializer(serializers.Serializer):
    parts = PartsSerializer()
    total = serializers.DecimalField(
        7, 2, allow_null=True, help_text="the appraised total of 100 (what groups are read on)"
    )
    self_assessed_total = serializers.DecimalField(
        7, 2, allow_null=True, help_text="the same total with the unit's own scores"
    )
    self_total = serializers.DecimalField(
        7, 2, help_text="the unit's own points: self-assessed part with bonus and penalty"
    )
    appraised_total = serializers.DecimalField(
        7, 2, help_text="appraised points of every part: self-assessed, survey, bonus, penalty"
    )
    survey_total = serializers.DecimalField(7, 2)
    applicable_max = serializers.DecimalField(7, 2)
    self_index = serializers.DecimalField(7, 2, allow_null=True)
    index = serializers.DecimalField(
        7,
        2,
        allow_null=True,
        help_text="the appraised index; null until every criterion the unit scores is "
        "appraised and the survey imported (index_final)",
    )
    index_final = serializers.BooleanField()
    leaves = serializers.IntegerField(help_text="leaves scored one by one, survey included")
    self_leaves = serializers.IntegerField(help_text="the leaves the unit scores")
    self_scored = serializers.IntegerField(help_text="of self_leaves, those self-scored")
    self_appraised = serializers.IntegerField(help_text="of self_leaves, those appraised")
    appraised = serializers.IntegerField(help_text="of leaves, those appraised or imported")


class TotalsSerializer(TotalsBriefSerializer):
    areas = AreaTotalsSerializer(many=True)


class CaseListSerializer(serializers.ModelSerializer):
    unit = UnitRefSerializer()
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "unit",
            "cycle",
            "state",
            "is_late",
            "appraisal_round",
            "submitted_at",
            "totals",
        ]

    @extend_schema_field(TotalsBriefSerializer)
    def get_totals(self, case: Case) -> dict[str, Any]:
        totals = self.context["totals"][case.pk].as_dict()
        totals.pop("areas")
        return TotalsBriefSerializer(totals).data


class ScoreSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.code")
    title = serializers.CharField(source="criterion.title")
    area = serializers.CharField(source="criterion.area.code")
    max_points = serializers.DecimalField(7, 2, source="criterion.max_points")
    method = serializers.CharField(source="criterion.method")
    evidence_required = serializers.BooleanField(source="criterion.evidence_required")
    not_applicable_allowed = serializers.BooleanField(source="criterion.not_applicable_allowed")

    class Meta:
        model = Score
        fields = [
            "criterion",
            "title",
            "area",
            "max_points",
            "method",
            "evidence_required",
            "not_applicable_allowed",
            "value",
            "self_score",
            "note",
            "evidence_explanation",
            "not_applicable",
            "not_applicable_reason",
            "not_applicable_decision",
            "appraised_score",
            "appraised_comment",
            "appraised_round",
            "version",
        ]


@cache
def _score_writer() -> ScoreSerializer:
    """One ScoreSerializer for answering single rows: a ModelSerializer builds its eighteen
    fields from the model for every instance, which cost a save more than its UPDATE. The
    fields hold no state of a row (no context, no instance), so one set serves every answer."""
    return ScoreSerializer()


def score_data(score: Score) -> dict[str, Any]:
    """The row as `ScoreSerializer` writes it (the answer of a score save)."""
    data: dict[str, Any] = _score_writer().to_representation(score)
    return data


class ClarificationSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.code")
    asked_by = serializers.CharField(source="asked_by.username")
    answered_by = serializers.CharField(source="answered_by.username", allow_null=True)
    due_date = serializers.SerializerMethodField(help_text="the last day to answer (Vietnam)")

    class Meta:
        model = Clarification
        fields = [
            "id",
            "case",
            "criterion",
            "round",
            "question",
            "asked_by",
            "asked_at",
            "status",
            "due_at",
            "due_date",
            "answer",
            "answered_by",
            "answered_at",
        ]

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_due_date(self, clarification: Clarification) -> str | None:
        if clarification.due_at is None:
            return None
        return serializers.DateField().to_representation(last_day(clarification.due_at))


class DeadlinesSerializer(serializers.Serializer):
    """Each deadline of the case (a date: the end of that day in Vietnam), the seconds left
    (0 once passed) and whether an extension applies."""

    self_assessment_due = serializers.DateField()
    self_assessment_ends_at = serializers.DateTimeField()
    seconds_left = serializers.IntegerField()
    self_assessment_passed = serializers.BooleanField()
    self_assessment_extended = serializers.BooleanField()
    self_assessment_cycle_due = serializers.DateField()
    self_assessment_extension_reason = serializers.CharField()
    appraisal_due = serializers.DateField()
    appraisal_ends_at = serializers.DateTimeField()
    appraisal_seconds_left = serializers.IntegerField()
    publication_target = serializers.DateField(allow_null=True)
    explanation_due = serializers.DateField(allow_null=True)
    explanation_ends_at = serializers.DateTimeField(allow_null=True)
    explanation_seconds_left = serializers.IntegerField(allow_null=True)
    explanation_extended = serializers.BooleanField()


class CaseDetailSerializer(CaseListSerializer):
    available_transitions = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    deadlines = serializers.SerializerMethodField()
    clarifications = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "available_transitions",
            "deadlines",
            "scores",
            "clarifications",
        ]

    def get_available_transitions(self, case: Case) -> list[str]:
        return services.available_transitions(case, self.context["request"].user)

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, case: Case) -> dict[str, Any]:
        return TotalsSerializer(self.context["totals"][case.pk].as_dict()).data

    @extend_schema_field(ScoreSerializer(many=True))
    def get_scores(self, case: Case) -> Any:
        rows = (
            Score.objects.filter(case=case)
            .select_related("criterion", "criterion__area")
            .order_by("criterion__position")
        )
        return ScoreSerializer(rows, many=True).data

    @extend_schema_field(ClarificationSerializer(many=True))
    def get_clarifications(self, case: Case) -> Any:
        rows = Clarification.objects.filter(case=case).select_related(
            "criterion", "asked_by", "answered_by"
        )
        return ClarificationSerializer(rows, many=True).data

    @extend_schema_field(DeadlinesSerializer)
    def get_deadlines(self, case: Case) -> dict[str, Any]:
        return DeadlinesSerializer(schedule.case_deadlines(case, timezone.now())).data


class HistorySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "action",
            "source",
            "target",
            "comment",
            "before",
            "after",
            "data",
            "snapshot_sha256",
        ]

    def get_actor_name(self, entry: AuditEntry) -> str:
        return display_name(entry.actor)


ScoreInput = inline_serializer(
    "ScoreInput",
    {
        "self_score": ScoreNumber(required=False, allow_null=True),
        "value": ScoreNumber(required=False, allow_null=True),
        "note": text(),
        "evidence_explanation": text(),
        "not_applicable": serializers.BooleanField(required=False),
        "not_applicable_reason": text(),
        "appraised_score": ScoreNumber(required=False, allow_null=True),
        "comment": text(),
        "version": serializers.IntegerField(required=False, allow_null=True),
    },
)
TransitionInput = inline_serializer("TransitionInput", {"comment": text()})
CycleActionInput = inline_serializer(
    "CycleActionInput",
    {"decision_number": text(), "decision_date": text(), "signer": text()},
)
QuestionInput = inline_serializer("QuestionInput", {"criterion": text(), "question": text()})
AnswerInput = inline_serializer("AnswerInput", {"answer": text()})
StateOutput = inline_serializer(
    "StateOutput", {"id": serializers.IntegerField(), "state": serializers.CharField()}
)

# --- helpers -----------------------------------------------------------------------------


def _cases_for(user: User) -> QuerySet[Case]:
    return permissions.visible_cases(user).select_related("cycle", "unit", "unit__group")


def _visible_cycles(user: User) -> QuerySet[Cycle]:
    if permissions.may_view_cycles(user):
        return Cycle.objects.all()
    return Cycle.objects.filter(
        pk__in=permissions.visible_cases(user).values("cycle_id")
    ).distinct()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV = "text/csv; charset=utf-8"


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """A file to save, under the name given (ASCII: the product's file names are)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _body(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


# --- views -------------------------------------------------------------------------------


def _with_sets(cycles: QuerySet[Cycle]) -> QuerySet[Cycle]:
    return cycles.prefetch_related(
        Prefetch("frameworks", Framework.objects.select_related("unit_group"))
    )


class CycleListView(APIView):
    @extend_schema(responses=CycleSerializer(many=True))
    def get(self, request: SignedInApiRequest) -> Response:
        cycles = _with_sets(_visible_cycles(request.user))
        return Response(CycleSerializer(cycles, many=True).data)

    @extend_schema(request=CycleCreateSerializer, responses={201: CycleSerializer})
    def post(self, request: SignedInApiRequest) -> Response:
        data = request.data.dict() if isinstance(request.data, QueryDict) else _body(request)
        cycle = cycle_services.create_cycle(cycle_settings.read_new(data), actor=request.user)
        return Response(
            CycleSerializer(_with_sets(Cycle.objects.filter(pk=cycle.pk)).get()).data, status=201
        )


CHOOSE_SET = gettext_lazy("Choose a criteria set.")
BindInput = inline_serializer(
    "BindInput",
    {
        "framework": serializers.IntegerField(
            min_value=1,
            error_messages={k: CHOOSE_SET for k in ("required", "invalid", "null", "min_value")},
        )
    },
)


class CycleFrameworkView(APIView):
    """Choose a unit group's criteria set for a draft cycle."""

    @extend_schema(request=BindInput, responses={201: BoundFrameworkSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        if not _visible_cycles(request.user).filter(pk=pk).exists():
            raise NotFound(_("This cycle does not exist or you may not see it."))
        framework = cycle_services.bind_framework(
            pk, validated(request, BindInput)["framework"], actor=request.user
        )
        return Response(BoundFrameworkSerializer(framework).data, status=201)


class CycleDetailView(APIView):
    def _cycle(self, request: SignedInApiRequest, pk: int) -> Cycle:
        cycle = _visible_cycles(request.user).filter(pk=pk).first()
        if cycle is None:
            raise NotFound(_("This cycle does not exist or you may not see it."))
        return cycle

    @extend_schema(responses=CycleSerializer)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        self._cycle(request, pk)
        return Response(CycleSerializer(_with_sets(Cycle.objects.filter(pk=pk)).get()).data)

    @extend_schema(request=CyclePatchSerializer, responses=CycleSerializer)
    def patch(self, request: SignedInApiRequest, pk: int) -> Response:
        self._cycle(request, pk)
        # Each value is read here; the service, which knows what the cycle still takes,
        # refuses the fields it does not and names each problem.
        data = dict(request.data if isinstance(request.data, dict) else {})
        reason = str(data.pop("reason", "") or "")
        confirm = data.pop("confirm_lock", None)
        cycle = cycle_services.update_cycle(
            pk,
            cycle_settings.read_sent(data),
            actor=request.user,
            reason=reason,
            confirm_lock="" if confirm is None else str(confirm),
        )
        return Response(CycleSerializer(cycle).data)


class CycleActionView(APIView):
    action_name = ""

    @extend_schema(request=CycleActionInput, responses=CycleSerializer)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        if not _visible_cycles(request.user).filter(pk=pk).exists():
            raise NotFound(_("This cycle does not exist or you may not see it."))
        data = validated(request, CycleActionInput)
        if self.action_name == "open":
            cycle_services.open_cycle(pk, actor=request.user)
        elif self.action_name == "submit_results":
            cycle_services.submit_results(pk, actor=request.user)
        else:
            cycle_services.publish_cycle(
                pk,
                actor=request.user,
                decision_number=data.get("decision_number") or "",
                decision_date=typed_day(str(data.get("decision_date") or "")),
                signer=data.get("signer") or "",
            )
        return Response(CycleSerializer(Cycle.objects.get(pk=pk)).data)


class CaseListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cycle", int),
            OpenApiParameter("state", str),
            OpenApiParameter("unit", str, description="unit code"),
        ],
        responses=CaseListSerializer(many=True),
    )
    def get(self, request: SignedInApiRequest) -> Response:
        qs = _cases_for(request.user).order_by("cycle_id", "unit__code")
        params = request.query_params
        if params.get("cycle", "").isdigit():
            qs = qs.filter(cycle_id=int(params["cycle"]))
        if params.get("state"):
            qs = qs.filter(state=params["state"])
        if params.get("unit"):
            qs = qs.filter(Q(unit__code__iexact=params["unit"]))
        cases = list(qs[:1000])
        context = {"request": request, "totals": totals_for(cases)}
        return Response(CaseListSerializer(cases, many=True, context=context).data)


class CaseDetailView(APIView):
    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(request.user, pk, queryset=_cases_for(request.user))
        context = {"request": request, "totals": totals_for([case])}
        return Response(CaseDetailSerializer(case, context=context).data)


def _given(data: dict[str, Any], key: str) -> str | services.NotGiven:
    """A text of the body, "" when sent as null; NOT_GIVEN when left out (kept as it is)."""
    return str(data[key] or "") if key in data else services.NOT_GIVEN


def _self_score_change(data: dict[str, Any]) -> services.SelfScoreChange:
    """The unit's change of a leaf, from the body `ScoreInput` checked."""
    return services.SelfScoreChange(
        self_score=data.get("self_score"),
        value=data.get("value"),
        not_applicable=data.get("not_applicable", services.NOT_GIVEN),
        not_applicable_reason=_given(data, "not_applicable_reason"),
        note=_given(data, "note"),
        evidence_explanation=_given(data, "evidence_explanation"),
        version=data.get("version"),
    )


def _appraised_score_change(data: dict[str, Any]) -> services.AppraisedScoreChange:
    """An appraiser's score of a leaf, from the body `ScoreInput` checked."""
    return services.AppraisedScoreChange(
        appraised_score=data.get("appraised_score"),
        comment=data.get("comment") or "",
        not_applicable=data.get("not_applicable") is True,
        version=data.get("version"),
    )


def _score_body(request: SignedInApiRequest, pk: int) -> dict[str, Any]:
    """The body `ScoreInput` checked. A refused body is answered 404 / 403 first to whoever
    may not see the case or write its scores: what a score needs is not theirs to learn."""
    try:
        return validated(request, ScoreInput)
    except ValidationError:
        case = permissions.get_case_for_user(request.user, pk)
        if not permissions.case_perms(request.user, case) & {"edit_self_score", "appraise_case"}:
            raise NotAllowed(_("You are not allowed to do this.")) from None
        raise


class ScoreView(APIView):
    @extend_schema(request=ScoreInput, responses=ScoreSerializer)
    def put(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        data = _score_body(request, pk)
        appraiser_fields = {"appraised_score", "comment"} & set(data)
        if appraiser_fields:
            change = _appraised_score_change(data)
            score = services.set_appraised_score(pk, code, actor=request.user, change=change)
        else:
            score = services.set_self_score(
                pk, code, actor=request.user, change=_self_score_change(data)
            )
        # The service's row is the saved one, its criterion and area loaded with it.
        return Response(score_data(score))


class TransitionView(APIView):
    @extend_schema(request=TransitionInput, responses=StateOutput)
    def post(self, request: SignedInApiRequest, pk: int, name: str) -> Response:
        if name not in USER_TRANSITIONS:
            permissions.get_case_for_user(request.user, pk)
            raise NotAllowed(_("This step is done by the system or for the whole cycle."))
        comment = validated(request, TransitionInput).get("comment") or ""
        case = services.run_transition(pk, name, actor=request.user, comment=comment)
        return Response({"id": case.pk, "state": case.state})


class ClarificationListView(APIView):
    @extend_schema(responses=ClarificationSerializer(many=True))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(request.user, pk)
        rows = Clarification.objects.filter(case=case).select_related(
            "criterion", "asked_by", "answered_by"
        )
        return Response(ClarificationSerializer(rows, many=True).data)

    @extend_schema(request=QuestionInput, responses={201: ClarificationSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        data = validated(request, QuestionInput)
        clarification = services.ask_clarification(
            pk, data.get("criterion") or "", data.get("question") or "", actor=request.user
        )
        return Response(ClarificationSerializer(clarification).data, status=201)


class AnswerView(APIView):
    @extend_schema(request=AnswerInput, responses=ClarificationSerializer)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        answer = validated(request, AnswerInput).get("answer") or ""
        clarification = services.answer_clarification(pk, answer, actor=request.user)
        return Response(ClarificationSerializer(clarification).data)


class HistoryView(APIView):
    @extend_schema(responses=HistorySerializer(many=True))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(request.user, pk)
        return Response(HistorySerializer(services.history(case), many=True).data)
