"""The MCP tools of usage and budgets through the SDK's client: report_usage
answers the REST API's JSON, get_budget the budget's state, and a used-up budget refuses
claims with `budget_exhausted:`."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.mcp.helpers import ok, refused
from tests.mcp.test_tools import rest_get

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def budgeted(make_arena):
    return str(
        make_arena(
            "alice",
            status="active",
            total_steps=3,
            participants=[{"agent_id": "bob", "role": "worker"}],
            budget={"cost_usd": "0.05"},
        )
    )


async def test_report_usage_then_the_budget_refuses_new_claims(mcp_as, budgeted):
    async with mcp_as("bob") as bob:
        claim = await ok(bob, "claim_next_step", arena_id=budgeted)
        recorded = await ok(
            bob,
            "report_usage",
            arena_id=budgeted,
            model="gpt-4o",
            input_tokens=2000,
            output_tokens=500,
            step=1,
        )
        assert recorded["usage"]["cost_usd"] == "0.010000" and recorded["usage"]["priced"]
        events = await sync_to_async(rest_get)("bob", f"/api/arenas/{budgeted}/events/?after=0")
        assert recorded["event"] == events["events"][-1]
        await ok(
            bob,
            "report_usage",
            arena_id=budgeted,
            model="x",
            input_tokens=1,
            output_tokens=1,
            cost_usd="0.04",
        )
        error = await refused(bob, "claim_next_step", arena_id=budgeted)
        assert (error["error"], error["scope"], error["spent"]) == (
            "budget_exhausted",
            "arena",
            "0.050000",
        )
        await ok(
            bob, "complete_step", arena_id=budgeted, step=1, claim_id=claim["claim"]["claim_id"]
        )
        state = await ok(bob, "get_budget", arena_id=budgeted)
        assert state == await sync_to_async(rest_get)("bob", f"/api/arenas/{budgeted}/budget/")
        assert state["exhausted"] == ["arena"]
        bad = await refused(
            bob,
            "report_usage",
            arena_id=budgeted,
            model="x",
            input_tokens=1,
            output_tokens=1,
            cost_usd="0.0000001",
        )
        assert "cost_usd" in bad["fields"]
