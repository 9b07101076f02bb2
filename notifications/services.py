"""Writing and reading notifications.

`notify` is the one entry point for every app that tells users something; it must be called
inside the transaction of the event it reports. It writes the inbox rows and one pending
delivery per channel, and asks for an immediate delivery attempt after commit: a rolled-back
event leaves no row and sends nothing; a failed delivery stays pending for the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import bulk, permissions
from cases.compiled import Compiled
from cases.errors import InvalidInput, NotFound
from cases.models import Case
from cases.users import User
from notifications import delivery, rules
from notifications.models import Delivery, EmailOptOut, Notification, NotificationSettings
from workflow.models import AuditEntry

log = logging.getLogger(__name__)


def notify(
    kind: str,
    recipients: Iterable[Any] | rules.Users | QuerySet[Any],
    *,
    text_vi: str,
    text_en: str,
    case: Case | None = None,
    link: str = "",
    event: AuditEntry | None = None,
) -> list[Notification]:
    """Write one inbox row per distinct recipient allowed to hear it, in the caller's transaction.

    Recipients may be users, user ids or a query of user ids (`rules.Users`, a queryset).
    Those without the kind's permission on the case (see `notifications.rules`) are left
    out. On PostgreSQL the recipients, the rows and their deliveries take one statement.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify() runs inside the transaction of the event it reports.")
    if kind not in rules.KINDS:
        raise ValueError(f"Notification kind {kind!r} is not in notifications.rules.KINDS.")
    ids = _recipients(recipients)
    if isinstance(ids, list) and not ids:
        return []
    now = timezone.now()
    row = Notification(
        kind=kind,
        case=case,
        event=event,
        text_vi=text_vi,
        text_en=text_en,
        link=link,
        created_at=now,
    )
    return _write(kind, case, [(ids, row)], now)


Recipients = list[int] | rules.Users | QuerySet[Any]


def _recipients(recipients: Iterable[Any] | rules.Users | QuerySet[Any]) -> Recipients:
    """Users or ids as a list of distinct ids; a query as it is."""
    if isinstance(recipients, rules.Users | QuerySet):
        return recipients
    return list(dict.fromkeys(u if isinstance(u, int) else u.pk for u in recipients))


def _write(
    kind: str, case: Case | None, texts: list[tuple[Recipients, Notification]], now: datetime
) -> list[Notification]:
    """The inbox rows (and deliveries) of texts of one kind about one case, each to its
    recipients who may hear it: one statement on PostgreSQL, whatever the number of texts."""
    if transaction.get_connection().vendor == "postgresql":
        audiences = [
            ids
            if isinstance(ids, list)
            else ids.sql()
            if isinstance(ids, rules.Users)
            else _sql_of(ids)
            for ids, _row in texts
        ]
        rows, left_out = delivery.write_for_audiences(
            [row for _ids, row in texts], audiences, _may(kind, case), now
        )
    else:
        rows, left_out = [], []
        for ids, row in texts:
            wanted = dict(_audience(kind, case, ids).values_list("pk", "may"))
            left_out += [u for u, may in wanted.items() if not may]
            rows += Notification.objects.bulk_create(
                [delivery.copy_of(row, recipient_id=u) for u, may in wanted.items() if may]
            )
        if rows:
            delivery.batch_for_this_transaction().add(rows, now)
    if left_out:
        log.info("notification %s: users %s may not hear it, left out", kind, left_out)
    return rows


def _sql_of(query: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """A query of ids as a subquery (unordered: its ordering would add columns)."""
    sql, params = query.order_by().query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class Message:
    """One text of `notify_many` to the users named (ids), about a case (its id) or none.

    The case goes by its id: the permissions and the inbox row need nothing else of it, so a
    sender that has only the ids (the sweep's reminders) loads no case."""

    kind: str
    recipients: list[int]
    text_vi: str
    text_en: str
    case_id: int | None = None
    link: str = ""
    event: AuditEntry | None = None


def notify_many(messages: Sequence[Message]) -> list[Notification]:
    """`notify` for many texts at once (a batch of the sweep): who may hear each is decided
    for all of them in two queries (`permissions.holders`), and the inbox rows and their
    deliveries are one statement on PostgreSQL (two bulk INSERTs elsewhere), whatever the
    number of texts and recipients. Pushes leave after commit, as with `notify`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify_many() runs inside the transaction of the events it reports.")
    for message in messages:
        if message.kind not in rules.KINDS:
            raise ValueError(
                f"Notification kind {message.kind!r} is not in notifications.rules.KINDS."
            )
    asked = set()
    named = set()
    for message in messages:
        kind = rules.KINDS[message.kind]
        for user_id in message.recipients:
            if message.case_id is None and kind.named:
                named.add(user_id)
            else:
                asked.add((user_id, message.case_id, kind.perm))
    allowed = permissions.holders(asked)
    active = (
        set(
            get_user_model()
            .objects.filter(pk__in=sorted(named), is_active=True)
            .values_list("pk", flat=True)
        )
        if named
        else set()
    )
    now = timezone.now()
    # Each text a copy of one row (positional values, not keywords: a batch has thousands).
    text = delivery.copier(
        Notification(created_at=now), "kind", "case_id", "event_id", "text_vi", "text_en", "link"
    )
    templates: list[Notification] = []
    recipients: list[tuple[int, int]] = []  # (user, index of their text in `templates`)
    for message in messages:
        kind = rules.KINDS[message.kind]
        case_id = message.case_id
        left_out: list[int] = []
        heard: list[int] = []
        for user_id in sorted(set(message.recipients)):
            if case_id is None and kind.named:
                may = user_id in active
            else:
                may = (user_id, case_id, kind.perm) in allowed
            (heard if may else left_out).append(user_id)
        if left_out:
            log.info("notification %s: users %s may not hear it, left out", kind.code, left_out)
        if heard:
            recipients += [(user_id, len(templates)) for user_id in heard]
            event = message.event
            templates.append(
                text(
                    message.kind,
                    case_id,
                    None if event is None else event.pk,
                    message.text_vi,
                    message.text_en,
                    message.link,
                )
            )
    if not recipients:
        return []
    if transaction.get_connection().vendor == "postgresql":
        return delivery.write_many_in_one_statement(templates, recipients, now)
    rows = bulk.create(
        [delivery.copy_of(templates[i], recipient_id=user_id) for user_id, i in recipients]
    )
    delivery.batch_for_this_transaction().add(rows, now)
    return rows


def _audience(kind: str, case: Case | None, ids: Recipients) -> QuerySet[Any]:
    """The wanted users, each with `may`: active and holding the kind's permission (on the
    case, or globally without one)."""
    wanted: Any = RawSQL(*ids.sql()) if isinstance(ids, rules.Users) else ids  # a subquery
    return (
        get_user_model()
        .objects.filter(pk__in=wanted)
        .annotate(may=ExpressionWrapper(_may(kind, case), output_field=BooleanField()))
        .order_by("pk")
    )


def _may(kind: str, case: Case | None) -> RawSQL:
    """Whether a user may hear a notification of the kind about the case, as SQL on the
    user table: active and holding its permission.

    A "named" kind carries no case data when it has no case: the caller's recipients stand
    (a reminder to an appraiser of how much is left), if active.
    """
    if case is None and rules.KINDS[kind].named:
        user = get_user_model()
        quote = transaction.get_connection().ops.quote_name
        active = f"{quote(user._meta.db_table)}.{quote(user._meta.get_field('is_active').column)}"
        return RawSQL(active, (), output_field=BooleanField())
    return permissions.holds(rules.KINDS[kind].perm, case)


def on_events(entries: Sequence[AuditEntry]) -> None:
    """workflow.events in-transaction subscriber of a batch (the sweep's): the entries become
    inbox rows in one `notify_many`, their audiences read per kind for the whole batch."""
    by_kind: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        kind = rules.BY_ACTION.get(entry.action)
        if kind is not None and kind.audiences is not None:
            by_kind.setdefault(kind.code, []).append(entry)
    messages = []
    for code, of_kind in by_kind.items():
        kind = rules.KINDS[code]
        for entry, audience in rules.audiences_of(kind, of_kind):
            ids = [u if isinstance(u, int) else u.pk for u in audience.user_ids]
            if not ids:
                continue
            text_vi, text_en = kind.texts(audience.context)
            messages.append(
                Message(
                    kind.code,
                    ids,
                    text_vi,
                    text_en,
                    audience.case.pk if audience.case is not None else None,
                    rules.link_for(audience.case, audience.context),
                    entry,
                )
            )
    notify_many(messages)


def on_event(entry: AuditEntry) -> None:
    """workflow.events in-transaction subscriber: the audit entry becomes inbox rows, the
    texts about one case in one statement (on PostgreSQL)."""
    kind = rules.BY_ACTION.get(entry.action)
    if kind is None or kind.audiences is None:
        return
    now = timezone.now()
    texts: list[tuple[Recipients, Notification]] = []
    about: Case | None = None
    for audience in kind.audiences(entry):
        ids = _recipients(audience.user_ids)
        if isinstance(ids, list) and not ids:
            continue
        if texts and audience.case is not about:
            _write(kind.code, about, texts, now)
            texts = []
        about = audience.case
        text_vi, text_en = kind.texts(audience.context)
        texts.append(
            (
                ids,
                Notification(
                    kind=kind.code,
                    case=audience.case,
                    event=entry,
                    text_vi=text_vi,
                    text_en=text_en,
                    link=rules.link_for(audience.case, audience.context),
                    created_at=now,
                ),
            )
        )
    if texts:
        _write(kind.code, about, texts, now)


# --- the inbox ------------------------------------------------------------------------------


def inbox(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")
    return qs.filter(read_at__isnull=True) if unread_only else qs


# Every page shows it (the bell): compiled once (`cases.compiled`); counted up to
# `delivery.UNREAD_COUNTED`, so that a long backlog costs a page no more than a short one.
_UNREAD: Compiled[Any] = Compiled(
    lambda _key, user: (
        Notification.objects.filter(recipient_id=user, read_at__isnull=True)
        .order_by()
        .values_list("pk")[: delivery.UNREAD_COUNTED]
    )
)


def unread_count(user: User) -> int:
    """The user's unread notifications, counted up to `delivery.UNREAD_COUNTED`."""
    return len(_UNREAD.rows((), user.pk))


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (the first time counts: proof of notice)."""
    try:
        row = Notification.objects.get(pk=notification_id, recipient=user)
    except Notification.DoesNotExist:
        raise NotFound(_("This notification does not exist or is not yours.")) from None
    if row.read_at is None:
        now = timezone.now()
        # Conditional: two tabs marking at once keep the first time.
        Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(read_at=now)
        row.refresh_from_db(fields=["read_at"])
    return row


def mark_all_read(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def confirm_push(user: User, notification_id: int) -> bool:
    """An open page confirmed it received the push (stronger proof than 'handed over')."""
    return bool(
        Delivery.objects.filter(
            notification_id=notification_id,
            notification__recipient=user,
            channel=Delivery.Channel.PUSH,
            confirmed_at__isnull=True,
        ).update(confirmed_at=timezone.now())
    )


# --- settings -------------------------------------------------------------------------------


def settings_of(user: User) -> dict[str, Any]:
    """The user's language and, per kind they can receive, whether e-mail is on."""
    language = (
        NotificationSettings.objects.filter(user=user).values_list("language", flat=True).first()
        or NotificationSettings.Language.VI
    )
    off = set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    seen = set(Notification.objects.filter(recipient=user).values_list("kind", flat=True))
    codes = list(rules.KINDS) + sorted((seen | off) - set(rules.KINDS))
    return {
        "language": language,
        "email": [
            {
                "kind": code,
                "label": rules.kind_for(code).label_in(language),
                "enabled": code not in off,
            }
            for code in codes
        ],
    }


@dataclass(frozen=True)
class SettingsChange:
    """What a user changes in their settings, typed at the edge: the language (None: kept)
    and, per kind named, whether e-mail is on."""

    language: NotificationSettings.Language | None = None
    email: Mapping[str, bool] = field(default_factory=dict)


def email_kinds(user: User) -> set[str]:
    """The kinds whose e-mail the user may turn on or off: every kind of the rules table and
    any other they have received (a kind since retired)."""
    seen = Notification.objects.filter(recipient=user).values_list("kind", flat=True)
    return set(rules.KINDS) | set(seen)


def unknown_kind(code: str) -> str:
    return _("There is no notification kind “%(kind)s”.") % {"kind": code}


def not_changed() -> str:
    """The refusal of a settings change, above each problem named."""
    return _("The notification settings were not changed.")


def update_settings(user: User, change: SettingsChange) -> dict[str, Any]:
    """Change the language and/or turn e-mail on or off per kind; all or nothing."""
    known = email_kinds(user)
    errors = [unknown_kind(code) for code in change.email if code not in known]
    if errors:
        raise InvalidInput(not_changed(), errors)
    with transaction.atomic():
        if change.language is not None:
            NotificationSettings.objects.update_or_create(
                user=user, defaults={"language": change.language}
            )
        for code, enabled in change.email.items():
            if enabled:
                EmailOptOut.objects.filter(user=user, kind=code).delete()
            else:
                EmailOptOut.objects.get_or_create(user=user, kind=code)
    return settings_of(user)


# --- proof of notice --------------------------------------------------------------------------


def notices_of_case(case: Case) -> QuerySet[Notification]:
    """Every notification about the case with its deliveries, for the secretariat."""
    return (
        Notification.objects.filter(case=case)
        .select_related("recipient")
        .prefetch_related("deliveries")
        .order_by("-created_at", "-pk")
    )
