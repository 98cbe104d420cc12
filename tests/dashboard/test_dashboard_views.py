"""The dashboard's pages and forms through Django's test client: who may see and steer
which arena, what a refused action does, and that user-supplied text is escaped."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from arenas.events import timestamp
from arenas.models import Agent, Arena, Claim, Event
from tests.domain.helpers import arena_row, assert_replay_matches

from .conftest import flashes

HOSTILE_GOAL = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


@pytest.mark.parametrize("path", ["/", "/?status=active", "/arenas/{id}/", "/arenas/{id}/panels/"])
def test_anonymous_visitor_is_sent_to_login_with_next(client, make_arena, path):
    path = path.format(id=make_arena())

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=" + path.replace("?", "%3F").replace(
        "=", "%3D"
    )


def test_anonymous_post_changes_nothing(client, make_arena):
    arena_id = make_arena()

    response = client.post(f"/arenas/{arena_id}/transition/", {"action": "activate"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Arena.objects.get(pk=arena_id).status == "created"


def test_login_page_renders_the_form(client, db):
    response = client.get("/accounts/login/?next=/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="next" value="/"' in response.content


def test_staff_sees_every_arena_and_filters_by_status(staff_client, make_arena):
    waiting = make_arena(goal="Waiting arena")
    running = make_arena(goal="Running arena", status="active")

    everything = staff_client.get("/").content.decode()
    active = staff_client.get("/?status=active").content.decode()

    assert str(waiting) in everything and str(running) in everything
    assert str(running) in active and str(waiting) not in active


def test_unknown_status_filter_shows_everything_with_a_warning(staff_client, make_arena):
    arena_id = make_arena()

    response = staff_client.get("/?status=nonsense")

    assert response.status_code == 200
    assert str(arena_id) in response.content.decode()
    assert flashes(response) == ["Unknown status filter: showing every arena."]


def test_user_sees_only_arenas_where_an_agent_they_own_takes_part(
    owner_client, owner, make_agent, make_arena
):
    make_agent("mine", owner=owner)
    make_agent("theirs")
    visible = make_arena(creator="theirs", participants=[{"agent_id": "mine", "role": "worker"}])
    hidden = make_arena(creator="theirs", goal="Not yours")

    listing = owner_client.get("/").content.decode()

    assert str(visible) in listing and str(hidden) not in listing
    assert owner_client.get(f"/arenas/{visible}/").status_code == 200
    assert owner_client.get(f"/arenas/{hidden}/").status_code == 404
    assert owner_client.get(f"/arenas/{hidden}/panels/").status_code == 404


def test_an_owner_sees_the_same_participant_count_as_staff(
    owner_client, owner, make_agent, make_arena, django_user_model, client
):
    make_agent("mine", owner=owner)
    make_agent("also-mine", owner=owner)
    arena_id = make_arena(
        creator="theirs",
        participants=[
            {"agent_id": "mine", "role": "worker"},
            {"agent_id": "also-mine", "role": "observer"},
            {"agent_id": "bob", "role": "worker"},
        ],
    )

    [row] = owner_client.get("/").context["arenas"]

    assert (row["id"], row["participant_count"]) == (str(arena_id), 4)
    staff = django_user_model.objects.create_user("root", password="pw", is_staff=True)
    client.force_login(staff)
    [staff_row] = client.get("/").context["arenas"]
    assert staff_row["participant_count"] == 4


def test_unknown_arena_is_404(staff_client):
    assert staff_client.get("/arenas/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert staff_client.get("/arenas/not-a-uuid/").status_code == 404


def test_user_without_staff_cannot_steer_and_nothing_changes(
    owner_client, owner, make_agent, make_arena
):
    make_agent("mine", owner=owner)
    visible = make_arena(creator="mine")
    hidden = make_arena(creator="alice")

    refused = owner_client.post(f"/arenas/{visible}/transition/", {"action": "activate"})
    unseen = owner_client.post(f"/arenas/{hidden}/messages/", {"text": "hello"})

    assert (refused.status_code, unseen.status_code) == (403, 404)
    assert Arena.objects.get(pk=visible).status == "created"
    assert not Event.objects.filter(type="message_posted").exists()
    page = owner_client.get(f"/arenas/{visible}/").content.decode()
    assert "Message to the agents" not in page and "/transition/" not in page


def test_staff_runs_a_transition_acting_as_staff(staff_client, make_arena):
    arena_id = make_arena()

    response = staff_client.post(f"/arenas/{arena_id}/transition/", {"action": "activate"})

    assert response.status_code == 302 and response["Location"] == f"/arenas/{arena_id}/"
    assert flashes(response) == ["The arena is now active."]
    event = Event.objects.filter(arena_id=arena_id).latest("seq")
    assert (event.type, event.actor, event.data["to_status"]) == (
        "status_changed",
        "staff:ada",
        "active",
    )


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("settle", "An arena cannot go from 'created' to 'settling'."),
        ("explode", "Invalid input: action: Must be one of: activate, settle, archive."),
        ("", "Invalid input: action: Must be one of: activate, settle, archive."),
    ],
)
def test_refused_transition_is_a_message_and_changes_nothing(
    staff_client, make_arena, action, error
):
    arena_id = make_arena()
    before = Arena.objects.get(pk=arena_id).last_seq

    response = staff_client.post(f"/arenas/{arena_id}/transition/", {"action": action})

    assert response.status_code == 302
    assert flashes(response) == [error]
    arena = Arena.objects.get(pk=arena_id)
    assert (arena.status, arena.last_seq) == ("created", before)


def test_staff_posts_a_message_to_everyone_or_to_one_agent(staff_client, make_arena):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])

    staff_client.post(f"/arenas/{arena_id}/messages/", {"text": "All hands", "to": ""})
    staff_client.post(f"/arenas/{arena_id}/messages/", {"text": "Just you", "to": "bob"})

    posted = [
        (e.actor, e.data["agent_id"], e.data["to"], e.data["text"])
        for e in Event.objects.filter(arena_id=arena_id, type="message_posted").order_by("seq")
    ]
    assert posted == [
        ("staff:ada", None, None, "All hands"),
        ("staff:ada", None, "bob", "Just you"),
    ]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"text": ""}, "text: This field may not be empty."),
        ({"text": "   "}, "text: This field may not be blank."),
        ({"text": "x" * 4001}, "text: At most 4000 characters (got 4001)."),
        ({"text": "hi", "to": "stranger"}, "to: 'stranger' is not a participant of this arena."),
    ],
)
def test_refused_message_is_a_message_and_changes_nothing(staff_client, make_arena, form, error):
    arena_id = make_arena()
    before = Arena.objects.get(pk=arena_id).last_seq

    response = staff_client.post(f"/arenas/{arena_id}/messages/", form)

    [shown] = flashes(response)
    assert shown.endswith(error)
    assert Arena.objects.get(pk=arena_id).last_seq == before


def test_message_to_an_archived_arena_is_refused(staff_client, make_arena):
    arena_id = make_arena(status="archived")

    response = staff_client.post(f"/arenas/{arena_id}/messages/", {"text": "Too late"})

    assert flashes(response) == ["The arena is archived: it does not allow to post a message."]


def test_hostile_text_is_escaped_in_every_page(staff_client, make_arena, manager):
    arena_id = make_arena(goal=HOSTILE_GOAL, status="active")
    handle = manager.handle(arena_id, "alice")
    artifact = handle.publish_artifact("text", HOSTILE_GOAL, HOSTILE_GOAL, {"x": HOSTILE_GOAL})
    handle.share_fact(HOSTILE_GOAL, 0.5, ["<b>tag</b>"])
    handle.report_progress(HOSTILE_GOAL, "working")

    pages = [
        staff_client.get(path).content.decode()
        for path in (
            "/",
            f"/arenas/{arena_id}/",
            f"/arenas/{arena_id}/panels/",
            f"/arenas/{arena_id}/artifacts/{artifact.id}/",
        )
    ]

    for html in pages:
        assert "<script>window.__xss" not in html
        assert "<img src=x" not in html and "<b>tag" not in html
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html


def test_artifact_page_shows_structured_content_as_json(staff_client, make_arena, manager):
    arena_id = make_arena(status="active")
    artifact = manager.handle(arena_id, "alice").publish_artifact(
        "structured_data", "Numbers", {"hit_rate": 0.89, "name": "Łódź ✓"}
    )

    html = staff_client.get(f"/arenas/{arena_id}/artifacts/{artifact.id}/").content.decode()

    assert "&quot;hit_rate&quot;: 0.89" in html and "Łódź ✓" in html


def test_artifact_of_another_arena_is_404(staff_client, make_arena, manager):
    first = make_arena(status="active")
    second = make_arena(status="active")
    artifact = manager.handle(first, "alice").publish_artifact("text", "T", "c")

    assert staff_client.get(f"/arenas/{second}/artifacts/{artifact.id}/").status_code == 404


def test_owner_whose_agent_cannot_read_other_slots_sees_only_its_own_artifacts(
    owner_client, owner, make_agent, make_arena, manager
):
    make_agent("mine", owner=owner)
    arena_id = make_arena(
        status="active",
        participants=[{"agent_id": "mine", "role": "worker", "can_read_other_slots": False}],
    )
    theirs = manager.handle(arena_id, "alice").publish_artifact("text", "Alice's notes", "c")
    manager.handle(arena_id, "mine").publish_artifact("text", "My notes", "c")

    page = owner_client.get(f"/arenas/{arena_id}/").content.decode()

    assert "My notes" in page and "Alice&#x27;s notes" not in page
    assert owner_client.get(f"/arenas/{arena_id}/artifacts/{theirs.id}/").status_code == 403


def test_plan_shows_titles_assignees_and_completed_steps(staff_client, make_arena, manager):
    arena_id = make_arena(
        status="active",
        strategy="pipeline",
        plan=[{"title": "Gather", "assignee": "alice"}, {"title": "Write"}],
    )
    manager.handle(arena_id, "alice").complete_step(1)

    html = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()

    assert "Step 1</span> · Gather" in html and "Step 2</span> · Write" in html
    assert html.count("plan__step--done") == 1 and html.count("plan__step--todo") == 1
    assert "after step 1" in html


def test_log_out_button_signs_out(staff_client):
    page = staff_client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in page

    response = staff_client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert staff_client.get("/").status_code == 302


# --- claims and presence -------------------------------------------------------------


def claimed_arena(make_arena, manager, **config):
    """An active arena with a plan of three steps in which bob holds step 2 for 2 minutes."""
    config.setdefault("plan", [{"title": "Gather"}, {"title": "Write"}, {"title": "Check"}])
    arena_id = make_arena(
        status="active", participants=[{"agent_id": "bob", "role": "worker"}], **config
    )
    claim, _event = manager.handle(arena_id, "bob").claim_step(2, 120)
    return arena_id, claim


def release_url(arena_id, claim_id) -> str:
    return f"/arenas/{arena_id}/claims/{claim_id}/release/"


def test_plan_shows_each_steps_holder_and_its_lease(staff_client, make_arena, manager):
    arena_id, claim = claimed_arena(make_arena, manager)

    response = staff_client.get(f"/arenas/{arena_id}/panels/")
    html = response.content.decode()

    step = next(s for s in response.context["steps"] if s["step"] == 2)
    assert step["claim"]["agent_id"] == "bob" and step["claim"]["claim_id"] == claim.claim_id
    assert html.count("plan__step--held") == 1 and html.count("plan__step--todo") == 2
    assert 'held by <span class="mono">bob</span>' in html
    assert f'data-countdown datetime="{timestamp(claim.expires_at)}"' in html
    assert f"until {claim.expires_at:%H:%M:%S} UTC" in html
    assert html.count(f'action="{release_url(arena_id, claim.claim_id)}"') == 1
    assert 'aria-label="Release step 2, held by bob"' in html


def test_the_arena_page_gives_its_script_the_servers_time_and_refresh_interval(
    staff_client, make_arena
):
    arena_id = make_arena()

    config = staff_client.get(f"/arenas/{arena_id}/").context["live_config"]

    assert config["refreshSeconds"] == 15
    assert abs(datetime.fromisoformat(config["serverTime"]) - timezone.now()) < timedelta(seconds=5)


def test_claims_on_steps_past_the_shown_plan_are_listed_too(staff_client, make_arena, manager):
    arena_id = make_arena(status="active", total_steps=500)
    claim, _ = manager.handle(arena_id, "alice").claim_step(450)

    html = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()

    assert "Showing the first 200 steps." in html and "Claims on later steps" in html
    assert 'data-step="450"' in html and 'data-step="201"' not in html
    assert f'action="{release_url(arena_id, claim.claim_id)}"' in html


def test_an_open_plan_lists_its_claimed_steps(staff_client, make_arena, manager):
    arena_id = make_arena(status="active", total_steps=0)
    manager.handle(arena_id, "alice").claim_step(7)

    html = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()

    assert 'data-step="7"' in html and 'held by <span class="mono">alice</span>' in html


def test_an_owner_sees_holders_but_no_release_button(
    owner_client, owner, make_agent, make_arena, manager
):
    make_agent("mine", owner=owner)
    arena_id, _claim = claimed_arena(make_arena, manager)
    manager.handle(arena_id, "alice").add_participant("mine", "observer")

    html = owner_client.get(f"/arenas/{arena_id}/").content.decode()

    assert 'held by <span class="mono">bob</span>' in html
    assert "/release/" not in html and "Release step" not in html


def test_participants_show_presence_with_a_label_and_the_last_seen_time(
    staff_client, make_arena, make_agent
):
    arena_id = make_arena(
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
        ]
    )
    now = timezone.now()
    Agent.objects.filter(pk="alice").update(last_seen_at=now - timedelta(seconds=20))
    Agent.objects.filter(pk="bob").update(last_seen_at=now - timedelta(minutes=5))

    response = staff_client.get(f"/arenas/{arena_id}/panels/")
    html = response.content.decode()

    shown = {p["agent_id"]: p["presence"] for p in response.context["arena"]["participants"]}
    assert shown == {"alice": "online", "bob": "away", "carol": "offline"}
    items = {}
    for agent_id, presence in shown.items():
        item = items[agent_id] = re.search(rf'data-agent-id="{agent_id}">(.*?)</li>', html, re.S)[1]
        assert f'class="presence presence--{presence}" data-presence="{presence}"' in item
        assert f'Presence: </span><span class="presence__label">{presence}</span>' in item
    seen = Agent.objects.get(pk="bob").last_seen_at
    assert f'title="Last seen {seen:%-d %b %Y, %H:%M:%S} UTC"' in items["bob"]
    assert 'data-last-seen=""' in items["carol"] and 'title="Never seen"' in items["carol"]


def test_staff_releases_a_claim_acting_as_staff(staff_client, make_arena, manager):
    arena_id, claim = claimed_arena(make_arena, manager)

    response = staff_client.post(release_url(arena_id, claim.claim_id))

    assert response.status_code == 302 and response["Location"] == f"/arenas/{arena_id}/"
    assert flashes(response) == ["Released step 2: bob no longer holds it."]
    event = Event.objects.filter(arena_id=arena_id).latest("seq")
    assert (event.type, event.actor, event.data) == (
        "claim_released",
        "staff:ada",
        {"step": 2, "agent_id": "bob", "claim_id": claim.claim_id},
    )
    claim.refresh_from_db()
    assert claim.end == "released" and claim.ended_at is not None
    html = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()
    assert "held by" not in html and "/release/" not in html
    assert_replay_matches(arena_id)


def test_release_by_a_user_without_staff_is_refused_and_changes_nothing(
    owner_client, owner, make_agent, make_arena, manager
):
    make_agent("mine", owner=owner)
    visible, claim = claimed_arena(make_arena, manager)
    manager.handle(visible, "alice").add_participant("mine", "worker")
    hidden, hidden_claim = claimed_arena(make_arena, manager)
    before = [Arena.objects.get(pk=a).last_seq for a in (visible, hidden)]

    refused = owner_client.post(release_url(visible, claim.claim_id))
    unseen = owner_client.post(release_url(hidden, hidden_claim.claim_id))
    unknown = owner_client.post(release_url(uuid.uuid4(), 1))

    assert (refused.status_code, unseen.status_code, unknown.status_code) == (403, 404, 404)
    assert [Arena.objects.get(pk=a).last_seq for a in (visible, hidden)] == before
    assert not Claim.objects.filter(ended_at__isnull=False).exists()


def test_refused_releases_are_logged_once_without_a_traceback(
    owner_client, owner, make_agent, make_arena, manager, caplog
):
    """A 403 the docs describe is an expected answer: Django's request log gets one line a
    minute for it with a count, not a traceback per refusal."""
    make_agent("mine", owner=owner)
    arena_id, claim = claimed_arena(make_arena, manager)
    manager.handle(arena_id, "alice").add_participant("mine", "worker")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        for _ in range(4):
            assert owner_client.post(release_url(arena_id, claim.claim_id)).status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert len(forbidden) <= 1
    assert not [r for r in forbidden if r.exc_info or r.exc_text]


def test_release_of_an_unknown_arena_is_404_and_a_get_is_405(staff_client, make_arena, manager):
    arena_id, claim = claimed_arena(make_arena, manager)

    assert staff_client.post(release_url(uuid.uuid4(), claim.claim_id)).status_code == 404
    assert staff_client.get(release_url(arena_id, claim.claim_id)).status_code == 405
    assert Claim.objects.get(pk=claim.pk).ended_at is None


@pytest.mark.parametrize(
    ("ending", "error"),
    [
        ("release", "Claim {claim_id} on step 2 is no longer live (released)."),
        ("complete", "Claim {claim_id} on step 2 is no longer live (completed)."),
        ("unknown", "No such claim."),
        ("huge", "No such claim."),
    ],
)
def test_releasing_a_claim_that_is_not_live_is_a_message_and_changes_nothing(
    staff_client, make_arena, manager, ending, error
):
    arena_id, claim = claimed_arena(make_arena, manager)
    claim_id = claim.claim_id
    if ending == "release":
        manager.handle(arena_id, "bob").release_claim(claim_id)
    elif ending == "complete":
        manager.handle(arena_id, "bob").complete_step(2, claim_id)
    elif ending == "unknown":
        claim_id = 999
    else:
        claim_id = 10**30
    before = arena_row(arena_id)

    response = staff_client.post(release_url(arena_id, claim_id))

    assert response.status_code == 302
    assert flashes(response) == [error.format(claim_id=claim_id)]
    assert arena_row(arena_id) == before


def test_releasing_a_lapsed_claim_says_it_expired(staff_client, make_arena, manager):
    """A refused write appends nothing, the expiry it found included: the next write to
    the arena, or the sweep, records that."""
    arena_id, claim = claimed_arena(make_arena, manager)
    past = timezone.now() - timedelta(seconds=1)
    Claim.objects.filter(pk=claim.pk).update(expires_at=past)
    Arena.objects.filter(pk=arena_id).update(next_expiry_at=past)
    before = arena_row(arena_id)

    response = staff_client.post(release_url(arena_id, claim.claim_id))

    assert flashes(response) == [f"Claim {claim.claim_id} on step 2 is no longer live (expired)."]
    assert arena_row(arena_id) == before


def test_hostile_text_near_claims_and_presence_is_escaped(staff_client, make_arena, manager):
    arena_id, _claim = claimed_arena(
        make_arena, manager, plan=[{"title": "a"}, {"title": HOSTILE_GOAL}, {"title": "c"}]
    )
    manager.handle(arena_id, "bob").report_progress(HOSTILE_GOAL, "working")

    html = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()

    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;window.__xss = 1&lt;/script&gt;") == 2


@pytest.mark.parametrize(
    "at",
    ["²", "١", "9" * 5000, "-1", "x"],
    ids=["superscript", "arabic-indic", "5000-digits", "negative", "letters"],
)
def test_a_seq_that_is_not_plain_digits_is_refused_and_forks_nothing(staff_client, make_arena, at):
    """`?at=` and the fork form's `at` take ASCII digits only: other text (digits of other
    scripts, a number too long to read) is refused, never a server error."""
    arena_id = make_arena()
    before = Arena.objects.count()

    assert staff_client.get(f"/arenas/{arena_id}/panels/", {"at": at}).status_code == 400
    response = staff_client.post(f"/arenas/{arena_id}/fork/", {"at": at})

    assert response.status_code == 302 and response["Location"] == f"/arenas/{arena_id}/"
    assert flashes(response)[0].startswith("Not forked: ")
    assert Arena.objects.count() == before
