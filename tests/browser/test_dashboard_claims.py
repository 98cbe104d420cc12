"""Claims and presence on the arena page, in Debian's Chromium against a real
Daphne server: a lease counts down in the page, a presence dot changes without an event or a
reload, staff release a claim from the page, and an expiry arrives on the live feed."""

from __future__ import annotations

import re

import pytest

from .conftest import WAIT_MS, log_in, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

# The page refreshes its panels every 15 s without events; allow for a busy machine.
REFRESH_WAIT_MS = 35_000
LEASE = "[data-panel=plan] li[data-step='{step}'] time[data-countdown]"


def seconds_left(text: str) -> int:
    """ "9:58 left" → 598, "1:02:03 left" → 3723."""
    match = re.fullmatch(r"(?:(\d+):)?(\d+):(\d\d) left", text.strip())
    assert match, f"not a countdown: {text!r}"
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def open_arena(new_page, live_server, staff, arena_id: str):
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    page.evaluate("window.__notReloaded = true")
    return page


def step_item(page, step: int):
    return page.locator(f"[data-panel=plan] li[data-step='{step}']")


def working_arena(make_live_agent, **config):
    """An active arena of lead (coordinator) and worker, with a plan of three steps."""
    lead = make_live_agent("lead")
    worker = make_live_agent("worker")
    arena_id = lead.create_arena(
        goal="Index the harbour's ship logs",
        plan=[{"title": "Scan the logs"}, {"title": "Transcribe"}, {"title": "Cross-check"}],
        participants=[{"agent_id": "worker", "role": "worker"}],
        **config,
    )
    lead.act(arena_id, "activate")
    return lead, worker, arena_id


def claim(agent, arena_id: str, step: int, lease_seconds: int) -> dict:
    path = f"/api/arenas/{arena_id}/steps/{step}/claim/"
    return agent.call("POST", path, {"lease_seconds": lease_seconds}, expect=201)["claim"]


def test_a_claimed_steps_lease_counts_down_in_the_page(
    new_page, live_server, staff, make_live_agent
):
    _lead, worker, arena_id = working_arena(make_live_agent)
    claim(worker, arena_id, 2, 600)
    page = open_arena(new_page, live_server, staff, arena_id)
    lease = page.locator(LEASE.format(step=2))

    assert step_item(page, 2).locator(".claim__holder").inner_text() == "held by worker"
    first = seconds_left(lease.inner_text())
    assert 590 <= first <= 600
    page.wait_for_function(
        "([selector, first]) => +document.querySelector(selector).dataset.secondsLeft <= first - 2",
        arg=[LEASE.format(step=2), first],
    )
    later = seconds_left(lease.inner_text())
    assert first - 5 <= later <= first - 2
    assert step_item(page, 1).locator(".claim").count() == 0
    assert page.evaluate("window.__notReloaded") is True


def test_a_presence_dot_turns_online_without_an_event_or_a_reload(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    scout = make_live_agent("scout")
    arena_id = lead.create_arena(
        goal="Watch the tide tables", participants=[{"agent_id": "scout", "role": "observer"}]
    )
    page = open_arena(new_page, live_server, staff, arena_id)
    presence = page.locator("[data-panel=participants] li[data-agent-id='scout'] .presence")
    assert presence.get_attribute("data-presence") == "offline"
    assert presence.locator(".presence__label").inner_text() == "offline"
    assert presence.get_attribute("title") == "Never seen"
    assert page.locator("li[data-agent-id='lead'] .presence").get_attribute("data-presence") == (
        "online"
    )
    last_seq = page.evaluate("window.AlephFeed.lastSeq()")

    scout.call("GET", "/api/me/")

    page.wait_for_function(
        "() => document.querySelector(\"li[data-agent-id='scout'] .presence\")"
        "?.dataset.presence === 'online'",
        timeout=REFRESH_WAIT_MS,
    )
    assert presence.locator(".presence__label").inner_text() == "online"
    assert re.match(r"Last seen (just now|\d+ s ago) \(.+\)$", presence.get_attribute("title"))
    dot = presence.locator(".presence__dot")
    assert dot.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(31, 157, 85)"
    assert page.evaluate("window.AlephFeed.lastSeq()") == last_seq
    assert page.evaluate("window.__notReloaded") is True


def test_staff_release_a_claim_from_the_page(new_page, live_server, staff, make_live_agent):
    _lead, worker, arena_id = working_arena(make_live_agent)
    held = claim(worker, arena_id, 1, 600)
    page = open_arena(new_page, live_server, staff, arena_id)
    assert step_item(page, 1).locator(".claim__holder").inner_text() == "held by worker"

    page.get_by_role("button", name="Release step 1, held by worker").click()

    page.get_by_role("status").filter(
        has_text="Released step 1: worker no longer holds it."
    ).wait_for()
    wait_until_live(page)
    assert step_item(page, 1).locator(".claim").count() == 0
    assert "To do" in step_item(page, 1).inner_text()
    released = page.locator("#feed > li.event--claim_released")
    assert released.count() == 1
    assert "worker’s claim on step 1 was released" in released.inner_text()
    assert "by staff:ada" in released.inner_text()
    assert worker.call("GET", f"/api/arenas/{arena_id}/claims/")["results"] == []
    lost = worker.call(
        "POST", f"/api/arenas/{arena_id}/claims/{held['claim_id']}/renew/", {}, expect=409
    )
    assert lost["error"] == "claim_lost"


# The server's own sweep is off here, so the page's countdown reaches "lease lapsed" before the
# expiry is recorded, on a machine of any speed; the test then sweeps as a timer would.
@pytest.mark.parametrize("live_server_env", [{"ALEPH_CLAIM_SWEEP_SECONDS": "3600"}])
def test_an_expiry_arrives_on_the_feed_and_clears_the_holder(
    new_page, live_db, live_server, staff, make_live_agent
):
    _lead, worker, arena_id = working_arena(make_live_agent)
    page = open_arena(new_page, live_server, staff, arena_id)

    claim(worker, arena_id, 3, 5)

    claimed = page.locator("#feed > li.event--step_claimed")
    claimed.wait_for()
    assert re.search(r"worker claimed step 3 until \d\d:\d\d:\d\d", claimed.inner_text())
    lease = page.locator(LEASE.format(step=3))
    lease.wait_for()
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === 'lease lapsed'",
        arg=LEASE.format(step=3),
        timeout=WAIT_MS,
    )
    assert "claim__lease--lapsed" in lease.get_attribute("class")

    # Nobody writes to the arena: the sweep records the expiry (actor: the system).
    live_db.manage("shell", "-c", "from arenas.claims import sweep; sweep()")

    expired = page.locator("#feed > li.event--claim_expired")
    expired.wait_for()
    assert "worker’s lease on step 3 expired" in expired.inner_text()
    assert "by the system" in expired.inner_text()
    step_item(page, 3).locator(".claim").wait_for(state="detached")
    assert page.evaluate("window.__notReloaded") is True
