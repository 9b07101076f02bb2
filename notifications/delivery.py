"""Delivering notifications: live push over the channel layer and e-mail, with retries.

Invariants:
- Nothing is sent inside the event's transaction. A `Batch` makes one immediate attempt per
  transaction, after commit; the worker (`deliver_notifications`) retries what is still
  due, with exponential backoff, forever for transient faults.
- A delivery is sent by whoever holds it. A push is held by the batch of the transaction
  that wrote it, written already handed over (`delivered`, `delivered_at` the transaction's
  `now`, the batch's token in `claim` so that it can find exactly its rows again): a push
  that goes through after commit costs no statement at all (without the UPDATE that
  recorded it, the work after commit of a submit or a start of appraisal went from 0.45 to
  0.22 ms, of about 3.4), and only one that fails puts the batch's rows (its ids, its
  token, still delivered) back to pending. Every other row is claimed: a conditional
  UPDATE of due rows (selected with FOR UPDATE SKIP LOCKED on PostgreSQL) stamps them with
  a claim token and a lease, so several workers and the web processes never send the same
  row at the same time. A sender that dies leaves its rows to be taken over when the lease
  ends; a process that dies between a commit and its push leaves the pushes delivered and
  unconfirmed, sent again as below.
- Delivery is at least once: a push or e-mail whose outcome is unknown (a timeout) is tried
  again. Pages drop a push whose `id` they already have; e-mails carry a stable Message-ID.
- A push the channel layer took is not yet a push a page received: right after Redis comes
  back, open pages may not have re-subscribed, and Pub/Sub drops what nobody listens to. A
  push no page confirmed within PUSH_CONFIRM_WAIT is sent again, up to PUSH_MAX_ATTEMPTS in
  all (the batch's hand-over is the first), so `delivered_at` is the last hand-over (for
  the batch's, when its transaction wrote it, a moment before the push) and `confirmed_at`
  the proof a page had it.
- Failures are recorded on the row (`attempts`, `last_error`) and never raised to the
  caller: the event that caused the notification has already committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import os
import smtplib
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    F,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from cases import bulk, compiled
from notifications import redis_push, rules
from notifications.models import Delivery, EmailOptOut, Notification, NotificationSettings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

PUSH, EMAIL = Delivery.Channel.PUSH, Delivery.Channel.EMAIL
# On a push written in one statement (`_write`): (the recipient's language or None, their
# unread count with it), read by that statement, so the push after commit asks nothing more.
_KNOWN = "_language_and_unread"
LEASE = timedelta(minutes=10)
PUSH_CONCURRENCY = 64
PUSH_CONFIRM_WAIT = timedelta(seconds=30)
PUSH_MAX_ATTEMPTS = 3
# Unread notifications are counted up to this many, and the bell shows more as "99+"
# (`bell_text`). A user who leaves thousands unread (a secretariat on deadline day gets every
# submission) would otherwise have every page, and the statement that writes a notification
# to them (`_write`), count the whole backlog: inside the transaction of the event, with the
# case locked. A push the worker sends again, or the embedded default's (`_push`), reads
# whole counts and shows them capped: a rare retry, or a small installation.
UNREAD_COUNTED = 100


def bell_text(unread: int) -> str:
    """The unread count as the bell shows it."""
    # Compared, not converted: a page's count is a lazy object (web/context.py) that
    # compares as its number but has no int().
    return str(unread) if unread < UNREAD_COUNTED else f"{UNREAD_COUNTED - 1}+"


def user_group(user_id: int) -> str:
    """The channel-layer group every open page of one user joins."""
    return f"notifications.user.{user_id}"


# --- after commit ---------------------------------------------------------------------------


class Batch:
    """The deliveries written by one transaction (at one savepoint level), attempted together
    right after it commits: publishing a cycle notifies every unit in one round of sends.

    Its push deliveries are written already handed over by it (`delivered` at the
    transaction's `now`, `claim=token`): after commit they are pushed from memory at once,
    with no claim before and, when the push goes through, no statement after; a failed push
    puts exactly these rows back to pending (`_record`). The callback is registered at the
    savepoint level where the rows were written, so a rolled-back savepoint drops it together
    with its rows; a process that dies before pushing leaves them delivered and unconfirmed,
    which the worker sends again after PUSH_CONFIRM_WAIT (`requeue_unconfirmed_pushes`). A
    push its transaction wrote longer than that before committing may thus go twice: pages
    drop the second.
    """

    def __init__(self, savepoints: list[str]) -> None:
        self.token = uuid.uuid4()
        self.pushes: list[Delivery] = []
        self.notification_ids: list[int] = []
        self.done = False
        self.savepoints = savepoints

    def still_open(self, connection: Any) -> bool:
        """Waiting for this transaction's commit, and written at the current savepoint level."""
        return (
            not self.done
            and list(connection.savepoint_ids) == self.savepoints
            and any(callback is self for _sids, callback, _robust in connection.run_on_commit)
        )

    def add(self, rows: Sequence[Notification], now: datetime) -> None:
        """Write each notification's deliveries: push handed over by this batch, e-mail
        pending."""
        push, email = self.new_deliveries(now)
        deliveries = []
        for row in rows:
            deliveries.append(Delivery(notification=row, **push))
            deliveries.append(Delivery(notification=row, **email))
        bulk.create(deliveries)
        self.pushes += [d for d in deliveries if d.channel == PUSH]
        self.notification_ids += [row.pk for row in rows]

    def new_deliveries(self, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """The fields of a new notification's two deliveries: the push handed over by this
        batch (pushed from memory after commit, its first attempt), the e-mail pending (the
        notifier's)."""
        push = {
            "channel": PUSH,
            "status": Delivery.Status.DELIVERED,
            "claim": self.token,
            "attempts": 1,
            "delivered_at": now,
            "created_at": now,
        }
        return push, {"channel": EMAIL, "next_attempt_at": now, "created_at": now}

    def __call__(self) -> None:
        self.done = True
        # The event committed: whatever fails here is left to the worker, never raised.
        try:
            deliver(self.pushes)
        except Exception:
            log.exception("immediate push of notifications %s failed", self.notification_ids)
        if settings.NOTIFY_EMAIL_INLINE_MAX <= 0:
            return  # production: the notifier sends every e-mail, the request waits for none
        try:
            deliver(
                claim(
                    notification_ids=self.notification_ids,
                    channels=(EMAIL,),
                    limit=settings.NOTIFY_EMAIL_INLINE_MAX,
                )
            )
        except Exception:
            log.exception("immediate e-mail of notifications %s failed", self.notification_ids)


def batch_for_this_transaction() -> Batch:
    """The open batch of the current transaction and savepoint level, or a new one."""
    connection = transaction.get_connection()
    batch: Batch | None = getattr(connection, "_notification_batch", None)
    if batch is None or not batch.still_open(connection):
        batch = Batch(list(connection.savepoint_ids))
        connection._notification_batch = batch
        transaction.on_commit(batch, robust=True)
    return batch


# --- claiming -------------------------------------------------------------------------------


def claim(
    *,
    now: datetime | None = None,
    limit: int | None = 200,
    notification_ids: Sequence[int] | None = None,
    channels: Iterable[str] = (PUSH, EMAIL),
) -> list[Delivery]:
    """Take due deliveries for this sender; nobody else takes them until the lease ends."""
    now = now or timezone.now()
    token = uuid.uuid4()
    due = Delivery.objects.filter(
        status__in=Delivery.OPEN, next_attempt_at__lte=now, channel__in=list(channels)
    )
    if notification_ids is not None:
        due = due.filter(notification_id__in=list(notification_ids))
    with transaction.atomic():
        pks = (
            due.order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        picked = list(pks[:limit] if limit is not None else pks)
        if not picked:
            return []
        # The same condition again: where SKIP LOCKED is not available (SQLite) the UPDATE
        # itself decides who wins, and the token says what we won.
        due.filter(pk__in=picked).update(
            status=Delivery.Status.SENDING,
            claim=token,
            attempts=F("attempts") + 1,
            next_attempt_at=now + LEASE,
        )
    return list(
        Delivery.objects.filter(claim=token)
        .select_related("notification", "notification__recipient")
        .order_by("pk")
    )


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered, retry, failed, skipped
    error: str = ""


DELIVERED = Outcome("delivered")


def deliver(claimed: Sequence[Delivery]) -> dict[str, int]:
    """Send deliveries this sender holds (claimed, or a batch's pushes) and record each
    outcome (at the real time: it is the proof of notice); returns counts per outcome."""
    if not claimed:
        return {}
    outcomes: dict[int, Outcome] = {}
    pushes = [d for d in claimed if d.channel == PUSH]
    emails = [d for d in claimed if d.channel == EMAIL]
    known = {
        d.notification.recipient_id: d.__dict__[_KNOWN][0] for d in claimed if _KNOWN in d.__dict__
    }
    asked = {d.notification.recipient_id for d in claimed} - known.keys()
    languages = {user: chosen for user, chosen in known.items() if chosen}
    if asked:
        languages.update(_languages(asked))
    if pushes:
        outcomes.update(_push(pushes, languages))
    if emails:
        outcomes.update(_email(emails, languages))
    return _record(claimed, outcomes, timezone.now())


def deliver_due(
    *, now: datetime | None = None, limit: int = 200, channels: Iterable[str] | None = None
) -> dict[str, int]:
    """One round of the worker: claim what is due (at `now`) and send it."""
    if channels is None:
        channels = channels_this_process_can_send()
    if PUSH in channels:
        requeue_unconfirmed_pushes(now or timezone.now())
    return deliver(claim(now=now, limit=limit, channels=channels))


def requeue_unconfirmed_pushes(now: datetime) -> int:
    """Pushes handed over recently that no open page confirmed go back in the queue (see the
    module's invariants); older ones are left alone, so a restarted worker never replays
    yesterday's notices to today's pages."""
    waited = now - PUSH_CONFIRM_WAIT
    return Delivery.objects.filter(
        channel=PUSH,
        status=Delivery.Status.DELIVERED,
        confirmed_at__isnull=True,
        delivered_at__lte=waited,
        delivered_at__gt=waited - PUSH_CONFIRM_WAIT * PUSH_MAX_ATTEMPTS,
        attempts__lt=PUSH_MAX_ATTEMPTS,
    ).update(status=Delivery.Status.PENDING, claim=None, next_attempt_at=now)


def channels_this_process_can_send() -> tuple[str, ...]:
    """The in-memory channel layer reaches only pages connected to this very process: a
    separate worker process cannot push through it, so it leaves pushes alone."""
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        return (EMAIL,)
    return (PUSH, EMAIL)


def backoff(attempts: int) -> timedelta:
    base, cap = settings.NOTIFY_RETRY_BASE_SECONDS, settings.NOTIFY_RETRY_MAX_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def _record(
    claimed: Sequence[Delivery], outcomes: dict[int, Outcome], now: datetime
) -> dict[str, int]:
    """Write the outcomes: one UPDATE per distinct outcome, only on rows still as their holder
    left them (its token in `claim`, the status it gave them). A batch's push that went
    through is already written delivered: nothing to write. One that did not was never
    handed over: it loses its `delivered_at` as it goes back to pending."""
    counts: dict[str, int] = {}
    groups: dict[tuple[Any, str, Outcome, int], list[int]] = {}
    for d in claimed:
        outcome = outcomes.get(d.pk, Outcome("retry", "no outcome"))
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        attempts = d.attempts if outcome.status == "retry" else 0
        groups.setdefault((d.claim, d.status, outcome, attempts), []).append(d.pk)
        if outcome.status == "retry":
            log.warning(
                "%s of notification %s failed (attempt %s): %s",
                d.channel,
                d.notification_id,
                d.attempts,
                outcome.error,
            )
    for (token, held, outcome, attempts), pks in groups.items():
        handed_over = held == Delivery.Status.DELIVERED
        if handed_over and outcome.status == "delivered":
            continue
        mine = Delivery.objects.filter(pk__in=pks, claim=token, status=held)
        undone: dict[str, Any] = {"delivered_at": None} if handed_over else {}
        if outcome.status == "delivered":
            mine.update(
                status=Delivery.Status.DELIVERED,
                delivered_at=now,
                claim=None,
                next_attempt_at=None,
                last_error="",
            )
        elif outcome.status == "retry":
            mine.update(
                status=Delivery.Status.PENDING,
                claim=None,
                next_attempt_at=now + backoff(attempts),
                last_error=outcome.error[:2000],
                **undone,
            )
        else:
            mine.update(
                status=outcome.status,
                claim=None,
                next_attempt_at=None,
                last_error=outcome.error[:2000],
                **undone,
            )
    return counts


def _languages(user_ids: set[int]) -> dict[int, str]:
    return dict(
        NotificationSettings.objects.filter(user_id__in=user_ids).values_list("user_id", "language")
    )


def payload(n: Notification, language: str, unread: int) -> dict[str, Any]:
    """What an open page receives: the row as the inbox API shows it, plus the unread count."""
    return {
        "type": "notification",
        "id": n.pk,
        "kind": n.kind,
        "case": n.case_id,
        "text": n.text_in(language),
        "text_vi": n.text_vi,
        "text_en": n.text_en,
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "unread": unread,
    }


def _push(rows: Sequence[Delivery], languages: dict[int, str]) -> dict[int, Outcome]:
    asked = {d.notification.recipient_id for d in rows if _KNOWN not in d.__dict__}
    unread = (
        dict(
            Notification.objects.filter(recipient_id__in=asked, read_at__isnull=True)
            .values("recipient_id")
            .annotate(n=Count("pk"))
            .values_list("recipient_id", "n")
        )
        if asked
        else {}
    )

    def unread_of(d: Delivery) -> int:
        if _KNOWN in d.__dict__:
            return int(d.__dict__[_KNOWN][1])
        return min(unread.get(d.notification.recipient_id, 0), UNREAD_COUNTED)

    messages = [
        (
            user_group(d.notification.recipient_id),
            {
                "type": "notification.message",
                "payload": payload(
                    d.notification,
                    languages.get(d.notification.recipient_id, "vi"),
                    unread_of(d),
                ),
            },
        )
        for d in rows
    ]
    try:
        errors = send_all_now(messages, float(settings.NOTIFY_PUSH_TIMEOUT))
    except Exception as exc:  # no layer to send through at all: every push waits for a retry
        errors = [f"channel layer: {exc!r}"] * len(messages)
    return {
        d.pk: DELIVERED if error is None else Outcome("retry", error)
        for d, error in zip(rows, errors, strict=True)
    }


def send_all_now(messages: list[tuple[str, dict[str, Any]]], timeout: float) -> list[str | None]:
    """`send_all` from synchronous code, waiting for its outcome.

    On production's Redis Pub/Sub, from this thread in one round trip for the whole batch
    (`notifications.redis_push`). On any other layer: under the ASGI server, on the server's
    event loop, as `async_to_sync` does (the in-memory layer of the embedded default reaches
    the pages only there); anywhere else (the notifier, the sweep, a command) on an event
    loop of the process's own, kept for its life: `async_to_sync` would make a new loop in a
    new thread for each call (bench/transitions.py: 0.5 ms a push in memory, against 0.1 ms
    on a loop that stays).
    """
    publish = redis_push.publisher(timeout)
    if publish is not None:
        return publish(messages)
    if _server_loop() is not None:
        return async_to_sync(send_all)(messages, timeout)
    future = asyncio.run_coroutine_threadsafe(send_all(messages, timeout), _own_loop())
    try:
        # send_all bounds itself by `timeout`; this bounds a loop that no longer runs
        return future.result(timeout + OWN_LOOP_GRACE)
    except concurrent.futures.TimeoutError:
        future.cancel()
        return [f"the push loop did not answer within {timeout:g} s"] * len(messages)


# Seconds past the push timeout after which the process's own loop is taken as stuck.
OWN_LOOP_GRACE = 5.0


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The loop of the ASGI server this thread runs synchronous code for, if any: the one
    `async_to_sync` would send through (asgiref records it on the thread, with its process)."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    return loop if loop is not None and not loop.is_closed() else None


_own: dict[int, asyncio.AbstractEventLoop] = {}  # per process id: a forked child makes its own
_own_lock = threading.Lock()


def _own_loop() -> asyncio.AbstractEventLoop:
    """The process's own push loop, running in a daemon thread, started on first use."""
    pid = os.getpid()
    with _own_lock:
        loop = _own.get(pid)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="push-loop", daemon=True).start()
            _own.clear()
            _own[pid] = loop
        return loop


async def send_all(messages: list[tuple[str, dict[str, Any]]], timeout: float) -> list[str | None]:
    """group_send each message; None where it was handed to the layer, else the error."""
    layer = get_channel_layer()
    if layer is None:
        return ["no channel layer configured"] * len(messages)
    gate = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def send(group: str, message: dict[str, Any]) -> None:
        async with gate:
            await layer.group_send(group, message)

    tasks = [asyncio.ensure_future(send(group, message)) for group, message in messages]
    _done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    results: list[str | None] = []
    for task in tasks:
        if task in pending:
            results.append(f"the channel layer did not answer within {timeout:g} s")
        elif task.exception() is not None:
            results.append(repr(task.exception()))
        else:
            results.append(None)
    return results


# --- e-mail ---------------------------------------------------------------------------------

FOOTER = gettext_lazy(
    "This message was sent automatically by the PAR Index case tracker. "
    "You can turn e-mail off for each kind of notification in your notification settings."
)
PREFIX = gettext_lazy("[PAR Index]")
SEE = gettext_lazy("Details")


def build_email(n: Notification, language: str) -> EmailMessage:
    """The e-mail for one notification in the recipient's language (Vietnamese by default)."""
    lang = "en" if language.startswith("en") else "vi"
    text = n.text_in(lang)
    if n.kind in rules.KINDS:
        title = rules.KINDS[n.kind].label_in(lang)
    else:
        title = text.splitlines()[0][:90] if text else n.kind
    with translation.override(lang):
        see, footer, prefix = str(SEE), str(FOOTER), str(PREFIX)
    body = [text, ""]
    if n.link:
        body += [f"{see}: {settings.SITE_URL}{n.link}", ""]
    body += ["-- ", footer]
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return EmailMessage(
        subject=f"{prefix} {title}",
        body="\n".join(body),
        to=[n.recipient.email],
        headers={
            "Message-ID": f"<notification-{n.pk}@{domain}>",
            "Auto-Submitted": "auto-generated",
        },
    )


def _email(rows: Sequence[Delivery], languages: dict[int, str]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    off = set(
        EmailOptOut.objects.filter(
            user_id__in={d.notification.recipient_id for d in rows},
            kind__in={d.notification.kind for d in rows},
        ).values_list("user_id", "kind")
    )
    to_send: list[tuple[Delivery, EmailMessage]] = []
    for d in rows:
        n = d.notification
        if (n.recipient_id, n.kind) in off:
            outcomes[d.pk] = Outcome("skipped", "e-mail turned off by the recipient for this kind")
        elif not n.recipient.email or not n.recipient.is_active:
            outcomes[d.pk] = Outcome("skipped", "the recipient has no e-mail address")
        else:
            to_send.append((d, build_email(n, languages.get(n.recipient_id, "vi"))))
    if not to_send:
        return outcomes
    connection = get_connection(timeout=settings.NOTIFY_EMAIL_TIMEOUT)
    try:
        connection.open()
    except Exception as exc:
        outcomes.update({d.pk: Outcome("retry", f"e-mail server: {exc!r}") for d, _m in to_send})
        return outcomes
    broken = ""
    try:
        for d, message in to_send:
            if broken:
                outcomes[d.pk] = Outcome("retry", broken)
                continue
            try:
                sent = connection.send_messages([message])
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _msg in exc.recipients.values()]
                permanent = bool(codes) and all(code >= 500 for code in codes)
                outcomes[d.pk] = Outcome("failed" if permanent else "retry", f"refused: {exc!r}")
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                broken = f"e-mail server: {exc!r}"
                outcomes[d.pk] = Outcome("retry", broken)
            except smtplib.SMTPException as exc:
                outcomes[d.pk] = Outcome("retry", f"e-mail server: {exc!r}")
            else:
                outcomes[d.pk] = DELIVERED if sent else Outcome("retry", "not accepted")
    finally:
        try:
            connection.close()
        except Exception:  # the messages were accepted or recorded as failed already
            log.debug("closing the e-mail connection failed", exc_info=True)
    return outcomes


# --- writing (PostgreSQL: one statement) ----------------------------------------------------


def _column(model: Any, name: str) -> str:
    """The quoted column of a model's field, for a statement written out here."""
    return str(transaction.get_connection().ops.quote_name(model._meta.get_field(name).column))


def _json_rows(rows: Sequence[Model], skip: str) -> str:
    """Model rows not yet written as one JSON text (an object per row, column to value),
    which `json_populate_recordset` reads back as rows of the model's table, typed by it.

    One parameter, encoded by the C json encoder, however many rows and columns: sent as
    an array per column, psycopg wrote out every array element by element in Python, a
    sixth of what notifying cost a transition, for one or two rows."""
    columns = _json_columns(type(rows[0]), skip)
    return json.dumps(
        [
            {
                column: value if to is None or value is None else to(value)
                for column, attname, to in columns
                for value in (getattr(row, attname),)
            }
            for row in rows
        ],
        ensure_ascii=False,
    )


@functools.cache
def _json_columns(model: Any, skip: str) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
    """(column, attribute, conversion to a JSON value or None) of the concrete fields of a
    model but its primary key and `skip`, worked out once per process."""
    return [
        (f.column, f.attname, _to_json(f))
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname != skip
    ]


def _to_json(field: Any) -> Callable[[Any], Any] | None:
    """How a field's value becomes what PostgreSQL reads back as it from JSON: a datetime
    as ISO 8601 with its offset, a UUID as its text, a text as `str` (a lazy translation
    too, as the field's own preparation does); None where it goes as it is. A field of
    another kind is refused, so that a new one is not written wrongly without notice."""
    if isinstance(field, ForeignKey):
        return _to_json(field.target_field)
    if isinstance(field, DateTimeField):
        return datetime.isoformat
    if isinstance(field, UUIDField | CharField | TextField):
        return str
    if isinstance(field, BooleanField | IntegerField):
        return None
    raise TypeError(f"{field!r}: no JSON form known for the one-statement notification write")


def _int_array(ids: Sequence[int]) -> str:
    """Integers as the text of a PostgreSQL array (cast in the statement): psycopg dumps a
    list element by element in Python, which for a sweep's thousands of ids cost more than
    writing them out at once here."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


def copier(template: M, *changed: str, written: bool = False) -> Callable[..., M]:
    """Copies of a model row with its fields but those `changed` (attribute names), whose new
    values are given in that order. Built from positional values, Django's quick way (a
    third of the time of keywords), for the thousands of rows of a batch; rows a statement
    has `written` are built as `cases.compiled` builds what it reads (their `__dict__`
    filled, no `Model.__init__`), marked saved to this database."""
    model = type(template)
    names, build = _builder_of(model)
    values = [getattr(template, name) for name in names]
    slots = [names.index(name) for name in changed]
    make: Callable[[list[Any]], Any] = (
        (lambda row: build(DEFAULT_DB_ALIAS, row)) if written else (lambda row: model(*row))
    )

    def copy(*new: Any) -> M:
        row = values.copy()
        for slot, value in zip(slots, new, strict=True):
            row[slot] = value
        return make(row)

    return copy


def copy_of(row: Notification, **changes: Any) -> Notification:
    """A new inbox row with the fields of `row` but those changed (attribute names)."""
    return copier(row, *changes)(*changes.values())


def write_for_audiences(
    templates: Sequence[Notification],
    audiences: Sequence[list[int] | tuple[str, Sequence[Any]]],
    may: RawSQL,
    now: datetime,
) -> tuple[list[Notification], list[int]]:
    """Texts about one case (`templates`), each to its audience (the same index), in one
    statement: one inbox row per user of an audience who may hear it (`may`: SQL on the user
    table), and its deliveries (see `_write`). An audience is distinct user ids, or a query
    selecting them (its SQL and parameters).

    The statement's text depends only on the kinds of the audiences, and PostgreSQL plans it
    once: ids go in as an array compared with `= ANY`, which the planner of a prepared
    statement estimates as it does the ids given, and not as rows of `unnest`, whose guess
    (a hundred rows) had it plan the statement again at every event (a millisecond).
    Returns (the rows, the users left out)."""
    connection = transaction.get_connection()
    user = get_user_model()
    table = connection.ops.quote_name(user._meta.db_table)
    pk = _column(user, "id")
    kind = user._meta.pk.db_type(connection)
    parts, params = [], []
    for i, audience in enumerate(audiences):
        if isinstance(audience, list):
            sql = f"SELECT u.{pk} FROM {table} u WHERE u.{pk} = ANY(%s::{kind}[])"
            more = [_int_array(audience)]
        else:
            sql, more = audience[0], list(audience[1])
        parts.append(f"SELECT q.id, {int(i)} FROM ({sql}) AS q(id)")
        params += more
    # Each wanted user is looked up by its key (OFFSET 0 keeps the planner from joining the
    # whole user table instead, which it chose while the table's statistics were behind).
    wanted = (
        f"SELECT u.id, w.i, u.may FROM ({' UNION ALL '.join(parts)}) AS w(id, i)"
        f" CROSS JOIN LATERAL (SELECT {table}.{pk}, ({may.sql}) FROM {table}"
        f" WHERE {table}.{pk} = w.id OFFSET 0) AS u(id, may)"
    )
    return _write(templates, wanted, [*params, *may.params], now)


def write_many_in_one_statement(
    templates: Sequence[Notification], recipients: Sequence[tuple[int, int]], now: datetime
) -> list[Notification]:
    """`write_for_audiences` for many texts about many cases (a batch of the sweep):
    `recipients` are (user, index of its text in `templates`) pairs, each a user who may hear
    it; one inbox row per pair (a copy of its template) and its deliveries, in one statement
    whatever the number of texts and recipients."""
    if not recipients:
        return []
    user = Notification._meta.get_field("recipient").db_type(transaction.get_connection())
    users, indexes = (list(column) for column in zip(*recipients, strict=True))
    rows, _left_out = _write(
        templates,
        f"SELECT w.id, w.i, true FROM unnest(%s::{user}[], %s::integer[]) AS w(id, i)",
        [_int_array(users), _int_array(indexes)],
        now,
    )
    return rows


def _write(
    templates: Sequence[Notification], wanted_sql: str, wanted_params: Sequence[Any], now: datetime
) -> tuple[list[Notification], list[int]]:
    """The wanted users (`wanted_sql`: rows of user id, index of their template, whether they
    may hear it), one inbox row for each who may (a copy of its template), and its deliveries
    — push claimed by this transaction's batch, e-mail pending, as `Batch.add` writes them —
    in one statement (a PostgreSQL data-modifying WITH) that also reads each recipient's
    language and unread count for the push. Returns (the rows, the users left out)."""
    batch = batch_for_this_transaction()
    push, email = batch.new_deliveries(now)
    pushing = Delivery(**push)
    params = [
        *wanted_params,
        _json_rows(templates, skip="recipient_id"),
        *_sequence_of_notifications(),
        _json_rows([pushing, Delivery(**email)], skip="notification_id"),
        PUSH,
    ]
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_write_sql(wanted_sql), params)
        result = cursor.fetchall()
    # The statement does not see its own inserts: each new row of a user is one more unread.
    new: dict[int, int] = {}
    for user_id, _i, may, *_rest in result:
        if may:
            new[user_id] = new.get(user_id, 0) + 1
    copies = [copier(template, "id", "recipient_id", written=True) for template in templates]
    pushed = copier(pushing, "id", "notification_id", written=True)
    to = Delivery._meta.get_field("notification")
    rows, left_out = [], []
    for user_id, i, may, notification_id, push_id, chosen, unread in result:
        if not may:
            left_out.append(user_id)
            continue
        row = copies[i](notification_id, user_id)
        sent = pushed(push_id, notification_id)
        to.set_cached_value(sent, row)
        sent.__dict__[_KNOWN] = (chosen, min(unread + new[user_id], UNREAD_COUNTED))
        rows.append(row)
        batch.pushes.append(sent)
    batch.notification_ids += [row.pk for row in rows]
    return rows, left_out


@functools.lru_cache(maxsize=64)
def _write_sql(wanted_sql: str) -> str:
    """`_write`'s statement around the wanted users' SQL, written once per shape of audience.

    The new rows come as JSON texts read as rows of their tables (`_json_rows`): an inbox
    row per template (its index from its place), the two deliveries every row gets."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    notifications, deliveries = quote(Notification._meta.db_table), quote(Delivery._meta.db_table)
    n_cols = [quote(column) for column, _a, _t in _json_columns(Notification, "recipient_id")]
    d_cols = [quote(column) for column, _a, _t in _json_columns(Delivery, "notification_id")]
    language = _column(NotificationSettings, "language")
    settings_user = _column(NotificationSettings, "user")
    recipient, read_at = _column(Notification, "recipient"), _column(Notification, "read_at")
    pk, to = _column(Notification, "id"), _column(Delivery, "notification")
    d_pk, channel = _column(Delivery, "id"), _column(Delivery, "channel")
    # The ids are drawn before the INSERT (in the order of the rows: text, then user) so each
    # row is known by its user and text without relying on the order RETURNING gives.
    return f"""
        WITH wanted(id, i, may) AS ({wanted_sql}),
        m AS (
            SELECT m.*, m.ordinality - 1 AS i
            FROM json_populate_recordset(NULL::{notifications}, %s::json) WITH ORDINALITY AS m
        ),
        k AS (
            SELECT nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass) AS id,
                wanted.id AS user_id, wanted.i
            FROM wanted WHERE wanted.may
            ORDER BY wanted.i, wanted.id
        ),
        n AS (
            INSERT INTO {notifications} ({pk}, {recipient}, {", ".join(n_cols)})
            SELECT k.id, k.user_id, {", ".join(f"m.{column}" for column in n_cols)}
            FROM k JOIN m ON m.i = k.i
            ORDER BY k.id
            RETURNING {pk} AS id
        ),
        d AS (
            INSERT INTO {deliveries} ({to}, {", ".join(d_cols)})
            SELECT n.id, {", ".join(f"c.{column}" for column in d_cols)}
            FROM n CROSS JOIN json_populate_recordset(NULL::{deliveries}, %s::json) AS c
            RETURNING {d_pk} AS id, {to} AS notification_id, {channel} AS channel
        )
        SELECT wanted.id, wanted.i, wanted.may, k.id, d.id, s.{language},
            (SELECT COUNT(*) FROM (SELECT FROM {notifications} r
             WHERE r.{recipient} = wanted.id AND r.{read_at} IS NULL
             LIMIT {int(UNREAD_COUNTED)}) AS unread)
        FROM wanted
        LEFT JOIN k ON k.user_id = wanted.id AND k.i = wanted.i
        LEFT JOIN d ON d.notification_id = k.id AND d.channel = %s
        LEFT JOIN {quote(NotificationSettings._meta.db_table)} s ON s.{settings_user} = wanted.id
        ORDER BY wanted.i, wanted.id
    """


@functools.cache
def _sequence_of_notifications() -> tuple[str, str]:
    """The arguments of `pg_get_serial_sequence` naming the inbox rows' id sequence."""
    return (
        transaction.get_connection().ops.quote_name(Notification._meta.db_table),
        str(Notification._meta.get_field("id").column),
    )


@functools.cache
def _builder_of(model: type[Model]) -> tuple[list[str], compiled.Builder]:
    """A model's concrete attributes and the builder of its instances from their values."""
    names = [f.attname for f in model._meta.concrete_fields]
    return names, compiled.builder(model, names)
