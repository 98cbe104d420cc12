"""`manage.py demo` against a real server: it plays its arenas to the archive over HTTP,
gives a staff login that works on the dashboard and in the admin, waits for the person in
the loop for as long as it runs (unless `--answer-after`), announces a second round, and
settles and archives what it started when stopped with Ctrl-C. Its agents
claim every step before completing it; one stalls, the server's sweep (every second here)
expires its claim and another agent takes the step over; a review and a question wait for a
person, who answers through the REST API with a staff session or on the arena pages in
Chromium, or demo-lead answers them after `--answer-after`. The log (REST) is the evidence."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.liveserver import PYTHON, ROOT, free_port

from .conftest import STAFF_USERNAME, log_in, screenshot, wait_for_count, wait_until_live

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEMO_GOALS = (
    "Write a field guide to the birds of the Tagus estuary",
    "Choose a caching strategy for the image service",
    "Plan the team offsite (activate me from the dashboard)",
)


# The demo's plans (arenas/demo/): the caching arena's last step is the
# one its researcher stalls on; the field guide's step 3 is reviewed.
CACHING_STEPS = 8
STALLED_STEP = 8
REVIEWED_STEP = 3
WORKERS = {"demo-engineer", "demo-researcher", "demo-analyst"}
DEMO_USERNAME = "demo"
ENGINEER, WRITER, REVIEWER = "demo-engineer", "demo-writer", "demo-reviewer"
KEEP = "Keep LRU for now"  # the engineer's question's other choice than demo-lead's


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """`live_server` sweeps claims every second: the stalled lease (5 s) is expired soon
    after it lapses."""
    return {"ALEPH_CLAIM_SWEEP_SECONDS": "1"}


def password_in(output: str) -> str:
    return re.search(r"Password:\s+(\S+)", output).group(1)


def post_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data={**data, "csrfmiddlewaretoken": client.cookies["csrftoken"]})


def events_of(client: httpx.Client, arena_id: str) -> list[dict]:
    """Every event of the arena, through the REST API, checked gapless (1, 2, 3, ...)."""
    events: list[dict] = []
    after = 0
    while after is not None:
        page = client.get(f"/api/arenas/{arena_id}/events/?after={after}&limit=500").json()
        events.extend(page["events"])
        after = page["next_after"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["seq"] == page["last_seq"]
    return events


def demo_arenas(client: httpx.Client) -> dict[str, dict]:
    """The demo's arenas of one round, by goal."""
    arenas = client.get("/api/arenas/?status=archived").json()["results"]
    return {arena["goal"]: arena for arena in arenas}


def of(events: list[dict], type_: str, **fields) -> list[dict]:
    return [
        e for e in events if e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())
    ]


def assert_each_step_claimed_then_completed_once(events: list[dict], total: int) -> None:
    completed = of(events, "step_completed")
    assert sorted(e["step"] for e in completed) == list(range(1, total + 1))
    for done in completed:
        assert of(
            [e for e in events if e["seq"] < done["seq"]],
            "step_claimed",
            step=done["step"],
            agent_id=done["agent_id"],
        ), f"step {done['step']} was completed by {done['agent_id']} without a claim"


def assert_the_stalled_claim_expired_and_was_taken_over(events: list[dict]) -> None:
    """The researcher's claim on the last step lapses; the server records it with nobody
    writing (the event before it is that claim); another worker claims and completes it."""
    [expired] = of(events, "claim_expired")
    assert expired["actor"] is None
    assert (expired["step"], expired["agent_id"]) == (STALLED_STEP, "demo-researcher")
    before = events[expired["seq"] - 2]
    assert before["type"] == "step_claimed" and before["claim_id"] == expired["claim_id"]
    after = [e for e in events if e["seq"] > expired["seq"]]
    [taken] = of(after, "step_claimed", step=STALLED_STEP)
    assert taken["agent_id"] in WORKERS - {"demo-researcher"}
    [done] = of(after, "step_completed", step=STALLED_STEP)
    assert done["agent_id"] == taken["agent_id"] and done["seq"] > taken["seq"]


def answers_of(events: list[dict], kind: str) -> list[tuple[dict, dict]]:
    """(input_requested, input_provided) of each request of `kind`, in order."""
    pairs = []
    for asked in of(events, "input_requested", kind=kind):
        [answered] = of(events, "input_provided", request_id=asked["request_id"])
        assert answered["seq"] > asked["seq"]
        pairs.append((asked, answered))
    return pairs


def assert_review_approved_by(events: list[dict], by: str) -> None:
    """The last review of step 3 is approved by `by`; its step_completed follows at once,
    done by the writer, with the reviewer as its actor."""
    asked, answered = answers_of(events, "review")[-1]
    assert (asked["step"], asked["agent_id"]) == (REVIEWED_STEP, "demo-writer")
    assert (answered["by"], answered["choice"]) == (by, "approve")
    completed = events[answered["seq"]]  # the event after input_provided
    assert completed["type"] == "step_completed"
    assert (completed["step"], completed["agent_id"]) == (REVIEWED_STEP, "demo-writer")
    assert completed["actor"] == by


# `manage.py` with Ctrl-C (SIGINT) interrupting it, as it does in a terminal: a shell that runs
# the suite in the background starts its commands with SIGINT ignored, and Python keeps an
# ignored SIGINT ignored, so the demo would never hear the test's Ctrl-C.
AS_IN_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['manage.py', *sys.argv[1:]]; runpy.run_path('manage.py', run_name='__main__')"
)


class Demo:
    """`manage.py demo` running in the background, its output read line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-c", AS_IN_A_TERMINAL, "demo", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """The first line printed so far, or from now on, that holds `text`."""
        for line in self.output:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None or not self.lines.empty(), (
                    f"demo exited before printing {text!r}:\n{''.join(self.output)}"
                )
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"demo did not print {text!r}:\n{''.join(self.output)}")

    def finish(self, timeout: float = 120.0) -> int:
        """The demo's exit code once it exits; if it does not within `timeout`, fail with
        what it printed and where each of its threads stands (py-spy)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stacks = subprocess.run(
                [str(Path(PYTHON).parent / "py-spy"), "dump", "--pid", str(self.process.pid)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            self._drain()
            raise AssertionError(
                f"the demo did not exit within {timeout} s; it printed:\n"
                + "".join(self.output)[-4000:]
                + f"\nits threads:\n{stacks.stdout}{stacks.stderr}"
            ) from None
        self._drain()
        return code

    def _drain(self) -> None:
        while not self.lines.empty():
            self.output.append(self.lines.get())

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The demo's agents frozen (SIGSTOP) until the block ends (SIGCONT): what they do
        next comes after whatever the block did, say a page that is live by then."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_demo_plays_its_arenas_to_the_archive_and_prints_a_working_login(live_db, live_server):
    output = live_db.manage(
        "demo", "--url", live_server.url, "--pace", "0", "--once", "--answer-after", "1"
    )

    for goal in DEMO_GOALS:
        assert f"demo-lead created the arena “{goal}”" in output
    assert output.count("moved the arena to archived") == 3
    with closing(live_server.signed_in("demo", password_in(output))) as dashboard:
        admin = dashboard.get("/admin/arenas/arena/")
        assert admin.status_code == 200 and DEMO_GOALS[0] in admin.text
        assert "permission" not in dashboard.get("/admin/").text
        archived = dashboard.get("/?status=archived").text
        arenas = demo_arenas(dashboard)
        log = {goal: events_of(dashboard, arena["id"]) for goal, arena in arenas.items()}
    assert all(goal in archived for goal in DEMO_GOALS)
    assert sorted(arenas) == sorted(DEMO_GOALS)
    assert all(a["completed_steps"] == a["total_steps"] for a in arenas.values())
    for goal, events in log.items():
        assert_each_step_claimed_then_completed_once(events, arenas[goal]["total_steps"])
    guide, caching, _offsite = (log[goal] for goal in DEMO_GOALS)

    assert arenas[DEMO_GOALS[1]]["total_steps"] == CACHING_STEPS
    assert_the_stalled_claim_expired_and_was_taken_over(caching)
    assert "stops renewing" in output and "refused (claim_lost)" in output
    assert_the_lead_forked_before_the_stall(live_server, password_in(output), caching, output)

    # Nobody answers: after --answer-after, demo-lead (a coordinator, not the asker) does.
    assert_review_approved_by(guide, "demo-lead")
    [(asked, answered)] = answers_of(caching, "question")
    assert asked["agent_id"] == "demo-engineer" and asked["choices"]
    assert (answered["by"], answered["choice"]) == ("demo-lead", "Ship TinyLFU now")
    [decision] = of(caching, "message_posted", agent_id="demo-engineer")[-1:]
    assert decision["seq"] > answered["seq"] and "TinyLFU ships" in decision["text"]
    for arena_id in (arenas[DEMO_GOALS[0]]["id"], arenas[DEMO_GOALS[1]]["id"]):
        assert f"open {live_server.url}/arenas/{arena_id}/ (signed in as demo)" in output
    assert output.count("so as the arena's coordinator it answers") == 2
    assert_the_budget_ran_out_and_was_raised_by(caching, "demo-lead")
    for events in log.values():
        reports = of(events, "usage_reported")
        assert len(reports) >= 3
        assert all(r["priced"] and r["cost_usd"] != "0.000000" for r in reports)
    live_db.manage("verify_arenas")


def assert_the_lead_forked_before_the_stall(
    live_server, password: str, caching: list[dict], output: str
) -> None:
    """The caching study is forked at the seq just before the stalled claim; the terminal
    says where the fork is, and the fork starts there: the last step open, the budget of
    then, no usage."""
    [expired] = of(caching, "claim_expired")
    [stalled] = of(caching, "step_claimed", claim_id=expired["claim_id"])
    [forked] = of(caching, "arena_forked")
    assert forked["at"] == stalled["seq"] - 1 and forked["actor"] == "demo-lead"
    with closing(live_server.signed_in("demo", password)) as dashboard:
        fork = dashboard.get(f"/api/arenas/{forked['fork_id']}/").json()
        assert dashboard.get(f"/arenas/{fork['id']}/").status_code == 200
    assert fork["status"] == "created"
    assert fork["forked_from"] == {"arena_id": forked["arena_id"], "seq": forked["at"]}
    assert fork["completed_steps"] == CACHING_STEPS - 1
    assert fork["budget"] == {"cost_usd": "1.000000"}
    assert fork["usage"]["cost_usd"] == "0.000000"
    assert f"forked the arena at seq {forked['at']}, just before" in output
    assert f"Look at the fork: {live_server.url}/arenas/{fork['id']}/" in output


def assert_the_budget_ran_out_and_was_raised_by(events: list[dict], by: str) -> None:
    """The caching study's budget is used up by its first steps' usage; its request is
    answered `raise` by `by`, and the claims go on after the new budget."""
    [exhausted] = of(events, "budget_exhausted")
    assert exhausted["scope"] == "arena" and exhausted["limit"] == "0.080000"
    [(asked, answered)] = answers_of(events, "budget")
    assert asked["agent_id"] is None and asked["choices"] == ["raise", "stop"]
    assert (answered["by"], answered["choice"], answered["text"]) == (by, "raise", "1.00")
    raised = of(events, "budget_changed")[-1]
    assert raised["budget"] == {"cost_usd": "1.000000"} and raised["seq"] > answered["seq"]
    assert any(e["seq"] > raised["seq"] for e in of(events, "step_claimed"))


def test_running_the_demo_again_resets_the_password_and_keeps_one_user(live_db, live_server):
    quick = ("--pace", "0", "--once", "--answer-after", "0")
    first = live_db.manage("demo", "--url", live_server.url, *quick)
    second = live_db.manage("demo", "--url", live_server.url, *quick)

    assert password_in(first) != password_in(second)
    count = live_db.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "print(User.objects.filter(username='demo', is_staff=True).count())",
    )
    assert count.strip().splitlines()[-1] == "1"
    with pytest.raises(RuntimeError):
        live_server.signed_in("demo", password_in(first))
    live_server.signed_in("demo", password_in(second)).close()


def test_demo_says_clearly_when_no_server_answers(live_db):
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(RuntimeError) as failure:
        live_db.manage("demo", "--url", url, "--wait", "0", "--once")

    assert f"No Aleph Arena server answers at {url}" in str(failure.value)
    assert "make run" in str(failure.value)
    assert "Traceback" not in str(failure.value)


def test_demo_answers_a_person_who_activates_its_waiting_arena_and_writes(
    live_db, live_server, staff
):
    demo = Demo(
        live_db.env(), "--url", live_server.url, "--pace", "0.3", "--once", "--answer-after", "1"
    )
    try:
        demo.wait_for("offsite] demo-lead created the arena")
        with closing(live_server.signed_in(*staff)) as dashboard:
            [waiting] = [
                a
                for a in dashboard.get("/api/arenas/?status=created").json()["results"]
                if a["goal"] == DEMO_GOALS[2]
            ]
            path = f"/arenas/{waiting['id']}/"
            post_form(dashboard, path + "transition/", {"action": "activate"})
            post_form(dashboard, path + "messages/", {"text": "Book the lake house."})

        demo.wait_for("Activated: thank you!")
        demo.wait_for(f"Thanks, {STAFF_USERNAME}: noted")
        assert demo.finish() == 0
    finally:
        demo.stop()
    assert "Nobody came by" not in "".join(demo.output)


def open_request(client: httpx.Client, kind: str, agent_id: str) -> dict:
    """The one open request of `kind` by `agent_id` (the demo printed that it asked)."""
    [request] = [
        r
        for r in client.get("/api/requests/?status=open").json()["results"]
        if r["kind"] == kind and r["agent_id"] == agent_id
    ]
    return request


def answer(client: httpx.Client, request: dict, choice: str, text: str = "") -> None:
    path = f"/api/arenas/{request['arena_id']}/requests/{request['id']}/answer/"
    response = client.post(path, json={"choice": choice, "text": text})
    assert response.status_code == 200, response.text


def test_what_waits_for_a_person_waits_until_the_person_acts(live_db, live_server, staff):
    """Without --answer-after the demo waits for the person: the offsite arena stays in
    `created` and the review and the question stay open while everything else is done, until
    a person (staff, through the REST API with a session, as the pages do) activates the
    arena, raises the caching study's budget, rejects the first draft, approves the second
    and decides the question. The agents
    hear it on their feeds and act on it; demo-lead never acts in their place."""
    demo = Demo(live_db.env(), "--url", live_server.url, "--pace", "0", "--once")
    try:
        with closing(live_server.signed_in(*staff)) as person:
            demo.wait_for("offsite] → It waits for a person to activate it")
            demo.wait_for("(draft 1) for review")
            demo.wait_for("It waits for you for as long as the demo runs.")
            demo.wait_for("press “raise”")
            answer(person, open_request(person, "budget", None), "raise", "1.00")
            demo.wait_for(f"staff:{STAFF_USERNAME} raised the budget to $1.000000")
            demo.wait_for("demo-engineer asks people")
            # Every agent waits for the person now: the waiting arena and the requests stay.
            [waiting] = [
                a
                for a in person.get("/api/arenas/?status=created").json()["results"]
                if a["goal"] == DEMO_GOALS[2]
            ]
            assert len(person.get("/api/requests/?status=open").json()["results"]) == 2
            assert demo.process.poll() is None
            post_form(person, f"/arenas/{waiting['id']}/transition/", {"action": "activate"})
            demo.wait_for("Activated: thank you!")
            review = open_request(person, "review", "demo-writer")
            answer(person, review, "reject", "Add the dunlin page.")
            person_said = f"hears on its feed: staff:{STAFF_USERNAME} answered"
            demo.wait_for(f"demo-writer {person_said} “reject”")
            demo.wait_for("(draft 2) for review")
            answer(person, open_request(person, "review", "demo-writer"), "approve")
            demo.wait_for(f"staff:{STAFF_USERNAME} approved demo-writer's draft")

            question = open_request(person, "question", "demo-engineer")
            answer(person, question, "Keep LRU for now", "Not before the holidays.")
            demo.wait_for("LRU stays")
            assert demo.finish() == 0

            arenas = demo_arenas(person)
            guide = events_of(person, arenas[DEMO_GOALS[0]]["id"])
            caching = events_of(person, arenas[DEMO_GOALS[1]]["id"])
    finally:
        demo.stop()

    output = "".join(demo.output)
    assert "so as the arena's coordinator" not in output and "Nobody came by" not in output
    [(_first, rejected), _second] = answers_of(guide, "review")
    assert (rejected["by"], rejected["choice"]) == (f"staff:{STAFF_USERNAME}", "reject")
    assert_review_approved_by(guide, f"staff:{STAFF_USERNAME}")
    assert_each_step_claimed_then_completed_once(guide, 5)
    [(_asked, answered)] = answers_of(caching, "question")
    assert (answered["by"], answered["choice"]) == (f"staff:{STAFF_USERNAME}", "Keep LRU for now")
    assert "LRU now, TinyLFU next" in output
    live_db.manage("verify_arenas")


def live_event(page, type_: str, text: str):
    """The feed's event of `type_` holding `text` that arrived over the live feed (not
    rendered with the page), once it is there."""
    item = page.locator(f"#feed > li.event--{type_}.event--new").filter(has_text=text)
    item.wait_for()
    return item


def feed_line(page, type_: str, text: str) -> str:
    """The one line of the page's feed of `type_` holding `text`, its spaces collapsed."""
    item = page.locator(f"#feed > li.event--{type_}").filter(has_text=text)
    return " ".join(item.inner_text().split())


@pytest.mark.browser
def test_a_person_answers_on_the_dashboard_and_the_agents_go_on_live(
    new_page, live_db, live_server
):
    """What the demo shows a newcomer, in Chromium: signed in with the login the demo
    prints, the person sees the header's request count rise live, follows the inbox to the
    arena page, decides the engineer's question and approves the writer's draft with their
    buttons, and watches the agents' next moves arrive on the page's live feed. The demo's
    agents are frozen while the page reloads after each answer, so what they do next can
    only reach the page live; without --answer-after demo-lead never answers."""
    demo = Demo(live_db.env(), "--url", live_server.url, "--pace", "0.1", "--once")
    person = f"staff:{DEMO_USERNAME}"
    try:
        password = password_in(demo.wait_for("Password:"))
        with demo.paused():  # before its agents ask anything
            page = new_page()
            log_in(page, live_server.url, DEMO_USERNAME, password, path="/requests/")
            wait_until_live(page)
            wait_for_count(page, 0)
            assert page.locator("#request-empty").is_visible()
            page.evaluate("window.__notReloaded = true")

        demo.wait_for("press “raise”")  # the caching study's budget is used up
        with closing(live_server.signed_in(DEMO_USERNAME, password)) as api:
            answer(api, open_request(api, "budget", None), "raise", "1.00")
        demo.wait_for(f"{person} raised the budget to $1.000000")
        demo.wait_for("(draft 1) for review")
        wait_for_count(page, 1)
        demo.wait_for("demo-engineer asks people")
        wait_for_count(page, 2)
        question = page.locator("#request-list > li").filter(has_text=ENGINEER)
        question.get_by_role("button", name=KEEP).wait_for()
        assert page.locator("#request-list > li").count() == 2
        assert page.evaluate("window.__notReloaded") is True
        screenshot(page, "demo-requests-inbox")

        question_id = question.get_attribute("data-request-id")
        caching_id = question.get_attribute("data-arena-id")
        question.locator(".request__arena a").click()
        page.wait_for_url(f"{live_server.url}/arenas/{caching_id}/#request-{question_id}")
        item = page.locator(f"[data-panel=requests] li[data-request-id='{question_id}']")
        with demo.paused():
            item.get_by_role("button", name=KEEP).click()
            page.get_by_role("status").filter(
                has_text=f"Answered {ENGINEER} with “{KEEP}”"
            ).wait_for()
            wait_until_live(page)
            page.evaluate("window.__notReloaded = true")
            answered = feed_line(page, "input_provided", KEEP)
            assert f"{person} answered {ENGINEER}: {KEEP}" in answered
            wait_for_count(page, 1)
        decided = live_event(page, "message_posted", "LRU stays")
        assert f"Decided by {person}: LRU stays" in decided.inner_text()
        live_event(page, "artifact_published", "cache.toml")
        assert page.evaluate("window.__notReloaded") is True
        screenshot(page, "demo-question-answered")

        page.locator("#requests-link").click()
        page.wait_for_url(f"{live_server.url}/requests/")
        review = page.locator("#request-list > li").filter(has_text=WRITER)
        review_id = review.get_attribute("data-request-id")
        guide_id = review.get_attribute("data-arena-id")
        review.locator(".request__arena a").click()
        page.wait_for_url(f"{live_server.url}/arenas/{guide_id}/#request-{review_id}")
        item = page.locator(f"[data-panel=requests] li[data-request-id='{review_id}']")
        with demo.paused():
            item.get_by_role("button", name="approve").click()
            page.get_by_role("status").filter(
                has_text=f"Answered {WRITER} with “approve”"
            ).wait_for()
            wait_until_live(page)
            page.evaluate("window.__notReloaded = true")
            assert f"{person} answered {WRITER}: approve" in feed_line(
                page, "input_provided", "approve"
            )
            completed = feed_line(page, "step_completed", "completed step 3")
            assert f"{WRITER} completed step 3 (3 of 5)" in completed
            assert f"by {person}" in completed
            wait_for_count(page, 0)
        live_event(page, "step_claimed", f"{REVIEWER} claimed step 4")
        live_event(page, "step_completed", f"{REVIEWER} completed step 4 (4 of 5)")
        page.locator("[data-panel=plan] li[data-step='4'].plan__step--done").wait_for()
        assert page.evaluate("window.__notReloaded") is True
        screenshot(page, "demo-review-approved")

        with closing(live_server.signed_in(DEMO_USERNAME, password)) as rest:
            [waiting] = [
                a
                for a in rest.get("/api/arenas/?status=created").json()["results"]
                if a["goal"] == DEMO_GOALS[2]
            ]
            post_form(rest, f"/arenas/{waiting['id']}/transition/", {"action": "activate"})
        assert demo.finish() == 0
        with closing(live_server.signed_in(DEMO_USERNAME, password)) as rest:
            arenas = demo_arenas(rest)
            log = {goal: events_of(rest, arena["id"]) for goal, arena in arenas.items()}
    finally:
        demo.stop()

    output = "".join(demo.output)
    assert "so as the arena's coordinator" not in output
    assert sorted(log) == sorted(DEMO_GOALS)
    guide, caching, _offsite = (log[goal] for goal in DEMO_GOALS)
    assert {arenas[DEMO_GOALS[0]]["id"], arenas[DEMO_GOALS[1]]["id"]} == {guide_id, caching_id}
    answers = [e for events in log.values() for e in of(events, "input_provided")]
    assert sorted((e["by"], e["choice"]) for e in answers) == [
        (person, KEEP),
        (person, "approve"),
        (person, "raise"),
    ]
    assert_review_approved_by(guide, person)
    assert_each_step_claimed_then_completed_once(guide, 5)
    [(_asked, answered)] = answers_of(caching, "question")
    assert answered["request_id"] == question_id
    [decision] = of(caching, "message_posted", agent_id=ENGINEER)
    assert decision["seq"] > answered["seq"] and "LRU stays" in decision["text"]
    live_db.manage("verify_arenas")


def test_ctrl_c_settles_and_archives_what_the_demo_started_and_says_so(live_db, live_server, staff):
    demo = Demo(live_db.env(), "--url", live_server.url, "--pace", "0.2")
    try:
        demo.wait_for("offsite] demo-lead created the arena")
        demo.wait_for("caching] demo-engineer claimed")
        demo.process.send_signal(signal.SIGINT)
        code = demo.finish(timeout=180)
    finally:
        demo.stop()

    output = "".join(demo.output)
    assert code == 0, output
    assert "Demo stopped: settling and archiving the arenas it started" in output
    assert "Traceback" not in output, output
    settled = output.split("Settled and archived: ", 1)[1]
    assert all(f"“{goal}”" in settled for goal in DEMO_GOALS)
    with closing(live_server.signed_in(*staff)) as person:
        arenas = person.get("/api/arenas/").json()["results"]
    assert sorted(a["goal"] for a in arenas) == sorted(DEMO_GOALS)
    assert {a["status"] for a in arenas} == {"archived"}
    live_db.manage("verify_arenas")


def test_a_second_round_is_announced_and_its_arenas_say_so(live_db, live_server, staff):
    output = live_db.manage(
        "demo", "--url", live_server.url, "--pace", "0", "--rounds", "2", "--answer-after", "0"
    )

    assert "Round 2: 3 new arenas, their goals end in “(round 2)”." in output
    assert (
        "The demo is over (2 rounds): every arena it played archived, its forks in Created."
        in output
    )
    with closing(live_server.signed_in(*staff)) as person:
        goals = [a["goal"] for a in person.get("/api/arenas/?status=archived").json()["results"]]
    assert sorted(goals) == sorted([*DEMO_GOALS, *(f"{g} (round 2)" for g in DEMO_GOALS)])


def test_demo_refuses_a_server_with_another_database(live_db, live_server, tmp_path):
    other = {**live_db.env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=other,
        check=True,
        capture_output=True,
    )

    result = subprocess.run(
        [PYTHON, "manage.py", "demo", "--url", live_server.url, "--once"],
        cwd=ROOT,
        env=other,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "uses another database" in result.stderr, result.stderr
    assert "created the arena" not in result.stdout
