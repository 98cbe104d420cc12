"""The dashboard in a real browser (Debian's Chromium) against a real Daphne server: login,
live updates of the list and of an arena's feed, reconnecting without loss or repeats,
staff steering an arena from the page, escaping, and how each page looks."""

from __future__ import annotations

import json
import re

import pytest
from websockets.sync.client import connect

from tests.support.liveserver import LiveServer

from .conftest import (
    DESKTOP,
    PHONE,
    WAIT_MS,
    Agent,
    log_in,
    screenshot,
    wait_until_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

# Production settings, minus TLS: the test server speaks plain HTTP.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "browser-tests-" + "k" * 50,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "DJANGO_BEHIND_TLS_PROXY": "0",
    "DJANGO_HSTS_SECONDS": "0",
}
HOSTILE_GOAL = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def feed_seqs(page) -> list[int]:
    return page.eval_on_selector_all("#feed > li", "items => items.map(i => +i.dataset.seq)")


def row(page, arena_id: str):
    return page.locator(f'#arena-list > li[data-arena-id="{arena_id}"]')


def wait_for_row_progress(page, arena_id: str, value: int, timeout: float = WAIT_MS) -> None:
    """Wait until the list row's progress bar shows `value` completed steps."""
    page.wait_for_function(
        "([id, value]) => document.querySelector("
        "`li[data-arena-id='${id}'] progress`)?.value === value",
        arg=[arena_id, value],
        timeout=timeout,
    )


def open_list(new_page, base_url: str, staff: tuple[str, str], viewport=DESKTOP):
    """A signed-in page on the arena list, its live feed connected."""
    page = new_page(viewport)
    log_in(page, base_url, *staff)
    wait_until_live(page)
    return page


def test_anonymous_visitor_signs_in_and_sees_the_arenas(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    lead.create_arena(goal="Map the coastline")
    page = new_page()

    log_in(page, live_server.url, *staff)

    assert page.locator("#arena-list > li").count() == 1
    assert page.locator("#arena-list").inner_text().count("Map the coastline") == 1
    # Nothing spent and no budget: the spend is not shown.
    assert page.locator("#arena-list > li [data-field=spend]").is_hidden()
    meta = page.locator("#arena-list > li .arena-row__meta").inner_text()
    # Seconds, not more: signing in on a busy machine may take longer than "just now" (5 s).
    assert re.match(r"1 participant Last activity: (just now|\d+ s ago)", " ".join(meta.split()))


def test_list_updates_live_when_a_step_is_completed_and_an_arena_is_created(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal="Count the stars", total_steps=4)
    lead.act(arena_id, "activate")
    page = open_list(new_page, live_server.url, staff)
    page.evaluate("window.__notReloaded = true")
    bar = row(page, arena_id).locator("progress")
    assert bar.get_attribute("value") == "0"

    lead.step(arena_id, 1)

    wait_for_row_progress(page, arena_id, 1, timeout=2000)
    assert row(page, arena_id).locator("[data-field=progress-text]").inner_text() == (
        "1 of 4 steps"
    )

    second = lead.create_arena(goal="Name the new stars", total_steps=2)
    row(page, second).wait_for()
    assert page.locator("#arena-list > li").first.get_attribute("data-arena-id") == second
    assert row(page, second).locator("[data-field=status-label]").inner_text() == "Created"
    assert page.evaluate("window.__notReloaded") is True


def test_list_catches_up_with_changes_made_while_the_network_was_down(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal="Chart the currents", total_steps=3)
    lead.act(arena_id, "activate")
    page = open_list(new_page, live_server.url, staff)

    page.context.set_offline(True)
    page.wait_for_function("document.getElementById('connection').dataset.state === 'offline'")
    lead.step(arena_id, 1)
    lead.step(arena_id, 2)
    missed = lead.create_arena(goal="Created while offline")
    page.context.set_offline(False)

    wait_until_live(page)
    wait_for_row_progress(page, arena_id, 2)
    row(page, missed).wait_for()
    assert page.locator("#arena-list > li").count() == 2


def test_status_filter_lists_only_that_status_and_drops_arenas_that_leave_it(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    waiting = lead.create_arena(goal="Still waiting")
    running = lead.create_arena(goal="Already running")
    lead.act(running, "activate")
    page = new_page()
    log_in(page, live_server.url, *staff)
    page.get_by_role("link", name="Active", exact=True).click()
    page.wait_for_url(lambda url: url.endswith("/?status=active"))
    wait_until_live(page)
    assert page.locator("#arena-list > li").count() == 1
    assert row(page, running).count() == 1

    lead.act(running, "settle")

    row(page, running).wait_for(state="detached")
    assert page.locator("#arena-empty").is_visible()
    lead.act(waiting, "activate")
    row(page, waiting).wait_for()


def test_arena_page_shows_events_live_and_catches_up_after_the_socket_drops(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal="Survey the reef", total_steps=10)
    lead.act(arena_id, "activate")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    assert feed_seqs(page) == [3, 2, 1]

    lead.say(arena_id, "Diving now")
    page.locator("#feed > li[data-seq='4']").wait_for()
    assert "Diving now" in page.locator("#feed > li").first.inner_text()

    # The network goes away: the indicator says so, and events keep being committed.
    page.context.set_offline(True)
    page.wait_for_function("document.getElementById('connection').dataset.state === 'offline'")
    assert "Offline" in page.locator("#connection").inner_text()
    for number in (1, 2, 3):
        lead.step(arena_id, number)
    page.context.set_offline(False)
    page.locator("#feed > li[data-seq='7']").wait_for()
    wait_until_live(page)

    # The socket is closed under the page: it reconnects from the last seq it showed.
    page.evaluate("window.AlephLive.drop()")
    assert "Reconnecting" in page.locator("#connection").inner_text()
    lead.step(arena_id, 4)
    lead.say(arena_id, "Back on the boat")
    page.locator("#feed > li[data-seq='9']").wait_for()
    wait_until_live(page)
    lead.step(arena_id, 5)
    page.locator("#feed > li[data-seq='10']").wait_for()

    assert feed_seqs(page) == list(range(10, 0, -1))
    page.wait_for_function("document.getElementById('arena-progress').value === 5")
    assert page.locator("#progress-text").inner_text() == "5 of 10 steps"


def test_staff_activates_and_posts_a_message_that_the_agents_feed_receives(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal="Plan the expedition")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    lifecycle = page.get_by_role("list", name="Lifecycle")
    assert "Created" in lifecycle.locator("[aria-current=step]").inner_text()

    with connect(
        f"{live_server.ws_url}/ws/arenas/{arena_id}/", additional_headers=lead.headers
    ) as feed:
        assert json.loads(feed.recv(timeout=WAIT_MS / 1000))["type"] == "snapshot"

        page.get_by_role("button", name="Activate").click()
        page.get_by_text("The arena is now active.").wait_for()
        assert "Active" in lifecycle.locator("[aria-current=step]").inner_text()
        page.get_by_label("Message to the agents").fill("Take the northern route <b>now</b>")
        page.get_by_role("button", name="Post message").click()
        page.get_by_text("Message posted").wait_for()

        first = json.loads(feed.recv(timeout=WAIT_MS / 1000))["event"]
        second = json.loads(feed.recv(timeout=WAIT_MS / 1000))["event"]

    assert first["type"] == "status_changed"
    assert (first["from_status"], first["to_status"]) == ("created", "active")
    assert first["actor"] == "staff:ada"
    assert second["type"] == "message_posted"
    assert second["text"] == "Take the northern route <b>now</b>"
    assert second["actor"] == "staff:ada"
    page.locator("#feed > li[data-seq='4']").wait_for()
    assert "Take the northern route <b>now</b>" in page.locator("#feed > li").first.inner_text()


def test_refused_transition_from_the_page_is_shown_and_changes_nothing(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal="Hold the line")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    page.route("**/panels/", lambda route: route.abort())
    lead.act(arena_id, "activate")

    # The page, unable to refresh, still offers "Activate": the arena no longer allows it.
    page.get_by_role("button", name="Activate").click()

    page.get_by_role("alert").filter(has_text="cannot go from 'active' to 'active'").wait_for()
    arena = lead.call("GET", f"/api/arenas/{arena_id}/")
    assert (arena["status"], arena["last_seq"]) == ("active", 3)


def test_hostile_goal_renders_as_text_and_runs_nothing(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    arena_id = lead.create_arena(goal=HOSTILE_GOAL)
    lead.act(arena_id, "activate")
    page = open_list(new_page, live_server.url, staff)
    live_id = lead.create_arena(goal=HOSTILE_GOAL + " (live)")
    row(page, live_id).wait_for()

    for arena in (arena_id, live_id):
        goal = row(page, arena).locator("[data-field=goal]").text_content()
        assert goal.startswith(HOSTILE_GOAL)
    page.goto(f"{live_server.url}/arenas/{arena_id}/")
    wait_until_live(page)
    lead.say(arena_id, HOSTILE_GOAL)
    page.locator("#feed > li[data-seq='4']").wait_for()

    assert page.locator("#arena-goal").text_content() == HOSTILE_GOAL
    assert HOSTILE_GOAL in page.locator("#feed > li").first.inner_text()
    assert page.locator("#main script:not([type='application/json']), img[src='x']").count() == 0
    assert page.evaluate("window.__xss") is None


def test_each_page_at_desktop_and_phone_width(new_page, live_server, staff, make_live_agent):
    """Screenshots for people to look at (test-artifacts/screenshots/); no page scrolls
    sideways at phone width. The arena has a claimed step (its holder, lease and release
    button) and participants online and offline."""
    lead = make_live_agent("lead")
    worker = make_live_agent("researcher")
    make_live_agent("reviewer")
    arena_id = lead.create_arena(
        goal="Write a field guide to the birds of the Tagus estuary",
        plan=[
            {"title": "Collect sightings", "assignee": "researcher"},
            {"title": "Draft the pages", "assignee": None},
            {"title": "Assemble the guide", "assignee": "lead"},
        ],
        participants=[
            {"agent_id": "researcher", "role": "worker"},
            {"agent_id": "reviewer", "role": "observer"},
        ],
    )
    lead.act(arena_id, "activate")
    worker.call(
        "POST",
        f"/api/arenas/{arena_id}/progress/",
        {"current": "Reading ten years of sightings", "slot_status": "working"},
    )
    worker.step(arena_id, 1)
    worker.call("POST", f"/api/arenas/{arena_id}/steps/2/claim/", {"lease_seconds": 900})
    artifact = worker.call(
        "POST",
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": "Sightings", "content": "Flamingos: November to March."},
    )
    worker.call(
        "POST",
        f"/api/arenas/{arena_id}/facts/",
        {"content": "Flamingos winter here.", "confidence": 0.9, "tags": ["season"]},
    )
    lead.say(arena_id, "Good work, keep going.")
    lead.create_arena(goal="Choose a caching strategy for the image service", total_steps=6)
    pages = {
        "login": "/accounts/login/",
        "arenas": "/",
        "arena": f"/arenas/{arena_id}/",
        "artifact": f"/arenas/{arena_id}/artifacts/{artifact['id']}/",
    }

    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_page(viewport)
        for name, path in pages.items():
            if name == "arenas":
                log_in(page, live_server.url, *staff)
            else:
                page.goto(live_server.url + path)
            if name in ("arenas", "arena"):
                wait_until_live(page)
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= viewport["width"], f"{name} scrolls sideways at {size} width"
            assert screenshot(page, f"{name}-{size}").stat().st_size > 0


def test_styles_scripts_and_live_feed_work_with_debug_off(new_page, live_db, staff, tmp_path):
    """Static files come from the server itself (no collectstatic) under DJANGO_DEBUG=0."""
    server = LiveServer(live_db, extra_env=PRODUCTION_ENV, log_path=tmp_path / "prod.log").start()
    try:
        lead = Agent("lead", live_db.create_agent("lead"), server.url)
        arena_id = lead.create_arena(goal="Ship it", total_steps=2)
        lead.act(arena_id, "activate")
        page = open_list(new_page, server.url, staff)

        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert font.startswith("system-ui")
        lead.step(arena_id, 1)
        wait_for_row_progress(page, arena_id, 1)
        assert page.evaluate("document.querySelector('link[rel=icon]').href").startswith(
            server.url + "/static/"
        )
    finally:
        server.stop()


def test_owner_sees_live_only_the_arenas_their_agents_take_part_in(
    new_page, live_db, live_server, make_live_agent
):
    live_db.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "User.objects.create_user('olga', password='olga-password-123')",
    )
    lead = make_live_agent("lead")
    make_live_agent("scout", owner="olga")
    theirs = lead.create_arena(
        goal="Olga's scout helps", participants=[{"agent_id": "scout", "role": "worker"}]
    )
    lead.create_arena(goal="Not for Olga")
    page = open_list(new_page, live_server.url, ("olga", "olga-password-123"))
    assert page.locator("#arena-list > li").count() == 1

    lead.create_arena(goal="Also not for Olga")
    joined = lead.create_arena(goal="Scout joins later")
    lead.call(
        "POST",
        f"/api/arenas/{joined}/participants/",
        {"agent_id": "scout", "role": "observer"},
        expect=201,
    )

    row(page, joined).wait_for()
    assert "Not for Olga" not in page.locator("#arena-list").inner_text()
    assert page.locator("#arena-list > li").count() == 2
    page.goto(f"{live_server.url}/arenas/{theirs}/")
    wait_until_live(page)
    assert page.locator("[data-panel=controls]").count() == 0
    lead.act(theirs, "activate")
    page.locator("#feed > li[data-seq='4']").wait_for()
    lifecycle = page.get_by_role("list", name="Lifecycle")
    lifecycle.locator("[aria-current=step]", has_text="Active").wait_for()
