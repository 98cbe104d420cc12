"""The MCP tools of claims and requests for people, through the SDK's
client over Streamable HTTP: each tool's result beside the REST API's JSON, every refusal
code they may answer, and a person's answer (a staff user through the REST API) reaching the
asker's wait_for_events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from arenas import claims, inputs
from arenas.models import Arena
from tests.mcp.helpers import ok, refused, waits_asleep
from tests.mcp.test_tools import rest_get
from tests.support.waiting import until_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def crew(make_arena, make_agent):
    """An active arena of alice (coordinator), bob and carol (workers) and olive (observer):
    step 1 free, step 2 bob's, step 3 waits for 2, step 4 is reviewed by a person; a claim
    holds 300 s. eve exists and takes no part."""
    make_agent("eve")
    return str(
        make_arena(
            "alice",
            status="active",
            plan=[
                {"title": "one"},
                {"title": "two", "assignee": "bob"},
                {"title": "three", "depends_on": [2]},
                {"title": "four", "review": True},
            ],
            participants=[
                {"agent_id": "bob", "role": "worker"},
                {"agent_id": "carol", "role": "worker"},
                {"agent_id": "olive", "role": "observer"},
            ],
        )
    )


def staff_post(path: str, body: dict[str, Any]) -> Any:
    """POST through the REST API as a logged-in staff user (a person); the JSON body."""
    user = get_user_model().objects.filter(username="root").first()
    if user is None:
        user = get_user_model().objects.create_user("root", password="pw-root", is_staff=True)
    client = APIClient()
    client.force_login(user)
    response = client.post(path, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


async def last_seq(arena_id: str) -> int:
    return await sync_to_async(lambda: Arena.objects.get(pk=arena_id).last_seq)()


async def rest(agent_id: str, path: str) -> Any:
    return await sync_to_async(rest_get)(agent_id, path)


# --- claims ---------------------------------------------------------------------------------


async def test_claim_next_step_takes_the_lowest_free_step_then_reports_why_there_is_none(
    mcp_as, crew
):
    async with mcp_as("bob") as bob:
        first = await ok(bob, "claim_next_step", arena_id=crew)
        assert first["claim"]["step"] == 1 and first["claim"]["agent_id"] == "bob"
        assert first["claim"]["claim_id"] == first["event"]["seq"]
        assert first["event"]["type"] == "step_claimed"
        claims_now = await rest("bob", f"/api/arenas/{crew}/claims/")
        assert claims_now["results"] == [first["claim"]]
        events = await rest("bob", f"/api/arenas/{crew}/events/?after=0")
        assert events["events"][-1] == first["event"]
        second = await ok(bob, "claim_next_step", arena_id=crew, lease_seconds=60)
        assert second["claim"]["step"] == 2
        fourth = await ok(bob, "claim_next_step", arena_id=crew)
        assert fourth["claim"]["step"] == 4

        before = await last_seq(crew)
        result = await bob.call_tool("claim_next_step", {"arena_id": crew})
        assert not result.is_error
        assert result.structured_content == {
            "claim": None,
            "remaining": 4,
            "claimed": 3,
            "blocked": 1,
        }
        text = result.content[0].text
        assert "wait_for_events" in text and "claim_released" in text
        assert "claim_expired" in text and "step_completed" in text
        assert await last_seq(crew) == before


async def test_claim_next_step_says_when_every_step_is_completed(mcp_as, make_arena):
    arena = str(await sync_to_async(make_arena)("alice", status="active", total_steps=1))
    async with mcp_as("alice") as alice:
        held = (await ok(alice, "claim_next_step", arena_id=arena))["claim"]
        await ok(alice, "complete_step", arena_id=arena, step=1, claim_id=held["claim_id"])
        result = await alice.call_tool("claim_next_step", {"arena_id": arena})
        assert result.structured_content == {
            "claim": None,
            "remaining": 0,
            "claimed": 0,
            "blocked": 0,
        }
        assert result.content[0].text == "No step to claim: every step is completed."


async def test_claim_next_step_in_an_open_pipeline_says_to_wait_while_a_step_is_held(
    mcp_as, make_arena
):
    arena = str(
        await sync_to_async(make_arena)(
            "alice",
            status="active",
            strategy="pipeline",
            total_steps=0,
            participants=[{"agent_id": "bob", "role": "worker"}],
        )
    )
    async with mcp_as("alice") as alice, mcp_as("bob") as bob:
        held = (await ok(alice, "claim_next_step", arena_id=arena))["claim"]
        result = await bob.call_tool("claim_next_step", {"arena_id": arena})
        assert result.structured_content["claim"] is None
        assert result.structured_content["claimed"] == 1
        assert result.content[0].text.startswith("No step can be claimed now")
        await ok(alice, "complete_step", arena_id=arena, step=1, claim_id=held["claim_id"])
        assert (await ok(bob, "claim_next_step", arena_id=arena))["claim"]["step"] == 2


async def test_claim_step_renews_for_its_holder_and_refuses_anyone_else(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("carol") as carol, mcp_as("alice") as alice:
        taken = await ok(bob, "claim_step", arena_id=crew, step=1, lease_seconds=30)
        held = taken["claim"]
        assert set(taken) == {"claim", "event"}
        before = await last_seq(crew)
        again = await ok(bob, "claim_step", arena_id=crew, step=1, lease_seconds=600)
        assert set(again) == {"claim"} and again["claim"]["claim_id"] == held["claim_id"]
        assert again["claim"]["expires_at"] > held["expires_at"]
        assert await last_seq(crew) == before

        result = await carol.call_tool("claim_step", {"arena_id": crew, "step": 1})
        error = result.structured_content
        assert error == {
            "error": "step_claimed",
            "detail": error["detail"],
            "holder": "bob",
            "claim_id": held["claim_id"],
            "expires_at": again["claim"]["expires_at"],
        }
        assert result.content[0].text.startswith("step_claimed: Step 1 is held by 'bob'")
        assert '"holder": "bob"' in result.content[0].text
        for caller in (carol, alice):
            error = await refused(caller, "complete_step", arena_id=crew, step=1)
            assert error["error"] == "step_claimed" and error["holder"] == "bob"
        assert await last_seq(crew) == before


async def test_claim_step_refuses_a_step_that_cannot_be_worked_now(mcp_as, crew, make_arena):
    created = str(await sync_to_async(make_arena)("alice", status="created"))
    async with mcp_as("bob") as bob, mcp_as("carol") as carol, mcp_as("olive") as olive:
        assert (await refused(bob, "claim_step", arena_id=crew, step=3))["error"] == "step_blocked"
        assert (await refused(carol, "claim_step", arena_id=crew, step=2))[
            "error"
        ] == "permission_denied"
        assert (await refused(olive, "claim_next_step", arena_id=crew))[
            "error"
        ] == "permission_denied"
        error = await refused(bob, "claim_step", arena_id=crew, step=5)
        assert error["error"] == "invalid" and "step" in error["fields"]
        for lease in (inputs.LEASE_MIN - 1, inputs.LEASE_MAX + 1, "long", 1.5):
            error = await refused(bob, "claim_next_step", arena_id=crew, lease_seconds=lease)
            assert error["error"] == "invalid" and "lease_seconds" in error["fields"]
        assert (await refused(bob, "claim_next_step", arena_id=created))["error"] == "not_found"
        await ok(bob, "complete_step", arena_id=crew, step=2)
        assert (await refused(bob, "claim_step", arena_id=crew, step=2))[
            "error"
        ] == "step_already_completed"
    async with mcp_as("alice") as alice:
        assert (await refused(alice, "claim_next_step", arena_id=created))[
            "error"
        ] == "arena_not_active"


async def test_renew_extends_a_live_claim_and_a_claim_that_ended_is_lost(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("carol") as carol:
        held = (await ok(bob, "claim_step", arena_id=crew, step=1, lease_seconds=10))["claim"]
        claim_id = held["claim_id"]
        renewed = await ok(bob, "renew_claim", arena_id=crew, claim_id=claim_id, lease_seconds=900)
        assert set(renewed) == {"claim"}
        assert renewed["claim"]["expires_at"] > held["expires_at"]
        assert renewed["claim"]["renewed_at"] is not None
        assert (await rest("bob", f"/api/arenas/{crew}/claims/"))["results"] == [renewed["claim"]]
        assert (await refused(carol, "renew_claim", arena_id=crew, claim_id=claim_id))[
            "error"
        ] == "permission_denied"
        assert (await refused(carol, "release_claim", arena_id=crew, claim_id=claim_id))[
            "error"
        ] == "permission_denied"
        assert (await refused(bob, "renew_claim", arena_id=crew, claim_id=claim_id + 99))[
            "error"
        ] == "not_found"

        released = await ok(bob, "release_claim", arena_id=crew, claim_id=claim_id)
        events = await rest("bob", f"/api/arenas/{crew}/events/?after=0")
        assert released == events["events"][-1]
        assert (released["type"], released["step"], released["claim_id"]) == (
            "claim_released",
            1,
            claim_id,
        )
        for tool, extra in (
            ("renew_claim", {}),
            ("release_claim", {}),
            ("complete_step", {"step": 1}),
        ):
            error = await refused(bob, tool, arena_id=crew, claim_id=claim_id, **extra)
            assert error["error"] == "claim_lost" and error["claim_id"] == claim_id, tool
        assert (await rest("bob", f"/api/arenas/{crew}/aggregate/"))["completed_steps"] == 0


async def test_a_lapsed_claim_is_lost_and_its_step_goes_to_the_next_claimer(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("carol") as carol:
        held = (await ok(bob, "claim_next_step", arena_id=crew))["claim"]
        swept = await sync_to_async(claims.sweep)(timezone.now() + timedelta(seconds=301))
        assert swept == 1
        taken = (await ok(carol, "claim_next_step", arena_id=crew))["claim"]
        assert taken["step"] == held["step"] == 1
        error = await refused(
            bob, "complete_step", arena_id=crew, step=1, claim_id=held["claim_id"]
        )
        assert error["error"] == "step_claimed" and error["holder"] == "carol"
        await ok(carol, "release_claim", arena_id=crew, claim_id=taken["claim_id"])
        error = await refused(
            bob, "complete_step", arena_id=crew, step=1, claim_id=held["claim_id"]
        )
        assert error["error"] == "claim_lost"
        feed = await ok(bob, "wait_for_events", arena_id=crew, after=0, timeout_seconds=0)
        kinds = [e["type"] for e in feed["events"] if e["type"].startswith(("claim", "step"))]
        assert kinds == ["step_claimed", "claim_expired", "step_claimed", "claim_released"]


async def test_complete_step_with_the_claim_id_completes_and_ends_the_claim(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("alice") as alice:
        held = (await ok(bob, "claim_step", arena_id=crew, step=2))["claim"]
        error = await refused(
            bob, "complete_step", arena_id=crew, step=2, claim_id=held["claim_id"] + 1
        )
        assert error["error"] == "claim_lost"
        done = await ok(bob, "complete_step", arena_id=crew, step=2, claim_id=held["claim_id"])
        assert (
            done["event"]["type"] == "step_completed" and done["aggregate"]["completed_steps"] == 1
        )
        plan = await ok(bob, "get_plan", arena_id=crew)
        assert plan["results"][1]["claim"] is None and plan["results"][1]["completed_by"] == "bob"
        other = (await ok(bob, "claim_step", arena_id=crew, step=3))["claim"]
        assert (await ok(alice, "release_claim", arena_id=crew, claim_id=other["claim_id"]))[
            "agent_id"
        ] == "bob"


# --- review steps -----------------------------------------------------------------------------


async def test_a_review_step_is_submitted_then_completed_by_a_persons_approval(mcp_as, make_agent):
    await sync_to_async(make_agent)("bob")
    async with mcp_as("alice") as alice, mcp_as("bob") as bob:
        arena = await ok(
            alice,
            "create_arena",
            goal="Ship the release notes",
            plan=[{"title": "Draft the notes", "review": True}],
            participants=[{"agent_id": "bob", "role": "worker"}],
            lease_seconds=45,
        )
        arena_id = arena["id"]
        assert arena["lease_seconds"] == 45
        await ok(alice, "transition", arena_id=arena_id, action="activate")
        assert (await ok(bob, "get_plan", arena_id=arena_id))["results"][0]["review"] == "required"
        held = (await ok(bob, "claim_next_step", arena_id=arena_id))["claim"]
        assert held["expires_at"] > held["claimed_at"]

        result = await bob.call_tool(
            "complete_step", {"arena_id": arena_id, "step": 1, "claim_id": held["claim_id"]}
        )
        submitted = result.structured_content
        assert not result.is_error and set(submitted) == {"request", "event"}
        assert "submitted for review" in result.content[0].text
        request = submitted["request"]
        assert (request["kind"], request["step"], request["status"]) == ("review", 1, "open")
        assert submitted["event"]["type"] == "input_requested"
        listed = await rest("bob", f"/api/arenas/{arena_id}/requests/")
        assert listed["results"] == [request]
        assert (await ok(bob, "list_requests", arena_id=arena_id))["results"] == [request]
        step = (await ok(bob, "get_plan", arena_id=arena_id))["results"][0]
        assert (step["review"], step["claim"], step["completed"]) == ("pending", None, False)
        for tool in ("complete_step", "claim_step"):
            error = await refused(bob, tool, arena_id=arena_id, step=1)
            assert error["error"] == "review_pending", tool
        vacancy = await ok(bob, "claim_next_step", arena_id=arena_id)
        assert vacancy["claim"] is None and vacancy["remaining"] == 1

        after = submitted["event"]["seq"]
        waiting = asyncio.ensure_future(
            ok(
                bob,
                "wait_for_events",
                arena_id=arena_id,
                after=after,
                types=["input_provided", "step_completed"],
                timeout_seconds=30,
            )
        )
        await until_async(lambda: len(waits_asleep(arena_id)) == 1)
        assert not waiting.done()
        answered = await sync_to_async(staff_post)(
            f"/api/arenas/{arena_id}/requests/{request['id']}/answer/",
            {"choice": "approve", "text": "Good to go."},
        )
        assert answered["answer"]["by"] == "staff:root"
        first = await asyncio.wait_for(waiting, 30)
        assert first["events"][0]["type"] == "input_provided"
        assert first["events"][0]["choice"] == "approve"
        rest_of = await ok(
            bob, "wait_for_events", arena_id=arena_id, after=after, types=["step_completed"]
        )
        assert [(e["step"], e["agent_id"], e["actor"]) for e in rest_of["events"]] == [
            (1, "bob", "staff:root")
        ]
        error = await refused(bob, "cancel_request", arena_id=arena_id, request_id=request["id"])
        assert error["error"] == "request_closed"
        assert (await refused(bob, "complete_step", arena_id=arena_id, step=1))[
            "error"
        ] == "step_already_completed"


# --- asking people -------------------------------------------------------------------------


async def test_ask_people_then_a_persons_answer_reaches_the_askers_wait(mcp_as, crew):
    async with mcp_as("bob") as bob:
        start = await last_seq(crew)
        result = await bob.call_tool(
            "ask_people",
            {
                "arena_id": crew,
                "text": "Which tone for the summary? 🦄",
                "choices": ["formal", "casual"],
                "step": 1,
            },
        )
        assert not result.is_error
        asked = result.structured_content
        assert (asked["kind"], asked["agent_id"], asked["status"], asked["answer"]) == (
            "question",
            "bob",
            "open",
            None,
        )
        assert (asked["choices"], asked["step"], asked["text"]) == (
            ["formal", "casual"],
            1,
            "Which tone for the summary? 🦄",
        )
        assert asked["id"] in result.content[0].text and "input_provided" in result.content[0].text
        assert (await rest("alice", f"/api/arenas/{crew}/requests/?status=open"))["results"] == [
            asked
        ]

        waiting = asyncio.ensure_future(
            ok(
                bob,
                "wait_for_events",
                arena_id=crew,
                after=start,
                types=["input_provided"],
                timeout_seconds=30,
            )
        )
        await until_async(lambda: len(waits_asleep(crew)) == 1)
        assert not waiting.done()
        await sync_to_async(staff_post)(
            f"/api/arenas/{crew}/requests/{asked['id']}/answer/", {"choice": "casual"}
        )
        answer = await asyncio.wait_for(waiting, 30)
        [event] = answer["events"]
        assert (event["request_id"], event["agent_id"], event["by"], event["choice"]) == (
            asked["id"],
            "bob",
            "staff:root",
            "casual",
        )
        listed = (await ok(bob, "list_requests", arena_id=crew, status="answered"))["results"]
        assert [(r["id"], r["answer"]["choice"]) for r in listed] == [(asked["id"], "casual")]
        assert (await ok(bob, "list_requests", arena_id=crew, status="open"))["results"] == []
        error = await refused(bob, "cancel_request", arena_id=crew, request_id=asked["id"])
        assert error["error"] == "request_closed"


async def test_the_asker_cancels_and_a_coordinator_answers(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("alice") as alice, mcp_as("carol") as carol:
        free = await ok(bob, "ask_people", arena_id=crew, text="Any sources to avoid?")
        assert free["choices"] is None and free["step"] is None
        assert (await refused(carol, "cancel_request", arena_id=crew, request_id=free["id"]))[
            "error"
        ] == "permission_denied"
        assert (
            await refused(carol, "answer_request", arena_id=crew, request_id=free["id"], text="x")
        )["error"] == "permission_denied"
        error = await refused(alice, "answer_request", arena_id=crew, request_id=free["id"])
        assert error["error"] == "invalid" and "text" in error["fields"]
        answered = await ok(
            alice, "answer_request", arena_id=crew, request_id=free["id"], text="Skip blogs."
        )
        assert answered["status"] == "answered"
        assert answered["answer"]["by"] == "alice" and answered["answer"]["text"] == "Skip blogs."
        assert (
            await refused(alice, "answer_request", arena_id=crew, request_id=free["id"], text="y")
        )["error"] == "request_closed"

        mine = await ok(alice, "ask_people", arena_id=crew, text="Deadline?", choices=["mon"])
        assert (
            await refused(
                alice, "answer_request", arena_id=crew, request_id=mine["id"], choice="mon"
            )
        )["error"] == "permission_denied"
        cancelled = await ok(alice, "cancel_request", arena_id=crew, request_id=mine["id"])
        assert (cancelled["type"], cancelled["request_id"]) == ("input_cancelled", mine["id"])
        events = await rest("alice", f"/api/arenas/{crew}/events/?after=0")
        assert events["events"][-1] == cancelled
        assert (await refused(alice, "cancel_request", arena_id=crew, request_id=mine["id"]))[
            "error"
        ] == "request_closed"
        assert (await refused(alice, "cancel_request", arena_id=crew, request_id="0" * 32))[
            "error"
        ] == "not_found"


async def test_ask_people_refuses_observers_bad_questions_and_archived_arenas(
    mcp_as, crew, make_arena
):
    archived = str(await sync_to_async(make_arena)("bob", status="archived"))
    async with mcp_as("bob") as bob, mcp_as("olive") as olive:
        assert (await refused(olive, "ask_people", arena_id=crew, text="May I?"))[
            "error"
        ] == "permission_denied"
        for arguments, field in (
            ({"text": ""}, "text"),
            ({"text": "a" * (inputs.REQUEST_MAX + 1)}, "text"),
            ({"text": "Which?", "choices": ["a", "a"]}, "choices"),
            ({"text": "Which?", "choices": []}, "choices"),
            (
                {"text": "Which?", "choices": [f"c{n}" for n in range(inputs.CHOICES_MAX + 1)]},
                "choices",
            ),
            ({"text": "Which?", "choices": ["x" * (inputs.CHOICE_MAX + 1)]}, "choices"),
            ({"text": "About?", "step": 5}, "step"),
        ):
            error = await refused(bob, "ask_people", arena_id=crew, **arguments)
            assert error["error"] == "invalid" and field in error["fields"], arguments
        assert (await refused(bob, "ask_people", arena_id=archived, text="Still there?"))[
            "error"
        ] == "arena_archived"
        long = await ok(bob, "ask_people", arena_id=crew, text="🦄" * inputs.REQUEST_MAX)
        assert long["text"] == "🦄" * inputs.REQUEST_MAX


async def test_a_stranger_gets_not_found_from_the_claim_and_request_tools(mcp_as, crew):
    async with mcp_as("bob") as bob, mcp_as("eve") as eve:
        held = (await ok(bob, "claim_next_step", arena_id=crew))["claim"]
        asked = await ok(bob, "ask_people", arena_id=crew, text="Anyone?")
        before = await last_seq(crew)
        for tool, arguments in (
            ("claim_next_step", {}),
            ("claim_step", {"step": 1}),
            ("renew_claim", {"claim_id": held["claim_id"]}),
            ("release_claim", {"claim_id": held["claim_id"]}),
            ("complete_step", {"step": 1, "claim_id": held["claim_id"]}),
            ("ask_people", {"text": "Hi"}),
            ("list_requests", {}),
            ("cancel_request", {"request_id": asked["id"]}),
            ("answer_request", {"request_id": asked["id"], "text": "no"}),
        ):
            error = await refused(eve, tool, arena_id=crew, **arguments)
            assert error == {"error": "not_found", "detail": "No such arena."}, tool
        assert await last_seq(crew) == before
