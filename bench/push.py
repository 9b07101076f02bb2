"""Live push latency: a committed transition → its notification in 500 open pages.

The real path, end to end: 500 WebSocket clients (autobahn, in a process of their own)
connected to uvicorn on loopback (the server production runs, two worker processes) running
the product's ASGI application, the Redis channel layer between uvicorn and this process.
Each round either

- runs a transition here (start_appraisal of a unit with 500 members): inbox rows and
  deliveries written in its transaction, then after commit the payloads, published to the
  recipients' groups in one Redis pipeline (`notifications.redis_push`); or
- the baseline: a raw `group_send` of a message of the same size to the same 500 per-user
  groups (no database), from this process, in the same run.

Latency = arrival in the client process − the moment the transaction committed (or the
baseline started), on the machine's monotonic clock shared by the processes. Prints p50, p95
and max over every client of every round. Needs DATABASE_URL (PostgreSQL) and TEST_REDIS_URL;
works in a database of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench.common, and the apps before this folder's scripts of the same names
sys.path.insert(0, str(ROOT))

from bench.common import free_port, own_database  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_PUSH_CLIENTS", "500"))
ROUNDS = int(os.environ.get("BENCH_PUSH_ROUNDS", "8"))
clock = time.monotonic  # CLOCK_MONOTONIC: one clock for every process of the machine
SENT: dict[str, list[float]] = {"baseline": [], "transition": []}


# --- the client process -------------------------------------------------------------------


def run_clients(port: int, tickets: list[str], rounds: int) -> None:
    """Open one WebSocket per ticket; print DONE k when every client has its k-th message."""
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    arrivals: list[list[float]] = [[] for _ in range(rounds)]
    counts = [0] * len(tickets)
    ready = asyncio.Event()
    opened = [0]
    finished = asyncio.Event()

    def make_protocol(index: int) -> type[WebSocketClientProtocol]:
        class Page(WebSocketClientProtocol):
            def onMessage(self, payload: bytes, is_binary: bool) -> None:
                at = clock()
                message = json.loads(payload)
                if message["type"] == "hello":
                    opened[0] += 1
                    if opened[0] == len(tickets):
                        ready.set()
                    return
                if message["type"] != "notification":
                    print(f"UNEXPECTED {message}", flush=True)
                    return
                k = counts[index]
                counts[index] += 1
                if k >= rounds:
                    print(f"EXTRA message for client {index}", flush=True)
                    return
                arrivals[k].append(at)
                if len(arrivals[k]) == len(tickets):
                    print(f"DONE {k}", flush=True)
                    if k == rounds - 1:
                        finished.set()

            def onClose(self, was_clean: bool, code: int | None, reason: str | None) -> None:
                if not finished.is_set():
                    print(f"CLOSED client {index} code {code} {reason}", flush=True)

        return Page

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(50)

        async def connect(index: int, ticket: str) -> None:
            factory = WebSocketClientFactory(
                f"ws://127.0.0.1:{port}/ws/notifications/?ticket={ticket}"
            )
            factory.protocol = make_protocol(index)
            factory.setProtocolOptions(openHandshakeTimeout=120)
            async with gate:
                await loop.create_connection(factory, "127.0.0.1", port)

        await asyncio.gather(*(connect(i, t) for i, t in enumerate(tickets)))
        await asyncio.wait_for(ready.wait(), 120)
        print("READY", flush=True)
        await asyncio.wait_for(finished.wait(), 600)
        print("RESULT " + json.dumps(arrivals), flush=True)

    asyncio.run(main())


# --- the driver ---------------------------------------------------------------------------


class Lines:
    """Lines printed by a child process, read by a thread so that waits can time out."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put("EOF")

    def expect(self, prefix: str, timeout: float) -> str:
        deadline = clock() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(deadline - clock(), 0.01))
            except queue.Empty:
                raise RuntimeError(f"no {prefix!r} from the clients in {timeout} s") from None
            if line.startswith(prefix):
                return line
            if line.startswith(("UNEXPECTED", "EXTRA", "CLOSED", "EOF", "Traceback")):
                raise RuntimeError(f"client process: {line}")


def build_province(n: int) -> Any:
    """One unit with n members (1 head, n−1 staff) whose case waits in `submitted`."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from cases import frameworks
    from cases.models import Case, Cycle, Membership, Unit, UnitGroup
    from cases.permissions import SECRETARIAT, ensure_role_groups
    from deadlines.calendar import local_date
    from workflow import cycle_services

    ensure_role_groups()
    today = local_date(timezone.now())
    secretariat = User.objects.create_user("secretariat")
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    unit = Unit.objects.create(code="SNV", name="Sở Nội vụ", group=group)
    cycle = Cycle.objects.create(
        year=today.year,
        title=f"Chỉ số CCHC {today.year}",
        authority="UBND tỉnh",
        self_assessment_due=today + timedelta(days=300),
        appraisal_due=today + timedelta(days=400),
    )
    frameworks.load_builtin("khoi_so", cycle=cycle, unit_group=group)
    users = User.objects.bulk_create(
        [User(username=f"snv.member{i:03d}", first_name="Cán bộ", password="!") for i in range(n)]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, unit=unit, role="head" if i == 0 else "staff")
            for i, u in enumerate(users)
        ]
    )
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    case = Case.objects.get(cycle=cycle, unit=unit)
    return case, secretariat, [u.pk for u in users]


def tickets_for(user_ids: list[int]) -> list[str]:
    """A live-push ticket per member, obtained with their API token as a script would (the
    service the API's view calls), good for long enough to open 500 sockets."""
    from django.contrib.auth.models import User
    from django.test import override_settings
    from rest_framework.authtoken.models import Token

    from notifications.sockets import TOKEN, issue_ticket

    keys = dict(Token.objects.filter(user_id__in=user_ids).values_list("user_id", "key"))
    users = User.objects.in_bulk(user_ids)
    with override_settings(WEBSOCKET_TICKET_SECONDS=600):
        return [issue_ticket(users[uid], TOKEN, keys[uid]).value for uid in user_ids]


def transition_round(case: Any, secretariat: Any) -> tuple[float, float]:
    """start_appraisal as the service runs it; returns (commit time, transaction time)."""
    from django.db import transaction

    from cases.models import Case
    from workflow.services import apply_transition

    Case.objects.filter(pk=case.pk).update(state=Case.State.SUBMITTED)  # set-up, not measured
    committed: list[float] = []
    began = clock()
    with transaction.atomic():
        # Registered before the transition's own callbacks, so it runs first after COMMIT.
        transaction.on_commit(lambda: committed.append(clock()))
        apply_transition(case.pk, "start_appraisal", actor=secretariat)
    SENT["transition"].append(clock() - committed[0])  # the after-commit attempt
    return committed[0], committed[0] - began


def baseline_round(user_ids: list[int], k: int) -> float:
    """A raw group_send of a same-sized message to the same per-user groups."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from notifications.delivery import user_group

    layer = get_channel_layer()
    text = "Hồ sơ tự đánh giá Chỉ số CCHC năm 2026 của Sở Nội vụ đã được đưa vào thẩm định."

    async def send_all(started: list[float]) -> None:
        started.append(clock())
        for uid in user_ids:
            await layer.group_send(
                user_group(uid),
                {
                    "type": "notification.message",
                    "payload": {
                        "type": "notification",
                        "id": -k,
                        "kind": "baseline",
                        "case": 1,
                        "text": text,
                        "text_vi": text,
                        "text_en": text,
                        "link": "/cases/1/",
                        "created_at": "2026-01-01T00:00:00+07:00",
                        "unread": 1,
                    },
                },
            )

    started: list[float] = []
    async_to_sync(send_all)(started)
    SENT["baseline"].append(clock() - started[0])
    return started[0]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--clients":
        run_clients(int(sys.argv[2]), sys.stdin.read().split(), int(sys.argv[3]))
        return 0
    database_url, redis_url = os.environ["DATABASE_URL"], os.environ["TEST_REDIS_URL"]
    db_url, drop_db = own_database(database_url, "bench_push")
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "NOTIFY_PUSH_TIMEOUT": "10",
        "DB_CONN_MAX_AGE": "60",  # as in production (.env.example)
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    procs: list[subprocess.Popen[str]] = []
    try:
        call_command("migrate", verbosity=0)
        case, secretariat, user_ids = build_province(CLIENTS)
        port = free_port()
        server = subprocess.Popen(
            [
                *(str(ROOT / ".venv/bin/uvicorn"), "config.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
                *("--log-level", "warning"),
            ],
            cwd=ROOT,
            env=env,
            text=True,
        )
        procs.append(server)
        deadline = time.monotonic() + 120  # two workers loading Django on a busy machine
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.1)
        total_rounds = 2 * (ROUNDS + 1)  # one warm-up round of each kind
        clients = subprocess.Popen(
            [sys.executable, __file__, "--clients", str(port), str(total_rounds)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(clients)
        assert clients.stdin is not None
        clients.stdin.write("\n".join(tickets_for(user_ids)))
        clients.stdin.close()
        lines = Lines(clients)
        lines.expect("READY", 180)

        starts: dict[str, list[float]] = {"baseline": [], "transition": []}
        transaction_times: list[float] = []
        k = 0
        for r in range(ROUNDS + 1):
            for kind in ("baseline", "transition"):
                if kind == "baseline":
                    t0 = baseline_round(user_ids, k)
                else:
                    t0, spent = transition_round(case, secretariat)
                    if r:
                        transaction_times.append(spent)
                lines.expect(f"DONE {k}", 60)
                starts[kind].append(t0 if r else float("nan"))
                k += 1
        arrivals = json.loads(lines.expect("RESULT ", 60)[len("RESULT ") :])
        clients.wait(30)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        from django.db import connections

        connections.close_all()
        drop_db()

    latencies: dict[str, list[float]] = {"baseline": [], "transition": []}
    last: dict[str, list[float]] = {"baseline": [], "transition": []}
    for index, times in enumerate(arrivals):
        kind = "baseline" if index % 2 == 0 else "transition"
        t0 = starts[kind][index // 2]
        if t0 != t0:  # warm-up round
            continue
        latencies[kind] += [(t - t0) * 1000 for t in times]
        last[kind].append((max(times) - t0) * 1000)

    def row(label: str, values: list[float]) -> str:
        return (
            f"{label:<34}{pct(values, 50):>9.1f}{pct(values, 95):>9.1f}{max(values):>9.1f}"
            f"{len(values):>9}"
        )

    print(
        f"Live push to {CLIENTS} WebSocket clients (real sockets to uvicorn on loopback, "
        f"Redis Pub/Sub channel layer), {ROUNDS} rounds each after a warm-up; ms from commit/send"
    )
    print(f"{'':<34}{'p50':>9}{'p95':>9}{'max':>9}{'samples':>9}")
    print(row("baseline: raw group_send", latencies["baseline"]))
    print(row("committed transition → page", latencies["transition"]))
    ratio = pct(latencies["transition"], 95) / pct(latencies["baseline"], 95)
    p95 = pct(latencies["transition"], 95)
    print(
        f"p95 ratio transition/baseline: {ratio:.2f}× (target ≤ 2×); transition p95 {p95:.0f} ms "
        f"(target < 1000 ms): {'met' if ratio <= 2 and p95 < 1000 else 'NOT MET'}"
    )
    print(
        f"transition itself (lock, guards, audit, {CLIENTS} inbox rows + deliveries, commit): "
        f"median {statistics.median(transaction_times) * 1000:.0f} ms; last page reached after "
        f"median {statistics.median(last['transition']):.0f} ms "
        f"(baseline {statistics.median(last['baseline']):.0f} ms)"
    )
    print(
        "sender busy after commit (baseline: the sends; transition: payloads, sends, recording "
        "the outcomes, the e-mail claim): "
        f"median {statistics.median(SENT['baseline'][1:]) * 1000:.0f} ms / "
        f"{statistics.median(SENT['transition'][1:]) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
