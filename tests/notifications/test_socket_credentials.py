"""The live push follows the credential it was opened with: a single-use ticket obtained over
the API opens a socket, and the socket closes when that session or token stops signing its
user in — at once on sign-out, revocation or deactivation, at its next check otherwise.

These tests commit for real (transaction=True): the sockets are told after commit.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases.models import Membership
from cases.permissions import LEADER, SECRETARIAT
from config.asgi import application
from config.auth import create_integration_token, revoke_integration_token
from notifications.models import SocketTicket
from notifications.websocket import CREDENTIAL_ENDED
from ops.models import IntegrationToken
from tests.notifications.helpers import (
    TICKETS,
    age_token,
    redis_layer,
    signed_in_browser,
    submit,
    ticket,
    token_for,
    with_token,
)
from tests.notifications.test_websocket import SAME_SITE, start_appraisal
from workflow import people
from workflow.cycle_services import remove_membership

pytestmark = pytest.mark.django_db(transaction=True)
sync = database_sync_to_async


async def opened(fresh_ticket: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/notifications/?ticket={fresh_ticket}", headers=SAME_SITE
    )
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    return comm


async def refused(fresh_ticket: str) -> bool:
    comm = WebsocketCommunicator(
        application, f"/ws/notifications/?ticket={fresh_ticket}", headers=SAME_SITE
    )
    return await comm.connect(timeout=5) == (False, 1008)


async def closed_for_its_credential(comm: WebsocketCommunicator) -> bool:
    output = await comm.receive_output(timeout=5)
    await comm.disconnect()
    return output == {"type": "websocket.close", "code": CREDENTIAL_ENDED}


# --- the ticket ----------------------------------------------------------------------------


async def test_a_ticket_opens_one_socket_once(world: Any) -> None:
    fresh = await sync(lambda: ticket(with_token(token_for(world.head_a))))()
    comm = await opened(fresh)
    assert await refused(fresh)
    await comm.disconnect()
    assert await sync(lambda: SocketTicket.objects.get().used_at)() is not None


async def test_a_ticket_not_used_in_time_opens_nothing(world: Any) -> None:
    fresh = await sync(lambda: ticket(with_token(token_for(world.head_a))))()
    await sync(SocketTicket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    assert await refused(fresh)


async def test_a_ticket_whose_token_was_revoked_before_use_opens_nothing(world: Any) -> None:
    key = await sync(token_for)(world.head_a)
    fresh = await sync(lambda: ticket(with_token(key)))()
    await sync(Token.objects.filter(key=key).delete)()
    assert await refused(fresh)


async def test_a_ticket_whose_token_grew_too_old_before_use_opens_nothing(
    world: Any, settings: Any
) -> None:
    key = await sync(token_for)(world.head_a)
    fresh = await sync(lambda: ticket(with_token(key)))()
    await sync(age_token)(key, settings.API_TOKEN_TTL_DAYS + 1)
    assert await refused(fresh)


# --- the open socket ends with its credential ----------------------------------------------


async def test_signing_out_closes_that_browsers_sockets_and_no_others(
    world: Any, layer: str
) -> None:
    await sync(submit)(world)
    office, home = (
        await sync(signed_in_browser)(world.head_a),
        await sync(signed_in_browser)(world.head_a),
    )
    office_page = await opened(await sync(ticket)(office))
    home_page = await opened(await sync(ticket)(home))
    script = await opened(await sync(lambda: ticket(with_token(token_for(world.head_a))))())

    csrf = office.cookies["csrftoken"].value
    signed_out = await sync(office.post)(reverse("logout"), HTTP_X_CSRFTOKEN=csrf)
    assert signed_out.status_code == 302

    assert await closed_for_its_credential(office_page)
    await start_appraisal(world)
    for still_open in (home_page, script):
        assert (await still_open.receive_json_from(timeout=5))["kind"] == "appraisal_started"
        await still_open.disconnect()


async def test_revoking_the_token_closes_its_sockets(world: Any) -> None:
    await sync(submit)(world)
    key = await sync(token_for)(world.head_a)
    script = await opened(await sync(lambda: ticket(with_token(key)))())
    page = await opened(await sync(lambda: ticket(signed_in_browser(world.head_a)))())

    revoked = await sync(with_token(key).delete)("/api/v1/auth/token/")
    assert revoked.status_code == 204

    assert await closed_for_its_credential(script)
    await start_appraisal(world)
    assert (await page.receive_json_from(timeout=5))["kind"] == "appraisal_started"
    await page.disconnect()


async def test_an_integration_token_opens_the_push_until_it_is_revoked(world: Any) -> None:
    await sync(submit)(world)
    token, key = await sync(create_integration_token)(world.head_a, "Cổng dữ liệu của Sở")
    integration = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    fresh = await sync(ticket)(integration)
    assert await sync(lambda: SocketTicket.objects.get().kind)() == "integration"
    program = await opened(fresh)
    page = await opened(await sync(lambda: ticket(signed_in_browser(world.head_a)))())

    await sync(revoke_integration_token)(world.head_a, token.pk)

    assert await closed_for_its_credential(program)
    await start_appraisal(world)
    assert (await page.receive_json_from(timeout=5))["kind"] == "appraisal_started"
    await page.disconnect()


@pytest.mark.parametrize("ending", ["expires_at", "revoked_at"])
async def test_an_integration_token_that_ends_unannounced_closes_at_the_next_check(
    world: Any, settings: Any, ending: str
) -> None:
    """It expired while open, or its revocation's message was lost (written straight into
    the table: no signal tells the sockets)."""
    settings.WEBSOCKET_RECHECK_SECONDS = 0.2
    token, key = await sync(create_integration_token)(world.head_a, "Cổng dữ liệu của Sở")
    program = await opened(await sync(ticket)(Client(HTTP_AUTHORIZATION=f"Bearer {key}")))
    assert await program.receive_nothing(timeout=0.5)  # checked, still good

    await sync(IntegrationToken.objects.filter(pk=token.pk).update)(
        **{ending: timezone.now() - timedelta(seconds=1)}
    )

    assert await closed_for_its_credential(program)


async def test_deactivating_the_account_closes_all_its_sockets(world: Any) -> None:
    await sync(submit)(world)
    script = await opened(await sync(lambda: ticket(with_token(token_for(world.head_a))))())
    page = await opened(await sync(lambda: ticket(signed_in_browser(world.head_a)))())
    colleague = await opened(await sync(lambda: ticket(with_token(token_for(world.staff_a))))())

    await sync(people.deactivate)(world.head_a.pk, actor=world.secretariat, reason="Nghỉ hưu")

    assert await closed_for_its_credential(script)
    assert await closed_for_its_credential(page)
    await start_appraisal(world)
    assert (await colleague.receive_json_from(timeout=5))["kind"] == "appraisal_started"
    await colleague.disconnect()


async def test_a_token_that_grows_too_old_while_open_closes_the_socket_at_the_next_check(
    world: Any, settings: Any
) -> None:
    """No event announces an expiry: the socket finds it out by checking its credential."""
    settings.WEBSOCKET_RECHECK_SECONDS = 0.2
    key = await sync(token_for)(world.head_a)
    script = await opened(await sync(lambda: ticket(with_token(key)))())
    page = await opened(await sync(lambda: ticket(signed_in_browser(world.head_a)))())
    assert await script.receive_nothing(timeout=0.5)  # checked, still good

    await sync(age_token)(key, settings.API_TOKEN_TTL_DAYS + 1)

    assert await closed_for_its_credential(script)
    assert await page.receive_nothing(timeout=0.5)
    await page.disconnect()


async def test_a_session_that_ends_without_a_sign_out_closes_its_socket_at_the_next_check(
    world: Any, settings: Any
) -> None:
    """The session expired, or a password change elsewhere invalidated it: no sign-out."""
    settings.WEBSOCKET_RECHECK_SECONDS = 0.2
    expired, other_password = (
        await sync(signed_in_browser)(world.head_a),
        await sync(signed_in_browser)(world.staff_a),
    )
    expiring_page = await opened(await sync(ticket)(expired))
    staff_page = await opened(await sync(ticket)(other_password))

    await sync(Session.objects.filter(session_key=expired.cookies["sessionid"].value).update)(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    def change_password_elsewhere() -> None:
        world.staff_a.set_password("một mật khẩu mới 2026")
        world.staff_a.save()

    await sync(change_password_elsewhere)()

    assert await closed_for_its_credential(expiring_page)
    assert await closed_for_its_credential(staff_page)


# --- a change of role -------------------------------------------------------------------------


async def test_a_member_removed_from_the_unit_hears_nothing_more_of_it(world: Any) -> None:
    """Rights are read per request and per notification, not kept by the socket or the token:
    the same token no longer opens the case, the open socket no longer hears of it."""
    await sync(submit)(world)
    key = await sync(token_for)(world.staff_a)
    removed = await opened(await sync(lambda: ticket(with_token(key)))())
    head = await opened(await sync(lambda: ticket(with_token(token_for(world.head_a))))())
    case_url = f"/api/v1/cases/{world.case_a.pk}/"
    assert (await sync(with_token(key).get)(case_url)).status_code == 200

    membership = await sync(Membership.objects.get)(
        user=world.staff_a, unit_id=world.case_a.unit_id
    )
    await sync(remove_membership)(membership, actor=world.secretariat)

    assert (await sync(with_token(key).get)(case_url)).status_code == 404
    await start_appraisal(world)
    assert (await head.receive_json_from(timeout=5))["kind"] == "appraisal_started"
    assert await removed.receive_nothing(timeout=0.5)
    await head.disconnect()
    await removed.disconnect()


async def test_a_role_that_requires_a_second_factor_ends_a_session_made_without_one(
    world: Any, settings: Any
) -> None:
    """Made secretariat while signed in with the password alone: the open page's socket
    closes at once, and its session gets no new ticket (the page then stops asking)."""
    settings.TWO_FACTOR_REQUIRED = True
    browser = await sync(signed_in_browser)(world.staff_a)
    page = await opened(await sync(ticket)(browser))
    colleague = await opened(await sync(lambda: ticket(signed_in_browser(world.head_a)))())

    secretariat = await sync(Group.objects.get)(name=SECRETARIAT)
    await sync(world.staff_a.groups.add)(secretariat)

    assert await closed_for_its_credential(page)
    csrf = browser.cookies["csrftoken"].value
    asked = await sync(browser.post)(TICKETS, HTTP_X_CSRFTOKEN=csrf)
    assert asked.status_code == 401
    assert await colleague.receive_nothing(timeout=0.5)  # another user is not concerned
    await colleague.disconnect()


def _page(user: User) -> tuple[Client, str]:
    browser = signed_in_browser(user)
    return browser, ticket(browser)


def _script(user: User) -> tuple[Client, str]:
    script = with_token(token_for(user))
    return script, ticket(script)


def _integration(user: User) -> tuple[Client, str]:
    _token, key = create_integration_token(user, "Cổng dữ liệu của Sở")
    program = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return program, ticket(program)


@pytest.mark.parametrize("holder", [_page, _script, _integration])
async def test_a_socket_finds_out_at_its_next_check_if_the_role_change_was_not_announced(
    world: Any, settings: Any, holder: Any
) -> None:
    """Made secretariat with no second factor set up, the message lost: whatever the
    credential, the socket closes at its next check, as the API now refuses that credential."""
    settings.TWO_FACTOR_REQUIRED = True
    settings.WEBSOCKET_RECHECK_SECONDS = 0.2
    client, fresh = await sync(holder)(world.staff_a)
    socket = await opened(fresh)
    assert await socket.receive_nothing(timeout=0.5)  # checked, still good

    secretariat = await sync(Group.objects.get)(name=SECRETARIAT)
    # Written straight into the table: no signal tells the sockets.
    await sync(User.groups.through.objects.create)(user=world.staff_a, group=secretariat)

    assert await closed_for_its_credential(socket)
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value} if client.cookies else {}
    assert (await sync(client.post)(TICKETS, **headers)).status_code == 401


@pytest.mark.parametrize("side", ["group", "user"])
async def test_emptying_a_role_at_once_closes_the_sockets_of_everyone_removed(
    world: Any, layer: str, side: str
) -> None:
    """`clear()` from either side of the relation, as `remove()` does: the sockets close at
    once (the next check is a minute away), and those of whoever kept their role stay open."""
    leader = await sync(Group.objects.get)(name=LEADER)
    deputy = world.secretariat
    await sync(deputy.groups.add)(leader)
    removed = [
        await opened(await sync(lambda u=u: _script(u)[1])()) for u in (world.leader, deputy)
    ]
    colleague = await opened(await sync(lambda: _script(world.auditor)[1])())

    if side == "group":
        await sync(leader.user_set.clear)()
    else:
        await sync(world.leader.groups.clear)()
        await sync(deputy.groups.clear)()

    for socket in removed:
        assert await closed_for_its_credential(socket)
    assert await colleague.receive_nothing(timeout=0.5)
    await colleague.disconnect()


async def test_a_role_changed_by_a_synchronous_caller_in_a_thread_running_an_event_loop_closes(
    world: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a sync Playwright test calls the ORM, with its event loop running in that thread,
    where `async_to_sync` refuses to run: the sockets are told all the same."""
    settings.CHANNEL_LAYERS = redis_layer(os.environ["TEST_REDIS_URL"])
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    leader = await sync(Group.objects.get)(name=LEADER)
    socket = await opened(await sync(lambda: _script(world.leader)[1])())

    try:
        world.leader.groups.remove(leader)  # synchronous, in the thread of this test's loop
    finally:
        connection.close()  # that thread's own connection: the database is dropped at the end

    assert await closed_for_its_credential(socket)


async def test_making_an_account_a_superuser_or_no_longer_one_closes_its_sockets_at_once(
    world: Any, settings: Any
) -> None:
    """The superuser is a global role too, and one that requires a second factor: a page
    signed in on the password alone is closed at once, not at its next check a minute later."""
    settings.TWO_FACTOR_REQUIRED = True
    page = await opened(await sync(lambda: _page(world.staff_a)[1])())
    colleague = await opened(await sync(lambda: _script(world.head_a)[1])())

    def change_superuser(user: User, value: bool) -> None:
        user.is_superuser = value
        user.save()  # as the admin's change form saves it

    await sync(change_superuser)(world.staff_a, True)
    assert await closed_for_its_credential(page)

    settings.TWO_FACTOR_REQUIRED = False
    page = await opened(await sync(lambda: _page(world.staff_a)[1])())
    await sync(change_superuser)(world.staff_a, False)
    assert await closed_for_its_credential(page)

    await sync(change_superuser)(world.head_a, False)  # saved, unchanged: no reason to close
    assert await colleague.receive_nothing(timeout=0.5)
    await colleague.disconnect()


async def test_deleting_a_role_closes_the_sockets_of_everyone_who_held_it(world: Any) -> None:
    """Its memberships go with it in a cascade, which sends no m2m signal."""
    leader = await sync(Group.objects.get)(name=LEADER)
    member = await opened(await sync(lambda: _script(world.leader)[1])())
    colleague = await opened(await sync(lambda: _script(world.auditor)[1])())

    await sync(leader.delete)()

    assert await closed_for_its_credential(member)
    assert await colleague.receive_nothing(timeout=0.5)
    await colleague.disconnect()
