"""The MCP tools through the SDK's client over Streamable HTTP (the MCP application of this
process): their list and schemas, their results beside the REST API's, every refusal's
code, permissions, text that round-trips, paging, the prompt and the resource."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from mcp.shared.exceptions import MCPError

from arenas import inputs
from arenas.agents import issue_token
from arenas.handle import ArenaHandle
from arenas.mcp.schemas import ADVICE
from arenas.models import Agent, Arena, EventType
from arenas.permissions import PERMISSIONS
from arenas.stream import waits
from tests.api.helpers import bearer
from tests.mcp.helpers import MODES, ok, refused

pytestmark = pytest.mark.django_db(transaction=True)

TOOLS = {
    "whoami",
    "report_usage",
    "get_budget",
    "list_arenas",
    "create_arena",
    "get_arena",
    "get_plan",
    "claim_next_step",
    "claim_step",
    "renew_claim",
    "release_claim",
    "complete_step",
    "report_progress",
    "publish_artifact",
    "list_artifacts",
    "read_artifact",
    "merge_artifacts",
    "share_fact",
    "search_facts",
    "search_memory",
    "post_message",
    "ask_people",
    "list_requests",
    "cancel_request",
    "answer_request",
    "add_participant",
    "transition",
    "fork_arena",
    "wait_for_events",
}
UNICODE = "Ünïcödé 🦄👩‍👩‍👧 שָׁלוֹם עולם e\u0301\u0301 \u202eevil\u202c 𝔘"


@pytest.fixture
def team(make_arena, make_agent):
    """An active arena of alice (coordinator), bob (worker), olive (observer) and iso (a
    worker that cannot read other slots), with a plan of 3 steps where 3 waits for 2 and 2
    is bob's; eve exists and takes no part."""
    make_agent("eve")
    return str(
        make_arena(
            "alice",
            status="active",
            plan=[
                {"title": "one"},
                {"title": "two", "assignee": "bob"},
                {"title": "three", "depends_on": [2]},
            ],
            participants=[
                {"agent_id": "bob", "role": "worker"},
                {"agent_id": "olive", "role": "observer"},
                {"agent_id": "iso", "role": "worker", "can_read_other_slots": False},
            ],
        )
    )


def rest_get(agent_id: str, path: str) -> Any:
    """GET through the REST API as the agent (with a fresh token of its); the JSON body."""
    token, _ = issue_token(Agent.objects.get(agent_id=agent_id))
    response = bearer(token).get(path)
    assert response.status_code == 200, response.content
    return response.json()


async def last_seq(arena_id: str) -> int:
    return await sync_to_async(lambda: Arena.objects.get(pk=arena_id).last_seq)()


# --- the list of tools ----------------------------------------------------------------------


# The whole `tools/list` response, as JSON, that every conversation with a model pays for.
TOOL_LIST_MAX_BYTES = 16 * 1024


@pytest.mark.parametrize("mode", MODES)
async def test_the_tool_list_names_every_tool_with_its_schema_and_a_short_description(mcp_as, mode):
    async with mcp_as("alice", mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        schema = tool.input_schema
        assert schema["type"] == "object", tool.name
        assert set(schema.get("required", [])) <= set(schema["properties"]), tool.name
        # What it does and when to use it, in one to three sentences; no list of codes.
        assert 20 < len(tool.description) <= 300, tool.name
        assert 1 <= tool.description.count(". ") + 1 <= 3, tool.name
        assert not any(f"{code}:" in tool.description for code in ADVICE), tool.name
        if "arena_id" in schema["properties"]:
            assert "arena_id" in schema["required"]
        assert bool(tool.annotations.read_only_hint) == (
            tool.name.startswith(("whoami", "list_", "get_", "read_", "search_", "wait_"))
        )


@pytest.mark.parametrize("mode", MODES)
async def test_the_whole_tool_list_fits_in_16_kb_of_json(mcp_as, mode):
    """Measured through the SDK's client as a host receives it: every tool, and the whole
    response at most 16 KiB of JSON."""
    async with mcp_as("alice", mode=mode) as client:
        listed = await client.list_tools()
    size = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert {tool.name for tool in listed.tools} == TOOLS
    assert size <= TOOL_LIST_MAX_BYTES, size


async def test_each_error_code_is_explained_once_in_the_prompt_and_with_its_refusal(mcp_as, team):
    async with mcp_as("bob") as bob:
        prompt = await bob.get_prompt("work_in_arena", {"arena_id": team})
        words = prompt.messages[0].content.text
        result = await bob.call_tool("claim_step", {"arena_id": team, "step": 10**6})
    for code, advice in ADVICE.items():
        assert f"- {code}: {advice}" in words
    assert result.is_error
    code = result.structured_content["error"]
    assert result.content[1].text == f"{code} means: {ADVICE[code]}"


async def test_the_schemas_carry_the_domains_limits(mcp_as):
    async with mcp_as("alice") as client:
        tools = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
    create = tools["create_arena"]["properties"]
    assert create["goal"]["maxLength"] == inputs.GOAL_MAX
    assert create["total_steps"]["maximum"] == inputs.U32_MAX
    assert create["plan"]["maxItems"] == inputs.PLAN_MAX_STEPS
    assert create["plan"]["items"]["properties"]["title"]["maxLength"] == inputs.STEP_TITLE_MAX
    member = create["participants"]["items"]["properties"]
    assert member["agent_id"]["pattern"] == inputs.AGENT_ID_RE.pattern
    assert member["agent_id"]["maxLength"] == inputs.AGENT_ID_MAX
    assert {"can_write_own_slot", "can_merge"} <= set(member)
    assert tools["complete_step"]["properties"]["step"]["maximum"] == inputs.U32_MAX
    assert tools["publish_artifact"]["properties"]["title"]["maxLength"] == inputs.TITLE_MAX
    assert tools["share_fact"]["properties"]["tags"]["maxItems"] == inputs.TAGS_MAX
    assert tools["report_progress"]["properties"]["current"]["maxLength"] == inputs.CURRENT_MAX
    wait = tools["wait_for_events"]["properties"]
    assert wait["timeout_seconds"]["maximum"] == waits.WAIT_MAX_SECONDS == 60
    assert wait["timeout_seconds"]["default"] == waits.WAIT_DEFAULT_SECONDS == 20
    assert wait["types"]["items"]["enum"] == list(EventType.values)
    assert tools["transition"]["properties"]["action"]["enum"] == ["activate", "settle", "archive"]
    assert create["plan"]["items"]["properties"]["review"]["type"] == "boolean"
    for name in ("create_arena", "claim_next_step", "claim_step", "renew_claim"):
        lease = tools[name]["properties"]["lease_seconds"]
        assert (lease["minimum"], lease["maximum"]) == (inputs.LEASE_MIN, inputs.LEASE_MAX)
        assert "lease_seconds" not in tools[name]["required"]
    for name in ("renew_claim", "release_claim"):
        assert tools[name]["required"] == ["arena_id", "claim_id"]
    assert tools["complete_step"]["properties"]["claim_id"]["maximum"] == inputs.SEQ_MAX
    assert tools["complete_step"]["required"] == ["arena_id", "step"]
    ask = tools["ask_people"]
    assert ask["required"] == ["arena_id", "text"]
    assert ask["properties"]["text"]["maxLength"] == inputs.REQUEST_MAX
    assert ask["properties"]["choices"]["maxItems"] == inputs.CHOICES_MAX
    assert ask["properties"]["choices"]["items"]["maxLength"] == inputs.CHOICE_MAX
    assert ask["properties"]["step"]["maximum"] == inputs.U32_MAX
    answer = tools["answer_request"]["properties"]
    assert answer["text"]["maxLength"] == inputs.REQUEST_MAX
    assert answer["choice"]["maxLength"] == inputs.CHOICE_MAX


async def test_the_tools_that_wait_name_the_events_to_wait_for(mcp_as):
    async with mcp_as("alice") as client:
        described = {tool.name: tool.description for tool in (await client.list_tools()).tools}
    assert "wait_for_events" in described["claim_next_step"]
    assert "input_provided" in described["ask_people"]


# --- results --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_results_carry_the_rest_apis_json_and_a_short_text(mcp_as, team, mode):
    async with mcp_as("bob", mode=mode) as client:
        result = await client.call_tool("get_arena", {"arena_id": team})
        assert not result.is_error
        summary, as_json = (block.text for block in result.content)
        assert summary.startswith(f"Arena {team}: active, 0 of 3 steps") and "\n" not in summary
        assert json.loads(as_json) == result.structured_content
        rest = await sync_to_async(rest_get)("bob", f"/api/arenas/{team}/")
        assert result.structured_content == rest

        me = await ok(client, "whoami")
        assert me == await sync_to_async(rest_get)("bob", "/api/me/")
        done = await ok(client, "complete_step", arena_id=team, step=2)
        events = await sync_to_async(rest_get)("bob", f"/api/arenas/{team}/events/?after=0")
        assert done["event"] == events["events"][-1]
        assert done["aggregate"] == await sync_to_async(rest_get)(
            "bob", f"/api/arenas/{team}/aggregate/"
        )
        plan = await ok(client, "get_plan", arena_id=team)
        rest_plan = await sync_to_async(rest_get)("bob", f"/api/arenas/{team}/steps/")
        assert plan == {"results": rest_plan["results"], "next_after": None}


async def test_a_whole_arena_lifecycle_through_the_tools(mcp_as, make_agent):
    await sync_to_async(make_agent)("bob")
    async with mcp_as("alice") as alice, mcp_as("bob") as bob:
        arena = await ok(
            alice,
            "create_arena",
            goal="Write a haiku",
            strategy="pipeline",
            total_steps=2,
            participants=[{"agent_id": "bob", "role": "worker"}],
        )
        arena_id = arena["id"]
        assert arena["status"] == "created" and arena["you"]["role"] == "coordinator"
        assert (await ok(alice, "transition", arena_id=arena_id, action="activate"))[
            "status"
        ] == "active"
        listed = await ok(bob, "list_arenas", status="active")
        assert [a["id"] for a in listed["results"]] == [arena_id]
        assert listed["next_cursor"] is None
        progress = await ok(bob, "report_progress", arena_id=arena_id, current="drafting")
        assert progress["slot_status"] == "idle" and progress["current"] == "drafting"
        draft = await ok(
            bob,
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title="Draft",
            content="Old pond",
        )
        assert (await ok(bob, "read_artifact", arena_id=arena_id, artifact_id=draft["id"]))[
            "content"
        ] == "Old pond"
        listing = await ok(alice, "list_artifacts", arena_id=arena_id)
        assert [a["id"] for a in listing["results"]] == [draft["id"]]
        assert "content" not in listing["results"][0]
        await ok(bob, "complete_step", arena_id=arena_id, step=1)
        fact = await ok(
            bob,
            "share_fact",
            arena_id=arena_id,
            content="Frogs jump",
            confidence=0.9,
            tags=["pond"],
        )
        assert (await ok(alice, "search_facts", arena_id=arena_id, tag="pond"))["results"] == [fact]
        message = await ok(bob, "post_message", arena_id=arena_id, text="Done with 1", to="alice")
        assert message["type"] == "message_posted" and message["to"] == "alice"
        await ok(alice, "complete_step", arena_id=arena_id, step=2)
        merged = await ok(alice, "merge_artifacts", arena_id=arena_id, sources=["bob"], title="All")
        assert merged["metadata"]["sources"] == [draft["id"]]
        await ok(alice, "transition", arena_id=arena_id, action="settle")
        archived = await ok(alice, "transition", arena_id=arena_id, action="archive")
        assert archived["settle_report"] == {
            "facts_persisted": 1,
            "artifacts_archived": 2,
            "events_cleared": 0,
        }
        memory = await ok(bob, "search_memory", q="FROGS")
        assert [f["id"] for f in memory["results"]] == [fact["id"]]
        assert (await ok(bob, "whoami"))["active_arenas"] == []


# --- refusals -------------------------------------------------------------------------------


async def test_every_refusal_is_a_tool_error_with_its_code(mcp_as, team, make_arena):
    created = str(await sync_to_async(make_arena)("alice", status="created"))
    archived = str(await sync_to_async(make_arena)("alice", status="archived"))
    before = await last_seq(team)
    async with mcp_as("alice") as alice, mcp_as("bob") as bob, mcp_as("olive") as olive:
        error = await refused(bob, "complete_step", arena_id=team, step=0)
        assert error["error"] == "invalid" and "step" in error["fields"]
        error = await refused(bob, "complete_step", arena_id=team, step=1, claim="x")
        assert error["fields"] == {"claim": ["Unknown argument."]}
        error = await refused(bob, "complete_step", arena_id=team)
        assert error["fields"] == {"step": ["This argument is required."]}
        assert (await refused(bob, "get_arena", arena_id="not-a-uuid"))["error"] == "not_found"
        assert (await refused(olive, "complete_step", arena_id=team, step=1))[
            "error"
        ] == "permission_denied"
        assert (await refused(alice, "complete_step", arena_id=created, step=1))[
            "error"
        ] == "arena_not_active"
        assert (await refused(alice, "post_message", arena_id=archived, text="hi"))[
            "error"
        ] == "arena_archived"
        result = await alice.call_tool("transition", {"arena_id": team, "action": "archive"})
        error = result.structured_content
        assert error == {
            "error": "invalid_transition",
            "detail": "An arena cannot go from 'active' to 'archived'.",
            "current": "active",
            "requested": "archived",
            "allowed": ["settling"],
        }
        assert result.content[0].text == (
            "invalid_transition: An arena cannot go from 'active' to 'archived'. "
            '{"current": "active", "requested": "archived", "allowed": ["settling"]}'
        )
        error = await refused(alice, "complete_step", arena_id=team, step=3)
        assert error["error"] == "step_blocked" and error["waiting_for"] == [2]
        assert (
            await refused(alice, "add_participant", arena_id=team, agent_id="bob", role="worker")
        )["error"] == "already_participant"
        assert (await refused(alice, "search_facts", arena_id=team, cursor="nope"))["fields"] == {
            "cursor": ["Not a cursor this list gave out."]
        }
        assert await last_seq(team) == before
        await ok(bob, "complete_step", arena_id=team, step=2)
        assert (await refused(alice, "complete_step", arena_id=team, step=2))[
            "error"
        ] == "step_already_completed"
        assert (await refused(alice, "wait_for_events", arena_id=team, after=0, types=["nope"]))[
            "error"
        ] == "invalid"


async def test_an_unknown_tool_is_a_protocol_error(mcp_as):
    async with mcp_as("alice") as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("claim_everything", {})
    assert "claim_everything" in raised.value.message


async def test_a_non_participant_gets_not_found_from_every_arena_tool(mcp_as, team):
    async with mcp_as("eve") as eve, mcp_as("alice") as alice:
        tools = (await eve.list_tools()).tools
        for tool in tools:
            if "arena_id" not in tool.input_schema["properties"]:
                continue
            for arguments in ({}, {"step": "bad", "after": -1, "kind": 5, "text": ""}):
                given = {
                    name: value
                    for name, value in arguments.items()
                    if name in tool.input_schema["properties"]
                }
                error = await refused(eve, tool.name, arena_id=team, **given)
                assert error == {"error": "not_found", "detail": "No such arena."}, tool.name
        assert (await ok(alice, "whoami"))["active_arenas"] == [team]


async def test_permissions_are_the_handles(mcp_as, team):
    async with mcp_as("bob") as bob, mcp_as("iso") as iso, mcp_as("olive") as olive:
        artifact = await ok(
            bob, "publish_artifact", arena_id=team, kind="code", title="x", content="print()"
        )
        assert (await refused(iso, "read_artifact", arena_id=team, artifact_id=artifact["id"]))[
            "error"
        ] == "permission_denied"
        assert (await ok(iso, "list_artifacts", arena_id=team))["results"] == []
        assert (await refused(iso, "list_artifacts", arena_id=team, agent="bob"))[
            "error"
        ] == "permission_denied"
        assert (await refused(bob, "merge_artifacts", arena_id=team, sources=["bob"], title="m"))[
            "error"
        ] == "permission_denied"
        assert (await refused(bob, "transition", arena_id=team, action="settle"))[
            "error"
        ] == "permission_denied"
        assert (await refused(olive, "post_message", arena_id=team, text="hello"))[
            "error"
        ] == "permission_denied"
        assert (await refused(olive, "share_fact", arena_id=team, content="c", confidence=1))[
            "error"
        ] == "permission_denied"
        assert (await refused(iso, "complete_step", arena_id=team, step=2))[
            "error"
        ] == "permission_denied"


# --- text, paging ---------------------------------------------------------------------------


async def test_unicode_round_trips_verbatim(mcp_as, make_agent):
    await sync_to_async(make_agent)("bob")
    async with mcp_as("alice") as alice:
        arena = await ok(
            alice,
            "create_arena",
            goal=UNICODE,
            plan=[{"title": UNICODE}],
            participants=[{"agent_id": "bob", "role": "worker"}],
        )
        arena_id = arena["id"]
        await ok(alice, "transition", arena_id=arena_id, action="activate")
        artifact = await ok(
            alice,
            "publish_artifact",
            arena_id=arena_id,
            kind="structured_data",
            title=UNICODE,
            content={UNICODE: [UNICODE]},
            metadata={"note": UNICODE},
        )
        fact = await ok(
            alice, "share_fact", arena_id=arena_id, content=UNICODE, confidence=1, tags=[UNICODE]
        )
        await ok(alice, "post_message", arena_id=arena_id, text=UNICODE)
        await ok(alice, "report_progress", arena_id=arena_id, current=UNICODE)

        assert (await ok(alice, "get_arena", arena_id=arena_id))["goal"] == UNICODE
        assert (await ok(alice, "get_plan", arena_id=arena_id))["results"][0]["title"] == UNICODE
        read = await ok(alice, "read_artifact", arena_id=arena_id, artifact_id=artifact["id"])
        assert (read["title"], read["content"], read["metadata"]) == (
            UNICODE,
            {UNICODE: [UNICODE]},
            {"note": UNICODE},
        )
        assert (await ok(alice, "search_facts", arena_id=arena_id, tag=UNICODE))["results"] == [
            fact
        ]
        assert (await ok(alice, "search_facts", arena_id=arena_id, q="🦄👩‍👩‍👧"))["results"] == [
            fact
        ]
        events = (
            await ok(alice, "wait_for_events", arena_id=arena_id, after=0, timeout_seconds=0)
        )["events"]
        assert [e["text"] for e in events if e["type"] == "message_posted"] == [UNICODE]
        assert [e["current"] for e in events if e["type"] == "progress_updated"] == [UNICODE]
        result = await alice.call_tool("get_arena", {"arena_id": arena_id})
        assert UNICODE in result.content[0].text
        error = await refused(
            alice, "post_message", arena_id=arena_id, text="a" * (inputs.MESSAGE_MAX + 1)
        )
        assert error["error"] == "invalid"
        assert (await ok(alice, "post_message", arena_id=arena_id, text="🦄" * inputs.MESSAGE_MAX))[
            "text"
        ] == "🦄" * inputs.MESSAGE_MAX


async def test_lists_come_in_pages_with_a_cursor(mcp_as, team):
    async with mcp_as("bob") as bob:
        for number in range(55):
            await ok(bob, "share_fact", arena_id=team, content=f"fact {number}", confidence=0.5)
        first = await ok(bob, "search_facts", arena_id=team)
        assert len(first["results"]) == 50 and first["next_cursor"]
        second = await ok(bob, "search_facts", arena_id=team, cursor=first["next_cursor"])
        assert second["next_cursor"] is None
        contents = [f["content"] for f in first["results"] + second["results"]]
        assert contents == [f"fact {number}" for number in range(55)]
        result = await bob.call_tool("search_facts", {"arena_id": team})
        assert result.content[0].text == "50 fact(s). More with next_cursor."


# --- the prompt and the resource ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_the_prompt_explains_the_arena_with_the_tools_there_are(mcp_as, team, mode):
    async with mcp_as("bob", mode=mode) as bob:
        prompts = (await bob.list_prompts()).prompts
        assert [p.name for p in prompts] == ["work_in_arena"]
        assert [(a.name, a.required) for a in prompts[0].arguments] == [("arena_id", True)]
        prompt = await bob.get_prompt("work_in_arena", {"arena_id": team})
        words = prompt.messages[0].content.text
        assert f"Arena: {team}" in words and "worker" in words
        for name in (
            "get_plan",
            "claim_next_step",
            "renew_claim",
            "release_claim",
            "publish_artifact",
            "complete_step",
            "ask_people",
            "wait_for_events",
        ):
            assert name in words
        assert "claim_id" in words and "input_provided" in words
        assert "claim_released" in words and "claim_expired" in words
        # Every name in it is a tool's, an event type's, an error code's, a permission's or
        # an argument's.
        named = set(re.findall(r"\b[a-z]+_[a-z_]+\b", words))
        tools = {tool.name: tool for tool in (await bob.list_tools()).tools}
        arguments = {a for t in tools.values() for a in t.input_schema["properties"]}
        known = set(tools) | set(EventType.values) | set(ADVICE) | set(PERMISSIONS) | arguments
        assert named - known <= {
            "expires_at",
            "next_after",
            "request_id",
            "last_seq",
            "waiting_for",
        }
        with pytest.raises(MCPError) as raised:
            await bob.get_prompt("work_in_arena", {"arena_id": "0" * 32})
        assert raised.value.message.startswith("not_found: ")


@pytest.mark.parametrize("mode", MODES)
async def test_the_arena_resource_is_the_arena_as_get_arena_shows_it(mcp_as, team, mode):
    async with mcp_as("bob", mode=mode) as bob, mcp_as("eve", mode=mode) as eve:
        templates = (await bob.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["arena://{arena_id}"]
        listed = (await bob.list_resources()).resources
        assert [str(r.uri) for r in listed] == [f"arena://{team}"]
        contents = (await bob.read_resource(f"arena://{team}")).contents
        assert contents[0].mime_type == "application/json"
        assert json.loads(contents[0].text) == await ok(bob, "get_arena", arena_id=team)
        assert (await eve.list_resources()).resources == []
        with pytest.raises(MCPError) as raised:
            await eve.read_resource(f"arena://{team}")
        assert raised.value.message == "not_found: No such arena."


async def test_an_unexpected_failure_is_logged_and_answered_server_error(
    mcp_as, team, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ArenaHandle, "detail", broken)
    async with mcp_as("bob") as bob:
        result = await bob.call_tool("get_arena", {"arena_id": team})
        assert result.is_error
        assert result.content[0].text.startswith("server_error: ")
        assert result.structured_content["error"] == "server_error"
        assert (await ok(bob, "whoami"))["agent_id"] == "bob"
    assert "The MCP tool get_arena failed" in caplog.text


async def test_a_coordinator_forks_an_arena_at_a_seq(mcp_as, team):
    async with mcp_as("alice") as alice, mcp_as("bob") as bob:
        await ok(bob, "complete_step", arena_id=team, step=2)
        at = await last_seq(team)
        await ok(bob, "post_message", arena_id=team, text="after the fork point")
        fork = await ok(alice, "fork_arena", arena_id=team, at=at, goal="Again")
        assert (fork["status"], fork["goal"], fork["completed_steps"]) == ("created", "Again", 1)
        assert fork["forked_from"] == {"arena_id": team, "seq": at}
        source = await ok(alice, "get_arena", arena_id=team)
        assert source["forks"] == [{"arena_id": fork["id"], "at": at}]
        refusal = await refused(bob, "fork_arena", arena_id=team, at=at)
        assert refusal["error"] == "permission_denied"
        refusal = await refused(alice, "fork_arena", arena_id=team, at=at + 99)
        assert refusal["error"] == "invalid"
