"""The one place that decides who may do what to a case.

Global roles are Django groups with model permissions (secretariat, leader, auditor, and the
named `system` user). Scoped roles are memberships (staff or head of a unit) and appraiser
assignments (areas of a cycle); they are turned into django-guardian object permissions on
each case by `sync_case_permissions`, which every service that changes a membership, an
assignment or the set of cases calls. Nothing else calls guardian.

`get_case_for_user` fails closed: 404 to someone who may not see the case (so a unit never
learns that another unit's case exists), 403 to someone who may see it but not act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    Field,
    Model,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import BaseExpression, RawSQL
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.compiled import Compiled
from cases.errors import DomainError, NotAllowed, NotFound
from cases.models import (
    AppraiserAssignment,
    Case,
    CaseUserObjectPermission,
    Council,
    CouncilMember,
    Membership,
)
from cases.users import AnonymousUser, User

# Whoever a request carries: the checks answer "no" for the anonymous visitor.
AnyUser = User | AnonymousUser

STAFF_PERMS = ("view_case", "edit_self_score", "answer_clarification")
HEAD_PERMS = (*STAFF_PERMS, "submit_case", "recall_case", "submit_explanation")
APPRAISER_PERMS = ("view_case", "appraise_case", "ask_clarification", "request_explanation")

SECRETARIAT, LEADER, AUDITOR, SYSTEM = "secretariat", "leader", "auditor", "system"
ROLE_PERMS: dict[str, tuple[str, ...]] = {
    SECRETARIAT: (
        "view_case",
        "appraise_case",
        "ask_clarification",
        "start_appraisal",
        "request_explanation",
        "finalise_case",
        "reopen_case",
        "view_audit",
        "cases.change_cycle",
        "cases.view_cycle",
        "cases.change_unit",
    ),
    LEADER: ("view_case", "reopen_case", "publish_case", "view_audit", "cases.view_cycle"),
    AUDITOR: ("view_case", "view_audit", "cases.view_cycle"),
    SYSTEM: ("view_case", "lock_case", "expire_explanation", "start_appraisal"),
}


def _codename(perm: str) -> tuple[str, str]:
    app, _sep, code = perm.rpartition(".")
    return (app or "cases", code)


def ensure_role_groups() -> None:
    """Create the global role groups and the system user with their permissions."""
    for role, perms in ROLE_PERMS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in map(_codename, perms)
        ]
        group.permissions.set(wanted)
    system, _created = User.objects.get_or_create(
        username="system", defaults={"first_name": "Hệ thống", "is_active": True}
    )
    if system.has_usable_password():
        system.set_unusable_password()
        system.save(update_fields=["password"])
    system.groups.add(Group.objects.get(name=SYSTEM))


def may_take_case_role(user: User) -> bool:
    """Whether the user may be made a unit's member or an appraiser: never the auditor, who
    only reads, nor the system actor, who acts for the clock; either role would hand them
    writing permissions on cases. Asked afresh (not from a cached role set)."""
    if user.username == SYSTEM:
        return False
    return not user.groups.filter(name__in=(AUDITOR, SYSTEM)).exists()


def case_role_refusal(user: User) -> str:
    return _(
        "%(user)s is the auditor or the system actor: they cannot be a unit's member or an "
        "appraiser."
    ) % {"user": user.get_username()}


def role_refusal(
    username: str, groups: Iterable[str], *, direct_perms: bool, memberships: bool
) -> str:
    """Why these roles cannot go together on one account ("" when they can): the auditor only
    reads and the system actor only acts for the clock, so neither holds another role, a
    permission of its own or a unit's membership, which would hand it writing rights."""
    groups = set(groups)
    is_system = username == SYSTEM or SYSTEM in groups
    if is_system and (groups != {SYSTEM} or direct_perms or memberships or username != SYSTEM):
        return _("The system actor acts for the clock only: it takes no other role.")
    if AUDITOR in groups and (groups - {AUDITOR} or direct_perms or memberships):
        return _(
            "The auditor only reads: the account cannot also hold another role, a permission "
            "of its own or a unit's membership."
        )
    return ""


def system_user() -> User:
    return User.objects.get(username="system")


def roles_of(user: AnyUser) -> set[str]:
    """The global roles of a user (cached on the instance for the request)."""
    if not isinstance(user, User):
        return set()
    cached: set[str] | None = user.__dict__.get("_par_roles")
    if cached is None:
        cached = user.__dict__["_par_roles"] = set(user.groups.values_list("name", flat=True))
    return cached


_GLOBAL_PERMS = "_par_global_case_perms"  # the cache of global_case_perms on a user instance


def global_case_perms(user: AnyUser) -> frozenset[str]:
    """The case codenames a user holds through global roles (cached on the user instance)."""
    if not isinstance(user, User):
        return frozenset()
    cached: frozenset[str] | None = user.__dict__.get(_GLOBAL_PERMS)
    if cached is None:
        perms = Permission.objects.filter(content_type__app_label="cases")
        if not (user.is_active and user.is_superuser):
            # One query for the user's own and their groups' permissions (Django's backend
            # asks twice); every transition and page starts here.
            perms = (
                perms.filter(Q(user=user) | Q(group__user=user)) if user.is_active else perms.none()
            )
        cached = frozenset(perms.values_list("codename", flat=True).distinct())
        user.__dict__[_GLOBAL_PERMS] = cached
    return cached


def _cache(case: Case) -> dict[tuple[int, str], bool]:
    return case.__dict__.setdefault("_perm_cache", {})


def case_perms(user: AnyUser, case: Case) -> set[str]:
    """Every case codename the user holds on this case: global ones plus object ones."""
    if not isinstance(user, User) or not user.is_active:
        return set()
    key = (user.pk, "*")
    cache = case.__dict__.setdefault("_perm_sets", {})
    if key not in cache:
        object_perms = _read_case_perms(user, case)  # first: it may read the global ones too
        cache[key] = set(global_case_perms(user)) | object_perms
    return cache[key]


def _read_case_perms(user: User, case: Case) -> set[str]:
    """The user's codenames on the case, with their global ones in the same query unless
    this request already read them (kept on the user as `global_case_perms` keeps them): a
    page that reads every permission (the score sheet) asked for the two in two queries,
    each built and compiled by the ORM."""
    held = CaseUserObjectPermission
    statement = (
        f"SELECT p.{_c(Permission, 'codename')}, 0 FROM {_t(held)} op INNER JOIN {_t(Permission)} p"
        f" ON op.{_c(held, 'permission')} = p.{_c(Permission, 'id')}"
        f" WHERE op.{_c(held, 'content_object')} = %s AND op.{_c(held, 'user')} = %s"
    )
    params: list[int | str] = [case.pk, user.pk]
    with_global = _GLOBAL_PERMS not in user.__dict__
    if with_global:
        held_globally = "" if user.is_superuser else f" AND {_held_globally()}"
        statement += (
            f" UNION ALL SELECT p.{_c(Permission, 'codename')}, 1"
            f" FROM {_case_permission_rows()}{held_globally}"
        )
        params += ["cases"] if user.is_superuser else ["cases", user.pk, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    if with_global:
        user.__dict__[_GLOBAL_PERMS] = frozenset(code for code, is_global in rows if is_global)
    return {code for code, is_global in rows if not is_global}


def has_case_perm(user: AnyUser, codename: str, case: Case) -> bool:
    if not isinstance(user, User) or not user.is_active:
        return False
    known = _cache(case).get((user.pk, codename))  # global or on the case, when it was read
    if known is not None:
        return known
    if codename in global_case_perms(user):
        return True
    return codename in case_perms(user, case)


# The annotations that decide "may this user see the case / do this to it" in the query that
# reads the case, written as SQL: the ORM took longer to build and compile these six EXISTS
# (their joins through the user, group and permission tables) than the database took to
# answer the whole query, and every score save and transition asks them. The rules are the
# ones `global_case_perms`, `case_perms`, `member_unit_ids` and `represents` apply; each
# fragment refers to the case row by its table name, the name the query that reads the
# cases gives it (they are never subqueries).


def _t(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _c(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None
    return connection.ops.quote_name(field.column)


def _exists(sql: str, params: Sequence[object]) -> RawSQL:
    return RawSQL(f"EXISTS ({sql})", tuple(params), output_field=BooleanField())


def _held_globally() -> str:
    """SQL: the permission row `p` is the user's own or one of their groups' (two parameters,
    the user's id twice); the rule `global_case_perms` applies."""
    own = User.user_permissions.through
    of_group = Group.permissions.through
    groups = User.groups.through
    return (
        f"(EXISTS (SELECT 1 FROM {_t(own)} up"
        f" WHERE up.{_c(own, 'permission')} = p.{_c(Permission, 'id')}"
        f" AND up.{_c(own, 'user')} = %s)"
        f" OR EXISTS (SELECT 1 FROM {_t(of_group)} gp INNER JOIN {_t(groups)} ug"
        f" ON gp.{_c(of_group, 'group')} = ug.{_c(groups, 'group')}"
        f" WHERE gp.{_c(of_group, 'permission')} = p.{_c(Permission, 'id')}"
        f" AND ug.{_c(groups, 'user')} = %s))"
    )


def _case_permission_rows() -> str:
    """SQL: the case app's permissions `p` (one parameter, the app label)."""
    return (
        f"{_t(Permission)} p INNER JOIN {_t(ContentType)} ct"
        f" ON p.{_c(Permission, 'content_type')} = ct.{_c(ContentType, 'id')}"
        f" WHERE ct.{_c(ContentType, 'app_label')} = %s"
    )


def _global_perm(user: User, codename: str) -> BaseExpression:
    """`codename` held through a global role or directly (the per-code form of
    global_case_perms, for a query that reads the case anyway)."""
    if user.is_superuser:
        return Value(True)
    return _exists(
        f"SELECT 1 FROM {_case_permission_rows()} AND p.{_c(Permission, 'codename')} = %s"
        f" AND {_held_globally()}",
        ["cases", codename, user.pk, user.pk],
    )


def _object_perm(user: User, codename: str) -> RawSQL:
    held = CaseUserObjectPermission
    return _exists(
        f"SELECT 1 FROM {_t(held)} op INNER JOIN {_t(Permission)} p"
        f" ON op.{_c(held, 'permission')} = p.{_c(Permission, 'id')}"
        f" WHERE op.{_c(held, 'content_object')} = {_t(Case)}.{_c(Case, 'id')}"
        f" AND op.{_c(held, 'user')} = %s AND p.{_c(Permission, 'codename')} = %s",
        [user.pk, codename],
    )


def _own_unit(user: User) -> RawSQL:
    return _exists(
        f"SELECT 1 FROM {_t(Membership)} m WHERE m.{_c(Membership, 'unit')}"
        f" = {_t(Case)}.{_c(Case, 'unit')} AND m.{_c(Membership, 'user')} = %s",
        [user.pk],
    )


def _represents(user: User) -> RawSQL:
    """Whether the user holds a council seat speaking for the case's unit in its cycle."""
    seat = CouncilMember
    return _exists(
        f"SELECT 1 FROM {_t(seat)} cm INNER JOIN {_t(Council)} c"
        f" ON cm.{_c(seat, 'council')} = c.{_c(Council, 'id')}"
        f" WHERE c.{_c(Council, 'cycle')} = {_t(Case)}.{_c(Case, 'cycle')}"
        f" AND cm.{_c(seat, 'department')} = {_t(Case)}.{_c(Case, 'unit')}"
        f" AND cm.{_c(seat, 'user')} = %s",
        [user.pk],
    )


def visible_cases(user: AnyUser) -> QuerySet[Case]:
    """Cases the user may see, as a queryset (no ids loaded into Python)."""
    if not isinstance(user, User) or not user.is_active:
        return Case.objects.none()
    if _global(user, "view_case"):
        return Case.objects.all()
    return Case.objects.filter(
        caseuserobjectpermission__user=user,
        caseuserobjectpermission__permission__codename="view_case",
    )


CaseShape = Callable[[], QuerySet[Case]]


def get_case_for_user(
    user: AnyUser,
    pk: int | str,
    perm: str = "view_case",
    queryset: QuerySet[Case] | CaseShape | None = None,
    *,
    also: Iterable[str] = (),
    every: bool = False,
) -> Case:
    """The case, or NotFound (may not see it) / NotAllowed (may see it, may not do `perm`).

    `queryset`: the cases to look in, or a module-level function returning them (a shape),
    whose query is then compiled once per process (`cases.compiled`): the pages, the
    transitions and the score saves read their case that way.
    `also`: permissions the caller's rules ask next (`has_case_perm`), answered by the same
    query instead of one more each.
    `every`: every permission the user holds on the case (`case_perms`, which a page's rules
    read) comes with the case too, on PostgreSQL (elsewhere `case_perms` reads them)."""
    if not isinstance(user, User) or not user.is_active:
        raise _not_found()
    # One query answers "which case" and "may this user see it / do perm to it", the user's
    # global permissions included unless this request already read them.
    if callable(queryset):
        wanted = _wanted(user, perm, also)  # the compiled query's annotations are its own
        try:
            number = int(pk)
        except (ValueError, TypeError):
            raise _not_found() from None
        known = user.__dict__.get(_GLOBAL_PERMS)
        key = (queryset, perm, tuple(also), user.is_superuser, known, every)
        found = _CASE(key, number, user.pk)
        if not found:
            raise _not_found()
        case = found[0]
    else:
        base = queryset if queryset is not None else Case.objects.all()
        wanted, annotations = _decision_annotations(user, perm, also, every=every)
        try:
            case = base.annotate(**annotations).get(pk=pk)
        except (Case.DoesNotExist, ValueError, TypeError):
            raise _not_found() from None
    _decide(user, case, perm, wanted)
    return case


def _case_read(
    key: tuple[CaseShape, str, tuple[str, ...], bool, frozenset[str] | None, bool],
    pk: int,
    user_pk: int,
) -> QuerySet[Case]:
    """`get_case_for_user`'s query for a shape, a permission and what is known of the user
    (`_decision_annotations` of a user with those)."""
    shape, perm, also, superuser, known, every = key
    user = User(pk=user_pk, is_superuser=superuser)
    if known is not None:
        user.__dict__[_GLOBAL_PERMS] = known
    _wanted, annotations = _decision_annotations(user, perm, also, every=every)
    return shape().annotate(**annotations).filter(pk=pk)


def _every(asked: bool) -> bool:
    """Whether the case's query reads every permission: as an array, which PostgreSQL has."""
    return asked and connection.vendor == "postgresql"


def _held_here(user: User) -> RawSQL:
    """SQL: the user's codenames on the case, as an array (`_read_case_perms`' first part)."""
    held = CaseUserObjectPermission
    return RawSQL(
        f"ARRAY(SELECT p.{_c(Permission, 'codename')} FROM {_t(held)} op"
        f" INNER JOIN {_t(Permission)} p ON op.{_c(held, 'permission')} = p.{_c(Permission, 'id')}"
        f" WHERE op.{_c(held, 'content_object')} = {_t(Case)}.{_c(Case, 'id')}"
        f" AND op.{_c(held, 'user')} = %s)",
        (user.pk,),
        output_field=Field(),  # a list of texts, as the driver reads an array
    )


def _held_globally_here(user: User) -> RawSQL:
    """SQL: the user's global case codenames, as an array (the rule `global_case_perms`)."""
    held_globally = "" if user.is_superuser else f" AND {_held_globally()}"
    params = ("cases",) if user.is_superuser else ("cases", user.pk, user.pk)
    return RawSQL(
        f"ARRAY(SELECT p.{_c(Permission, 'codename')}"
        f" FROM {_case_permission_rows()}{held_globally})",
        params,
        output_field=Field(),
    )


_CASE: Compiled[Case] = Compiled(_case_read)


def cases_for_user(
    user: AnyUser, pks: Sequence[int], perm: str, queryset: QuerySet[Case]
) -> list[tuple[int, Case | DomainError]]:
    """`get_case_for_user` for many cases in one query, in id order (the sweep locks a batch
    of cases this way): each id with its case, or the refusal get_case_for_user raises."""
    if not isinstance(user, User) or not user.is_active:
        return [(pk, _not_found()) for pk in sorted(pks)]
    wanted, annotations = _decision_annotations(user, perm)
    found = {
        case.pk: case
        for case in queryset.annotate(**annotations).filter(pk__any=set(pks)).order_by("pk")
    }
    decided: list[tuple[int, Case | DomainError]] = []
    for pk in sorted(pks):
        case = found.get(pk)
        if case is None:
            decided.append((pk, _not_found()))
            continue
        try:
            _decide(user, case, perm, wanted)
        except DomainError as refusal:
            decided.append((pk, refusal))
        else:
            decided.append((pk, case))
    return decided


def _not_found() -> NotFound:
    return NotFound(_("This assessment case does not exist or you may not see it."))


def _wanted(user: User, perm: str, also: Iterable[str] = ()) -> set[str]:
    """The permissions the case's query answers: the ones asked, but those the request
    already knows the user holds globally."""
    return {"view_case", perm, *also} - user.__dict__.get(_GLOBAL_PERMS, frozenset())


def _decision_annotations(
    user: User, perm: str, also: Iterable[str] = (), *, every: bool = False
) -> tuple[set[str], dict[str, BaseExpression]]:
    known: frozenset[str] | None = user.__dict__.get(_GLOBAL_PERMS)
    wanted = _wanted(user, perm, also)
    annotations: dict[str, BaseExpression] = {
        f"_may_{code}": _object_perm(user, code) for code in wanted
    }
    if known is None:
        annotations.update({f"_global_{code}": _global_perm(user, code) for code in wanted})
    annotations["_own_unit"] = _own_unit(user)
    annotations["_represents"] = _represents(user)
    if _every(every):
        annotations[_HELD] = _held_here(user)
        if known is None:
            annotations[_HELD_GLOBALLY] = _held_globally_here(user)
    return wanted, annotations


# The annotations of every permission held (`get_case_for_user(every=True)`).
_HELD, _HELD_GLOBALLY = "_held_perms", "_held_global_perms"


def _decide(user: User, case: Case, perm: str, wanted: set[str]) -> None:
    if _HELD in case.__dict__:  # as `case_perms` keeps what `_read_case_perms` reads
        if _HELD_GLOBALLY in case.__dict__:
            user.__dict__[_GLOBAL_PERMS] = frozenset(case.__dict__[_HELD_GLOBALLY])
        sets = case.__dict__.setdefault("_perm_sets", {})
        sets[(user.pk, "*")] = set(global_case_perms(user)) | set(case.__dict__[_HELD])
    for code in wanted:
        _cache(case)[(user.pk, code)] = getattr(case, f"_may_{code}") or bool(
            getattr(case, f"_global_{code}", False)
        )
    _members(case)[user.pk] = getattr(case, "_own_unit")  # noqa: B009 (annotated above)
    _representing(case)[user.pk] = getattr(case, "_represents")  # noqa: B009 (annotated above)
    if not has_case_perm(user, "view_case", case):
        raise _not_found()
    if perm != "view_case":
        require(user, perm, case)


def _members(case: Case) -> dict[int, bool]:
    return case.__dict__.setdefault("_own_unit_of", {})


def member_unit_ids(user: AnyUser) -> frozenset[int]:
    """The units the user is staff or head of (cached on the user instance)."""
    if not isinstance(user, User):
        return frozenset()
    cached: frozenset[int] | None = user.__dict__.get("_par_unit_ids")
    if cached is None:
        cached = frozenset(Membership.objects.filter(user=user).values_list("unit_id", flat=True))
        user.__dict__["_par_unit_ids"] = cached
    return cached


def is_member(user: AnyUser, case: Case) -> bool:
    """Whether the user belongs to the case's unit: then they never judge the case.

    Answered by the annotation `get_case_for_user` adds to its one query, else by the
    user's memberships (one query per request)."""
    if not isinstance(user, User):
        return False
    known = _members(case).get(user.pk)
    if known is not None:
        return known
    return case.unit_id in member_unit_ids(user)


def _representing(case: Case) -> dict[int, bool]:
    return case.__dict__.setdefault("_represents_of", {})


def represents(user: AnyUser, case: Case) -> bool:
    """Whether the user speaks for the case's unit on the cycle's appraisal council: then,
    whatever their role, they do not judge the case either.

    Answered by the annotation `get_case_for_user` adds to its one query, else by the
    user's seats in that cycle (one query per cycle and request)."""
    if not isinstance(user, User):
        return False
    known = _representing(case).get(user.pk)
    if known is not None:
        return known
    seats: dict[int, frozenset[int]] = user.__dict__.setdefault("_par_represented", {})
    if case.cycle_id not in seats:
        seats[case.cycle_id] = frozenset(
            CouncilMember.objects.filter(
                user=user, council__cycle_id=case.cycle_id, department__isnull=False
            ).values_list("department_id", flat=True)
        )
    return case.unit_id in seats[case.cycle_id]


def require(user: AnyUser, perm: str, case: Case) -> None:
    if not has_case_perm(user, perm, case):
        raise NotAllowed(_("You are not allowed to do this on this case."))


def assigned_areas(user: User, cycle_id: int) -> frozenset[str]:
    """The area codes a council member is assigned in a cycle."""
    return frozenset(
        AppraiserAssignment.objects.filter(cycle_id=cycle_id, user=user).values_list(
            "area_code", flat=True
        )
    )


def _global(user: AnyUser, codename: str) -> bool:
    """A global role's permission of the cases app, from the one query `global_case_perms`
    makes per request (Django's `has_perm` would ask twice more on every page)."""
    return codename in global_case_perms(user)


def may_manage_cycle(user: AnyUser) -> bool:
    """The secretariat: assignments, survey import, the cycle's settings."""
    return _global(user, "change_cycle")


def may_extend_deadlines(user: AnyUser, case: Case) -> bool:
    """The secretariat gives a unit a later deadline (gia hạn) on a case it sees. Asked by the
    edge before it reads the input, so that nobody else learns what an extension needs."""
    return has_case_perm(user, "change_cycle", case)


def extension_refusal() -> str:
    return _("Only the secretariat grants extensions.")


def calendar_refusal() -> str:
    """Who keeps the working-day calendar: the secretariat (`may_manage_cycle`)."""
    return _("Only the secretariat changes the working-day calendar.")


def holds_official_role(user: AnyUser) -> bool:
    """The secretariat, the leader or the auditor: the roles a second factor is required of
    where the installation turns the requirement on (config/auth_two_factor.py)."""
    return bool(roles_of(user) & {SECRETARIAT, LEADER, AUDITOR})


def second_factor_required(user: AnyUser) -> bool:
    """Whether the installation requires a second factor of this user (TWO_FACTOR_REQUIRED):
    superusers and the official roles. Read from the user's roles as they are now, so a
    session or socket made on the password alone is refused once its user gains one."""
    return bool(settings.TWO_FACTOR_REQUIRED) and (
        bool(getattr(user, "is_superuser", False)) or holds_official_role(user)
    )


def second_factor_missing(user: AnyUser) -> bool:
    """Required of the user and not set up: a token they hold can only have come from the
    password (setting one up deletes earlier tokens), so no token of theirs signs them in —
    neither over the API nor on a live-push socket — until they set one up."""
    return (
        second_factor_required(user)
        and not TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
    )


def may_manage_frameworks(user: AnyUser) -> bool:
    """The secretariat: criteria sets are Sở Nội vụ's to import, copy and edit."""
    return _global(user, "change_cycle")


def may_view_frameworks(user: AnyUser) -> bool:
    """Criteria sets as a whole (list, tree, export): secretariat, leader and auditor."""
    return _global(user, "view_cycle")


def may_manage_people(user: AnyUser) -> bool:
    """The secretariat: units, accounts, invitations, deactivation, renaming and merging."""
    return _global(user, "change_unit")


def may_watch_sign_ins(user: AnyUser) -> bool:
    """The secretariat: failed sign-ins, the accounts made to wait, spraying seen."""
    return _global(user, "change_cycle")


def may_decide_results(user: AnyUser) -> bool:
    """The leader: approve and publish, exclude a unit from the ranking."""
    return _global(user, "publish_case")


def may_view_provisional_results(user: AnyUser) -> bool:
    """Results before publication: secretariat, leader and auditor (who see every case)."""
    return _global(user, "view_cycle")


def may_view_cycles(user: AnyUser) -> bool:
    """Whole cycles (lists, overviews, calendars): secretariat, leader and auditor."""
    return _global(user, "view_cycle")


def has_global(user: AnyUser, perm: str) -> bool:
    """A global permission of the cases app named as Django names it ("cases.view_cycle")."""
    app, code = _codename(perm)
    return app == "cases" and _global(user, code)


def may_view_honesty(user: AnyUser) -> bool:
    """How far self scores exceeded appraised ones: never in the public view."""
    return _global(user, "view_audit")


def may_view_appraisal_report(user: AnyUser) -> bool:
    """Sở Nội vụ's report to the council chair: secretariat, leader, auditor."""
    return may_view_provisional_results(user)


def may_view_reward_proposal(user: AnyUser) -> bool:
    """The emulation and reward proposal: the secretariat who writes it, the leader."""
    return may_manage_cycle(user) or may_decide_results(user)


def appraisable_cases(user: AnyUser) -> QuerySet[Case]:
    """Cases the user may appraise: never their own unit's, nor one whose unit they speak
    for on the council (the secretariat: every other). Read it as the query itself, not
    inside another: its SQL fragments name the case table (see above)."""
    if not isinstance(user, User) or not user.is_active:
        return Case.objects.none()
    if _global(user, "appraise_case"):
        return Case.objects.exclude(_own_unit(user)).exclude(_represents(user))
    return Case.objects.filter(
        caseuserobjectpermission__user=user,
        caseuserobjectpermission__permission__codename="appraise_case",
    )


def sync_case_permissions(cases: Iterable[Case] | QuerySet[Case]) -> int:
    """Derive the object permissions of these cases from memberships and assignments.

    Idempotent: the cases' rows are replaced by what the memberships say now. An appraiser
    who is a member of a unit, or represents it on the council, gets no appraisal
    permission on that unit's case.
    """
    case_list = list(
        cases.only("pk", "unit_id", "cycle_id") if isinstance(cases, QuerySet) else cases
    )
    if not case_list:
        return 0
    case_ct = ContentType.objects.get_for_model(Case)
    perm_ids = dict(Permission.objects.filter(content_type=case_ct).values_list("codename", "pk"))
    unit_ids = {c.unit_id for c in case_list}
    cycle_ids = {c.cycle_id for c in case_list}
    members: dict[int, dict[int, set[str]]] = {}
    for user_id, unit_id, role in Membership.objects.filter(unit_id__in=unit_ids).values_list(
        "user_id", "unit_id", "role"
    ):
        perms = HEAD_PERMS if role == Membership.Role.HEAD else STAFF_PERMS
        members.setdefault(unit_id, {}).setdefault(user_id, set()).update(perms)
    appraisers: dict[int, set[int]] = {}
    for cycle_id, user_id in (
        AppraiserAssignment.objects.filter(cycle_id__in=cycle_ids)
        .values_list("cycle_id", "user_id")
        .distinct()
    ):
        appraisers.setdefault(cycle_id, set()).add(user_id)
    # A council member speaks for a department: they do not appraise its case either.
    represents: set[tuple[int, int, int]] = set(
        CouncilMember.objects.filter(
            council__cycle_id__in=cycle_ids, department__isnull=False
        ).values_list("council__cycle_id", "user_id", "department_id")
    )

    rows = []
    for case in case_list:
        grants: dict[int, set[str]] = {
            user_id: set(perms) for user_id, perms in members.get(case.unit_id, {}).items()
        }
        for user_id in appraisers.get(case.cycle_id, ()):
            if user_id in grants:  # conflict of interest: their own unit
                continue
            if (case.cycle_id, user_id, case.unit_id) in represents:
                continue
            grants[user_id] = set(APPRAISER_PERMS)
        rows += [
            CaseUserObjectPermission(
                content_object_id=case.pk, user_id=user_id, permission_id=perm_ids[code]
            )
            for user_id, codes in grants.items()
            for code in sorted(codes)
        ]
    CaseUserObjectPermission.objects.filter(content_object__in=[c.pk for c in case_list]).delete()
    CaseUserObjectPermission.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def unit_members(case: Case, roles: Iterable[str] | None = None) -> QuerySet[Membership, int]:
    """The ids of the unit's staff and head (or of the given roles), as a query (not yet run)."""
    qs = Membership.objects.filter(unit_id=case.unit_id)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return qs.values_list("user_id", flat=True).distinct()


def holds(codename: str, case: Case | None) -> RawSQL:
    """A condition on users: active and holding `codename` globally or on the case (for a
    fan-out query that filters or annotates users in the same statement).

    Written as SQL, as the decisions read with a case are (see above), for the same reason:
    every notification asks it, and the ORM took longer to build and compile its three
    EXISTS than the database took to answer them. It names the user table, so it belongs to
    a query of users itself, never one nested in another."""
    params: tuple[object, ...] = (codename, "cases", codename, "cases")
    if case is not None:
        params += (case.pk, codename, "cases")
    return RawSQL(_holds_sql(case is not None), params, output_field=BooleanField())


@cache
def _holds_sql(on_a_case: bool) -> str:
    """`holds`' SQL, the same for every permission and case: written out once per process
    (every notification of a transition asked for it, and writing it out cost a tenth of a
    millisecond each time)."""
    user = f"{_t(User)}.{_c(User, 'id')}"
    own = User.user_permissions.through
    of_group = Group.permissions.through
    groups = User.groups.through
    held = CaseUserObjectPermission
    perm = (
        f"SELECT p.{_c(Permission, 'id')} FROM {_t(Permission)} p INNER JOIN {_t(ContentType)}"
        f" ct ON p.{_c(Permission, 'content_type')} = ct.{_c(ContentType, 'id')}"
        f" WHERE p.{_c(Permission, 'codename')} = %s AND ct.{_c(ContentType, 'app_label')} = %s"
    )
    ways = [
        f"EXISTS (SELECT 1 FROM {_t(groups)} ug INNER JOIN {_t(of_group)} gp"
        f" ON gp.{_c(of_group, 'group')} = ug.{_c(groups, 'group')}"
        f" WHERE ug.{_c(groups, 'user')} = {user} AND gp.{_c(of_group, 'permission')} IN ({perm}))",
        f"EXISTS (SELECT 1 FROM {_t(own)} up WHERE up.{_c(own, 'user')} = {user}"
        f" AND up.{_c(own, 'permission')} IN ({perm}))",
    ]
    if on_a_case:
        ways.append(
            f"EXISTS (SELECT 1 FROM {_t(held)} op WHERE op.{_c(held, 'user')} = {user}"
            f" AND op.{_c(held, 'content_object')} = %s"
            f" AND op.{_c(held, 'permission')} IN ({perm}))"
        )
    return (
        f"{_t(User)}.{_c(User, 'is_active')} AND ({_t(User)}.{_c(User, 'is_superuser')}"
        f" OR {' OR '.join(ways)})"
    )


def holders(wanted: Iterable[tuple[int, int | None, str]]) -> set[tuple[int, int | None, str]]:
    """Which of these (user id, case id or None, codename) hold: `holds` asked for many
    users, cases and codenames at once (a fan-out of a batch of cases), in two queries."""
    wanted = set(wanted)
    users = sorted({user_id for user_id, _case, _code in wanted})
    codes = sorted({code for _user, _case, code in wanted})
    if not wanted:
        return set()
    names = {code: f"_holds_{i}" for i, code in enumerate(codes)}
    held_globally = {
        (row[0], code)
        for row in User.objects.filter(pk__any=set(users))
        .annotate(
            **{
                names[code]: ExpressionWrapper(holds(code, None), output_field=BooleanField())
                for code in codes
            }
        )
        .values_list("pk", *names.values())
        for code, held in zip(codes, row[1:], strict=True)
        if held
    }
    case_ids = {case_id for _user, case_id, _code in wanted if case_id is not None}
    held_on_case = set(
        CaseUserObjectPermission.objects.filter(
            content_object_id__any=case_ids,
            user_id__any=set(users),
            user__is_active=True,
            permission__content_type__app_label="cases",
            permission__codename__in=codes,
        ).values_list("user_id", "content_object_id", "permission__codename")
        if case_ids
        else ()
    )
    return {
        (user_id, case_id, code)
        for user_id, case_id, code in wanted
        if (user_id, code) in held_globally or (user_id, case_id, code) in held_on_case
    }


def role_members(role: str) -> QuerySet[User, int]:
    """The ids of the active users holding a global role, as a query (not yet run)."""
    return (
        User.objects.filter(groups__name=role, is_active=True)
        .values_list("pk", flat=True)
        .distinct()
    )


def role_member_ids(role: str) -> list[int]:
    """Active users holding a global role (secretariat, leader, auditor)."""
    return list(role_members(role))
