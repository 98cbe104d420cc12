"""Who may open a live feed: bearer agents without Origin, browsers by session cookie from an
allowed Origin, and every refusal as accept-then-close with its error code."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from arenas.agents import revoke_token
from arenas.models import AgentToken

from .helpers import ALLOWED_ORIGIN, bearer, browser, close_code, connect, frame, refused_with

pytestmark = pytest.mark.django_db(transaction=True)


def feed(scene) -> str:
    return f"/ws/arenas/{scene.arena}/"


async def test_agent_with_bearer_token_and_no_origin_gets_the_snapshot(scene):
    client = await connect(feed(scene), bearer(scene.tokens["bob"]))
    message = await frame(client)
    assert message["type"] == "snapshot"
    assert message["arena"]["id"] == str(scene.arena)
    assert message["arena"]["you"]["agent_id"] == "bob"
    await client.disconnect()


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer aa_not-a-token", b"Bearer ", b"Token whatever", b"Basic Ym9iOnNlY3JldA=="],
)
async def test_bad_authorization_header_closes_4401(scene, authorization):
    assert await refused_with(feed(scene), [(b"authorization", authorization)]) == 4401


async def test_no_credentials_close_4401(scene):
    assert await refused_with(feed(scene), []) == 4401
    assert await refused_with(feed(scene), [(b"origin", ALLOWED_ORIGIN)]) == 4401


async def test_bad_bearer_token_is_refused_even_with_a_valid_session_cookie(scene):
    headers = [*browser(scene.cookies["root"]), (b"authorization", b"Bearer aa_wrong")]
    assert await refused_with(feed(scene), headers) == 4401


async def test_revoked_token_closes_4401(scene):
    def revoke_all() -> None:
        for record in AgentToken.objects.filter(agent_id="bob"):
            revoke_token(record)

    await database_sync_to_async(revoke_all)()
    assert await refused_with(feed(scene), bearer(scene.tokens["bob"])) == 4401


async def test_owner_session_from_allowed_origin_gets_the_snapshot(scene):
    client = await connect(feed(scene), browser(scene.cookies["carol"]))
    message = await frame(client)
    assert message["type"] == "snapshot"
    assert message["arena"]["id"] == str(scene.arena)
    await client.disconnect()


async def test_staff_session_sees_any_arena(scene):
    client = await connect(feed(scene), browser(scene.cookies["root"]))
    message = await frame(client)
    assert message["arena"]["you"]["staff"] == "root"
    await client.disconnect()


@pytest.mark.parametrize(
    "origin",
    [b"http://evil.example", b"https://localhost.evil.example", b"null", b"file://", b"localhost"],
)
async def test_session_cookie_from_a_foreign_origin_closes_4403(scene, origin):
    cookie = scene.cookies["root"]
    assert await refused_with(feed(scene), browser(cookie, origin)) == 4403
    assert await refused_with("/ws/dashboard/", browser(cookie, origin)) == 4403


async def test_session_cookie_without_origin_closes_4403(scene):
    assert await refused_with(feed(scene), browser(scene.cookies["root"], None)) == 4403
    assert await refused_with("/ws/dashboard/", browser(scene.cookies["root"], None)) == 4403


async def test_allowed_hosts_decide_which_origins_pass(scene, settings):
    settings.ALLOWED_HOSTS = [".arena.example"]
    cookie = scene.cookies["root"]
    client = await connect(feed(scene), browser(cookie, b"https://live.arena.example"))
    assert (await frame(client))["type"] == "snapshot"
    await client.disconnect()
    assert await refused_with(feed(scene), browser(cookie, ALLOWED_ORIGIN)) == 4403


async def test_non_participant_agent_closes_4404(scene):
    assert await refused_with(feed(scene), bearer(scene.tokens["mallory"])) == 4404


async def test_user_who_owns_no_participant_closes_4404(scene):
    assert await refused_with(feed(scene), browser(scene.cookies["dave"])) == 4404


@pytest.mark.parametrize(
    "path",
    [
        # A fixed test id: pytest-xdist needs every worker to collect the same ids.
        pytest.param(f"/ws/arenas/{uuid.uuid4()}/", id="/ws/arenas/<random-uuid>/"),
        "/ws/arenas/not-a-uuid/",
        "/ws/arenas//",
        "/ws/nowhere/",
    ],
)
async def test_unknown_or_malformed_arena_closes_4404(scene, path):
    assert await refused_with(path, bearer(scene.tokens["bob"])) == 4404


@pytest.mark.parametrize(
    "query",
    [
        "after=",
        "after=-1",
        "after=x",
        "after=1.5",
        "after=1&after=2",
        "after=١",
        "after=" + "9" * 20,
    ],
)
async def test_invalid_after_closes_4400(scene, query):
    assert await refused_with(f"{feed(scene)}?{query}", bearer(scene.tokens["bob"])) == 4400


async def test_unauthenticated_client_learns_nothing_about_the_arena(scene):
    assert await refused_with(f"/ws/arenas/{uuid.uuid4()}/?after=x", []) == 4401
    assert await refused_with(f"{feed(scene)}?after=x", []) == 4401


async def test_dashboard_refuses_agents_4403_and_anonymous_4401(scene):
    assert await refused_with("/ws/dashboard/", bearer(scene.tokens["bob"])) == 4403
    assert await refused_with("/ws/dashboard/", [(b"origin", ALLOWED_ORIGIN)]) == 4401


async def test_refused_client_gets_no_frame_before_the_close(scene):
    client = await connect(feed(scene), bearer(scene.tokens["mallory"]))
    assert await close_code(client) == 4404
