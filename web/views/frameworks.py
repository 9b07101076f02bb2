"""Criteria sets: the list, the import with its preview, a set's tree and its editor.

Each write is one call of `workflow.framework_services`, which checks the permission again,
audits, and refuses with a message shown where the problem is: a refused file's every
problem by row and column, an edit's beside the set's tree. The file being imported waits in
the session between its preview and its saving, so the secretariat sees the tree and its
sums before anything is stored.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError, ImportRefused
from cases.frameworks import tree
from cases.models import BONUS_PENALTY, Framework, Method, UnitGroup
from cases.users import SignedInRequest
from web.pages import frameworks as pages
from web.pages.secretariat import refusal
from web.shortcuts import back_to, refuse
from workflow import framework_services as services

PENDING = "framework_import"
IMPORT_FIELDS = ("group", "decision_number", "decision_date", "decision_signer", "title")
NODE_FIELDS = (
    "title",
    "max_points",
    "method",
    "settings",
    "rule",
    "guidance",
    "data_source",
)


def _viewer(request: SignedInRequest) -> None:
    if not permissions.may_view_frameworks(request.user):
        raise PermissionDenied


def _manager(request: SignedInRequest) -> None:
    if not permissions.may_manage_frameworks(request.user):
        raise PermissionDenied


@login_required
def framework_list(request: SignedInRequest) -> HttpResponse:
    _viewer(request)
    context = {
        "sets": pages.set_list(),
        "may_manage": permissions.may_manage_frameworks(request.user),
    }
    return render(request, "web/framework_list.html", context)


@login_required
def framework_import(request: SignedInRequest) -> HttpResponse:
    """GET: the form. POST a file: its tree and sums to check (nothing saved). POST
    `confirm`: save the file previewed."""
    _manager(request)
    fields = {k: request.POST.get(k, "") for k in IMPORT_FIELDS}
    context: dict[str, Any] = {
        "groups": UnitGroup.objects.order_by("code"),
        "fields": fields,
        "file_error": "",
        "refused": None,
        "preview": None,
    }
    status = 200
    if request.method == "POST" and request.POST.get("confirm"):
        pending = request.session.get(PENDING) or {}
        if pending.get("sha256") != request.POST["confirm"]:
            context["file_error"] = _("The file to save is no longer here: choose it again.")
            return render(request, "web/framework_import.html", context, status=400)
        content = base64.b64decode(pending["content"])
        try:
            framework = services.import_framework(
                pending["name"], content, pending["fields"], actor=request.user
            )
        except ImportRefused as error:
            context["refused"] = refusal(str(error.message), error.problems)
            return render(request, "web/framework_import.html", context, status=400)
        del request.session[PENDING]
        messages.success(
            request,
            _("The criteria set “%(title)s” was saved.") % {"title": framework.title},
        )
        return back_to("web:framework", framework.pk)
    if request.method == "POST":
        try:
            name, content = services.read_upload(
                request.FILES.get("file"), missing=_("Choose the criteria set file (.xlsx).")
            )
            built = services.preview(name, content, fields)
        except ImportRefused as error:
            context["refused"] = refusal(str(error.message), error.problems)
            status = error.status_code
        except DomainError as error:
            context["file_error"] = str(error.message)
            status = error.status_code
        else:
            sha256 = hashlib.sha256(content).hexdigest()
            request.session[PENDING] = {
                "name": name,
                "content": base64.b64encode(content).decode(),
                "fields": fields,
                "sha256": sha256,
            }
            context["preview"] = {
                "name": name,
                "sha256": sha256,
                "rows": pages.tree_rows(built),
                "out_of_order": tree.codes_out_of_order(built),
                "total": built.total(),
                "group": UnitGroup.objects.filter(code=fields["group"]).first(),
            }
    return render(request, "web/framework_import.html", context, status=status)


def _framework(pk: int) -> Framework:
    framework = (
        Framework.objects.select_related("cycle", "unit_group", "derived_from")
        .filter(pk=pk)
        .first()
    )
    if framework is None:
        raise Http404
    return framework


@login_required
def framework_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """The set's tree with its sums; for the secretariat, while it is not frozen, the editor
    (`?edit=CODE` opens a node's form, `?add=CODE` the form of a new child)."""
    _viewer(request)
    framework = _framework(pk)
    built = tree.from_framework(framework)
    found = tree.problems(built)
    editable = permissions.may_manage_frameworks(request.user) and framework.frozen_by is None
    editing = request.GET.get("edit", "") if editable else ""
    adding = request.GET.get("add") if editable else None
    node = None
    targets: list[tuple[str, str]] = []
    if editing:
        node = next((n for n, _p, _d in built.walk() if n.code == editing), None)
    if node is not None:
        inside = {id(n) for n, _p, _d in tree.Tree([node]).walk()}
        targets = [
            (n.code, f"{n.code} {n.title}")
            for n, _p, _d in built.walk()
            if id(n) not in inside and n.method not in BONUS_PENALTY
        ]
    context = {
        "framework": framework,
        "rows": pages.tree_rows(built, found),
        "problems": found,
        "out_of_order": tree.codes_out_of_order(built),
        "total": built.total(),
        "editable": editable,
        "may_manage": permissions.may_manage_frameworks(request.user),
        "editing": node,
        "targets": targets,
        "changes": pages.changes(framework),
        "adding": adding,
        "methods": Method.choices,
        "versions": Framework.objects.filter(
            unit_group_id=framework.unit_group_id, code=framework.code
        )
        .select_related("cycle")
        .order_by("-version"),
    }
    return render(request, "web/framework_detail.html", context)


@login_required
@require_POST
def framework_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """One edit of the set: `op` is add, change, remove, up, down, move, renumber or details."""
    _manager(request)
    framework = _framework(pk)
    op = request.POST.get("op", "")
    code = request.POST.get("code", "")
    node_fields: dict[str, Any] = {k: request.POST[k] for k in NODE_FIELDS if k in request.POST}
    for flag in ("evidence_required", "not_applicable_allowed"):
        if f"{flag}_shown" in request.POST:
            node_fields[flag] = flag in request.POST
    anchor = ""
    try:
        if op == "add":
            services.add_criterion(pk, code, node_fields, actor=request.user)
        elif op == "change":
            services.change_criterion(pk, code, node_fields, actor=request.user)
            anchor = f"node-{code}"
        elif op == "remove":
            services.remove_criterion(pk, code, actor=request.user)
        elif op in ("up", "down"):
            services.move_criterion(pk, code, step=-1 if op == "up" else 1, actor=request.user)
        elif op == "move":
            services.move_criterion(
                pk, code, parent_code=request.POST.get("parent", ""), actor=request.user
            )
        elif op == "renumber":
            services.renumber_criteria(pk, actor=request.user)
        elif op == "details":
            services.change_details(
                pk,
                {k: request.POST[k] for k in services.DETAIL_FIELDS if k in request.POST},
                actor=request.user,
            )
        else:
            raise Http404
    except DomainError as error:
        refuse(request, error)
        query = f"edit={code}" if op == "change" else (f"add={code}" if op == "add" else "")
        return back_to("web:framework", framework.pk, query=query)
    messages.success(request, _("Saved."))
    return back_to("web:framework", framework.pk, anchor=anchor)


@login_required
@require_POST
def framework_copy(request: SignedInRequest, pk: int) -> HttpResponse:
    _manager(request)
    _framework(pk)
    try:
        copy = services.copy_framework(pk, actor=request.user)
    except DomainError as error:
        refuse(request, error)
        return back_to("web:framework", pk)
    messages.success(
        request,
        _("Version %(version)s was made from this set: change it below.")
        % {"version": copy.version},
    )
    return back_to("web:framework", copy.pk)
