"""Criteria sets as the secretariat's data: imported from a workbook, copied as a new version,
edited node by node; every change audited with its author.

A set bound to a cycle that has left its draft is frozen (`Framework.frozen_by`): its cases
are scored against it, so it never changes; editing it is refused (409) naming that cycle,
and the way forward is a copy, a new version. An import is all or nothing: the set's details
and every row of the file are checked together and each problem named. An edit may leave a
parent that does not sum yet or a new leaf without its method (shown to the editor as it
goes, refused when a cycle opens), never an invalid node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, ImportRefused, InvalidInput, NotAllowed, NotFound
from cases.frameworks import copying, excel, tree
from cases.frameworks.tree import Node, Problem, Tree
from cases.models import Criterion, Framework, UnitGroup
from cases.problems import Problems
from cases.users import User
from deadlines.calendar import local_date, parse_day
from workflow import audit

DETAIL_FIELDS = ("title", "decision_number", "decision_date", "decision_signer")


def _require_manager(actor: User) -> None:
    if not permissions.may_manage_frameworks(actor):
        raise NotAllowed(_("Only the secretariat manages criteria sets."))


# --- import --------------------------------------------------------------------------------


def read_upload(upload: UploadedFile | None, *, missing: str) -> tuple[str, bytes]:
    """The name and bytes of an uploaded file; `missing` says where to attach it."""
    if upload is None:
        raise InvalidInput(missing)
    if upload.size and upload.size > excel.MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(size)s MB.") % {"size": excel.MAX_BYTES // (1024 * 1024)}
        )
    return upload.name or "", upload.read()


def _details(fields: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """The set's group and decision from a form or a request; each problem noted."""

    def note(label: str, message: str) -> None:
        problems.add(_("%(field)s: %(message)s") % {"field": label, "message": message})

    out: dict[str, Any] = {}
    raw_group = str(fields.get("group") or "").strip()
    group = None
    if not raw_group:
        note(_("Unit group"), _("choose the unit group the set is for."))
    else:
        group = UnitGroup.objects.filter(code=raw_group).first()
        if group is None and raw_group.isdigit():
            group = UnitGroup.objects.filter(pk=int(raw_group)).first()
        if group is None:
            note(_("Unit group"), _("there is no unit group “%(group)s”.") % {"group": raw_group})
    out["unit_group"] = group
    out.update(_decision(fields, problems, note, required=True))
    return out


def _decision(
    fields: Mapping[str, Any],
    problems: Problems,
    note: Callable[[str, str], None],
    *,
    required: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "decision_number" in fields or required:
        number = str(fields.get("decision_number") or "").strip()
        if not number and required:
            note(_("Decision number"), _("write the number of the decision issuing the set."))
        elif len(number) > 64:
            note(_("Decision number"), _("at most 64 characters."))
        out["decision_number"] = number
    if "decision_date" in fields or required:
        raw = fields.get("decision_date")
        day = parse_day(raw) if raw not in (None, "") else None
        if raw in (None, "") and required:
            note(_("Decision date"), _("write the date of the decision (dd/mm/yyyy)."))
        elif raw not in (None, "") and day is None:
            note(
                _("Decision date"),
                _("“%(raw)s” is not a date; write it as dd/mm/yyyy.") % {"raw": raw},
            )
        elif day is not None and day > local_date(timezone.now()):
            note(
                _("Decision date"),
                _("%(date)s is in the future.") % {"date": day.strftime("%d/%m/%Y")},
            )
        out["decision_date"] = day
    for key, label in (("decision_signer", _("Signed by")), ("title", _("Title"))):
        if key in fields:
            value = str(fields.get(key) or "").strip()
            if len(value) > 255:
                note(str(label), _("at most 255 characters."))
            out[key] = value
    return out


def preview(filename: str, content: bytes, fields: Mapping[str, Any]) -> Tree:
    """The checked tree of a file and its details, saving nothing; ImportRefused otherwise."""
    found = Problems()
    _details(fields, found)
    try:
        built = excel.read(filename, content)
    except ImportRefused as refused:
        found.items.extend(refused.problems)
    found.refuse_if_any()
    return built


def import_framework(
    filename: str, content: bytes, fields: Mapping[str, Any], *, actor: User
) -> Framework:
    """The secretariat saves a set from a workbook: the details and every row checked, all
    or nothing; the set is not bound to a cycle (binding is the cycle's)."""
    _require_manager(actor)
    found = Problems()
    details = _details(fields, found)
    try:
        built = excel.read(filename, content)
    except ImportRefused as refused:
        found.items.extend(refused.problems)
    found.refuse_if_any()
    group: UnitGroup = details.pop("unit_group")
    number = details["decision_number"]
    details["title"] = details.get("title") or _(
        "Criteria set of %(group)s (decision %(number)s)"
    ) % {"group": group.name, "number": number}
    with transaction.atomic():
        framework = tree.save(
            built,
            unit_group=group,
            code=group.code,
            version=copying.next_version(group.pk, group.code),
            **details,
        )
        audit.framework_imported(
            framework,
            actor=actor,
            filename=filename[:255],
            sha256=hashlib.sha256(content).hexdigest(),
            nodes=sum(1 for _n in built.walk()),
        )
    return framework


# --- copy ----------------------------------------------------------------------------------


def copy_framework(framework_id: int, *, actor: User) -> Framework:
    """A new version of a set, not bound to any cycle: this year's set started from last
    year's, or the way to change a frozen one."""
    _require_manager(actor)
    with transaction.atomic():
        source = (
            Framework.objects.select_related("unit_group", "cycle").filter(pk=framework_id).first()
        )
        if source is None:
            raise NotFound(_("This criteria set does not exist."))
        copy = copying.copy_framework(source)
        audit.framework_copied(copy, actor=actor, source=source)
    return copy


# --- edits ---------------------------------------------------------------------------------


def _editable(framework_id: int) -> Framework:
    """The set, locked for the edit; refused (409) when a cycle's cases are scored on it."""
    framework = (
        Framework.objects.select_for_update(of=("self",))
        .select_related("cycle", "unit_group")
        .filter(pk=framework_id)
        .first()
    )
    if framework is None:
        raise NotFound(_("This criteria set does not exist."))
    cycle = framework.frozen_by
    if cycle is not None:
        raise Conflict(
            _(
                "This criteria set is frozen: the cycle “%(cycle)s” (%(status)s) scores its cases against it. Copy it as a new version to change it."
            )
            % {"cycle": cycle.title, "status": cycle.get_status_display()}
        )
    return framework


def _refuse_invalid(built: Tree) -> list[Problem]:
    """Refuse an edit that makes a node invalid; return what is still incomplete."""
    found = tree.problems(built)
    invalid = [p for p in found if not p.incomplete]
    if invalid:
        raise InvalidInput(
            invalid[0].message,
            [f"{p.node.code}: {p.message}" if p.node else p.message for p in invalid],
        )
    return found


def _edit(
    framework_id: int,
    *,
    actor: User,
    change: str,
    apply: Callable[[Tree], tuple[str, Any, Any]],
) -> list[Problem]:
    """Run one edit on the set's tree and store it, audited; the set's remaining
    (incomplete) problems are returned for the editor to show."""
    _require_manager(actor)
    with transaction.atomic():
        framework = _editable(framework_id)
        built = tree.from_framework(framework)
        built.retired = _codes_before(framework)
        try:
            code, before, after = apply(built)
        except tree.EditError as error:
            raise InvalidInput(str(error)) from None
        remaining = _refuse_invalid(built)
        tree.replace(framework, built)
        audit.framework_changed(
            framework, actor=actor, change=change, code=code, before=before, after=after
        )
    return remaining


def _codes_before(framework: Framework) -> frozenset[str]:
    """The codes of the versions this set was copied from: a new criterion never takes one."""
    sources: list[int] = []
    source_id = framework.derived_from_id
    while source_id is not None and source_id not in sources and len(sources) < 50:
        sources.append(source_id)
        source_id = (
            Framework.objects.filter(pk=source_id).values_list("derived_from_id", flat=True).first()
        )
    if not sources:
        return frozenset()
    return frozenset(
        Criterion.objects.filter(framework_id__in=sources).values_list("code", flat=True)
    )


def _plain(node: Node) -> dict[str, Any]:
    data = node.as_dict()
    data["children"] = [c.code for c in node.children]
    return data


def add_criterion(
    framework_id: int, parent_code: str, fields: Mapping[str, Any], *, actor: User
) -> list[Problem]:
    """Add an area (no parent) or a criterion under `parent_code`, coded after the codes in
    use there (now and in the versions it was copied from)."""
    values = excel.node_fields(fields, required=True)
    node = Node(code="new", title="", max_points=Decimal(0))
    _set(node, values)

    def apply(built: Tree) -> tuple[str, Any, Any]:
        tree.add(built, parent_code, node)
        return node.code, None, _plain(node)

    return _edit(framework_id, actor=actor, change="add", apply=apply)


def remove_criterion(framework_id: int, code: str, *, actor: User) -> list[Problem]:
    def apply(built: Tree) -> tuple[str, Any, Any]:
        node = tree.remove(built, code)
        return code, node.as_dict(), None

    return _edit(framework_id, actor=actor, change="remove", apply=apply)


def move_criterion(
    framework_id: int,
    code: str,
    *,
    actor: User,
    step: int = 0,
    parent_code: str | None = None,
) -> list[Problem]:
    """Up or down among its siblings (`step`: codes kept), or under another parent (the
    next code there)."""

    def apply(built: Tree) -> tuple[str, Any, Any]:
        node = tree.move(built, code, step=step, parent_code=parent_code)
        return code, {"code": code}, {"code": node.code}

    return _edit(framework_id, actor=actor, change="move", apply=apply)


def renumber_criteria(framework_id: int, *, actor: User) -> list[Problem]:
    """Codes follow the order shown (1, 1.1, 1.2 …), as a province's published table numbers
    its rows: only when the secretariat asks, since a code already used by last year's set
    or a filled workbook then names another criterion. The audit keeps {old: new}."""

    def apply(built: Tree) -> tuple[str, Any, Any]:
        changed = tree.renumber(built)
        return "", {"codes": list(changed)}, {"codes": list(changed.values())}

    return _edit(framework_id, actor=actor, change="renumber", apply=apply)


def change_criterion(
    framework_id: int, code: str, fields: Mapping[str, Any], *, actor: User
) -> list[Problem]:
    """Rename, change points, method, settings, guidance, data source or the flags."""
    values = excel.node_fields(fields, required=False)

    def apply(built: Tree) -> tuple[str, Any, Any]:
        node = tree.find(built, code)[0]
        before = _plain(node)
        if not node.is_leaf and values.get("method"):
            raise tree.EditError(
                _("%(field)s: %(message)s")
                % {
                    "field": code,
                    "message": _(
                        "it has sub-criteria: its points are their sum, it has no method."
                    ),
                }
            )
        _set(node, values)
        return code, before, _plain(node)

    return _edit(framework_id, actor=actor, change="change", apply=apply)


def _set(node: Node, values: Mapping[str, Any]) -> None:
    method = values.get("method", node.method)
    config = dict(node.config)
    if "method" in values and values["method"] != node.method:
        config = {"rule": config.get("rule", "")}
    if "settings" in values:
        config.update(excel.settings_config(method, values["settings"]))
    if "rule" in values:
        config["rule"] = values["rule"]
    for key in (
        "title",
        "max_points",
        "evidence_required",
        "not_applicable_allowed",
        "guidance",
        "data_source",
    ):
        if key in values:
            setattr(node, key, values[key])
    node.method = method
    node.config = tree.canonical_config(method, config) if method else {}


def change_details(framework_id: int, fields: Mapping[str, Any], *, actor: User) -> Framework:
    """The set's title and the decision issuing it."""
    _require_manager(actor)
    found = Problems()
    values = _decision(
        {k: v for k, v in fields.items() if k in DETAIL_FIELDS},
        found,
        lambda label, message: found.add(
            _("%(field)s: %(message)s") % {"field": label, "message": message}
        ),
        required=False,
    )
    if "title" in values and not values["title"]:
        found.add(_("%(field)s: %(message)s") % {"field": _("Title"), "message": _("write it.")})
    if found:
        raise InvalidInput(found.items[0]["text"], [p["text"] for p in found.items])
    with transaction.atomic():
        framework = _editable(framework_id)
        before = {k: getattr(framework, k) for k in values}
        for key, value in values.items():
            setattr(framework, key, value)
        framework.save(update_fields=list(values) or None)
        audit.framework_changed(
            framework, actor=actor, change="details", code="", before=before, after=values
        )
    return framework
