"""API of the criteria sets: the template, import, list, read, export, copy and edits.

Reading is for the secretariat, the leader and the auditor; every change is the
secretariat's, through `workflow.framework_services` (which checks again and audits).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import InvalidInput, NotAllowed, NotFound
from cases.frameworks import excel, tree
from cases.frameworks.tree import Node, Problem, Tree
from cases.inputs import MultiPartFormParser, StrictJSONParser
from cases.models import Framework
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

    @extend_schema(
        request=inline_serializer(
            "FrameworkDetails",
            {k: serializers.CharField(required=False) for k in services.DETAIL_FIELDS},
        ),
        responses=FrameworkOutput,
    )
    def patch(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        services.change_details(pk, _data(request), actor=request.user)
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


NodeForm = inline_serializer(
    "CriterionFields",
    {
        "parent": serializers.CharField(required=False, help_text="POST: the parent's code"),
        "title": serializers.CharField(required=False),
        "max_points": serializers.CharField(required=False),
        "method": serializers.CharField(required=False),
        "settings": serializers.CharField(required=False),
        "rule": serializers.CharField(required=False),
        "evidence_required": serializers.BooleanField(required=False),
        "not_applicable_allowed": serializers.BooleanField(required=False),
        "guidance": serializers.CharField(required=False),
        "data_source": serializers.CharField(required=False),
    },
)


def _data(request: SignedInApiRequest) -> dict[str, Any]:
    return dict(request.data.items()) if hasattr(request.data, "items") else {}


class CriterionListView(APIView):
    """POST: add an area (no `parent`) or a criterion under `parent`."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(request=NodeForm, responses={201: FrameworkOutput})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        _framework(request.user, pk)
        data = _data(request)
        parent = str(data.pop("parent", "") or "")
        services.add_criterion(pk, parent, data, actor=request.user)
        return Response(framework_json(_framework(request.user, pk)), status=201)


class CriterionView(APIView):
    """PATCH: change a node (and `step` or `parent` to move it). DELETE: remove it."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(request=NodeForm, responses=FrameworkOutput)
    def patch(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        _framework(request.user, pk)
        data = _data(request)
        step, parent = data.pop("step", None), data.pop("parent", None)
        with transaction.atomic():  # the change and the move, or neither
            if data:
                services.change_criterion(pk, code, data, actor=request.user)
            if step not in (None, "") or parent is not None:
                services.move_criterion(
                    pk, code, actor=request.user, step=_step(step), parent_code=parent
                )
        return Response(framework_json(_framework(request.user, pk)))

    @extend_schema(request=None, responses=FrameworkOutput)
    def delete(self, request: SignedInApiRequest, pk: int, code: str) -> Response:
        _framework(request.user, pk)
        services.remove_criterion(pk, code, actor=request.user)
        return Response(framework_json(_framework(request.user, pk)))


def _step(raw: Any) -> int:
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        raise InvalidInput(_("step: a whole number of places (−1 up, 1 down).")) from None
