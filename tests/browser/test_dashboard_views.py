"""The dashboard's pages and forms through Django's test client: who may see and steer
which arena, what a refused action does, and that user-supplied text is escaped."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from arenas.models import Arena, Event

HOSTILE_GOAL = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user("ada", password="pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("olga", password="pw")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


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
