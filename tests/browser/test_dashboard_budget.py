"""Spend and budgets on the arena page in Debian's Chromium against a real
Daphne server: the bars of each limit, agent and step and the chart of spend over time
follow usage reports live, the budget request arrives in the requests panel, staff raise
the limit there and the bar moves, staff set the budget with the page's form, and the
arena list shows what each arena spent."""

from __future__ import annotations

import pytest

from .conftest import log_in, screenshot, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


def spend(agent, arena_id: str, cost: str, step: int | None = None, model: str = "gpt-4o"):
    body = {"model": model, "input_tokens": 1000, "output_tokens": 200, "cost_usd": cost}
    if step is not None:
        body["step"] = step
    return agent.call("POST", f"/api/arenas/{arena_id}/usage/", body, expect=201)


def bar(page, selector: str) -> int:
    return int(page.locator(selector).get_attribute("aria-valuenow"))


def test_bars_chart_and_raising_the_budget_from_its_request(
    new_page, live_server, staff, make_live_agent
):
    lead, bob = make_live_agent("lead"), make_live_agent("bob")
    arena_id = lead.create_arena(
        goal="Summarise the filings",
        participants=[{"agent_id": "bob", "role": "worker"}],
        budget={"cost_usd": "1.00"},
    )
    lead.act(arena_id, "activate")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    page.evaluate("window.__notReloaded = true")
    arena_bar = "[data-panel=spend] [data-limit=cost_usd] [role=progressbar]"
    assert bar(page, arena_bar) == 0
    assert page.locator("#spend-chart-empty").is_visible()

    spend(bob, arena_id, "0.25", step=1)
    page.wait_for_function(
        "s => document.querySelector(s).getAttribute('aria-valuenow') === '25'", arg=arena_bar
    )
    page.wait_for_function("document.getElementById('spend-chart').dataset.points === '1'")
    assert page.locator("#spend-chart canvas").count() == 1
    assert page.locator("[data-breakdown=agent] [data-agent-id=bob]").is_visible()
    assert page.locator("[data-breakdown=step] [data-step='1']").is_visible()

    spend(lead, arena_id, "0.60", step=2)
    spend(bob, arena_id, "0.30")
    page.wait_for_function("document.getElementById('spend-chart').dataset.points === '3'")
    assert page.evaluate("document.getElementById('spend-chart').dataset.lastCost") == "1.150000"
    page.wait_for_function(
        "s => document.querySelector(s).getAttribute('aria-valuenow') === '115'", arg=arena_bar
    )
    assert "meter--exhausted" in page.locator(
        "[data-panel=spend] [data-limit=cost_usd]"
    ).get_attribute("class")
    budget_request = page.locator("[data-panel=requests] li.request--open")
    budget_request.wait_for()
    assert "raise" in budget_request.inner_text() and "$1.150000" in budget_request.inner_text()
    assert page.locator("#feed .event--budget_exhausted").count() == 1
    refused = bob.call("POST", f"/api/arenas/{arena_id}/claims/next/", {}, expect=409)
    assert refused["error"] == "budget_exhausted"

    budget_request.locator("textarea").fill("2.50")
    budget_request.locator("button[value=raise]").click()
    page.wait_for_function(
        "s => document.querySelector(s).getAttribute('aria-valuenow') === '46'", arg=arena_bar
    )
    assert "of $2.500000" in page.locator("[data-panel=spend] [data-limit=cost_usd]").inner_text()
    assert bob.call("POST", f"/api/arenas/{arena_id}/claims/next/", {}, expect=201)["claim"]
    screenshot(page, "budget-raised")

    page.fill("#budget-tokens", "5000")
    page.fill("#budget-cost_usd", "")
    page.click("#budget-save")
    page.locator("[data-panel=spend] [data-limit=tokens]").wait_for()
    assert page.locator("[data-panel=spend] [data-limit=cost_usd]").count() == 0
    assert lead.call("GET", f"/api/arenas/{arena_id}/")["budget"] == {"tokens": 5000}

    arenas = new_page()
    log_in(arenas, live_server.url, *staff, path="/")
    row = arenas.locator(f"[data-arena-id='{arena_id}'] [data-field=spend]")
    assert row.inner_text() == "$1.150000"
    wait_until_live(arenas)
    spend(bob, arena_id, "0.05")
    arenas.wait_for_function(
        "id => document.querySelector(`[data-arena-id='${id}'] [data-field=spend]`).textContent"
        " === '$1.200000'",
        arg=arena_id,
    )
