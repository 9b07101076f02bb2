"""The live push over /ws/notifications/, with the in-memory layer and with a real Redis.

These tests commit for real (transaction=True): pushes go out after commit only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connections, transaction

from config.asgi import application
from notifications import delivery
from notifications.delivery import user_group
from notifications.models import Delivery, Notification
from tests.notifications.helpers import (
    redis_layer,
    signed_in_browser,
    submit,
    ticket,
    token_for,
    with_token,
)
from workflow import services as wf

pytestmark = pytest.mark.django_db(transaction=True)
# A page of this site, as a browser opens its socket.
SAME_SITE = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


async def tab(user: User, *, how: str = "token") -> WebsocketCommunicator:
    """An open page of the user, connected with a ticket obtained with an API token or a
    session of its own, and past the hello frame."""

    def get_ticket() -> str:
        if how == "session":
            return ticket(signed_in_browser(user))
        return ticket(with_token(token_for(user)))

    path = f"/ws/notifications/?ticket={await database_sync_to_async(get_ticket)()}"
    comm = WebsocketCommunicator(application, path, headers=SAME_SITE)
    connected, _protocol = await comm.connect(timeout=5)
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return comm


async def resubscribed(comm: WebsocketCommunicator, user_id: int) -> None:
    """Wait until the page's subscription works again after a Redis restart (redis-py
    resubscribes when the layer's receiver next polls): probes are sent until one arrives."""
    layer = get_channel_layer()
    probe = {"type": "notification.message", "payload": {"type": "probe"}}
    for _ in range(50):
        with contextlib.suppress(Exception):
            await layer.group_send(user_group(user_id), probe)
        # receive_nothing, not a receive with a timeout: that would cancel the application.
        if not await comm.receive_nothing(timeout=0.2):
            assert (await comm.receive_json_from())["type"] == "probe"
            while not await comm.receive_nothing(timeout=0.3):  # late duplicate probes
                await comm.receive_output()
            return
    raise AssertionError("the page did not get its subscription back")


async def start_appraisal(w: Any) -> None:
    await database_sync_to_async(wf.run_transition)(
        w.case_a.pk, "start_appraisal", actor=w.secretariat
    )


async def test_a_socket_without_a_valid_ticket_is_closed_as_a_policy_violation(
    world: Any,
) -> None:
    key = await database_sync_to_async(token_for)(world.head_a)
    # An API token in the address opens nothing: it would be written to the access log.
    for query in ("", "?ticket=wrong", f"?token={key}", f"?ticket={key}"):
        comm = WebsocketCommunicator(application, f"/ws/notifications/{query}", headers=SAME_SITE)
        assert await comm.connect(timeout=5) == (False, 1008)


@pytest.mark.parametrize(
    "origin", [b"https://evil.example", b"https://testserver", b"http://testserver:8443"]
)
async def test_a_page_from_another_site_scheme_or_port_is_refused(
    world: Any, origin: bytes
) -> None:
    fresh = await database_sync_to_async(lambda: ticket(with_token(token_for(world.head_a))))()
    comm = WebsocketCommunicator(
        application,
        f"/ws/notifications/?ticket={fresh}",
        headers=[(b"host", b"testserver"), (b"origin", origin)],
    )
    connected, _ = await comm.connect(timeout=5)
    assert not connected


async def test_a_signed_in_browser_connects_with_a_ticket_from_its_session(world: Any) -> None:
    comm = await tab(world.head_a, how="session")
    await comm.disconnect()


async def test_malformed_messages_get_an_error_frame_and_the_connection_stays(
    world: Any, layer: str
) -> None:
    comm = await tab(world.head_a)
    for bad in ("not json", "[1, 2]", json.dumps({"type": "dance"})):
        await comm.send_to(text_data=bad)
        assert (await comm.receive_json_from(timeout=5))["type"] == "error"
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await comm.receive_json_from(timeout=5))["type"] == "error"
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
    await comm.disconnect()


async def test_a_page_acking_with_an_id_that_is_not_a_number_is_told_and_stays_connected(
    world: Any, layer: str
) -> None:
    comm = await tab(world.head_a)
    for bad in ("twelve", [12], {"id": 12}, True, None, 12.5, 2**63, -3):
        await comm.send_json_to({"type": "ack", "id": bad})
        answer = await comm.receive_json_from(timeout=5)
        assert answer["type"] == "error", bad
        assert '"id": 12' in answer["detail"]
    # A number no notification has is read, and simply not recorded.
    await comm.send_json_to({"type": "ack", "id": 999999})
    assert await comm.receive_json_from(timeout=5) == {
        "type": "acked",
        "id": 999999,
        "recorded": False,
    }
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
    assert not await database_sync_to_async(
        Delivery.objects.filter(confirmed_at__isnull=False).exists
    )()
    await comm.disconnect()


async def test_a_transition_reaches_every_tab_of_the_unit_and_nobody_else(
    world: Any, layer: str
) -> None:
    await database_sync_to_async(submit)(world)
    head_tab1, head_tab2 = await tab(world.head_a), await tab(world.head_a, how="session")
    staff = await tab(world.staff_a)
    others = [
        await tab(u) for u in (world.head_b, world.staff_b, world.secretariat, world.outsider)
    ]

    await start_appraisal(world)

    received = {}
    for name, comm in (("head1", head_tab1), ("head2", head_tab2), ("staff", staff)):
        received[name] = await comm.receive_json_from(timeout=5)
        assert received[name]["kind"] == "appraisal_started"
        assert received[name]["case"] == world.case_a.pk
        assert "Sở Tư pháp" in received[name]["text"]
        assert received[name]["unread"] == 1
    assert received["head1"]["id"] == received["head2"]["id"] != received["staff"]["id"]
    for comm in others:
        assert await comm.receive_nothing(timeout=0.3)
    for comm in (head_tab1, head_tab2, staff, *others):
        await comm.disconnect()


async def test_nothing_is_pushed_for_a_rolled_back_transition(world: Any, layer: str) -> None:
    await database_sync_to_async(submit)(world)
    head = await tab(world.head_a)

    def fails_after_the_transition() -> None:
        with transaction.atomic():
            wf.apply_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
            raise RuntimeError("a later step of the same transaction failed")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(fails_after_the_transition)()
    assert await head.receive_nothing(timeout=0.5)
    assert not await database_sync_to_async(
        Notification.objects.filter(kind="appraisal_started").exists
    )()
    await head.disconnect()


async def test_a_page_confirms_what_it_received(world: Any, layer: str) -> None:
    await database_sync_to_async(submit)(world)
    head, other = await tab(world.head_a), await tab(world.staff_a)
    await start_appraisal(world)
    pushed = await head.receive_json_from(timeout=5)
    await head.send_json_to({"type": "ack", "id": pushed["id"]})
    assert await head.receive_json_from(timeout=5) == {
        "type": "acked",
        "id": pushed["id"],
        "recorded": True,
    }
    push = await database_sync_to_async(Delivery.objects.get)(
        notification_id=pushed["id"], channel="push"
    )
    assert push.status == "delivered" and push.confirmed_at is not None
    # Someone else's notification cannot be confirmed from this page.
    theirs = await other.receive_json_from(timeout=5)
    await head.send_json_to({"type": "ack", "id": theirs["id"]})
    assert (await head.receive_json_from(timeout=5))["recorded"] is False
    await head.disconnect()
    await other.disconnect()


async def _push_left_for_the_worker(world: Any) -> tuple[Notification, Delivery]:
    """The unit head's notice of the appraisal's start, and its push, left pending for the
    worker after the push failed once (Redis down), with the reason kept."""
    row = await database_sync_to_async(Notification.objects.get)(
        recipient=world.head_a, kind="appraisal_started"
    )
    push = await database_sync_to_async(Delivery.objects.get)(notification=row, channel="push")
    assert (push.status, push.attempts, push.delivered_at) == ("pending", 1, None)
    assert push.last_error
    return row, push


async def test_with_redis_down_the_transition_succeeds_and_the_push_arrives_after_it_returns(
    world: Any, own_redis: Any, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = redis_layer(own_redis.url)
    settings.NOTIFY_PUSH_TIMEOUT = 2
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # due again at once, so the worker takes it now
    await database_sync_to_async(submit)(world)
    page = await tab(world.head_a)

    own_redis.stop()
    await start_appraisal(world)  # does not raise

    case_state = await database_sync_to_async(
        lambda: type(world.case_a).objects.get(pk=world.case_a.pk).state
    )()
    assert case_state == "appraising"
    row, push = await _push_left_for_the_worker(world)

    own_redis.start()
    await resubscribed(page, world.head_a.pk)  # the page that stayed open is back on Redis
    reopened = await tab(world.head_a)  # and a page opened after Redis returned
    await database_sync_to_async(call_command)("deliver_notifications")
    for comm in (page, reopened):
        pushed = await comm.receive_json_from(timeout=5)
        assert pushed["id"] == row.pk
        await comm.disconnect()
    push = await database_sync_to_async(Delivery.objects.get)(pk=push.pk)
    assert (push.status, push.attempts) == ("delivered", 2)


async def test_outside_a_server_loop_pushes_go_straight_to_redis_and_outlive_an_outage(
    world: Any, own_redis: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep, the notifier and the commands run no event loop: on Redis their pushes go
    from their own thread, a transaction's in one pipeline (no loop to hand them to), reach
    the pages through the layer, and with Redis down are left to the worker, never raised;
    the same client pushes again once Redis is back."""
    settings.CHANNEL_LAYERS = redis_layer(own_redis.url)
    settings.NOTIFY_PUSH_TIMEOUT = 2
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # due again at once, so the worker takes it now
    pipelines: list[int] = []
    executing = redis.client.Pipeline.execute

    def recorded(pipe: redis.client.Pipeline, raise_on_error: bool = True) -> list[Any]:
        pipelines.append(len(pipe.command_stack))
        return executing(pipe, raise_on_error)

    async def not_on_a_loop(messages: Any, timeout: float) -> list[str | None]:
        raise AssertionError("a push on Redis went through an event loop")

    monkeypatch.setattr(redis.client.Pipeline, "execute", recorded)
    monkeypatch.setattr(delivery, "send_all", not_on_a_loop)

    async def in_a_plain_thread(work: Callable[[], object]) -> None:
        """`work` in a thread of no server's (not sync_to_async's), on its own connection."""

        def run() -> None:
            try:
                work()
            finally:
                connections.close_all()

        await asyncio.to_thread(run)

    office, unit = await tab(world.secretariat), await tab(world.head_a)
    await in_a_plain_thread(lambda: submit(world))
    told = await database_sync_to_async(Notification.objects.get)(kind="submitted")
    assert (await office.receive_json_from(timeout=5))["id"] == told.pk

    own_redis.stop()
    await in_a_plain_thread(
        lambda: wf.run_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
    )  # does not raise
    row, push = await _push_left_for_the_worker(world)

    own_redis.start()
    await resubscribed(unit, world.head_a.pk)
    await in_a_plain_thread(lambda: call_command("deliver_notifications"))
    assert (await unit.receive_json_from(timeout=5))["id"] == row.pk
    push = await database_sync_to_async(Delivery.objects.get)(pk=push.pk)
    assert (push.status, push.attempts) == ("delivered", 2)
    # One pipeline each: the submit's push, the four of the start (Redis down), the worker's
    # four again.
    assert pipelines == [1, 4, 4]
    for comm in (office, unit):
        await comm.disconnect()
