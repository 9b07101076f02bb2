"""Backup and restore of a whole installation in one archive (`manage.py backup` / `restore`).

The archive is a tar file holding, in this order:
- `database.sqlite3` (SQLite's online backup: a consistent copy while the site runs) or
  `database.pgdump` (`pg_dump -Fc`);
- `evidence/N`: every object of the evidence store, and on S3 every version of each, read
  after the database copy, so every file the copy refers to is there;
- `keys/secret_key`, `keys/audit.key`: the embedded default's generated keys, when the
  installation uses them (with SECRET_KEY / AUDIT_KEY set in the environment, the operator
  keeps those: the archive names only the audit key ids its entries need);
- `manifest.json` (last, as it carries every part's SHA-256): the audit trail's head, which
  `verify_audit --expect-head` checks on the restored installation.

Restore goes into an empty installation only (no units, cycles, cases, audit entries or
documents, an empty store): it checks everything first and refuses with the reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.utils import timezone

from cases.models import Case, Cycle, Unit
from evidence.models import Document
from evidence.storage import Storage, StorageError, get_storage
from workflow import audit
from workflow.models import AuditEntry

FORMAT = 1
MANIFEST = "manifest.json"
KEY_FILES = ("secret_key", "audit.key")
ANONYMOUS_USER_NAME = "AnonymousUser"  # the row django-guardian creates in every database


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass
class Report:
    database: str = ""
    objects: int = 0
    bytes: int = 0
    head: tuple[int, str] | None = None
    notes: list[str] = field(default_factory=list)


def engine() -> str:
    return "sqlite" if connection.vendor == "sqlite" else "postgresql"


# --- backup -------------------------------------------------------------------------------


def backup(output: Path) -> Report:
    """Write the installation's archive to `output` (a new file)."""
    report = Report()
    # Bind every chain's head into the anchor chain, before the copy so that the copy holds
    # it: the head (entry id and hash) the restored installation is checked against.
    audit.anchor(full=True)
    checked = audit.verify()
    if checked.problem:
        report.notes.append(f"the audit trail does not verify: {checked.problem}")
    report.head = checked.head
    store = get_storage()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": timezone.now().isoformat(),
        "engine": engine(),
        "store": store.name,
        "audit": {
            "head": list(checked.head) if checked.head else None,
            "entries": checked.checked,
            "problem": checked.problem,
            "key_ids": sorted(
                AuditEntry.objects.values_list("key_id", flat=True).distinct().order_by()
            ),
        },
        "objects": [],
        "files": {},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work,
        tarfile.open(output, "x") as tar,
    ):
        database = _copy_database(Path(work))
        report.database = database.name
        manifest["files"][database.name] = _add_file(tar, database, database.name)
        for number, ref in enumerate(store.list_objects()):
            name = f"evidence/{number}"
            with _ChunkReader(store.iter_chunks(ref.key, ref.version_id)) as reader:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = ref.size, int(timezone.now().timestamp()), 0o440
                tar.addfile(info, reader)
            manifest["objects"].append(
                {
                    "member": name,
                    "key": ref.key,
                    "version_id": ref.version_id,
                    "size": ref.size,
                    "sha256": reader.hexdigest(),
                    "last_modified": ref.last_modified.isoformat() if ref.last_modified else "",
                }
            )
            report.objects += 1
            report.bytes += ref.size
        for name in _own_key_files():
            manifest["files"][f"keys/{name}"] = _add_file(
                tar, settings.VAR_DIR / name, f"keys/{name}"
            )
        body = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), int(timezone.now().timestamp()), 0o400
        tar.addfile(info, io.BytesIO(body))
    output.chmod(0o600)  # it may hold the keys, and always holds everyone's data
    return report


def _copy_database(work: Path) -> Path:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        target = work / "database.sqlite3"
        source = sqlite3.connect(db["NAME"])
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # SQLite's online backup: consistent while others write
        finally:
            copy.close()
            source.close()
        return target
    if connection.vendor != "postgresql":
        raise BackupError(f"No backup for the {connection.vendor} database engine.")
    target = work / "database.pgdump"
    _pg("pg_dump", "--format=custom", f"--file={target}", "--no-password")
    return target


def _pg(program: str, *args: str) -> None:
    """Run a PostgreSQL client program on the configured database."""
    db = connection.settings_dict
    if shutil.which(program) is None:
        raise BackupError(
            f"{program} is not installed: install PostgreSQL's client programs "
            "(Debian: postgresql-client), of the server's major version or newer."
        )
    env = dict(os.environ, PGPASSWORD=str(db.get("PASSWORD") or ""))
    command = [program, *args, f"--dbname={db['NAME']}"]
    for flag, value in (("--host", db.get("HOST")), ("--port", db.get("PORT"))):
        if value:
            command.append(f"{flag}={value}")
    if db.get("USER"):
        command.append(f"--username={db['USER']}")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()}")


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> str:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with open(path, "rb") as source:
        reader = _HashingFile(source)
        tar.addfile(info, reader)
    return reader.hexdigest()


def _own_key_files() -> list[str]:
    """The generated keys in VAR_DIR this installation signs with (not ones from the
    environment, which the operator keeps)."""
    values = {"secret_key": settings.SECRET_KEY, "audit.key": settings.AUDIT_KEY}
    names = []
    for name in KEY_FILES:
        path = settings.VAR_DIR / name
        if path.is_file() and path.read_text(encoding="utf-8").strip() == values[name]:
            names.append(name)
    return names


class _HashingFile:
    """A file's reader that hashes what tarfile reads from it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


class _ChunkReader(_HashingFile):
    """A file-like view of a store's chunk iterator, so that objects stream into the tar."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__(io.BytesIO())
        self.chunks = chunks
        self.chunk, self.offset = b"", 0

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size
        while size < 0 or wanted > 0:
            if self.offset >= len(self.chunk):
                chunk = next(self.chunks, None)
                if chunk is None:
                    break
                self.chunk, self.offset = chunk, 0
            left = len(self.chunk) - self.offset
            take = left if size < 0 else min(wanted, left)
            parts.append(self.chunk[self.offset : self.offset + take])
            self.offset += take
            wanted -= take
        data = b"".join(parts)
        self.digest.update(data)
        return data

    def __enter__(self) -> _ChunkReader:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


# --- restore ------------------------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError("This is not a backup of this product: it has no manifest.") from None
    handle = tar.extractfile(member)
    assert handle is not None
    manifest: dict[str, Any] = json.loads(handle.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    return manifest


def holdings() -> list[str]:
    """What this installation already holds ([] for an empty one)."""
    found = []
    try:
        counts = {
            "units": Unit.objects.count(),
            "cycles": Cycle.objects.count(),
            "cases": Case.objects.count(),
            "audit entries": AuditEntry.objects.count(),
            "evidence documents": Document.objects.count(),
            "user accounts": get_user_model()
            .objects.exclude(username__in=[settings.SYSTEM_USERNAME, ANONYMOUS_USER_NAME])
            .count(),
        }
    except DatabaseError:  # not migrated yet: no tables, nothing in them
        connection.close()
        counts = {}
    found += [f"{count} {what}" for what, count in counts.items() if count]
    objects = _stored_objects(get_storage())
    if objects:
        found.append(f"{objects} objects in the evidence store")
    return found


def _stored_objects(store: Storage) -> int:
    from minio.error import S3Error

    try:
        return sum(1 for _ref in store.list_objects())
    except StorageError as exc:
        cause = exc.__cause__
        if isinstance(cause, S3Error) and cause.code == "NoSuchBucket":
            return 0  # not created yet: restore creates it
        raise


def check_restorable(manifest: dict[str, Any], tar: tarfile.TarFile) -> list[str]:
    """Why this archive cannot be restored here ([] if it can)."""
    problems = []
    if manifest["engine"] != engine():
        problems.append(
            f"the archive holds a {manifest['engine']} database and this installation uses "
            f"{engine()}: restore into an installation of the same kind"
        )
    held = holdings()
    if held:
        problems.append(
            "this installation already holds data (" + ", ".join(held) + "): restore only "
            "into an empty one (a new VAR_DIR, or a new database and bucket)"
        )
    available = set(audit.audit_keys())
    if "audit.key" in _keys_to_install(manifest):
        available.add(audit.key_id(_member_text(tar, "keys/audit.key")))
    missing = sorted(set(manifest["audit"]["key_ids"]) - available)
    if missing:
        problems.append(
            f"the audit entries are signed with key(s) {', '.join(missing)}, which this "
            "installation does not have: set AUDIT_KEY (or AUDIT_RETIRED_KEYS) to the old "
            "installation's key"
        )
    return problems


def _keys_to_install(manifest: dict[str, Any]) -> list[str]:
    """The archive's keys this installation takes from VAR_DIR too (keys set in the
    environment stay as they are)."""
    archived = {name.removeprefix("keys/") for name in manifest["files"]}
    return [name for name in _own_key_files() if name in archived]


def _member_text(tar: tarfile.TarFile, name: str) -> str:
    handle = tar.extractfile(name)
    assert handle is not None
    return handle.read().decode("utf-8").strip()


def restore(archive: Path) -> Report:
    report = Report()
    with tarfile.open(archive, "r:") as tar:
        manifest = read_manifest(tar)
        problems = check_restorable(manifest, tar)
        if problems:
            raise BackupError("Not restored, nothing changed: " + "; ".join(problems) + ".")
        head = manifest["audit"]["head"]
        report.head = (int(head[0]), str(head[1])) if head else None
        for name, digest in manifest["files"].items():
            if _member_sha256(tar, name) != digest:
                raise BackupError(f"Not restored, nothing changed: {name} is damaged.")
        database = next(name for name in manifest["files"] if name.startswith("database."))
        report.database = database
        with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".restore-") as work:
            tar.extract(database, work, filter="data")
            _restore_database(Path(work) / database)
        for name in _keys_to_install(manifest):
            target = settings.VAR_DIR / name
            target.write_text(_member_text(tar, f"keys/{name}"), encoding="utf-8")
            target.chmod(0o600)
            report.notes.append(f"{name} restored into {settings.VAR_DIR}")
        _restore_evidence(tar, manifest["objects"], report)
    return report


def _member_sha256(tar: tarfile.TarFile, name: str) -> str:
    handle = tar.extractfile(name)
    assert handle is not None
    digest = hashlib.sha256()
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def _restore_database(copy: Path) -> None:
    connection.close()
    if connection.vendor == "sqlite":
        target = Path(connection.settings_dict["NAME"])
        source, into = sqlite3.connect(copy), sqlite3.connect(target)
        try:
            source.backup(into)  # replaces the (empty) database page by page
        finally:
            into.close()
            source.close()
        return
    _pg(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        str(copy),
    )


def _restore_evidence(tar: tarfile.TarFile, objects: list[dict[str, Any]], report: Report) -> None:
    """Each object back into the store, older versions first; rows follow the new version
    ids (a new bucket gives new ones), and retention is set again where it was."""
    store: Storage = get_storage()
    store.ensure_bucket()
    content_types = dict(Document.objects.values_list("storage_key", "content_type"))
    moved: dict[tuple[str, str], str] = {}
    for item in sorted(objects, key=lambda o: (o["key"], o["last_modified"])):
        handle = tar.extractfile(item["member"])
        assert handle is not None
        content_type = content_types.get(item["key"], "application/octet-stream")
        stored = store.put(item["key"], cast(BinaryIO, handle), item["size"], content_type)
        if stored.sha256 != item["sha256"]:
            raise BackupError(f"evidence object {item['key']} came back different: stopped.")
        moved[item["key"], item["version_id"]] = stored.version_id
        report.objects += 1
        report.bytes += stored.size
    now = timezone.now()
    for document in Document.objects.only("pk", "storage_key", "version_id", "retained_until"):
        new_version = moved.get((document.storage_key, document.version_id))
        if new_version is None:
            report.notes.append(f"document {document.pk}: its file was not in the archive")
            continue
        if new_version != document.version_id:
            # Bookkeeping of where the same bytes now live, not a change to the evidence.
            Document.objects.filter(pk=document.pk).update(version_id=new_version)
        until: datetime | None = document.retained_until
        if until is not None and until > now and store.retention_supported():
            store.retain(document.storage_key, new_version, until)


def verify_restored(head: tuple[int, str] | None) -> subprocess.CompletedProcess[str]:
    """verify_audit in a process of its own: it reads the keys restored just now."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "verify_audit"]
    if head is not None:
        command.append(f"--expect-head={head[0]} {head[1]}")
    return subprocess.run(command, capture_output=True, text=True, check=False)
