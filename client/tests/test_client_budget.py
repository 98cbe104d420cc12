"""Usage and budgets through the client: `report_usage`, `get_budget`,
`BudgetExhausted`, and `work()` reporting what `do_step` returns and stopping once the
budget is used up, until a person raises it."""

from __future__ import annotations

import asyncio

import pytest

from aleph_client import ArenaClient, AsyncArenaClient, BudgetExhausted, Usage

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_work_reports_usage_and_stops_at_the_budget(live_server, tokens):
    keys = tokens("lead", "ana")
    lead = ArenaClient(live_server.url, keys["lead"])
    arena_id = lead.create_arena(
        goal="Spend carefully",
        total_steps=5,
        participants=[{"agent_id": "ana", "role": "worker"}],
        budget={"cost_usd": "0.05"},
    )["id"]
    lead.transition(arena_id, "activate")

    with ArenaClient(live_server.url, keys["ana"]) as ana:
        report = ana.work(
            arena_id,
            lambda step: Usage("gpt-4o", 1200, 300, cached_input_tokens=200, cost_usd="0.02"),
        )
        assert report.budget_exhausted == "arena"
        assert report.completed == [1, 2, 3]
        assert report.status == "active"
        with pytest.raises(BudgetExhausted) as refused:
            ana.claim_next_step(arena_id)
        assert (refused.value.scope, refused.value.limit, refused.value.spent) == (
            "arena",
            "0.050000",
            "0.060000",
        )
        budget = ana.get_budget(arena_id)
        assert budget["exhausted"] == ["arena"]
        assert budget["spent"]["you"]["cached_input_tokens"] == 600
        by_step = ana.get_usage(arena_id, group="step")["results"]
        assert [(r["step"], r["cost_usd"]) for r in by_step] == [
            (1, "0.020000"),
            (2, "0.020000"),
            (3, "0.020000"),
        ]

        lead.set_budget(arena_id, {"cost_usd": "1.00"})
        report = ana.work(arena_id, lambda step: None)
        assert report.completed == [4, 5] and report.budget_exhausted is None

    lead.set_budget(arena_id, None)
    assert lead.get_arena(arena_id)["budget"] is None
    lead.close()


def test_the_async_client_reports_usage(live_server, tokens):
    keys = tokens("lead")

    async def run() -> None:
        async with AsyncArenaClient(live_server.url, keys["lead"]) as lead:
            arena = await lead.create_arena(goal="g", total_steps=1)
            await lead.transition(arena["id"], "activate")
            recorded = await lead.report_usage(
                arena["id"], "claude-sonnet-4-5", 1000, 1000, calls=2
            )
            assert recorded["usage"]["priced"] and recorded["usage"]["calls"] == 2
            unknown = await lead.report_usage(arena["id"], "house-model", 10, 10)
            assert unknown["usage"]["cost_usd"] is None
            assert unknown["event"]["totals"]["unpriced_calls"] == 1

    asyncio.run(run())
