"""Units and accounts as the secretariat keeps them: the bulk import, invitations,
deactivation, and the renaming and merging of units.

Accounts never get a password from anyone else: a new account's password is unusable until
its owner follows the invitation, a one-time link made by Django's password-reset machinery
(`default_token_generator`; the token is bound to the password hash, so it stops working
once a password is set). Invitations are e-mailed after the commit; the audit entry of each
is written with the change.

Renaming and merging keep the units the results already follow (`UnitLineage`): the new
unit continues the old ones, which stay in the past years' results under their own names and
become inactive (no case in a cycle opened later); their people move to the new unit. A
unit whose case is in a cycle not yet published is not renamed or merged until then, so a
case never loses its unit mid-year.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from cases import people, permissions
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Case, Cycle, Membership, Unit, UnitGroup, UnitLineage
from cases.users import User, display_name
from workflow import audit
from workflow.models import AuditEntry

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    """What an accepted file changed."""

    filename: str
    sha256: str
    groups: int = 0
    units: int = 0
    units_unchanged: int = 0
    accounts: int = 0
    memberships: int = 0
    invited: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, str | int]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "groups_created": self.groups,
            "units_created": self.units,
            "units_unchanged": self.units_unchanged,
            "accounts_created": self.accounts,
            "memberships_added": self.memberships,
            "invitations_sent": len(self.invited),
        }


def _require(actor: User) -> None:
    if not permissions.may_manage_people(actor):
        raise NotAllowed(_("Only the secretariat manages units and accounts."))


def import_upload(upload: object, *, actor: User, missing: str) -> ImportSummary:
    """`import_units_and_people` for an uploaded file (page or API); `missing` says where
    to attach it; a file over the limit is refused before it is read."""
    _require(actor)
    if upload is None:
        raise InvalidInput(missing)
    size = getattr(upload, "size", 0)
    if size and size > people.MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(size)s MB.") % {"size": people.MAX_BYTES // (1024 * 1024)}
        )
    name = getattr(upload, "name", "") or ""
    return import_units_and_people(name, upload.read(), actor=actor)  # type: ignore[attr-defined]


def import_units_and_people(filename: str, content: bytes, *, actor: User) -> ImportSummary:
    """The secretariat's workbook of units and accounts: all rows or none, every new
    account invited once the import is committed."""
    _require(actor)
    summary = ImportSummary(filename=filename[:255], sha256=hashlib.sha256(content).hexdigest())
    try:
        _import(content, summary, actor)
    except IntegrityError:
        # Another import (or the admin) created one of these units or accounts between this
        # file's checks and its writes: nothing of this file was kept.
        raise Conflict(
            _(
                "Units or accounts of this file were created meanwhile by someone else: import it again."
            )
        ) from None
    return summary


def _import(content: bytes, summary: ImportSummary, actor: User) -> None:
    with transaction.atomic():
        plan = people.parse(content)
        # Every unit, account and membership is audited, the whole file in one write.
        entries: list[AuditEntry] = []
        groups = _create_groups(plan.groups, actor, entries)
        units = _create_units(plan.units, groups, actor, entries)
        summary.groups, summary.units = len(plan.groups), len(plan.units)
        summary.units_unchanged = plan.units_unchanged
        new_users, memberships = _create_people(plan.people, units, actor, entries)
        summary.accounts, summary.memberships = len(new_users), len(memberships)
        touched = {m.unit_id for m in memberships}
        if touched:
            permissions.sync_case_permissions(Case.objects.filter(unit_id__in=touched))
        summary.invited = [u.pk for u in new_users]
        entries.append(audit.entry_of(audit.PEOPLE_IMPORTED, actor=actor, data=summary.as_dict()))
        audit.record_many(entries)
        ids = list(summary.invited)
        transaction.on_commit(lambda: send_invitations(ids))


def _create_groups(
    wanted: dict[str, str], actor: User, entries: list[AuditEntry]
) -> dict[str, UnitGroup]:
    created = UnitGroup.objects.bulk_create(
        [UnitGroup(code=code, name=name) for code, name in wanted.items()]
    )
    entries += [
        audit.entry_of(
            audit.UNIT_GROUP_CREATED,
            actor=actor,
            obj=group,
            data={"code": group.code, "name": group.name},
        )
        for group in created
    ]
    return {g.code: g for g in UnitGroup.objects.all()}


def _create_units(
    rows: list[people.UnitRow],
    groups: dict[str, UnitGroup],
    actor: User,
    entries: list[AuditEntry],
) -> dict[str, Unit]:
    created = Unit.objects.bulk_create(
        [Unit(code=r.code, name=r.name, group=groups[r.group]) for r in rows]
    )
    by_code = {u.code.upper(): u for u in Unit.objects.filter(is_active=True)}
    with_parent = []
    for unit, row in zip(created, rows, strict=True):
        if row.parent:
            unit.parent = by_code[row.parent.upper()]
            with_parent.append(unit)
    Unit.objects.bulk_update(with_parent, ["parent"])
    entries += [
        audit.entry_of(
            audit.UNIT_CREATED,
            actor=actor,
            obj=unit,
            data={"code": unit.code, "name": unit.name, "group": row.group, "parent": row.parent},
        )
        for unit, row in zip(created, rows, strict=True)
    ]
    return by_code


def _create_people(
    rows: list[people.PersonRow],
    units: dict[str, Unit],
    actor: User,
    entries: list[AuditEntry],
) -> tuple[list[User], list[Membership]]:
    new_rows: dict[str, people.PersonRow] = {}
    for row in rows:
        if row.user_id is None:
            new_rows.setdefault(row.email, row)
    unusable = make_password(None)  # no one knows a password until the invitation is used
    new_users = User.objects.bulk_create(
        [
            User(
                username=email,
                email=email,
                first_name=_split(row.full_name)[0],
                last_name=_split(row.full_name)[1],
                password=unusable,
                is_staff=row.role == permissions.SECRETARIAT,  # the secretariat also has the admin
            )
            for email, row in new_rows.items()
        ]
    )
    user_ids = {u.email: u.pk for u in new_users}
    _grant_province_roles(new_users, new_rows)
    rows = [row for row in rows if row.role not in people.PROVINCE_ROLES]
    existing = set(
        Membership.objects.filter(
            user_id__in=[r.user_id for r in rows if r.user_id is not None]
        ).values_list("user_id", "unit_id", "role")
    )
    memberships = []
    for row in rows:
        user_id = row.user_id or user_ids[row.email]
        unit = units[row.unit.upper()]
        if (user_id, unit.pk, row.role) in existing:
            continue
        existing.add((user_id, unit.pk, row.role))
        memberships.append(Membership(user_id=user_id, unit=unit, role=row.role))
    Membership.objects.bulk_create(memberships)
    # One entry per new account, with its units and its invitation (an import of a
    # province's people writes one entry per person, not three).
    units_of: dict[int, list[dict[str, str]]] = {}
    for membership in memberships:
        units_of.setdefault(membership.user_id, []).append(
            {"unit": membership.unit.code, "role": membership.role}
        )
    for user in new_users:
        row = new_rows[user.email]
        entries.append(
            audit.entry_of(
                audit.ACCOUNT_CREATED,
                actor=actor,
                obj=user,
                data={
                    "user": user.username,
                    "name": row.full_name,
                    "email": user.email,
                    "units": units_of.get(user.pk, []),
                    **({"role": row.role} if row.role in people.PROVINCE_ROLES else {}),
                    "invited": True,
                },
            )
        )
    new_ids = {u.pk for u in new_users}
    emails = dict(
        User.objects.filter(pk__in=[r.user_id for r in rows if r.user_id]).values_list(
            "pk", "username"
        )
    )
    for membership in memberships:
        if membership.user_id in new_ids:
            continue
        entries.append(
            audit.entry_of(
                audit.MEMBERSHIP_ADDED,
                actor=actor,
                obj=membership,
                data={
                    "user": emails[membership.user_id],
                    "unit": membership.unit.code,
                    "role": membership.role,
                },
            )
        )
    return new_users, memberships


def _grant_province_roles(users: list[User], rows: dict[str, people.PersonRow]) -> None:
    """The secretariat, the chair and the inspection are the groups of the whole province."""
    wanted = {
        u.pk: rows[u.email].role for u in users if rows[u.email].role in people.PROVINCE_ROLES
    }
    if not wanted:
        return
    roles = set(wanted.values())
    groups = dict(Group.objects.filter(name__in=roles).values_list("name", "pk"))
    if roles - set(groups):  # post_migrate makes them; an operator may have deleted one since
        permissions.ensure_role_groups()
        groups = dict(Group.objects.filter(name__in=roles).values_list("name", "pk"))
    Through = User.groups.through
    Through.objects.bulk_create(
        [Through(user_id=user_id, group_id=groups[role]) for user_id, role in wanted.items()]
    )


def _split(full_name: str) -> tuple[str, str]:
    """Vietnamese names are written family name first; Django keeps the given name last:
    "Nguyễn Văn An" → ("Nguyễn Văn", "An"), so that `get_full_name` gives it back whole."""
    first, _sep, last = full_name.rpartition(" ")
    return (first[:150], last[:150]) if first else (full_name[:150], "")


# --- invitations --------------------------------------------------------------------------


def invitation_link(user: User) -> str:
    """The one-time link to set a password, on the installation's configured address."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("web:invitation", args=[uid, token])


def _record_invitation(user: User, actor: User) -> None:
    audit.record(
        audit.ACCOUNT_INVITED,
        actor=actor,
        obj=user,
        data={"user": user.username, "email": user.email},
    )


def invite(user_id: int, *, actor: User) -> User:
    """Send a new invitation to an account whose owner has not set a password yet."""
    _require(actor)
    with transaction.atomic():
        user = _person(user_id, lock=True)
        if not user.is_active:
            raise WrongState(_("This account is deactivated: reactivate it first."))
        if user.has_usable_password():
            raise WrongState(
                _("%(name)s has set a password already; they can sign in.")
                % {"name": display_name(user)}
            )
        if not user.email:
            raise InvalidInput(_("This account has no e-mail address."))
        _record_invitation(user, actor)
        transaction.on_commit(lambda: send_invitations([user.pk]))
    return user


def send_invitations(user_ids: Iterable[int]) -> int:
    """E-mail each account its link (after the commit); returns how many were sent. A mail
    server that fails is logged: the page offers to send the invitation again."""
    users = list(User.objects.filter(pk__in=list(user_ids), is_active=True).order_by("pk"))
    if not users:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        messages = [_invitation_message(user) for user in users if user.email]
    try:
        connection = get_connection()
        return connection.send_messages(messages) or 0
    except (smtplib.SMTPException, OSError):  # a mail server down: the import stays
        log.exception("invitations not sent", extra={"accounts": [u.pk for u in users]})
        return 0


def _invitation_message(user: User) -> EmailMessage:
    subject = _("Your account for the PAR Index assessment")
    body = "\n".join(
        [
            _("Dear %(name)s,") % {"name": display_name(user)},
            "",
            _(
                "An account was created for you to take part in the PAR Index assessment. "
                "Your user name is: %(username)s"
            )
            % {"username": user.username},
            "",
            _("Set your own password by opening this link (it works once):"),
            invitation_link(user),
            "",
            _("Then sign in at %(url)s") % {"url": settings.SITE_URL + reverse("login")},
        ]
    )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def password_set(user: User) -> None:
    """The owner followed the invitation (or a reset link) and chose a password."""
    with transaction.atomic():
        audit.record(audit.ACCOUNT_PASSWORD_SET, actor=user, obj=user, data={"user": user.username})


# --- deactivation -------------------------------------------------------------------------


def _person(user_id: int, *, lock: bool = False) -> User:
    query = User.objects.select_for_update() if lock else User.objects.all()
    user = query.filter(pk=user_id).exclude(username=permissions.SYSTEM).first()
    if user is None:
        raise NotFound(_("No such account."))
    return user


def deactivate(user_id: int, *, actor: User, reason: str = "") -> User:
    """The person can no longer sign in (pages or API) and gets no more mail; their
    memberships, work and audit trail stay. Their API tokens are revoked."""
    _require(actor)
    with transaction.atomic():
        user = _person(user_id, lock=True)
        if user.pk == actor.pk:
            raise InvalidInput(_("You cannot deactivate your own account."))
        if not user.is_active:
            raise WrongState(_("This account is deactivated already."))
        user.is_active = False
        user.save(update_fields=["is_active"])
        Token.objects.filter(user=user).delete()
        audit.record(
            audit.ACCOUNT_DEACTIVATED,
            actor=actor,
            obj=user,
            before={"active": True},
            after={"active": False},
            comment=reason.strip()[:500],
            data={"user": user.username},
        )
    return user


def reactivate(user_id: int, *, actor: User) -> User:
    _require(actor)
    with transaction.atomic():
        user = _person(user_id, lock=True)
        if user.is_active:
            raise WrongState(_("This account is active already."))
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit.record(
            audit.ACCOUNT_REACTIVATED,
            actor=actor,
            obj=user,
            before={"active": False},
            after={"active": True},
            data={"user": user.username},
        )
    return user


# --- renaming and merging -----------------------------------------------------------------


def _active_unit(code: str) -> Unit:
    unit = Unit.objects.select_for_update().filter(code__iexact=code.strip()).first()
    if unit is None:
        raise NotFound(_("No unit with code “%(code)s”.") % {"code": code.strip()})
    if not unit.is_active:
        raise WrongState(
            _("Unit %(code)s has been merged or renamed and is no longer active.")
            % {"code": unit.code}
        )
    return unit


def _refuse_running_cases(units: list[Unit]) -> None:
    running = (
        Case.objects.filter(unit__in=units)
        .exclude(cycle__status=Cycle.Status.PUBLISHED)
        .select_related("cycle", "unit")
        .order_by("cycle__year", "unit__code")
        .first()
    )
    if running is not None:
        raise WrongState(
            _(
                "Unit %(code)s is assessed in “%(cycle)s”, which is not published yet: "
                "rename or merge it after the publication."
            )
            % {"code": running.unit.code, "cycle": running.cycle.title}
        )


def _new_unit(code: str, name: str, group: UnitGroup, parent: Unit | None) -> Unit:
    code, name = code.strip(), " ".join(name.split())
    if not code or not name:
        raise InvalidInput(_("Give the new unit's code and name."))
    if len(code) > 32 or len(name) > 255:
        raise InvalidInput(_("The code has at most 32 characters and the name at most 255."))
    if Unit.objects.filter(code__iexact=code).exists():
        raise InvalidInput(_("The unit code “%(code)s” is taken already.") % {"code": code})
    return Unit.objects.create(code=code, name=name, group=group, parent=parent)


def _continue(
    old: list[Unit],
    new: Unit,
    kind: str,
    *,
    actor: User,
    effective_date: date | None,
    note: str,
) -> None:
    """`new` continues `old`: lineage rows, the old units retired, their people moved."""
    UnitLineage.objects.bulk_create(
        [
            UnitLineage(
                predecessor=unit,
                successor=new,
                kind=kind,
                effective_date=effective_date,
                note=note[:500],
            )
            for unit in old
        ]
    )
    moved = list(Membership.objects.filter(unit__in=old).values_list("user_id", "role"))
    Membership.objects.filter(unit__in=old).delete()
    Membership.objects.bulk_create(
        [Membership(user_id=user_id, unit=new, role=role) for user_id, role in set(moved)],
        ignore_conflicts=True,
    )
    Unit.objects.filter(pk__in=[u.pk for u in old]).exclude(pk=new.pk).update(is_active=False)
    Unit.objects.filter(parent__in=old).exclude(pk=new.pk).update(parent=new)
    permissions.sync_case_permissions(Case.objects.filter(unit__in=[*old, new]))


def rename_unit(
    code: str,
    *,
    new_code: str,
    new_name: str,
    actor: User,
    effective_date: date | None = None,
    note: str = "",
) -> Unit:
    """A unit renamed by decision: a new unit (its new code and name) continues the old."""
    _require(actor)
    with transaction.atomic():
        old = _active_unit(code)
        _refuse_running_cases([old])
        new = _new_unit(new_code, new_name, old.group, old.parent)
        _continue(
            [old],
            new,
            UnitLineage.Kind.RENAMING,
            actor=actor,
            effective_date=effective_date,
            note=note,
        )
        audit.record(
            audit.UNIT_RENAMED,
            actor=actor,
            obj=new,
            before={"code": old.code, "name": old.name},
            after={"code": new.code, "name": new.name},
            comment=note,
            data={"effective_date": effective_date},
        )
    return new


def correct_unit_name(code: str, *, new_name: str, actor: User, note: str = "") -> Unit:
    """A misspelt name corrected: the same unit under the right name, audited. It stays the
    unit its cases, people and past years belong to (no lineage), so it may be corrected
    while the unit is assessed; a name changed by decision is `rename_unit`."""
    _require(actor)
    name = " ".join(new_name.split())
    if not name:
        raise InvalidInput(_("Give the unit's corrected name."))
    if len(name) > 255:
        raise InvalidInput(_("The name has at most 255 characters."))
    with transaction.atomic():
        unit = _active_unit(code)
        if name == unit.name:
            raise InvalidInput(_("The corrected name is the name the unit has already."))
        before = unit.name
        unit.name = name
        unit.save(update_fields=["name"])
        audit.record(
            audit.UNIT_NAME_CORRECTED,
            actor=actor,
            obj=unit,
            before={"name": before},
            after={"name": name},
            comment=note[:500],
        )
    return unit


def merge_units(
    codes: Iterable[str],
    *,
    into_code: str,
    into_name: str = "",
    actor: User,
    effective_date: date | None = None,
    note: str = "",
) -> Unit:
    """Units merged by decision into one: an existing unit that absorbs the others (its
    code among or outside `codes`), or a new unit (`into_name` given) in their group."""
    _require(actor)
    wanted = sorted({c.strip().upper() for c in codes if c.strip()})
    with transaction.atomic():
        existing = Unit.objects.filter(code__iexact=into_code.strip()).first()
        target = existing.code.upper() if existing is not None else None
        olds = [_active_unit(c) for c in wanted if c != target]
        if not olds or (existing is None and len(olds) < 2):
            raise InvalidInput(_("Choose at least two units to merge."))
        groups = {u.group_id for u in olds}
        if len(groups) > 1:
            raise InvalidInput(_("Units of different unit groups cannot be merged."))
        if existing is not None:
            new = _active_unit(existing.code)
            if new.group_id not in groups:
                raise InvalidInput(_("Units of different unit groups cannot be merged."))
            _refuse_running_cases([*olds, new])
        else:
            _refuse_running_cases(olds)
            new = _new_unit(into_code, into_name, olds[0].group, olds[0].parent)
        _continue(
            olds,
            new,
            UnitLineage.Kind.MERGER,
            actor=actor,
            effective_date=effective_date,
            note=note,
        )
        audit.record(
            audit.UNIT_MERGED,
            actor=actor,
            obj=new,
            before={"units": [{"code": u.code, "name": u.name} for u in olds]},
            after={"code": new.code, "name": new.name},
            comment=note,
            data={"effective_date": effective_date, "new_unit": existing is None},
        )
    return new
