"""`wait_for_events`: it answers at once with logged events, wakes within moments of a
commit, filters by type while `next_after` moves on, times out empty, works with a channel
layer that loses doorbells or is down, and leaves no group membership behind."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import override_settings

from arenas.events import arena_group
from arenas.manager import ArenaManager
from arenas.mcp.app import application as mcp_application
from arenas.models import Arena
from arenas.stream import waits
from arenas.stream.hub import hub
from tests.mcp.helpers import ok, refused, waits_asleep
from tests.support.waiting import eventually_async, until_async

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30


@pytest.fixture
def arena(make_arena):
    return str(
        make_arena("alice", status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    )


async def head(arena_id: str) -> int:
    return await sync_to_async(lambda: Arena.objects.get(pk=arena_id).last_seq)()


async def say(arena_id: str, text: str, agent: str = "bob") -> None:
    """A commit made outside the waiting call, through the domain."""
    await sync_to_async(lambda: ArenaManager().handle(arena_id, agent).post_message(text))()


def members(group: str) -> set[str]:
    """The channels of this process in a group of the channel layer (in-memory, or Redis
    pub/sub)."""
    layer = get_channel_layer()
    if hasattr(layer, "_get_layer"):
        loop_layer = layer._get_layer()
        return set(loop_layer.groups.get(loop_layer._get_group_channel_name(group), ()))
    return set(layer.groups.get(group, ()))


def assert_no_doorbells_left(arena_id: str) -> None:
    bells = hub().doorbells
    assert not hub().feeds and bells.members == frozenset()
    assert members(arena_group(arena_id)) == set()
    assert bells._channel is None and bells._receiver is None


async def no_doorbells_left(arena_id: str) -> None:
    """Once the doorbells' membership tasks have run: nothing follows the arena, and the
    process's channel has left its group and the layer."""
    await eventually_async(lambda: assert_no_doorbells_left(arena_id))


async def asleep(arena_id: str, count: int = 1) -> None:
    """Until `count` waits sleep on the arena (joined, the log read): a commit from now on
    can only reach them through a doorbell or the poll."""
    await until_async(lambda: len(waits_asleep(arena_id)) == count)


async def test_logged_events_answer_at_once_in_seq_order(mcp_as, arena):
    async with mcp_as("bob") as bob:
        answer = await ok(bob, "wait_for_events", arena_id=arena, after=0)
    seqs = [event["seq"] for event in answer["events"]]
    assert seqs == list(range(1, await head(arena) + 1))
    assert answer["next_after"] == seqs[-1]
    assert [e["type"] for e in answer["events"][:2]] == ["arena_created", "agent_joined"]


async def test_a_commit_wakes_a_waiting_call_with_its_event(mcp_as, arena, settings):
    settings.ALEPH_LIVE_POLL_SECONDS = 3600  # the doorbell alone can wake it
    after = await head(arena)
    async with mcp_as("bob") as bob:
        waiting = asyncio.ensure_future(
            ok(bob, "wait_for_events", arena_id=arena, after=after, timeout_seconds=WAIT)
        )
        await asleep(arena)
        assert not waiting.done()
        async with mcp_as("alice") as alice:
            posted = await ok(alice, "post_message", arena_id=arena, text="wake up")
        answer = await asyncio.wait_for(waiting, WAIT)
    assert answer == {"events": [posted], "next_after": posted["seq"]}
    await no_doorbells_left(arena)


async def test_one_commit_wakes_many_waits_each_with_its_event(mcp_as, arena, settings):
    """The waits a doorbell answers share one answer: every one answers with the event,
    the same result, and one whose types the event misses goes on waiting."""
    settings.ALEPH_LIVE_POLL_SECONDS = 3600  # the doorbell alone can wake them
    after = await head(arena)
    arguments = {"arena_id": arena, "after": after, "timeout_seconds": WAIT}
    async with mcp_as("bob") as bob:
        calls = [
            asyncio.ensure_future(bob.call_tool("wait_for_events", arguments)) for _ in range(100)
        ]
        filtered = asyncio.ensure_future(
            ok(bob, "wait_for_events", **arguments, types=["step_completed"])
        )
        await asleep(arena, 101)
        async with mcp_as("alice") as alice:
            posted = await ok(alice, "post_message", arena_id=arena, text="everyone")
            results = await asyncio.wait_for(asyncio.gather(*calls), WAIT)
            # The filtered wait saw the doorbell too, stepped past the message and sleeps on.
            await until_async(lambda: [w for w in waits_asleep(arena) if w.after == posted["seq"]])
            assert not filtered.done()
            done = await ok(alice, "complete_step", arena_id=arena, step=4)
        answer = await asyncio.wait_for(filtered, WAIT)
    expected = {"events": [posted], "next_after": posted["seq"]}
    for result in results:
        assert not result.is_error and result.structured_content == expected
        assert [c.text for c in result.content] == [c.text for c in results[0].content]
    assert results[0].content[0].text == (
        f"1 event(s) (message_posted), seq {posted['seq']}–{posted['seq']}; "
        f"next_after={posted['seq']}."
    )
    assert answer == {"events": [done["event"]], "next_after": done["event"]["seq"]}
    await no_doorbells_left(arena)


async def test_an_event_committed_as_the_wait_starts_is_not_missed(mcp_as, arena):
    """Commits race with the start of many waits; each wait answers with the next event."""
    after = await head(arena)
    async with mcp_as("bob") as bob:
        calls = [
            ok(bob, "wait_for_events", arena_id=arena, after=after, timeout_seconds=WAIT)
            for _ in range(10)
        ]
        answers = await asyncio.gather(*calls, say(arena, "racing"))
    for answer in answers[:-1]:
        assert answer["events"][0]["seq"] == after + 1
        assert answer["events"][0]["text"] == "racing"


async def test_types_filter_and_next_after_moves_past_the_others(mcp_as, arena):
    after = await head(arena)
    async with mcp_as("bob") as bob:
        waiting = asyncio.ensure_future(
            ok(
                bob,
                "wait_for_events",
                arena_id=arena,
                after=after,
                types=["step_completed"],
                timeout_seconds=WAIT,
            )
        )
        await asleep(arena)
        await say(arena, "not this one")
        await say(arena, "nor this one")
        # Rung by both, it stepped past them (neither matches) and sleeps again.
        await until_async(lambda: [w for w in waits_asleep(arena) if w.after == after + 2])
        assert not waiting.done()
        async with mcp_as("alice") as alice:
            done = await ok(alice, "complete_step", arena_id=arena, step=4)
        answer = await asyncio.wait_for(waiting, WAIT)
        assert answer == {"events": [done["event"]], "next_after": after + 3}
        quiet = await ok(
            bob,
            "wait_for_events",
            arena_id=arena,
            after=answer["next_after"],
            types=["fact_shared"],
            timeout_seconds=0.3,
        )
    assert quiet == {"events": [], "next_after": after + 3}


async def test_filtered_events_move_next_after_when_the_wait_times_out(mcp_as, arena):
    after = await head(arena)
    await say(arena, "skipped")
    async with mcp_as("bob") as bob:
        answer = await ok(
            bob,
            "wait_for_events",
            arena_id=arena,
            after=after,
            types=["arena_settled"],
            timeout_seconds=0.2,
        )
    assert answer == {"events": [], "next_after": after + 1}


async def test_it_times_out_empty(mcp_as, arena):
    after = await head(arena)
    async with mcp_as("bob") as bob:
        result = await bob.call_tool(
            "wait_for_events", {"arena_id": arena, "after": after, "timeout_seconds": 0.5}
        )
    assert result.structured_content == {"events": [], "next_after": after}
    assert result.content[0].text == f"No new events; next_after={after}."
    await no_doorbells_left(arena)


async def test_at_most_a_hundred_events_answer_and_the_next_call_goes_on(mcp_as, arena):
    for number in range(150):
        await say(arena, f"m{number}")
    async with mcp_as("bob") as bob:
        first = await ok(bob, "wait_for_events", arena_id=arena, after=0)
        second = await ok(bob, "wait_for_events", arena_id=arena, after=first["next_after"])
    seqs = [e["seq"] for e in first["events"] + second["events"]]
    assert len(first["events"]) == waits.EVENTS_MAX
    assert seqs == list(range(1, await head(arena) + 1))


async def test_its_arguments_are_checked(mcp_as, arena):
    async with mcp_as("bob") as bob, mcp_as("eve") as eve:
        for arguments in (
            {"after": -1},
            {"after": "3"},
            {"after": 0, "timeout_seconds": 61},
            {"after": 0, "timeout_seconds": True},
            {"after": 0, "types": []},
            {"after": 0, "types": "step_completed"},
            {"after": 0, "types": ["step_completed", "nope"]},
        ):
            error = await refused(bob, "wait_for_events", arena_id=arena, **arguments)
            assert error["error"] == "invalid", arguments
            error = await refused(eve, "wait_for_events", arena_id=arena, **arguments)
            assert error["error"] == "not_found", arguments
        assert (await refused(eve, "wait_for_events", arena_id=arena, after=0))[
            "error"
        ] == "not_found"


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "tests.live.layers.DroppingLayer"}})
async def test_lost_doorbells_are_made_up_from_the_log(mcp_as, arena):
    async with mcp_as("bob") as bob:
        after = await head(arena)
        for number in range(6):
            waiting = asyncio.ensure_future(
                ok(bob, "wait_for_events", arena_id=arena, after=after, timeout_seconds=WAIT)
            )
            await asleep(arena)
            await say(arena, f"m{number}", agent="alice")
            answer = await asyncio.wait_for(waiting, WAIT)
            assert [e["text"] for e in answer["events"]] == [f"m{number}"]
            after = answer["next_after"]


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "tests.mcp.layers.DeadLayer"}})
async def test_with_the_channel_layer_down_a_wait_polls_the_log(mcp_as, arena):
    async with mcp_as("bob") as bob:
        after = await head(arena)
        waiting = asyncio.ensure_future(
            ok(bob, "wait_for_events", arena_id=arena, after=after, timeout_seconds=WAIT)
        )
        await asleep(arena)
        await say(arena, "the layer is down", agent="alice")
        answer = await asyncio.wait_for(waiting, WAIT)
    assert [e["text"] for e in answer["events"]] == ["the layer is down"]
    await until_async(lambda: not hub().feeds)


async def test_cancelled_waits_leave_no_membership_behind(arena):
    """Waits that end every way (answered, timed out, cancelled while joining or while
    waiting) leave the layer and the hub as they found them."""
    arena_id = uuid.UUID(arena)

    async def read(after: int) -> list:
        return []

    request = waits.WaitRequest.parse(0, 5, None)
    tasks = [
        asyncio.ensure_future(waits.wait_for_events(arena_id, request, read)) for _ in range(5)
    ]
    tasks[0].cancel()
    await asleep(arena, 4)  # the others joined the group (the process's channel, once)
    assert len(members(arena_group(arena))) == 1
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await no_doorbells_left(arena)
    short = waits.WaitRequest.parse(0, 0.1, None)
    assert await waits.wait_for_events(arena_id, short, read) == {"events": [], "next_after": 0}
    await no_doorbells_left(arena)


async def test_a_wait_whose_client_hangs_up_ends_at_once(arena, make_agent):
    """The client closes its connection while its call waits: the call ends then, leaving
    nothing behind, instead of running on to its timeout."""
    _, token = await sync_to_async(make_agent)("bob")
    after = await head(arena)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "wait_for_events",
                "arguments": {"arena_id": arena, "after": after, "timeout_seconds": 60},
            },
        }
    ).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp/",
        "raw_path": b"/mcp/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"mcp-protocol-version", b"2025-11-25"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    hung_up = asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await hung_up.wait()
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    call = asyncio.ensure_future(mcp_application(scope, receive, send))
    await asleep(arena)
    assert not call.done(), sent
    hung_up.set()
    await asyncio.wait_for(call, 5)
    await no_doorbells_left(arena)
