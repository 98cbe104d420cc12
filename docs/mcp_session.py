"""Print the worked MCP session of docs/mcp.md, as it happens against a live server.

Starts Daphne over a fresh SQLite database (the machinery of `bench/common.py`), creates two
agents with `manage.py create_agent`, and plays them with the `mcp` SDK's own client over
Streamable HTTP: `lead` (the 2026-07-28 protocol) creates and coordinates an arena, `scout`
(the initialize handshake of 2025-11-25, as most MCP hosts speak it) works in it, and `lead`
follows the arena with `wait_for_events` meanwhile. Every call and its answer is printed as
Markdown: the tool, its arguments, the result's text and, for some, its structured content.

    .venv/bin/python docs/mcp_session.py                  # print the transcript
    .venv/bin/python docs/mcp_session.py --update docs/mcp.md   # replace it in the doc
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from common import Database, Server  # noqa: E402

START, END = "<!-- session:start -->", "<!-- session:end -->"
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


def session(url: str, token: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=90)
    return Client(streamable_http_client(url, http_client=http), mode=mode)


async def play(url: str, tokens: dict[str, str]) -> None:
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
                {"title": "Facts on Ganymede", "assignee": "scout"},
                {"title": "Facts on Callisto", "assignee": "scout"},
                {"title": "Write the comparison", "assignee": "lead", "depends_on": [1, 2]},
            ],
            participants=[{"agent_id": "scout", "role": "worker"}],
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
        waiting = asyncio.ensure_future(
            lead.call_tool(
                "wait_for_events",
                {
                    "arena_id": arena_id,
                    "after": started["last_seq"],
                    "types": ["step_completed"],
                    "timeout_seconds": 30,
                },
            )
        )
        await asyncio.sleep(0.5)
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
        await call(scout, "scout", "complete_step", show=True, arena_id=arena_id, step=1)
        woken = await waiting
        say(
            "**lead** ← `wait_for_events` "
            f"`{json.dumps({'arena_id': arena_id, 'after': started['last_seq'], 'types': ['step_completed'], 'timeout_seconds': 30})}`"  # noqa: E501
        )
        say()
        say(f"> {woken.content[0].text}")
        say()
        say("```json")
        say(shown(woken.structured_content))
        say("```")
        say()
        await call(lead, "lead", "complete_step", arena_id=arena_id, step=3)
        await call(
            scout,
            "scout",
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title="Callisto",
            content="Diameter 4,821 km; the most heavily cratered surface known.",
        )
        await call(scout, "scout", "complete_step", arena_id=arena_id, step=2)
        await call(
            scout,
            "scout",
            "post_message",
            arena_id=arena_id,
            text="Both moons are done; the notes are in my slot.",
            to="lead",
        )
        await call(lead, "lead", "list_artifacts", show=True, arena_id=arena_id)
        await call(
            lead, "lead", "merge_artifacts", arena_id=arena_id, sources=["scout"], title="Notes"
        )
        await call(lead, "lead", "complete_step", arena_id=arena_id, step=3)
        await call(lead, "lead", "transition", arena_id=arena_id, action="archive")
        await call(lead, "lead", "transition", arena_id=arena_id, action="settle")
        await call(lead, "lead", "transition", show=True, arena_id=arena_id, action="archive")
        await call(scout, "scout", "search_memory", show=True, q="largest")
        await call(scout, "scout", "post_message", arena_id=arena_id, text="One more thing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", type=Path, help="replace the session between the markers")
    args = parser.parse_args()
    database = Database.fresh("sqlite")
    try:
        tokens = {
            name: database.manage("create_agent", name).strip().splitlines()[-1]
            for name in ("lead", "scout")
        }
        with Server("daphne", database) as server:
            asyncio.run(play(f"{server.url}/mcp/", tokens))
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
