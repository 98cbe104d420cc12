"""Print the worked MCP session of docs/mcp.md, as it happens against a live server.

Starts Daphne over a fresh SQLite database (the live-server harness, with the production
profile of `bench/common.py`), creates two agents with `manage.py create_agent` and a staff
user with `manage.py createsuperuser`, and plays the agents with the `mcp` SDK's own client
over Streamable HTTP: `lead` (the 2026-07-28 protocol) creates and coordinates an arena,
`scout` (the initialize handshake of 2025-11-25, as most MCP hosts speak it) claims steps,
completes them with their claim ids and asks people a question, which the staff user (a
person, signed in through the login form) answers through the REST API while `scout` waits
for it with `wait_for_events`. Every call and its answer is printed as Markdown: the tool,
its arguments, the result's text and, for some, its structured content.

    .venv/bin/python docs/mcp_session.py                  # print the transcript
    .venv/bin/python docs/mcp_session.py --update docs/mcp.md   # replace it in the doc
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from common import LiveServer, fresh_database  # noqa: E402

START, END = "<!-- session:start -->", "<!-- session:end -->"
PERSON, PASSWORD = "ada", "a-person-at-the-dashboard"
lines: list[str] = []


def say(text: str = "") -> None:
    lines.append(text)


def shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


async def call(
    client: Client, agent: str, tool: str, show: bool = False, **arguments: Any
) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    say(f"**{agent}** → `{tool}` `{json.dumps(arguments, ensure_ascii=False)}`")
    say()
    marker = "⚠ isError: " if result.is_error else ""
    say(f"> {marker}{result.content[0].text}")
    say()
    if show or result.is_error:
        say("```json")
        say(shown(result.structured_content))
        say("```")
        say()
    return result.structured_content


def waited(agent: str, arguments: dict[str, Any], result: Any) -> dict[str, Any]:
    """Print a wait_for_events call that was started earlier and has just answered."""
    say(f"**{agent}** ← `wait_for_events` `{json.dumps(arguments, ensure_ascii=False)}`")
    say()
    say(f"> {result.content[0].text}")
    say()
    say("```json")
    say(shown(result.structured_content))
    say("```")
    say()
    return result.structured_content


def answer_as_person(person: httpx.Client, arena_id: str, request_id: str, body: dict) -> None:
    path = f"/api/arenas/{arena_id}/requests/{request_id}/answer/"
    say(
        f"**{PERSON}** (a staff user, on the dashboard or through the REST API) → `POST "
        f"{path}` `{json.dumps(body, ensure_ascii=False)}`"
    )
    say()
    response = person.post(path, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"the answer was refused: {response.status_code} {response.text}")
    answer = response.json()["answer"]
    say(f"> {response.status_code}: answered by `{answer['by']}`, choice `{answer['choice']}`")
    say()


def session(url: str, token: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=90)
    return Client(streamable_http_client(url, http_client=http), mode=mode)


async def play(url: str, tokens: dict[str, str], person: httpx.Client) -> None:
    async with (
        session(url, tokens["lead"], "auto") as lead,
        session(url, tokens["scout"], "legacy") as scout,
    ):
        say(
            f"`lead` speaks protocol {lead.protocol_version}, `scout` {scout.protocol_version} "
            "(after the initialize handshake)."
        )
        say()
        await call(lead, "lead", "whoami", show=True)
        arena = await call(
            lead,
            "lead",
            "create_arena",
            goal="Compare Ganymede and Callisto",
            plan=[
                {"title": "Facts on Ganymede"},
                {"title": "Facts on Callisto"},
                {"title": "Write the comparison", "assignee": "lead", "depends_on": [1, 2]},
            ],
            participants=[{"agent_id": "scout", "role": "worker"}],
            lease_seconds=120,
        )
        arena_id = arena["id"]
        started = await call(lead, "lead", "transition", arena_id=arena_id, action="activate")

        prompt = await scout.get_prompt("work_in_arena", {"arena_id": arena_id})
        say(f"**scout** → prompt `work_in_arena` `{json.dumps({'arena_id': arena_id})}`")
        say()
        say("```text")
        say(prompt.messages[0].content.text)
        say("```")
        say()
        await call(scout, "scout", "get_plan", show=True, arena_id=arena_id)

        say(
            f"`lead` now waits for completed steps (`after` = {started['last_seq']}, the "
            "arena's `last_seq`) while `scout` works; the wait answers when the first one "
            "commits:"
        )
        say()
        lead_wait = {
            "arena_id": arena_id,
            "after": started["last_seq"],
            "types": ["step_completed"],
            "timeout_seconds": 30,
        }
        waiting = asyncio.ensure_future(lead.call_tool("wait_for_events", lead_wait))
        await asyncio.sleep(0.5)
        first = (await call(scout, "scout", "claim_next_step", show=True, arena_id=arena_id))[
            "claim"
        ]
        await call(
            scout,
            "scout",
            "report_progress",
            arena_id=arena_id,
            current="Reading about Ganymede",
            slot_status="working",
        )
        await call(
            scout,
            "scout",
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title="Ganymede",
            content="Diameter 5,268 km; a subsurface ocean; the only moon with its own "
            "magnetic field.",
        )
        await call(
            scout,
            "scout",
            "share_fact",
            arena_id=arena_id,
            content="Ganymede is the largest moon in the Solar System.",
            confidence=0.98,
            tags=["ganymede", "size"],
        )
        await call(
            scout,
            "scout",
            "complete_step",
            show=True,
            arena_id=arena_id,
            step=first["step"],
            claim_id=first["claim_id"],
        )
        waited("lead", lead_wait, await waiting)

        await call(lead, "lead", "claim_step", arena_id=arena_id, step=3)
        second = (await call(scout, "scout", "claim_next_step", arena_id=arena_id))["claim"]
        await call(lead, "lead", "claim_next_step", show=True, arena_id=arena_id)

        say(
            "`scout` needs a person's decision before it writes up Callisto; it asks, then "
            "follows its feed for the answer:"
        )
        say()
        before_question = (await call(scout, "scout", "get_arena", arena_id=arena_id))["last_seq"]
        asked = await call(
            scout,
            "scout",
            "ask_people",
            show=True,
            arena_id=arena_id,
            text="Should the Callisto notes cover its interior too, or the surface only?",
            choices=["surface only", "interior too"],
            step=second["step"],
        )
        scout_wait = {
            "arena_id": arena_id,
            "after": before_question,
            "types": ["input_provided"],
            "timeout_seconds": 30,
        }
        answer = asyncio.ensure_future(scout.call_tool("wait_for_events", scout_wait))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(
            answer_as_person,
            person,
            arena_id,
            asked["id"],
            {"choice": "interior too", "text": "Yes: the possible ocean matters here."},
        )
        waited("scout", scout_wait, await answer)
        await call(
            scout,
            "scout",
            "renew_claim",
            arena_id=arena_id,
            claim_id=second["claim_id"],
            lease_seconds=300,
        )
        await call(
            scout,
            "scout",
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title="Callisto",
            content="Diameter 4,821 km; the most heavily cratered surface known; perhaps a "
            "salty ocean 100 km or more below the ice.",
        )
        await call(
            scout,
            "scout",
            "complete_step",
            arena_id=arena_id,
            step=second["step"],
            claim_id=second["claim_id"],
        )
        await call(
            scout,
            "scout",
            "post_message",
            arena_id=arena_id,
            text="Both moons are done; the notes are in my slot.",
            to="lead",
        )
        third = (await call(lead, "lead", "claim_next_step", arena_id=arena_id))["claim"]
        await call(lead, "lead", "list_artifacts", show=True, arena_id=arena_id)
        await call(
            lead, "lead", "merge_artifacts", arena_id=arena_id, sources=["scout"], title="Notes"
        )
        await call(
            lead,
            "lead",
            "complete_step",
            arena_id=arena_id,
            step=third["step"],
            claim_id=third["claim_id"],
        )
        await call(lead, "lead", "transition", arena_id=arena_id, action="archive")
        await call(lead, "lead", "transition", arena_id=arena_id, action="settle")
        await call(lead, "lead", "transition", show=True, arena_id=arena_id, action="archive")
        await call(scout, "scout", "search_memory", show=True, q="largest")
        await call(scout, "scout", "post_message", arena_id=arena_id, text="One more thing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", type=Path, help="replace the session between the markers")
    args = parser.parse_args()
    database = fresh_database("sqlite")
    try:
        tokens = {name: database.create_agent(name) for name in ("lead", "scout")}
        database.create_staff(PERSON, PASSWORD)
        with LiveServer(database) as server, closing(server.signed_in(PERSON, PASSWORD)) as person:
            asyncio.run(play(f"{server.url}/mcp/", tokens, person))
    finally:
        database.drop()
    transcript = "\n".join(lines).rstrip() + "\n"
    if args.update is None:
        print(transcript)
        return
    document = args.update.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(document):
        sys.exit(f"{args.update} has no {START} ... {END} section")
    replaced = pattern.sub(lambda _: f"{START}\n{transcript}{END}", document)
    args.update.write_text(replaced)


if __name__ == "__main__":
    main()
