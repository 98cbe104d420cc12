"""What waits for a person comes first, and says what it is, in Debian's Chromium against a
real Daphne server: on a phone the arena page puts open requests (then the Steer controls)
above the plan and the live feed; the plan shows every step, a step waiting for review as
such; a slot that never reported is not "working", nor is one whose work is over; and staff
answer a request from the inbox with its choice buttons (the same domain call as the arena
page)."""

from __future__ import annotations

import pytest

from .conftest import PHONE, log_in, screenshot, wait_for_count, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

PLAN = [{"title": f"Part {n}", "assignee": "bob"} for n in range(1, 9)]
PLAN[2] = {"title": "Draft the summary", "assignee": "bob", "review": True}


def top(page, selector: str) -> float:
    """Where the element starts on the page, in CSS pixels from its top."""
    return page.eval_on_selector(selector, "e => e.getBoundingClientRect().top + window.scrollY")


def review_arena(make_live_agent) -> tuple:
    """An active arena with an 8-step plan, step 3 reviewed; bob completed steps 1 and 2,
    published a draft without ever reporting progress, and submitted step 3 for review:
    (lead, bob, arena id, review request id)."""
    lead = make_live_agent("lead")
    bob = make_live_agent("bob")
    arena_id = lead.create_arena(
        goal="Summarise the harbour logs",
        plan=PLAN,
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    lead.act(arena_id, "activate")
    bob.step(arena_id, 1)
    bob.step(arena_id, 2)
    bob.call(
        "POST",
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": "Summary draft", "content": "Ships came and went."},
        expect=201,
    )
    submitted = bob.call("POST", f"/api/arenas/{arena_id}/steps/", {"step": 3}, expect=202)
    return lead, bob, arena_id, submitted["request"]["id"]


def test_on_a_phone_open_requests_come_first_and_the_plan_shows_the_review(
    new_page, live_server, staff, make_live_agent
):
    _lead, bob, arena_id, review_id = review_arena(make_live_agent)
    page = new_page(PHONE)
    log_in(page, live_server.url, *staff, path=f"/arenas/{arena_id}/")
    wait_until_live(page)

    requests = "[data-panel=requests]"
    assert page.locator(f"{requests} li[data-request-id='{review_id}']").is_visible()
    # The panels are swapped in live as the arena changes: wait until all are laid out.
    order = [requests, "[data-panel=controls]", "[data-panel=plan]", ".feed"]
    page.wait_for_function(
        """order => order.every(s => {
            const e = document.querySelector(s);
            return e && e.getBoundingClientRect().height > 0;
        })""",
        arg=order,
    )
    tops = [top(page, selector) for selector in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    # The request starts on the first screen, its buttons just below (under the note box).
    item = page.locator(f"{requests} li[data-request-id='{review_id}']")
    approve = item.get_by_role("button", name="approve")
    assert item.evaluate("i => i.getBoundingClientRect().top") < PHONE["height"]
    assert approve.evaluate("b => b.getBoundingClientRect().bottom") < 1.25 * PHONE["height"]

    step = page.locator("[data-panel=plan] li[data-step='3']")
    assert "Waiting for review" in step.inner_text()
    assert "plan__step--review" in step.get_attribute("class")
    # Every step is on the page: the plan does not scroll inside its own box.
    assert page.locator("[data-panel=plan] li[data-step]").count() == len(PLAN)
    assert page.locator("[data-panel=plan] .plan").evaluate(
        "plan => plan.scrollHeight <= plan.clientHeight + 1"
    )
    # The last step scrolls into view on the page (the plan is swapped in live, so the
    # scroll and the check run together in the page, on the element there at the time).
    page.wait_for_function(
        """() => {
            const last = document.querySelector("[data-panel=plan] li[data-step='8']");
            if (!last) return false;
            last.scrollIntoView({block: "center"});
            const box = last.getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight
                && getComputedStyle(last).visibility === "visible";
        }"""
    )
    # bob published but never said what it does: not "working".
    bob_slot = page.locator("#participant-bob .slot")
    assert bob_slot.inner_text().strip().endswith("no report yet")
    screenshot(page, "phone-requests-first")

    approve.click()
    page.get_by_role("status").filter(has_text="Answered bob with “approve”").wait_for()
    page.locator("[data-panel=plan] li[data-step='3'].plan__step--done").wait_for()
    assert not page.locator("[data-panel=requests]").get_attribute("class").count("--open")
    bob.call(
        "POST",
        f"/api/arenas/{arena_id}/progress/",
        {"current": "Writing part 4", "slot_status": "working"},
        expect=200,
    )
    page.locator("#participant-bob .slot--working").wait_for()
    for number in range(4, 9):
        bob.step(arena_id, number)
    # Every step done: the slot bob left `working` says idle, and what it last said.
    page.locator("#participant-bob .slot--idle").wait_for()
    assert "last said: Writing part 4" in page.locator("#participant-bob").inner_text()


def test_staff_answer_from_the_inbox_with_its_choice_buttons(
    new_page, live_server, staff, make_live_agent
):
    lead = make_live_agent("lead")
    bob = make_live_agent("bob")
    arena_id = lead.create_arena(
        goal="Sort the harbour logs", participants=[{"agent_id": "bob", "role": "worker"}]
    )
    lead.act(arena_id, "activate")
    asked = bob.call(
        "POST",
        f"/api/arenas/{arena_id}/requests/",
        {"text": "Which format?", "choices": ["csv", "json"]},
        expect=201,
    )
    page = new_page(PHONE)
    log_in(page, live_server.url, *staff, path="/requests/")
    wait_until_live(page)
    wait_for_count(page, 1)

    item = page.locator(f"#request-list > li[data-request-id='{asked['id']}']")
    note = item.get_by_label("Note with your choice (optional)")
    note.fill("Easier to diff.")
    # Another request arrives while the person writes: the list is fetched again and
    # swapped in, the note stays.
    bob.call("POST", f"/api/arenas/{arena_id}/requests/", {"text": "Any deadline?"}, expect=201)
    wait_for_count(page, 2)
    page.locator("#request-list > li").nth(1).wait_for()
    assert note.input_value() == "Easier to diff."
    item.get_by_role("button", name="json").click()

    page.wait_for_url(f"{live_server.url}/requests/")
    page.get_by_role("status").filter(has_text="Answered bob with “json”").wait_for()
    wait_for_count(page, 1)
    assert page.locator("#request-list > li").count() == 1
    [answered] = bob.call("GET", f"/api/arenas/{arena_id}/requests/?status=answered")["results"]
    assert answered["id"] == asked["id"]
    assert answered["answer"]["choice"] == "json"
    assert answered["answer"]["text"] == "Easier to diff."
    assert answered["answer"]["by"] == f"staff:{staff[0]}"
    events = bob.call("GET", f"/api/arenas/{arena_id}/events/?after=0")["events"]
    assert [e["choice"] for e in events if e["type"] == "input_provided"] == ["json"]
