"""The audit trail: one writer, one small builder per event type.

Every event a case or cycle can have is greppable here by its action code. Builders must be
called inside the transaction that makes the change, so that the entry and the change commit
or roll back together. Keys that look secret are masked in `data`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Required, TypedDict, Unpack

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    CharField,
    Max,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cases import bulk, permissions
from cases.models import SCORE_ROW_COLUMNS, Case, Criterion, Cycle, Framework, Score, SurveyImport
from cases.totals import totals_from_scores
from cases.users import User
from deadlines.models import CalendarOverride, Extension
from workflow.models import AuditEntry

# What an entry holds: JSON, and the dates, times and decimals DjangoJSONEncoder writes out.
Json = str | int | float | bool | Decimal | date | None | Mapping[str, "Json"] | Sequence["Json"]
JsonObject = dict[str, Json]

SECRET_HINTS = ("password", "token", "secret", "key")

# Action codes
CASE_TRANSITION = "workflow.case.{name}"
SCORE_SELF = "cases.score.self_changed"
SCORE_APPRAISED = "cases.score.appraised"
CLARIFICATION_ASKED = "workflow.clarification.asked"
CLARIFICATION_ANSWERED = "workflow.clarification.answered"
CYCLE_CREATED = "cases.cycle.created"
CYCLE_OPENED = "cases.cycle.opened"
CYCLE_CHANGED = "cases.cycle.changed"
CYCLE_RESULTS_SUBMITTED = "cases.cycle.results_submitted"
CYCLE_PUBLISHED = "cases.cycle.published"
FRAMEWORK_BOUND = "cases.framework.bound"
COUNCIL_FORMED = "cases.council.formed"
COUNCIL_MEMBER_ADDED = "cases.council.member_added"
COUNCIL_MEMBER_REMOVED = "cases.council.member_removed"
COUNCIL_AREA_ASSIGNED = "cases.council.area_assigned"
COUNCIL_AREA_UNASSIGNED = "cases.council.area_unassigned"
MEMBERSHIP_ADDED = "cases.membership.added"
MEMBERSHIP_REMOVED = "cases.membership.removed"
ASSIGNMENT_ADDED = "cases.assignment.added"
ASSIGNMENT_REMOVED = "cases.assignment.removed"
SURVEY_IMPORTED = "cases.survey.imported"
SCORE_SURVEY = "cases.score.survey_imported"
RANKING_EXCLUDED = "cases.ranking.excluded"
RANKING_REINSTATED = "cases.ranking.reinstated"
FRAMEWORK_IMPORTED = "cases.framework.imported"
FRAMEWORK_COPIED = "cases.framework.copied"
FRAMEWORK_CHANGED = "cases.framework.changed"
EXTENSION_GRANTED = "deadlines.extension.granted"
CALENDAR_DAY_ADDED = "deadlines.calendar.day_added"
CALENDAR_DAY_REMOVED = "deadlines.calendar.day_removed"

EVIDENCE_ADDED = "evidence.file.added"
EVIDENCE_LINKED = "evidence.link.added"
EVIDENCE_WITHDRAWN = "evidence.link.withdrawn"
EVIDENCE_DOWNLOADED = "evidence.file.downloaded"
EVIDENCE_RETAINED = "evidence.file.retained"
EVIDENCE_INTEGRITY = "evidence.file.integrity_changed"

PEOPLE_IMPORTED = "cases.people.imported"
UNIT_GROUP_CREATED = "cases.unit_group.created"
UNIT_CREATED = "cases.unit.created"
UNIT_RENAMED = "cases.unit.renamed"
UNIT_NAME_CORRECTED = "cases.unit.name_corrected"
UNIT_MERGED = "cases.unit.merged"
ACCOUNT_CREATED = "cases.account.created"
ACCOUNT_INVITED = "cases.account.invited"
ACCOUNT_PASSWORD_SET = "cases.account.password_set"
ACCOUNT_DEACTIVATED = "cases.account.deactivated"
ACCOUNT_REACTIVATED = "cases.account.reactivated"
# One password tried on many accounts (config/auth_guard.py); the secretariat is told.
SIGNIN_SPRAYING = "auth.signin.spraying"

# Parts other apps add to a case's snapshot (evidence adds the versions the scores rely on),
# each with what reads its data for many cases at once.
SnapshotPart = Callable[[Case], Json]
SnapshotPreload = Callable[[Sequence[Case]], None]
_snapshot_parts: dict[str, SnapshotPart] = {}
_snapshot_preloads: dict[str, SnapshotPreload] = {}


def register_snapshot_part(
    name: str, part: SnapshotPart, preload: SnapshotPreload | None = None
) -> None:
    """Called once from an app's AppConfig.ready(): `part(case)` joins every snapshot;
    `preload(cases)`, if given, reads what `part` needs for many cases in one go."""
    _snapshot_parts[name] = part
    if preload is not None:
        _snapshot_preloads[name] = preload


def preload_snapshots(cases: Sequence[Case]) -> None:
    """Read what the snapshots of these cases need in a few queries, whatever their number;
    the cases share one memo of the score rows their snapshots write (`case_snapshot`)."""
    Case.load_snapshot_rows(cases)
    for preload in _snapshot_preloads.values():
        preload(cases)
    memo: _RowMemo = {}
    for case in cases:
        case.__dict__[_ROW_MEMO] = memo


def _mask(data: Json) -> Json:
    if isinstance(data, Mapping):
        return {
            k: "***" if any(h in str(k).lower() for h in SECRET_HINTS) else _mask(v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [_mask(v) for v in data]
    return data


def _jsonable(data: Json) -> Json:
    loaded: Json = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return loaded


class _Encoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, asked about a Decimal first (a snapshot's totals hold dozens)."""

    def default(self, o: object) -> object:
        if o.__class__ is Decimal:
            return str(o)  # what DjangoJSONEncoder writes for a Decimal
        return super().default(o)


# The one encoder of every canonical text: `json.dumps` with these settings makes a new one
# for each call, which a batch of the sweep calls a few thousand times.
_CANONICAL = _Encoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_json(data: Json) -> str:
    """The text the hashes are taken of: keys sorted, no spaces, non-ASCII as it is."""
    return _CANONICAL.encode(data)


@dataclass(frozen=True)
class Snapshot:
    """A snapshot as it reads back from the database (`value`, what the entry holds) and its
    canonical text (`text`, what is hashed and written), made together so that neither is
    worked out again from the other (`case_snapshot`)."""

    value: JsonObject
    text: str


class EntryFields(TypedDict, total=False):
    """What an entry may say besides its action (see `AuditEntry`)."""

    actor: Required[User]
    case: Case | None
    cycle: Cycle | None
    obj: Model | None
    source: str
    target: str
    before: Json
    after: Json
    comment: str
    data: Mapping[str, Json] | None
    snapshot: Json | Snapshot
    at: datetime | None
    chain: str


def record(
    action: str,
    *,
    case_locked: bool = False,
    along: bulk.Update | None = None,
    **fields: Unpack[EntryFields],
) -> AuditEntry:
    """Write one entry. Must run inside the transaction of the change it records.

    `case_locked`: the caller holds the case's row lock (select_for_update) in this
    transaction, which serialises the case's chain; otherwise it is taken here.
    `along`: the change's own UPDATE, not yet sent: it goes with the entry's INSERT."""
    _require_transaction()
    entry = entry_of(action, **fields)
    _append(entry, case_locked=case_locked, along=along)
    return entry


def record_many(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    """Write the entries of one change made of many (an import) in a few statements for all
    of them: each chain they join is locked and its head read once, then one INSERT.
    Entries are made with `entry_of`; must run inside the change's transaction."""
    _require_transaction()
    key = current_key()
    keys = {key_id(key): key.encode()}
    by_chain: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        entry.chain = entry.chain or chain_of(entry)
        by_chain.setdefault(entry.chain, []).append(entry)
    for chain in sorted(by_chain):  # one order everywhere: writers wait, never deadlock
        _lock_chain(chain, case_locked=False)
        seq, previous = _read_head(chain)
        for entry in by_chain[chain]:
            seq += 1
            entry.key_id, entry.seq, entry.prev_hash = key_id(key), seq, previous
            entry.hash = previous = entry_hash(entry, keys)
    return AuditEntry.objects.bulk_create(entries, batch_size=500)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Audit entries are written inside the change's transaction.")


# The canonical text of an entry's snapshot, kept on the entry that `entry_of` made.
SNAPSHOT_TEXT = "_snapshot_text"


def entry_of(action: str, **fields: Unpack[EntryFields]) -> AuditEntry:
    """An entry as `record` writes it, not yet chained nor saved (for `record_many`)."""
    snapshot, case = fields.get("snapshot"), fields.get("case")
    before, after, obj = fields.get("before"), fields.get("after"), fields.get("obj")
    snap: Json = None
    snapshot_sha256 = ""
    if isinstance(snapshot, Snapshot):
        snap, text = snapshot.value, snapshot.text
    elif snapshot is not None:
        # Written out once: its keys are strings (Json), so the canonical text of what it
        # reads back as is this text, and the hash is taken of it directly.
        text = canonical_json(snapshot)
        snap = json.loads(text)
    if snapshot is not None:
        snapshot_sha256 = hashlib.sha256(text.encode()).hexdigest()
    entry = AuditEntry(
        at=fields.get("at") or timezone.now(),
        actor=fields["actor"],
        action=action,
        case=case,
        cycle=fields.get("cycle") or (case.cycle if case is not None else None),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        source=fields.get("source", ""),
        target=fields.get("target", ""),
        before=_jsonable(_mask(before)) if before is not None else None,
        after=_jsonable(_mask(after)) if after is not None else None,
        comment=fields.get("comment", ""),
        data=_jsonable(_mask(data)) if (data := fields.get("data")) else {},
        snapshot=snap,
        snapshot_sha256=snapshot_sha256,
        chain=fields.get("chain", ""),
    )
    if snapshot is not None:
        entry.__dict__[SNAPSHOT_TEXT] = text  # a batch INSERT sends it as it is
    return entry


# --- the hash chains ----------------------------------------------------------------------
#
# The trail is split into chains so that writers of different cases never wait for each other:
# one chain per case, one per cycle (its cycle-wide entries), one for the installation (the
# rest), and the anchor chain. Each entry carries its chain, its position `seq` in it (1, 2,
# ...; unique per chain), the hash of the entry before it, and its own hash: an HMAC-SHA256
# with the installation's audit key (settings.AUDIT_KEY, kept outside the database) over its
# fields, chain, position, key id and previous hash. Whoever can write the table but does not
# hold the key can neither alter an entry nor forge one; a deleted entry leaves a gap.
#
# Appends to one chain are serialised; appends to different chains are not. A case chain is
# serialised by the case's row lock (the services hold it already; otherwise it is taken here),
# the other chains by a transaction-scoped PostgreSQL advisory lock per chain. SQLite serialises
# every write anyway. The lock is held until the transaction ends: releasing it earlier would
# let a second writer read a head whose successor is not yet committed.
#
# An anchor entry (`anchor`, in the anchor chain) records the heads (position and hash) of the
# chains that changed since the anchors before it, so a case chain deleted whole or cut at its
# end is still detected. The worker writes one after each sweep, `verify_audit` one before it
# checks. The head of the anchor chain is the installation's head: the entry id and hash that
# `verify_audit` prints and that operators keep, so a trail rewritten with the key, or cut, no
# longer shows the head they recorded.

GENESIS_HASH = "0" * 64
ANCHOR = "audit.anchor"
ANCHOR_CHAIN = "anchor"
INSTALLATION_CHAIN = "installation"
# Anchors after a sweep look again at the entries of this long before the last anchor:
# a transaction that committed late is anchored by a later anchor.
ANCHOR_LOOKBACK = timedelta(minutes=10)
_LOCK_CLASS = 0x50415241  # "PARA": the advisory lock class of the audit chains
_LOCK_INSTALLATION, _LOCK_ANCHOR = -1, -2


class UnknownKey(Exception):
    """An entry names an audit key this installation does not have."""


def key_id(key: str) -> str:
    """A short public name of a key, recorded on each entry (it reveals nothing of the key)."""
    return hashlib.sha256(b"par-audit-key-id:" + key.encode()).hexdigest()[:16]


def current_key() -> str:
    return str(settings.AUDIT_KEY)


def audit_keys() -> dict[str, bytes]:
    """Every key that may have signed an entry: the current one and the retired ones."""
    keys = [*settings.AUDIT_RETIRED_KEYS, current_key()]
    return {key_id(key): key.encode() for key in keys}


def chain_of(entry: AuditEntry) -> str:
    if entry.case_id is not None:
        return f"case:{entry.case_id}"
    if entry.cycle_id is not None:
        return f"cycle:{entry.cycle_id}"
    return INSTALLATION_CHAIN


def entry_fields(entry: AuditEntry) -> JsonObject:
    """What the hash covers: every recorded field (the snapshot through its own hash)."""
    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor": entry.actor_id,
        "action": entry.action,
        "case": entry.case_id,
        "cycle": entry.cycle_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "source": entry.source,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
        "data": entry.data,
        "snapshot_sha256": entry.snapshot_sha256,
        "chain": entry.chain,
        "seq": entry.seq,
        "key_id": entry.key_id,
        "prev_hash": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry, keys: dict[str, bytes] | None = None) -> str:
    key = (keys or audit_keys()).get(entry.key_id)
    if key is None:
        raise UnknownKey(entry.key_id)
    message = canonical_json(entry_fields(entry)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _lock_chain(chain: str, *, case_locked: bool) -> None:
    if connection.vendor != "postgresql":
        return
    kind, _sep, number = chain.partition(":")
    with connection.cursor() as cursor:
        if kind == "case":
            if not case_locked:
                cursor.execute(
                    f"SELECT 1 FROM {Case._meta.db_table} WHERE id = %s FOR UPDATE", [int(number)]
                )
            return
        objid = {
            "cycle": int(number or 0),
            INSTALLATION_CHAIN: _LOCK_INSTALLATION,
            ANCHOR_CHAIN: _LOCK_ANCHOR,
        }[kind]
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, objid])


HEAD_SEQ, HEAD_HASH = "_audit_head_seq", "_audit_head_hash"


def case_head() -> dict[str, RawSQL]:
    """Annotations reading the head of a case's chain with the case (services add them to
    the query that locks the case, saving the append a round trip).

    Written as SQL, as the permission answers read in that query are (`cases.permissions`):
    building and compiling these two subqueries in the ORM was a noticeable part of every
    score save and transition (bench/transitions.py). They name the case table, so they
    annotate a query of cases itself, never one nested in another."""
    quote = connection.ops.quote_name
    entries, case = quote(AuditEntry._meta.db_table), quote(Case._meta.db_table)
    chain = f"%s || CAST({case}.{quote(Case._meta.pk.column)} AS TEXT)"

    def latest(column: str, field: BigIntegerField | CharField) -> RawSQL:
        return RawSQL(
            f"SELECT e.{quote(column)} FROM {entries} e WHERE e.{quote('chain')} = {chain}"
            f" ORDER BY e.{quote('seq')} DESC LIMIT 1",
            ("case:",),
            output_field=field,
        )

    return {
        HEAD_SEQ: latest("seq", BigIntegerField()),
        HEAD_HASH: latest("hash", CharField()),
    }


def _read_head(chain: str) -> tuple[int, str]:
    head = AuditEntry.objects.filter(chain=chain).order_by("-seq").values_list("seq", "hash")
    return head.first() or (0, GENESIS_HASH)


def _append(
    entry: AuditEntry, *, case_locked: bool = False, along: bulk.Update | None = None
) -> None:
    """Chain the entry onto its chain's head and insert it, in one statement when the head
    came with the locked case (with the change's UPDATE, if `along`).

    That head was read by the statement that waited for the case's lock, whose snapshot may
    predate the commit of the writer it waited for: then the position is taken, the insert
    (ON CONFLICT DO NOTHING) writes nothing, and the head is read again, now current (the
    UPDATE went through the first time: it is not sent again)."""
    entry.chain = entry.chain or chain_of(entry)
    _lock_chain(entry.chain, case_locked=case_locked)
    case = entry.case if entry.case_id is not None else None
    hinted = case is not None and case_locked and HEAD_SEQ in case.__dict__
    if hinted:
        head = (case.__dict__[HEAD_SEQ] or 0, case.__dict__[HEAD_HASH] or GENESIS_HASH)
    else:
        head = _read_head(entry.chain)
    key = current_key()
    entry.key_id = key_id(key)
    while True:
        entry.seq, entry.prev_hash = head[0] + 1, head[1]
        entry.hash = entry_hash(entry, {entry.key_id: key.encode()})
        if not _insert_many_unless_taken([entry], along=along):
            break
        along = None
        head = _read_head(entry.chain)
    if case is not None:
        case.__dict__[HEAD_SEQ], case.__dict__[HEAD_HASH] = entry.seq, entry.hash


def append_locked(entries: Sequence[AuditEntry]) -> None:
    """Chain entries of cases whose rows this transaction holds locked, one entry per case,
    and insert them in one statement (the sweep's batches: see `_append` for one entry).

    Each head comes with its locked case when the locking query read it (`case_head`), else
    all are read in one query. An entry whose position turned out taken (that head predates
    the commit of the writer the lock waited for) is chained again on the head read now."""
    _require_transaction()
    chains = [entry.chain or chain_of(entry) for entry in entries]
    if len(set(chains)) != len(chains) or not all(c.startswith("case:") for c in chains):
        raise ValueError("append_locked takes at most one entry per case chain.")
    heads: dict[str, tuple[int, str]] = {}
    unknown = []
    for entry, chain in zip(entries, chains, strict=True):
        entry.chain = chain
        case = entry.case
        if case is not None and HEAD_SEQ in case.__dict__:
            heads[chain] = (case.__dict__[HEAD_SEQ] or 0, case.__dict__[HEAD_HASH] or GENESIS_HASH)
        else:
            unknown.append(chain)
    heads.update(_read_heads(unknown))
    key = current_key()
    keys = {key_id(key): key.encode()}
    pending = list(entries)
    while pending:
        for entry in pending:
            entry.key_id = next(iter(keys))
            entry.seq, entry.prev_hash = heads[entry.chain][0] + 1, heads[entry.chain][1]
            entry.hash = entry_hash(entry, keys)
        taken = _insert_many_unless_taken(pending)
        heads.update(_read_heads([entry.chain for entry in taken]))
        pending = taken
    for entry in entries:
        if entry.case is not None:
            entry.case.__dict__[HEAD_SEQ], entry.case.__dict__[HEAD_HASH] = entry.seq, entry.hash


def _read_heads(chains: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The head (seq, hash) of each chain named, in one query (genesis for an empty one)."""
    if not chains:
        return {}
    heads = dict.fromkeys(chains, (0, GENESIS_HASH))
    latest = AuditEntry.objects.filter(chain=OuterRef("chain")).order_by("-seq").values("seq")[:1]
    for chain, seq, digest in AuditEntry.objects.filter(
        chain__in=list(heads), seq=Subquery(latest)
    ).values_list("chain", "seq", "hash"):
        heads[chain] = (seq, digest)
    return heads


def _insert_many_unless_taken(
    entries: Sequence[AuditEntry], *, along: bulk.Update | None = None
) -> list[AuditEntry]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING for all (`along` an UPDATE sent in
    the same statement); returns those not written.

    Written by `cases.bulk.insert`, each snapshot as the text its hash was taken of: written
    out again, or quoted into the statement, the snapshots cost more than the rest of the
    batch together."""
    snapshots = [
        entry.__dict__.get(SNAPSHOT_TEXT) or canonical_json(entry.snapshot)
        if entry.snapshot is not None
        else None
        for entry in entries
    ]
    rows = bulk.insert(
        entries,
        returning=("id", "chain", "seq"),
        ignore_conflicts=True,
        written={"snapshot": snapshots},
        along=along,
    )
    written = {(chain, seq): pk for pk, chain, seq in rows}
    taken = []
    for entry in entries:
        pk = written.get((entry.chain, entry.seq))
        if pk is None:
            taken.append(entry)
            continue
        entry.pk = pk
        entry._state.adding = False
        entry._state.db = "default"
    return taken


# --- anchors ------------------------------------------------------------------------------


def _heads(since: int | None) -> dict[str, tuple[int, str]]:
    """The current head (seq, hash) of every chain, or of those written to after entry `since`."""
    latest = AuditEntry.objects.filter(chain=OuterRef("chain")).order_by("-seq").values("seq")[:1]
    entries = AuditEntry.objects.exclude(chain=ANCHOR_CHAIN)
    if since is not None:
        changed = (
            AuditEntry.objects.filter(pk__gt=since).exclude(chain=ANCHOR_CHAIN).values("chain")
        )
        entries = entries.filter(chain__in=changed)
    rows = entries.filter(seq=Subquery(latest)).values_list("chain", "seq", "hash")
    return {chain: (seq, digest) for chain, seq, digest in rows.iterator(chunk_size=5000)}


def _anchored(anchors: QuerySet[AuditEntry]) -> dict[str, tuple[int, str]]:
    heads: dict[str, tuple[int, str]] = {}
    for data in anchors.order_by("seq").values_list("data", flat=True):
        for chain, (seq, digest) in data.get("heads", {}).items():
            heads[chain] = (seq, digest)
    return heads


def anchor(*, full: bool = False, now: datetime | None = None) -> AuditEntry | None:
    """Bind the heads of the chains that changed into the anchor chain; None if none did.

    `full` compares every chain with every earlier anchor (verify_audit); otherwise only the
    chains written since the anchor made ANCHOR_LOOKBACK before the last one (the worker).
    """
    now = now or timezone.now()
    with transaction.atomic():
        _lock_chain(ANCHOR_CHAIN, case_locked=False)
        anchors = AuditEntry.objects.filter(chain=ANCHOR_CHAIN)
        through = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
        if full:
            heads, anchored = _heads(None), _anchored(anchors)
        else:
            last = anchors.order_by("-seq").values_list("at", flat=True).first()
            start = (
                anchors.filter(at__lte=last - ANCHOR_LOOKBACK).order_by("-seq").first()
                if last is not None
                else None
            )
            since = int(start.data.get("through", 0)) if start is not None else 0
            recent = anchors.filter(seq__gte=start.seq) if start is not None else anchors
            heads, anchored = _heads(since), _anchored(recent)
        changed: JsonObject = {
            chain: [seq, digest]
            for chain, (seq, digest) in sorted(heads.items())
            if anchored.get(chain) != (seq, digest)
        }
        if not changed:
            return None
        return record(
            ANCHOR,
            actor=permissions.system_user(),
            chain=ANCHOR_CHAIN,
            data={"through": through, "chains": len(changed), "heads": changed},
            at=now,
        )


# --- verification -------------------------------------------------------------------------


@dataclass
class Verification:
    """What verify() found: entries checked, the first problem ("" if none), the head."""

    checked: int = 0
    chains: int = 0
    problem: str = ""
    head: tuple[int, str] | None = None
    unanchored: int = 0  # chains whose latest entries no anchor records yet


def _label(entry: AuditEntry) -> str:
    return f"audit entry #{entry.pk} ({entry.at:%Y-%m-%d %H:%M:%S} {entry.action})"


def _check_entry(entry: AuditEntry, previous: AuditEntry | None, keys: dict[str, bytes]) -> str:
    label = _label(entry)
    if (
        entry.snapshot is not None
        and entry.snapshot_sha256
        != hashlib.sha256(canonical_json(entry.snapshot).encode()).hexdigest()
    ):
        return f"{label} was altered: its snapshot does not match its hash"
    try:
        digest = entry_hash(entry, keys)
    except UnknownKey:
        return (
            f"{label} is signed with audit key {entry.key_id or '(none)'}, which this "
            "installation does not have (AUDIT_KEY, AUDIT_RETIRED_KEYS)"
        )
    if not hmac.compare_digest(digest, entry.hash):
        return (
            f"{label} was altered: its content does not match its hash "
            "(changed, or written without the audit key)"
        )
    expected_seq = previous.seq + 1 if previous is not None else 1
    if entry.seq != expected_seq:
        after = f"after {_label(previous)}" if previous is not None else "at the start"
        return (
            f"{entry.seq - expected_seq} audit entries were deleted from chain {entry.chain} "
            f"{after}: {label} does not follow it"
        )
    expected = previous.hash if previous is not None else GENESIS_HASH
    if entry.prev_hash != expected:
        return f"{label} does not follow the entry before it in chain {entry.chain}"
    return ""


def _walk(
    entries: QuerySet[AuditEntry],
    keys: dict[str, bytes],
    result: Verification,
    visit: Callable[[AuditEntry], None],
) -> bool:
    """Check each chain in order; `visit(entry)` sees every sound entry. False at a break."""
    previous: AuditEntry | None = None
    for entry in entries.order_by("chain", "seq").iterator(chunk_size=2000):
        if previous is not None and previous.chain != entry.chain:
            previous = None
        if previous is None:
            result.chains += 1
        problem = _check_entry(entry, previous, keys)
        if problem:
            result.problem = problem
            return False
        visit(entry)
        previous = entry
        result.checked += 1
    return True


def verify() -> Verification:
    """Check every chain, then that each chain still holds the heads the anchors recorded."""
    keys = audit_keys()
    result = Verification()
    # chain -> {seq: (hash, anchor)} for every head an anchor recorded
    recorded: dict[str, dict[int, tuple[str, AuditEntry]]] = {}
    last_anchor: list[AuditEntry] = []

    def note_anchor(entry: AuditEntry) -> None:
        for chain, (seq, digest) in entry.data.get("heads", {}).items():
            recorded.setdefault(chain, {})[int(seq)] = (digest, entry)
        last_anchor[:] = [entry]

    anchors = AuditEntry.objects.filter(chain=ANCHOR_CHAIN)
    if not _walk(anchors, keys, result, note_anchor):
        return result
    if last_anchor:
        result.head = (last_anchor[0].pk, last_anchor[0].hash)
    ends: dict[str, AuditEntry] = {}

    def note_entry(entry: AuditEntry) -> None:
        ends[entry.chain] = entry
        seen = recorded.get(entry.chain, {}).get(entry.seq)
        if seen is not None and seen[0] != entry.hash and not result.problem:
            result.problem = (
                f"{_label(entry)} was rewritten: {_label(seen[1])} recorded another hash "
                f"for entry {entry.seq} of chain {entry.chain}"
            )

    if not _walk(AuditEntry.objects.exclude(chain=ANCHOR_CHAIN), keys, result, note_entry):
        return result
    if result.problem:
        return result
    for chain, heads in sorted(recorded.items()):
        seq = max(heads)
        end = ends.get(chain)
        if end is None:
            result.problem = (
                f"chain {chain} was deleted: {_label(heads[seq][1])} recorded {seq} entries in it"
            )
            return result
        if end.seq < seq:
            result.problem = (
                f"the end of chain {chain} was cut after {_label(end)}: "
                f"{_label(heads[seq][1])} recorded {seq} entries in it"
            )
            return result
    result.unanchored = sum(
        1 for chain, end in ends.items() if end.seq > max(recorded.get(chain, {}), default=0)
    )
    return result


def verify_chain() -> tuple[int, str]:
    """(entries checked, "" or the first break in words): see verify()."""
    result = verify()
    return result.checked, result.problem


# What every score row of a criterion says alike, worked out once per criterion instance (the
# snapshots of a batch share one instance per criterion among their cases): its code and
# maximum, and the text around them in the row's canonical text.
_ROW_FIXED = "_snapshot_row"
RowFixed = tuple[str, str, str, str]
_ROW_COLUMNS = (
    "value",
    "self_score",
    "note",
    "not_applicable",
    "not_applicable_reason",
    "evidence_explanation",
    "appraised_score",
    "appraised_comment",
    "appraised_round",
)


def _row_fixed(criterion: Criterion) -> RowFixed:
    fixed: RowFixed | None = criterion.__dict__.get(_ROW_FIXED)
    if fixed is None:
        assert SCORE_ROW_COLUMNS == _ROW_COLUMNS, "case_snapshot unpacks the rows in this order"
        code, max_points = canonical_json(criterion.code), str(criterion.max_points)
        fixed = criterion.__dict__[_ROW_FIXED] = (
            json.loads(code),
            max_points,
            f',"criterion":{code},"evidence_explanation":',
            f',"max_points":{canonical_json(max_points)},"not_applicable":',
        )
    return fixed


def _points_text(text: str | None, points: object) -> str:
    """The JSON of a row's points (`text`, their text): a Decimal's text needs no escaping
    (digits, a point, a sign, an exponent, NaN, Infinity); a text of anything else does
    (`encode_basestring` refuses what is not a text with a TypeError)."""
    if text is None:
        return "null"
    if type(points) is Decimal:
        return f'"{text}"'
    return str(encode_basestring(text))


# A batch's memo of the score rows its snapshots wrote (`preload_snapshots`): the value and
# the text of a row, by its criterion's fixed part (`_row_fixed`) and its values, the points
# as their texts. The cases of a batch share their criteria, and many rows of one criterion
# say the same (not scored yet, not appraised yet, the same points, no note): those are
# written once per batch. The memo goes with the batch's cases.
_ROW_MEMO = "_snapshot_row_memo"
_RowMemo = dict[tuple[object, ...], tuple[JsonObject, str]]


def case_snapshot(case: Case) -> Snapshot:
    """The case's score table as it stands, for the immutable snapshot of an audit entry:
    built here alone, from the rows a transition's guards read or a batch preloaded.

    The score rows, most of the snapshot, are written out here as `canonical_json` writes
    them, beside the values they read back as, rather than encoded and then decoded again:
    a batch of the sweep snapshots tens of thousands of rows, and writes a row that says
    what another of its rows said once (`_ROW_MEMO`; its rows' values are shared, as JSON
    values are never changed in place). Points are the text DjangoJSONEncoder writes for a
    Decimal. `tests/workflow/test_snapshot_text.py` holds the text to `canonical_json` of
    the value."""
    rows = case.snapshot_rows()
    memo: _RowMemo | None = case.__dict__.get(_ROW_MEMO)
    scores: list[Json] = []
    written: list[str] = []
    for (
        criterion,
        value_points,
        self_points,
        note,
        not_applicable,
        reason,
        explanation,
        appraised_points,
        comment,
        rounds,
    ) in rows:
        fixed = criterion.__dict__.get(_ROW_FIXED) or _row_fixed(criterion)
        # Points as the text DjangoJSONEncoder writes for a Decimal.
        value = None if value_points is None else str(value_points)
        self_score = None if self_points is None else str(self_points)
        appraised = None if appraised_points is None else str(appraised_points)
        seen: tuple[object, ...] | None = None
        if (
            memo is not None
            and type(not_applicable) is bool
            and (rounds is None or type(rounds) is int)
        ):
            # Values that compare equal are written alike, but for numbers of other types
            # or digits (True and 1, 0.5 and 0.50): the flag and the round are checked as
            # the row text is, and the points go as their texts (`_points_text` writes a
            # text alike whatever points it is the text of).
            seen = (
                fixed,
                value,
                self_score,
                appraised,
                note,
                not_applicable,
                reason,
                explanation,
                comment,
                rounds,
            )
            known = memo.get(seen)
            if known is not None:
                scores.append(known[0])
                written.append(known[1])
                continue
        row: JsonObject = {
            "appraised_comment": comment,
            "appraised_round": rounds,
            "appraised_score": appraised,
            "criterion": fixed[0],
            "evidence_explanation": explanation,
            "max_points": fixed[1],
            "not_applicable": not_applicable,
            "not_applicable_reason": reason,
            "note": note,
            "self_score": self_score,
            "value": value,
        }
        scores.append(row)
        try:
            if type(not_applicable) is not bool or not (rounds is None or type(rounds) is int):
                raise TypeError
            # encode_basestring refuses anything but a text with a TypeError; the text of a
            # Decimal (digits, a point, a sign, an exponent, NaN, Infinity) needs no escaping.
            said = '""' if comment == "" else encode_basestring(comment)
            why = '""' if explanation == "" else encode_basestring(explanation)
            reason_text = '""' if reason == "" else encode_basestring(reason)
            note_text = '""' if note == "" else encode_basestring(note)
            appraised_text = _points_text(appraised, appraised_points)
            self_text = _points_text(self_score, self_points)
            value_text = _points_text(value, value_points)
            written.append(
                f'{{"appraised_comment":{said},'
                f'"appraised_round":{"null" if rounds is None else rounds},'
                f'"appraised_score":{appraised_text}{fixed[2]}{why}{fixed[3]}'
                f"{'true' if not_applicable else 'false'},"
                f'"not_applicable_reason":{reason_text},"note":{note_text},'
                f'"self_score":{self_text},"value":{value_text}}}'
            )
        except TypeError:  # a value of another type than the columns': the encoder's way
            written.append(canonical_json(row))
            scores[-1] = json.loads(written[-1])
        if seen is not None:
            memo[seen] = (scores[-1], written[-1])  # type: ignore[index,assignment]
    texts: dict[str, str] = {}
    snapshot: JsonObject = {}
    heading: tuple[tuple[str, Json], ...] = (
        ("case", case.pk),
        ("unit", case.unit.code),
        ("cycle", case.cycle_id),
        ("state", case.state),
    )
    for key, plain in heading:
        # A whole number or a text reads back as itself; its text is what the encoder writes.
        if type(plain) is int:
            texts[key], snapshot[key] = str(plain), plain
        elif type(plain) is str:
            texts[key], snapshot[key] = encode_basestring(plain), plain
        else:
            texts[key] = canonical_json(plain)
            snapshot[key] = json.loads(texts[key])
    texts["scores"], snapshot["scores"] = "[" + ",".join(written) + "]", scores
    texts["totals"] = canonical_json(totals_from_scores(case, rows).as_dict())
    snapshot["totals"] = json.loads(texts["totals"])
    for name, part in _snapshot_parts.items():
        texts[name] = canonical_json(part(case))
        snapshot[name] = json.loads(texts[name])
    text = "{" + ",".join(f"{_key_text(key)}:{texts[key]}" for key in sorted(texts)) + "}"
    return Snapshot(snapshot, text)


_KEY_TEXTS: dict[str, str] = {}


def _key_text(key: str) -> str:
    """A snapshot key as `canonical_json` writes it, worked out once per key."""
    known = _KEY_TEXTS.get(key)
    if known is None:
        known = _KEY_TEXTS[key] = canonical_json(key)
    return known


def case_transition(
    case: Case,
    *,
    name: str,
    actor: User,
    source: str,
    comment: str,
    data: Mapping[str, Json] | None = None,
    snapshot: bool = False,
    case_locked: bool = False,
    along: bulk.Update | None = None,
) -> AuditEntry:
    """Record a transition of the case (`along`: its UPDATE of the case, not yet sent)."""
    entry = case_transition_entry(
        case, name=name, actor=actor, source=source, comment=comment, data=data, snapshot=snapshot
    )
    _append(entry, case_locked=case_locked, along=along)
    return entry


def case_transition_entry(
    case: Case,
    *,
    name: str,
    actor: User,
    source: str,
    comment: str,
    data: Mapping[str, Json] | None = None,
    snapshot: bool = False,
) -> AuditEntry:
    """The entry of a transition, not yet written (`append_locked` writes a batch of them)."""
    return entry_of(
        CASE_TRANSITION.format(name=name),
        actor=actor,
        case=case,
        obj=case,
        source=source,
        target=case.state,
        comment=comment,
        data=data,
        snapshot=case_snapshot(case) if snapshot else None,
    )


def score_fields(score: Score) -> JsonObject:
    return {
        "value": score.value,
        "self_score": score.self_score,
        "note": score.note,
        "not_applicable": score.not_applicable,
        "not_applicable_reason": score.not_applicable_reason,
        "not_applicable_decision": score.not_applicable_decision,
        "evidence_explanation": score.evidence_explanation,
        "appraised_score": score.appraised_score,
        "appraised_comment": score.appraised_comment,
        "appraised_round": score.appraised_round,
    }


def score_changed(
    score: Score,
    *,
    actor: User,
    before: Mapping[str, Json],
    appraised: bool,
    comment: str = "",
    case_locked: bool = False,
    along: bulk.Update | None = None,
) -> AuditEntry:
    """Record a change of a score (`along`: its UPDATE of the score row, not yet sent)."""
    after = score_fields(score)
    return record(
        SCORE_APPRAISED if appraised else SCORE_SELF,
        actor=actor,
        case=score.case,
        obj=score,
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v},
        comment=comment,
        data={"criterion": score.criterion.code},
        case_locked=case_locked,
        along=along,
    )


def extension_granted(
    extension: Extension, *, actor: User, case: Case, data: Mapping[str, Json] | None = None
) -> AuditEntry:
    """A unit got a later self-assessment or explanation deadline (gia hạn), with the reason."""
    return record(
        EXTENSION_GRANTED,
        actor=actor,
        case=case,
        obj=extension,
        before={"due_date": extension.previous_due},
        after={"due_date": extension.due_date},
        comment=extension.reason,
        data={"kind": extension.kind, **(data or {})},
    )


def calendar_day_changed(
    override: CalendarOverride, *, actor: User, added: bool, reason: str
) -> AuditEntry:
    """The secretariat added or removed a day off or a make-up working day."""
    state: JsonObject = {"day": override.day, "kind": override.kind}
    return record(
        CALENDAR_DAY_ADDED if added else CALENDAR_DAY_REMOVED,
        actor=actor,
        obj=override,
        before=None if added else state,
        after=state if added else None,
        comment=reason,
    )


def survey_imported(
    cycle: Cycle,
    *,
    actor: User,
    survey_import: SurveyImport,
    before_count: int,
    after_count: int,
    changed: int,
    cases_changed: int,
) -> AuditEntry:
    """The cycle-level entry of an accepted survey import (the file is known by its hash)."""
    return record(
        SURVEY_IMPORTED,
        actor=actor,
        cycle=cycle,
        obj=survey_import,
        before={"scores": before_count},
        after={"scores": after_count},
        data={
            "filename": survey_import.filename,
            "sha256": survey_import.sha256,
            "rows": survey_import.row_count,
            "changed": changed,
            "cases_changed": cases_changed,
        },
    )


def survey_scores_changed(
    case: Case,
    *,
    actor: User,
    survey_import: SurveyImport,
    before: Mapping[str, Json],
    after: Mapping[str, Json],
) -> AuditEntry:
    """One entry per case whose survey scores an import changed: criterion → score."""
    return record(
        SCORE_SURVEY,
        actor=actor,
        case=case,
        obj=survey_import,
        before=before,
        after=after,
        data={"sha256": survey_import.sha256},
    )


def ranking_excluded(
    case: Case, *, actor: User, reason: str, follow_up: Mapping[str, Json] | None = None
) -> AuditEntry:
    return record(
        RANKING_EXCLUDED,
        actor=actor,
        case=case,
        obj=case,
        before={"excluded": False},
        after={"excluded": True},
        comment=reason,
        data={"follow_up": follow_up} if follow_up else None,
    )


def ranking_reinstated(case: Case, *, actor: User, reason: str, previous_reason: str) -> AuditEntry:
    return record(
        RANKING_REINSTATED,
        actor=actor,
        case=case,
        obj=case,
        before={"excluded": True, "reason": previous_reason},
        after={"excluded": False},
        comment=reason,
    )


def framework_imported(
    framework: Framework, *, actor: User, filename: str, sha256: str, nodes: int
) -> AuditEntry:
    """A criteria set saved from a workbook (the file is known by its hash)."""
    return record(
        FRAMEWORK_IMPORTED,
        actor=actor,
        cycle=framework.cycle,
        obj=framework,
        after=_framework_facts(framework),
        data={"filename": filename, "sha256": sha256, "criteria": nodes},
    )


def framework_copied(framework: Framework, *, actor: User, source: Framework) -> AuditEntry:
    """A new version of a set, copied from `source` (last year's, or a frozen one)."""
    return record(
        FRAMEWORK_COPIED,
        actor=actor,
        cycle=framework.cycle,
        obj=framework,
        before={"framework": source.pk, "version": source.version},
        after=_framework_facts(framework),
    )


def framework_changed(
    framework: Framework, *, actor: User, change: str, code: str, before: Json, after: Json
) -> AuditEntry:
    """One edit of a set: `change` is what was done (add, remove, move, change, details),
    `before`/`after` the node (or the set's details) as it was and is."""
    return record(
        FRAMEWORK_CHANGED,
        actor=actor,
        cycle=framework.cycle,
        obj=framework,
        before=before,
        after=after,
        data={"change": change, "code": code, "version": framework.version},
    )


def _framework_facts(framework: Framework) -> JsonObject:
    return {
        "title": framework.title,
        "group": framework.unit_group.code,
        "version": framework.version,
        "decision_number": framework.decision_number,
        "decision_date": framework.decision_date,
        "decision_signer": framework.decision_signer,
    }
