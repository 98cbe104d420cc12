"""Requests for people in Debian's Chromium against a real Daphne server: the
header's count and the inbox follow agents' requests live, staff answer on the arena page
(with a choice button, with free text) and the asker learns it, every field of a request is
shown as text, and a person who is not staff sees only their agents' arenas' requests and
cannot answer them."""

from __future__ import annotations

import re

import pytest

from .conftest import PHONE, log_in, screenshot, wait_for_count, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
OWNER, OWNER_PASSWORD = "olga", "olga-sees-her-agents-only"


def ask(agent, arena_id: str, text: str, choices=None) -> dict:
    body = {"text": text, "choices": choices}
    return agent.call("POST", f"/api/arenas/{arena_id}/requests/", body, expect=201)


def cancel(agent, arena_id: str, request_id: str) -> None:
    agent.call("DELETE", f"/api/arenas/{arena_id}/requests/{request_id}/", expect=204)


def working_arena(make_live_agent, goal: str = "Sort the harbour logs", **config):
    """An active arena of lead (coordinator) and bob (worker): (lead, bob, arena id)."""
    lead = make_live_agent("lead")
    bob = make_live_agent("bob")
    arena_id = lead.create_arena(
        goal=goal, participants=[{"agent_id": "bob", "role": "worker"}], **config
    )
    lead.act(arena_id, "activate")
    return lead, bob, arena_id


def inbox_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "#request-list > li", "items => items.map(i => i.dataset.requestId)"
    )


def wait_for_inbox(page, ids: list[str]) -> None:
    page.wait_for_function(
        "ids => JSON.stringify(Array.from(document.querySelectorAll('#request-list > li'),"
        " i => i.dataset.requestId)) === JSON.stringify(ids)",
        arg=ids,
    )


def request_item(page, request_id: str):
    return page.locator(f"[data-panel=requests] li[data-request-id='{request_id}']")


def open_page(new_page, live_server, login, path: str):
    page = new_page()
    log_in(page, live_server.url, *login, path=path)
    wait_until_live(page)
    page.evaluate("window.__notReloaded = true")
    return page


def events_of(agent, arena_id: str, type_: str) -> list[dict]:
    events = agent.call("GET", f"/api/arenas/{arena_id}/events/?after=0&limit=500")["events"]
    return [e for e in events if e["type"] == type_]


def test_the_header_count_and_the_inbox_follow_requests_live(
    new_page, live_server, staff, make_live_agent
):
    lead, bob, arena_id = working_arena(make_live_agent)
    inbox = open_page(new_page, live_server, staff, "/requests/")
    arenas = open_page(new_page, live_server, staff, "/")
    arena = open_page(new_page, live_server, staff, f"/arenas/{arena_id}/")
    assert inbox.locator("#request-empty").is_visible()
    for page in (inbox, arenas, arena):
        wait_for_count(page, 0)

    first = ask(bob, arena_id, "Which format should the index use?", ["csv", "json"])
    for page in (inbox, arenas, arena):
        wait_for_count(page, 1)
    wait_for_inbox(inbox, [first["id"]])
    item = inbox.locator(f"#request-list > li[data-request-id='{first['id']}']")
    assert "bob" in item.locator(".request__head").inner_text()
    assert item.locator(".request__text").inner_text() == "Which format should the index use?"
    assert item.locator("button[name=choice]").all_inner_texts() == ["csv", "json"]
    assert re.fullmatch(r"just now|\d+ s ago", item.locator("time").inner_text())
    link = item.locator(".request__arena a")
    assert link.inner_text() == "Sort the harbour logs"
    assert not inbox.locator("#request-empty").is_visible()
    request_item(arena, first["id"]).wait_for()

    second = ask(lead, arena_id, "Who reads the final report?")
    wait_for_inbox(inbox, [second["id"], first["id"]])
    wait_for_count(arenas, 2)

    cancel(bob, arena_id, first["id"])
    wait_for_inbox(inbox, [second["id"]])
    for page in (inbox, arenas, arena):
        wait_for_count(page, 1)
    request_item(arena, first["id"]).locator("text=Cancelled").wait_for()
    assert events_of(bob, arena_id, "input_cancelled")[0]["request_id"] == first["id"]
    cancelled = arena.locator("#feed > li.event--input_cancelled")
    assert "bob withdrew a request" in cancelled.inner_text()

    # After a dropped connection the count and the list catch up with what they missed.
    inbox.evaluate("window.AlephLive.drop()")
    cancel(lead, arena_id, second["id"])
    wait_for_inbox(inbox, [])
    wait_for_count(inbox, 0)
    assert inbox.locator("#request-empty").is_visible()
    screenshot(inbox, "requests-inbox-empty")
    third = ask(bob, arena_id, "One more?", ["yes", "no"])
    wait_for_inbox(inbox, [third["id"]])
    screenshot(inbox, "requests-inbox")

    link = inbox.locator(f"#request-list > li[data-request-id='{third['id']}'] .request__arena a")
    for page in (inbox, arenas, arena):
        assert page.evaluate("window.__notReloaded") is True
    link.click()
    inbox.wait_for_url(f"{live_server.url}/arenas/{arena_id}/#request-{third['id']}")
    assert request_item(inbox, third["id"]).is_visible()


def test_staff_answer_with_a_choice_and_the_agent_learns_it(
    new_page, live_server, staff, make_live_agent
):
    _lead, bob, arena_id = working_arena(make_live_agent)
    page = open_page(new_page, live_server, staff, f"/arenas/{arena_id}/")

    asked = ask(bob, arena_id, "Which format should the index use?", ["csv", "json"])
    item = request_item(page, asked["id"])
    item.wait_for()
    wait_for_count(page, 1)
    requested = page.locator("#feed > li.event--input_requested")
    assert "bob asked people" in requested.inner_text()
    assert "Which format should the index use?" in requested.inner_text()
    assert "Choices: csv · json" in requested.inner_text()
    screenshot(page, "arena-request-open")

    item.get_by_role("button", name="json").click()

    page.get_by_role("status").filter(
        has_text="Answered bob with “json”: the agent sees it on its feed."
    ).wait_for()
    wait_until_live(page)
    item = request_item(page, asked["id"])
    assert item.get_attribute("data-status") == "answered"
    assert "Answered by staff:ada: json" in " ".join(item.inner_text().split())
    assert item.locator("form").count() == 0
    provided = page.locator("#feed > li.event--input_provided")
    assert "staff:ada answered bob: json" in " ".join(provided.inner_text().split())
    wait_for_count(page, 0)

    [event] = events_of(bob, arena_id, "input_provided")
    assert (event["by"], event["choice"], event["agent_id"]) == ("staff:ada", "json", "bob")
    listed = bob.call("GET", f"/api/arenas/{arena_id}/requests/")["results"]
    assert listed[0]["status"] == "answered" and listed[0]["answer"]["by"] == "staff:ada"

    # The agent's next move arrives on the page's feed.
    bob.say(arena_id, "Switching the index to JSON.")
    message = page.locator("#feed > li.event--message_posted")
    message.wait_for()
    assert "Switching the index to JSON." in message.inner_text()
    screenshot(page, "arena-request-answered")

    # Someone else answers first while the form is on the page (its panel holds the focus,
    # so the page keeps the form): the answer is refused as closed and changes nothing.
    again = ask(bob, arena_id, "Compress it?", ["yes", "no"])
    item = request_item(page, again["id"])
    item.wait_for()
    item.get_by_label("Note with your choice (optional)").focus()
    other = live_server.signed_in(*staff)
    try:
        answered = other.post(
            f"/api/arenas/{arena_id}/requests/{again['id']}/answer/", json={"choice": "no"}
        )
        assert answered.status_code == 200, answered.text
    finally:
        other.close()
    page.locator("#feed > li.event--input_provided").nth(1).wait_for()
    assert item.locator("form").count() == 1

    item.get_by_role("button", name="yes").click()

    page.get_by_role("alert").filter(has_text="(request_closed)").wait_for()
    assert (
        "Not answered: The request is already answered." in page.get_by_role("alert").inner_text()
    )
    assert request_item(page, again["id"]).get_attribute("data-status") == "answered"
    assert [e["choice"] for e in events_of(bob, arena_id, "input_provided")] == ["json", "no"]


def test_staff_give_a_free_answer_in_the_text_box(new_page, live_server, staff, make_live_agent):
    _lead, bob, arena_id = working_arena(make_live_agent)
    asked = ask(bob, arena_id, "What should the report's title say?")
    page = open_page(new_page, live_server, staff, f"/arenas/{arena_id}/")
    item = request_item(page, asked["id"])
    box = item.get_by_label("Your answer")
    assert box.get_attribute("required") is not None

    item.get_by_role("button", name="Answer").click()  # empty: the browser asks for text
    assert page.evaluate("window.__notReloaded") is True
    box.fill("Harbour logs, 1890–1910\nA second line.")
    item.get_by_role("button", name="Answer").click()

    page.get_by_role("status").filter(has_text="Answered bob with your answer").wait_for()
    # The answered request is drawn again when its event arrives: read it once it shows.
    page.wait_for_function(
        """id => document.querySelector(
            `[data-panel=requests] li[data-request-id='${id}'][data-status=answered]`
            + " .request__reply")?.innerText.includes("\\n")""",
        arg=asked["id"],
    )
    item = request_item(page, asked["id"])
    assert item.get_attribute("data-status") == "answered"
    assert item.locator(".request__reply").inner_text() == "Harbour logs, 1890–1910\nA second line."
    [event] = events_of(bob, arena_id, "input_provided")
    assert (event["choice"], event["text"]) == (None, "Harbour logs, 1890–1910\nA second line.")
    provided = page.locator("#feed > li.event--input_provided")
    assert "A second line." in provided.inner_text()


def test_every_field_of_a_request_shows_as_text(new_page, live_server, staff, make_live_agent):
    lead = make_live_agent("lead")
    asker = make_live_agent("x-script.img")
    arena_id = lead.create_arena(
        goal=HOSTILE,
        plan=[{"title": HOSTILE}, {"title": "Check", "review": True}],
        participants=[{"agent_id": "x-script.img", "role": "worker"}],
    )
    lead.act(arena_id, "activate")
    inbox = open_page(new_page, live_server, staff, "/requests/")
    arena = open_page(new_page, live_server, staff, f"/arenas/{arena_id}/")

    choices = [HOSTILE, "</textarea><b>bold</b>", "<i>plain</i>"]
    asked = ask(asker, arena_id, HOSTILE, choices)
    asker.call(
        "POST",
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": HOSTILE, "content": HOSTILE},
        expect=201,
    )
    review = asker.call("POST", f"/api/arenas/{arena_id}/steps/", {"step": 2}, expect=202)

    wait_for_inbox(inbox, [review["request"]["id"], asked["id"]])
    item = inbox.locator(f"#request-list > li[data-request-id='{asked['id']}']")
    assert item.locator(".request__text").inner_text() == HOSTILE
    assert item.locator("button[name=choice]").all_inner_texts() == choices
    assert item.locator(".request__arena a").inner_text() == HOSTILE
    assert "x-script.img" in item.locator(".request__agent").inner_text()

    panel = request_item(arena, asked["id"])
    panel.wait_for()
    assert panel.locator(".request__text").inner_text() == HOSTILE
    assert panel.locator(".request__buttons button").all_inner_texts() == choices
    review_item = request_item(arena, review["request"]["id"])
    review_item.wait_for()
    assert review_item.locator(".request__review a").first.inner_text() == HOSTILE
    feed = arena.locator("#feed > li.event--input_requested").last
    assert HOSTILE in feed.inner_text()

    panel.get_by_label("Note with your choice (optional)").fill(HOSTILE)
    panel.get_by_role("button", name="</textarea><b>bold</b>").click()
    arena.get_by_role("status").filter(has_text="Answered x-script.img").wait_for()
    answered = request_item(arena, asked["id"])
    assert answered.locator(".choice--picked").inner_text() == "</textarea><b>bold</b>"
    assert answered.locator(".request__reply").inner_text() == HOSTILE
    provided = arena.locator("#feed > li.event--input_provided")
    provided.wait_for()
    assert HOSTILE in provided.inner_text()
    wait_for_inbox(inbox, [review["request"]["id"]])

    for page in (inbox, arena):
        assert page.evaluate("window.__xss") is None
        assert page.locator("#main b, #main i, #main img").count() == 0
    [event] = events_of(asker, arena_id, "input_provided")
    assert (event["choice"], event["text"]) == ("</textarea><b>bold</b>", HOSTILE)

    # On a phone neither page scrolls sideways, long unbroken words included.
    ask(asker, arena_id, "W" * 300, ["C" * 200])
    phone = new_page(PHONE)
    log_in(phone, live_server.url, *staff, path="/requests/")
    for name, path in (("requests", "/requests/"), ("arena-requests", f"/arenas/{arena_id}/")):
        phone.goto(live_server.url + path)
        wait_until_live(phone)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} scrolls sideways on a phone"
        screenshot(phone, f"{name}-phone")


def test_a_person_without_staff_sees_only_their_agents_requests_and_cannot_answer(
    new_page, live_db, live_server, make_live_agent
):
    live_db.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({OWNER!r}, password={OWNER_PASSWORD!r})",
    )
    mine = make_live_agent("mine", owner=OWNER)
    lead, bob, theirs = working_arena(make_live_agent, goal="Not hers")
    mine_arena = mine.create_arena(
        goal="Hers", participants=[{"agent_id": "bob", "role": "worker"}]
    )
    mine.act(mine_arena, "activate")
    hidden = ask(bob, theirs, "Hidden from her")
    inbox = open_page(new_page, live_server, (OWNER, OWNER_PASSWORD), "/requests/")
    wait_for_count(inbox, 0)
    assert inbox_ids(inbox) == []

    seen = ask(bob, mine_arena, "Shown to her", ["yes", "no"])
    wait_for_inbox(inbox, [seen["id"]])
    wait_for_count(inbox, 1)
    ask(lead, theirs, "Also hidden")
    later = ask(bob, mine_arena, "Shown too")
    wait_for_inbox(inbox, [later["id"], seen["id"]])
    wait_for_count(inbox, 2)
    assert "Hidden" not in inbox.locator("#request-list").inner_text()

    inbox.locator(f"#request-list > li[data-request-id='{seen['id']}'] .request__arena a").click()
    inbox.wait_for_url(f"{live_server.url}/arenas/{mine_arena}/#request-{seen['id']}")
    item = request_item(inbox, seen["id"])
    assert "Waiting for staff or a coordinator to answer." in item.inner_text()
    assert item.locator("form, button").count() == 0
    assert item.locator(".choice-text").all_inner_texts() == ["yes", "no"]
    session = live_server.signed_in(OWNER, OWNER_PASSWORD)
    try:
        refused = session.post(
            f"/arenas/{mine_arena}/requests/{seen['id']}/answer/", data={"choice": "yes"}
        )
        unseen = session.post(
            f"/arenas/{theirs}/requests/{hidden['id']}/answer/", data={"choice": "yes"}
        )
        assert (refused.status_code, unseen.status_code) == (403, 404)
    finally:
        session.close()
    assert events_of(bob, mine_arena, "input_provided") == []
    assert inbox.goto(f"{live_server.url}/arenas/{theirs}/").status == 404
