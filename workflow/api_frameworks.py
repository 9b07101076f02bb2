"""API of the criteria sets: the template, import, list, read, export, copy and edits.

Reading is for the secretariat, the leader and the auditor; every change is the
secretariat's, through `workflow.framework_services` (which checks again and audits). Each
edit's body is typed here first (texts, a number for the maximum, flags, a whole step), so a
list or an object is refused naming its field before the set is locked, never stored as text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.frameworks import excel, tree
from cases.frameworks.tree import Node, Problem, Tree
from cases.inputs import MultiPartFormParser, StrictJSONParser, text, validated
from cases.models import Framework, Method
from cases.users import SignedInApiRequest, User
from workflow import framework_services as services
from workflow.api import XLSX, attachment

ImportForm = inline_serializer(
    "FrameworkImport",
    {
        "file": serializers.FileField(),
        "group": serializers.CharField(help_text="the unit group's code"),
        "decision_number": serializers.CharField(),
        "decision_date": serializers.CharField(help_text="dd/mm/yyyy or yyyy-mm-dd"),
        "decision_signer": serializers.CharField(required=False),
        "title": serializers.CharField(required=False),
        "dry_run": serializers.BooleanField(
            required=False, help_text="check and answer the tree, save nothing"
        ),
    },
)
FrameworkFields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": serializers.IntegerField(),
    "title": serializers.CharField(),
    "group": serializers.CharField(),
    "version": serializers.IntegerField(),
    "cycle": serializers.DictField(allow_null=True),
    "frozen_by": serializers.DictField(allow_null=True),
}
FrameworkList = inline_serializer("FrameworkSummary", FrameworkFields, many=True)
FrameworkOutput = inline_serializer(
    "Framework",
    {
        "id": serializers.IntegerField(),
        "title": serializers.CharField(),
        "group": serializers.CharField(),
        "version": serializers.IntegerField(),
        "cycle": serializers.DictField(allow_null=True),
        "frozen_by": serializers.DictField(allow_null=True),
        "tree": serializers.ListField(child=serializers.DictField()),
        "problems": serializers.ListField(child=serializers.CharField()),
        "codes_out_of_order": serializers.ListField(
            child=serializers.DictField(),
            help_text="the nodes whose code does not follow their place (a notice, never a "
            "refusal): code, title, message",
        ),
    },
)


# --- request bodies: typed at the edge; the services read the values and word the rest ---


class _AsSent(serializers.Field[Any, Any, Any, Any]):
    """A form's empty value is passed on as sent (DRF would drop it): the service reads an
    empty flag as No and refuses an empty maximum, as for a JSON body."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary[self.field_name]
        return super().get_value(dictionary)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}]})
class PointsField(_AsSent):
    """A number, or a text holding one as the workbook writes it ("1,5"); never a flag, a
    list or an object. The service reads it and refuses a negative or over-precise one."""

    default_error_messages = {"invalid": gettext_lazy("A number is required, such as 1,5.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"oneOf": [{"type": "boolean"}, {"type": "string"}]})
class YesNoField(_AsSent):
    """true or false, or the workbook's words for them ("Có", "Không", "x"), which the
    service reads; never a number, a list or an object."""

    default_error_messages = {"invalid": gettext_lazy("Must be true or false (or Có, Không).")}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, bool | str):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class StepField(serializers.IntegerField):
    """A whole number of places (−1 up, 1 down); an empty form field is no move."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not data.strip():
            return None
        return super().to_internal_value(data)


DetailsInput = inline_serializer("FrameworkDetails", {k: text() for k in services.DETAIL_FIELDS})


def _node_fields() -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """A node's fields as the service reads them (`excel.node_fields`), fresh for each body."""
    return {
        "title": text(),
        "max_points": PointsField(required=False),
        "method": text(help_text="a method's key or name: " + ", ".join(Method.values)),
        "settings": text(help_text="the method's settings as the workbook writes them"),
        "rule": text(),
        "evidence_required": YesNoField(required=False),
        "not_applicable_allowed": YesNoField(required=False),
        "guidance": text(),
        "data_source": text(),
    }


CriterionInput = inline_serializer(
    "CriterionInput",
    {"parent": text(help_text="the parent's code; none for an area"), **_node_fields()},
)
CriterionChangeInput = inline_serializer(
    "CriterionChange",
    {
        **_node_fields(),
        "parent": text(help_text="move under this parent's code (empty: to the areas)"),
        "step": StepField(
            required=False, allow_null=True, help_text="move among siblings: −1 up, 1 down"
        ),
    },
)


def _viewer(user: User) -> None:
    if not permissions.may_view_frameworks(user):
        raise NotAllowed(
            _("Only the secretariat, the leadership and the auditors see criteria sets.")
        )


def _framework(user: User, pk: int) -> Framework:
    _viewer(user)
    framework = (
        Framework.objects.select_related("cycle", "unit_group", "derived_from")
        .filter(pk=pk)
        .first()
    )
    if framework is None:
        raise NotFound(_("This criteria set does not exist."))
    return framework


def node_json(node: Node) -> dict[str, Any]:
    data = node.as_dict()
    data["children"] = [node_json(c) for c in node.children]
    if node.children:
        data["sum"] = tree.text_number(node.children_sum())
    return data


def _problems(found: list[Problem]) -> list[str]:
    return [f"{p.node.code}: {p.message}" if p.node else p.message for p in found]


def out_of_order_json(built: Tree) -> list[dict[str, str]]:
    return [
        {"code": p.node.code, "title": p.node.title, "message": p.message}
        for p in tree.codes_out_of_order(built)
        if p.node is not None
    ]


def _cycle(cycle: Any) -> dict[str, Any] | None:
    if cycle is None:
        return None
    return {"id": cycle.pk, "title": cycle.title, "status": cycle.status}


def framework_json(framework: Framework, built: Tree | None = None) -> dict[str, Any]:
    data = summary_json(framework)
    built = built if built is not None else tree.from_framework(framework)
    data["tree"] = [node_json(a) for a in built.areas]
    data["total"] = tree.text_number(built.total())
    data["problems"] = _problems(tree.problems(built))
    data["codes_out_of_order"] = out_of_order_json(built)
    return data


def summary_json(framework: Framework) -> dict[str, Any]:
    return {
        "id": framework.pk,
        "title": framework.title,
        "code": framework.code,
        "group": framework.unit_group.code,
        "version": framework.version,
        "derived_from": framework.derived_from_id,
        "decision_number": framework.decision_number,
        "decision_date": framework.decision_date,
        "decision_signer": framework.decision_signer,
        "created_at": framework.created_at,
        "cycle": _cycle(framework.cycle),
        "frozen_by": _cycle(framework.frozen_by),
    }


def _data(request: SignedInApiRequest) -> dict[str, Any]:
    return dict(request.data.items()) if hasattr(request.data, "items") else {}


class FrameworkListView(APIView):
    """GET: every set. POST multipart: import a set from a workbook, all rows or none."""

    parser_classes = [MultiPartFormParser, FormParser]

    @extend_schema(responses=FrameworkList)
    def get(self, request: SignedInApiRequest) -> Response:
        _viewer(request.user)
        rows = Framework.objects.select_related("cycle", "unit_group").order_by(
            "unit_group__code", "-version", "-pk"
        )
        return Response([summary_json(f) for f in rows])

    @extend_schema(request={"multipart/form-data": ImportForm}, responses={201: FrameworkOutput})
    def post(self, request: SignedInApiRequest) -> Response:
        if not permissions.may_manage_frameworks(request.user):
            raise NotAllowed(_("Only the secretariat manages criteria sets."))
        filename, content = services.read_upload(
            request.FILES.get("file"),
            missing=_("Attach the criteria set (.xlsx) in the field “file”."),
        )
        fields = {k: v for k, v in _data(request).items() if k != "file"}
        if str(fields.pop("dry_run", "")).lower() in ("1", "true", "yes"):
            built = services.preview(filename, content, fields)
            return Response(
                {
                    "tree": [node_json(a) for a in built.areas],
                    "total": tree.text_number(built.total()),
                    "codes_out_of_order": out_of_order_json(built),
                }
            )
        framework = services.import_framework(filename, content, fields, actor=request.user)
        return Response(framework_json(framework), status=201)


class FrameworkTemplateView(APIView):
    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest) -> HttpResponse:
        _viewer(request.user)
        return attachment(excel.template(), "bo-tieu-chi-mau.xlsx", XLSX)


class FrameworkDetailView(APIView):
    """GET: the set and its tree with the sums. PATCH: its title and decision."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(responses=FrameworkOutput)
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        return Response(framework_json(_framework(request.user, pk)))

    @extend_schema(request=DetailsInput, responses=FrameworkOutput)
    def patch(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        services.change_details(pk, validated(request, DetailsInput), actor=request.user)
        return Response(framework_json(_framework(request.user, pk)))


class FrameworkExportView(APIView):
    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponse:
        framework = _framework(request.user, pk)
        name = f"bo-tieu-chi-{framework.unit_group.code}-v{framework.version}.xlsx"
        return attachment(excel.export(framework), name, XLSX)


class FrameworkCopyView(APIView):
    """POST: a new version of the set, bound to no cycle."""

    @extend_schema(request=None, responses={201: FrameworkOutput})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        copy = services.copy_framework(pk, actor=request.user)
        return Response(framework_json(copy), status=201)


class FrameworkRenumberView(APIView):
    """POST: the codes follow the order of the rows (1, 1.1, 1.2 …); edits keep them."""

    @extend_schema(request=None, responses=FrameworkOutput)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        services.renumber_criteria(pk, actor=request.user)
        return Response(framework_json(_framework(request.user, pk)))


class CriterionListView(APIView):
    """POST: add an area (no `parent`) or a criterion under `parent`."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(request=CriterionInput, responses={201: FrameworkOutput})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        data = validated(request, CriterionInput)
        parent = data.pop("parent", None) or ""
        services.add_criterion(pk, parent, data, actor=request.user)
        return Response(framework_json(_framework(request.user, pk)), status=201)


class CriterionView(APIView):
    """PATCH: change a node (and `step` or `parent` to move it). DELETE: remove it."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(request=CriterionChangeInput, responses=FrameworkOutput)
    def patch(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        _framework(request.user, pk)
        data = validated(request, CriterionChangeInput)
        step, parent = data.pop("step", None), data.pop("parent", None)
        with transaction.atomic():  # the change and the move, or neither
            if data:
                services.change_criterion(pk, code, data, actor=request.user)
            if step is not None or parent is not None:
                services.move_criterion(
                    pk, code, actor=request.user, step=step or 0, parent_code=parent
                )
        return Response(framework_json(_framework(request.user, pk)))

    @extend_schema(request=None, responses=FrameworkOutput)
    def delete(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        _framework(request.user, pk)
        services.remove_criterion(pk, code, actor=request.user)
        return Response(framework_json(_framework(request.user, pk)))
