"""Durability: what the server acknowledged survives a SIGKILL (issue 6).

Eight clients complete steps on two arenas as fast as one Daphne process answers; after
200 acknowledgements the process is killed with SIGKILL while requests are in flight. A new
process on the same database must then show every acknowledged completion (the same event
`seq` the client was told), nothing half-applied (each completion has exactly one event and
the counters equal the completions), nothing that was never sent, and `verify_arenas` must
pass. Runs on SQLite (WAL) and on PostgreSQL, whichever DATABASE_URL names.
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from .client import assert_arena_consistent
from .conftest import WORKERS
from .workload import JOIN_TIMEOUT_SECONDS, run_threads

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENTS = 8
STEPS_PER_CLIENT = 1000
KILL_AFTER_ACKNOWLEDGED = 200


def test_acknowledged_step_completions_survive_sigkill_mid_stream(
    start_server, http_kind, tokens, connect_agent, live_db
):
    server = start_server(kind=http_kind)
    writers = [
        connect_agent(server, tokens[WORKERS[client % len(WORKERS)]]) for client in range(CLIENTS)
    ]
    lead = connect_agent(server, tokens["lead"])
    arena_ids = [lead.create_active_arena(CLIENTS * STEPS_PER_CLIENT, WORKERS) for _ in range(2)]
    acknowledged: dict[tuple[str, int], int] = {}
    in_flight_at_kill: set[tuple[str, int]] = set()
    refused: list[tuple[int, str]] = []
    enough = threading.Event()

    def writer(client: int):
        arena_id = arena_ids[client % 2]
        first = client * STEPS_PER_CLIENT + 1

        def body() -> None:
            for step in range(first, first + STEPS_PER_CLIENT):
                try:
                    response = writers[client].complete_step(arena_id, step)
                except httpx.TransportError:
                    in_flight_at_kill.add((arena_id, step))
                    return
                if response.status_code != 201:
                    refused.append((response.status_code, response.text))
                    return
                acknowledged[(arena_id, step)] = response.json()["event"]["seq"]
                if len(acknowledged) >= KILL_AFTER_ACKNOWLEDGED:
                    enough.set()
            raise AssertionError("the server was not killed before the clients ran out of steps")

        return body

    def killer() -> None:
        assert enough.wait(JOIN_TIMEOUT_SECONDS), "too few writes were acknowledged"
        server.kill()

    run_threads([killer, *(writer(client) for client in range(CLIENTS))])

    assert refused == []
    assert len(acknowledged) >= KILL_AFTER_ACKNOWLEDGED
    restarted = start_server(kind=http_kind)
    reader = connect_agent(restarted, tokens["lead"])
    for arena_id in arena_ids:
        done = assert_arena_consistent(reader, arena_id)
        acked = {step for arena, step in acknowledged if arena == arena_id}
        assert acked <= done, f"acknowledged but lost: {sorted(acked - done)[:10]}"
        maybe = {step for arena, step in in_flight_at_kill if arena == arena_id}
        assert done - acked <= maybe, f"stored but never sent: {sorted(done - acked - maybe)}"
        stored = {
            e["step"]: e["seq"] for e in reader.events(arena_id) if e["type"] == "step_completed"
        }
        assert Counter(stored[step] == acknowledged[(arena_id, step)] for step in acked) == {
            True: len(acked)
        }
    assert "match" in live_db.manage("verify_arenas")

    after_restart = connect_agent(restarted, tokens[WORKERS[0]])
    assert after_restart.complete_step(arena_ids[0], CLIENTS * STEPS_PER_CLIENT).status_code == 201
