"""The arena page's history view in Debian's Chromium against a real Daphne server: the
scrubber dragged and stepped shows the arena as the API's state at that seq says, a click
on a timeline mark (or Enter on it, reached with Tab) moves it, back to live, staff fork from
the shown moment, and the view is legible at phone width."""

from __future__ import annotations

import re

import pytest

from .conftest import log_in, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


def history_arena(make_live_agent):
    lead = make_live_agent("lead")
    make_live_agent("helper")
    arena_id = lead.create_arena(
        goal="Write the report",
        plan=[{"title": "Outline"}, {"title": "Draft"}, {"title": "Edit"}],
        participants=[{"agent_id": "helper", "role": "worker"}],
    )
    lead.act(arena_id, "activate")
    lead.step(arena_id, 1)
    lead.call("POST", f"/api/arenas/{arena_id}/steps/2/claim/", {}, expect=201)
    lead.call("POST", f"/api/arenas/{arena_id}/requests/", {"text": "Which tone?"}, expect=201)
    lead.call(
        "POST",
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": "Outline v1", "content": "…"},
        expect=201,
    )
    lead.step(arena_id, 2)
    lead.say(arena_id, "Draft done")
    return lead, arena_id


def shown_seq(page) -> int:
    return int(page.locator("#history-where").get_attribute("data-seq"))


def wait_for_panels(page, seq: int) -> None:
    page.wait_for_function("seq => document.body.dataset.historySeq === String(seq)", arg=seq)


def check_against_state(page, lead, arena_id: str, seq: int) -> None:
    """The panels shown at `seq` say what GET …/state/?at=seq says."""
    wait_for_panels(page, seq)
    state = lead.call("GET", f"/api/arenas/{arena_id}/state/?at={seq}")
    arena = state["arena"]
    assert (
        page.locator("#progress-text")
        .inner_text()
        .startswith(f"{arena['completed_steps']} of {arena['total_steps']} steps")
    )
    current = [p for p in state["participants"] if p["left_at"] is None]
    assert page.locator("[data-panel=participants] .count").inner_text() == str(len(current))
    assert page.locator("[data-panel=artifacts] .count").inner_text() == str(
        len(state["artifacts"])
    )
    assert page.locator("[data-panel=requests] .count").text_content() == (
        f"{len(state['requests'])} open"
    )
    badge = page.locator("[data-panel=summary] .badge").inner_text()
    assert badge.lower().endswith(arena["status"])
    feed_top = page.locator("#history-feed li").first.get_attribute("data-seq")
    assert feed_top == str(seq)


def test_the_scrubber_shows_the_arena_at_each_seq_and_returns_to_live(
    new_page, live_server, staff, make_live_agent
):
    lead, arena_id = history_arena(make_live_agent)
    last = lead.call("GET", f"/api/arenas/{arena_id}/")["last_seq"]
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    page.wait_for_function(f"document.getElementById('history').dataset.loaded === '{last}'")
    page.evaluate("window.__notReloaded = true")

    # Drag the scrubber's thumb to its start, then step with the arrow keys and buttons.
    scrubber = page.locator("#history-seq")
    box = scrubber.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    assert shown_seq(page) == 1
    assert page.locator("#history-live").is_visible()
    check_against_state(page, lead, arena_id, 1)

    scrubber.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert shown_seq(page) == 6
    check_against_state(page, lead, arena_id, 6)

    page.locator("#history-forward").click()
    page.locator("#history-forward").click()
    page.locator("#history-back").click()
    assert shown_seq(page) == 7
    check_against_state(page, lead, arena_id, 7)
    assert page.locator("[data-panel=plan] li[data-step='2'] .claim").count() == 1

    page.locator("#history-live").click()
    assert page.locator("#history-where").inner_text() == "Live"
    page.wait_for_function("!document.body.classList.contains('is-history')")
    page.wait_for_function(
        "document.getElementById('progress-text').textContent.startsWith('2 of 3')"
    )
    assert page.evaluate("window.__notReloaded") is True


def test_a_timeline_mark_moves_the_scrubber_and_staff_fork_from_there(
    new_page, live_server, staff, make_live_agent
):
    lead, arena_id = history_arena(make_live_agent)
    events = lead.call("GET", f"/api/arenas/{arena_id}/events/")["events"]
    asked = next(e["seq"] for e in events if e["type"] == "input_requested")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    page.wait_for_selector("#timeline .vis-item.tl-question")
    page.wait_for_selector("#timeline .vis-item.tl-claim")
    page.locator("#timeline .vis-item.vis-point.tl-question").click()
    page.wait_for_function(
        "seq => document.getElementById('history-where').dataset.seq === String(seq)", arg=asked
    )
    check_against_state(page, lead, arena_id, asked)

    page.locator("#history-fork-button").click()
    page.wait_for_url(re.compile(r"/arenas/[0-9a-f-]{36}/$"))
    fork_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert fork_id != arena_id
    assert "this is the new arena" in page.locator("body").inner_text()
    fork = lead.call("GET", f"/api/arenas/{fork_id}/")
    assert fork["forked_from"] == {"arena_id": arena_id, "seq": asked}
    assert (fork["status"], fork["completed_steps"]) == ("created", 1)
    source = lead.call("GET", f"/api/arenas/{arena_id}/")
    assert source["forks"] == [{"arena_id": fork_id, "at": asked}]


def test_the_timeline_marks_are_reached_with_tab_and_enter_moves_the_scrubber(
    new_page, live_server, staff, make_live_agent
):
    lead, arena_id = history_arena(make_live_agent)
    events = lead.call("GET", f"/api/arenas/{arena_id}/events/")["events"]
    asked = next(e["seq"] for e in events if e["type"] == "input_requested")
    posted = next(e["seq"] for e in events if e["type"] == "message_posted")
    page = new_page()
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)
    question = page.locator("#timeline .vis-item.vis-point.tl-question")
    question.wait_for()
    page.wait_for_function(
        "document.querySelector('#timeline .vis-point.tl-question').tabIndex === 0"
    )
    assert question.get_attribute("role") == "button"
    assert "Which tone?" in question.get_attribute("aria-label")
    assert f"event {asked}" in question.get_attribute("aria-label")

    # From the scrubber, the Tab key comes to the timeline's items.
    page.locator("#history-seq").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('#timeline .vis-item')"):
            break
    else:
        raise AssertionError("Tab never reached a timeline item")

    question.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "seq => document.getElementById('history-where').dataset.seq === String(seq)", arg=asked
    )
    check_against_state(page, lead, arena_id, asked)
    message = page.locator("#timeline .vis-item.vis-point.tl-message")
    message.focus()
    page.keyboard.press(" ")
    page.wait_for_function(
        "seq => document.getElementById('history-where').dataset.seq === String(seq)",
        arg=posted,
    )
    check_against_state(page, lead, arena_id, posted)


def test_the_history_view_fits_a_phone(new_page, live_server, staff, make_live_agent):
    from .conftest import PHONE

    lead, arena_id = history_arena(make_live_agent)
    events = lead.call("GET", f"/api/arenas/{arena_id}/events/")["events"]
    asked = next(e["seq"] for e in events if e["type"] == "input_requested")
    page = new_page(PHONE)
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    page.wait_for_selector("#timeline .vis-item")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    assert page.locator("#history-seq").is_visible()

    # Legible: the timeline within the screen, its lane names and marks at a readable size,
    # the lanes leaving the chart most of the width.
    box = page.locator("#timeline").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    for selector in ("#timeline .vis-label .vis-inner", "#timeline .vis-item .vis-item-content"):
        sizes = page.eval_on_selector_all(
            selector, "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert sizes and min(sizes) >= 12, (selector, sizes)
    labels = page.eval_on_selector_all(
        "#timeline .vis-labelset", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert max(labels) <= PHONE["width"] * 0.4
    question = page.locator("#timeline .vis-item.vis-point.tl-question")
    question.scroll_into_view_if_needed()
    mark = question.bounding_box()
    assert mark["width"] >= 12 and mark["height"] >= 12
    assert mark["x"] >= 0 and mark["x"] + mark["width"] <= PHONE["width"]

    # And usable by keyboard there too.
    question.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "seq => document.getElementById('history-where').dataset.seq === String(seq)", arg=asked
    )
