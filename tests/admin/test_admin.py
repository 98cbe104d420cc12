"""The admin, through Django's test client as a superuser: every write goes
through the domain, refusals are reported, and the event log cannot be edited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from arenas import agents
from arenas.models import Agent, AgentToken, Arena, Claim, Event, Participant
from tests.domain.helpers import assert_replay_matches, event_types

TOKEN_RE = re.compile(r"aa_[A-Za-z0-9_-]{40,}")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def inline_management(prefix: str, forms: int) -> dict[str, str]:
    """The management form of an inline formset, which every change-page POST carries."""
    return {
        f"{prefix}-TOTAL_FORMS": str(forms),
        f"{prefix}-INITIAL_FORMS": str(forms),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def change_arena(
    client, arena_id, goal: str, *new_participants: dict[str, str], claims=(), requests=()
):
    """POST the arena's change page: the goal, `new_participants` as new inline rows, and
    the live claims and open requests inlines as the page showed them (`claims`,
    `requests`: their primary keys)."""
    existing = Participant.objects.filter(arena_id=arena_id).count()
    data = {"goal": goal, **inline_management("participants", existing + len(new_participants))}
    data["participants-INITIAL_FORMS"] = str(existing)
    for index, row in enumerate(new_participants, start=existing):
        data.update({f"participants-{index}-{name}": value for name, value in row.items()})
        data[f"participants-{index}-arena"] = str(arena_id)
    data.update(inline_management("claims", len(claims)))
    for index, pk in enumerate(claims):
        data.update({f"claims-{index}-id": str(pk), f"claims-{index}-arena": str(arena_id)})
    data.update(inline_management("requests", len(requests)))
    for index, pk in enumerate(requests):
        data.update({f"requests-{index}-id": str(pk), f"requests-{index}-arena": str(arena_id)})
    return client.post(reverse("admin:arenas_arena_change", args=[arena_id]), data)


def run_action(client, model: str, action: str, ids) -> list[str]:
    response = client.post(
        reverse(f"admin:arenas_{model}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [str(i) for i in ids]},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


# --- agents and tokens ---------------------------------------------------------------------


def test_adding_an_agent_shows_its_token_once(admin_client):
    response = admin_client.post(
        reverse("admin:arenas_agent_add"),
        {"agent_id": "researcher", "display_name": "Research bot", "owner": ""},
        follow=True,
    )
    assert response.status_code == 200
    tokens = TOKEN_RE.findall(" ".join(messages_of(response)))
    assert len(tokens) == 1
    assert agents.authenticate(tokens[0]).agent_id == "researcher"
    assert Agent.objects.get().display_name == "Research bot"

    again = admin_client.get(reverse("admin:arenas_agent_change", args=["researcher"]))
    assert tokens[0] not in again.content.decode()
    assert AgentToken.objects.get().digest not in again.content.decode()


@pytest.mark.parametrize("agent_id", ["Not Valid", "-dash", "x" * 65])
def test_adding_an_agent_with_a_bad_id_shows_the_form_again(admin_client, agent_id):
    response = admin_client.post(
        reverse("admin:arenas_agent_add"), {"agent_id": agent_id, "display_name": ""}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Agent.objects.exists()


def test_adding_an_agent_that_exists_is_refused(admin_client, make_agent):
    make_agent("researcher")
    response = admin_client.post(
        reverse("admin:arenas_agent_add"), {"agent_id": "researcher", "display_name": "Other"}
    )
    assert response.status_code == 200
    assert "agent_id" in response.context["adminform"].form.errors
    assert AgentToken.objects.count() == 1


def test_the_issue_action_gives_each_agent_a_further_token(admin_client, make_agent):
    _, first = make_agent("alice")
    make_agent("bob")
    shown = run_action(admin_client, "agent", "issue_tokens", ["bob", "alice"])
    tokens = [TOKEN_RE.search(message).group() for message in shown]
    assert [agents.authenticate(t).agent_id for t in tokens] == ["alice", "bob"]
    assert agents.authenticate(first).agent_id == "alice"


def test_the_revoke_action_stops_a_token_and_digests_are_never_shown(admin_client, make_agent):
    _, kept = make_agent("alice")
    _, revoked = make_agent("alice")
    record = AgentToken.objects.get(digest=agents.digest(revoked))

    shown = run_action(admin_client, "agenttoken", "revoke", [record.pk])

    assert shown == ["Revoked 1 token(s)."]
    assert agents.authenticate(revoked) is None
    assert agents.authenticate(kept).agent_id == "alice"
    pages = [
        admin_client.get(reverse("admin:arenas_agenttoken_changelist")),
        admin_client.get(reverse("admin:arenas_agenttoken_change", args=[record.pk])),
        admin_client.get(reverse("admin:arenas_agent_change", args=["alice"])),
    ]
    for page in pages:
        assert page.status_code == 200
        for digest in AgentToken.objects.values_list("digest", flat=True):
            assert digest not in page.content.decode()
    assert admin_client.get(reverse("admin:arenas_agenttoken_add")).status_code == 403
    make_agent("bob")
    agent_page = admin_client.get(reverse("admin:arenas_agent_change", args=["alice"]))
    tokens_url = reverse("admin:arenas_agenttoken_changelist") + "?agent__agent_id__exact=alice"
    assert tokens_url in agent_page.content.decode()
    listed = admin_client.get(tokens_url).context["cl"].result_list
    assert {t.agent_id for t in listed} == {"alice"} and len(listed) == 2


def test_editing_an_agent_goes_through_the_domain(admin_client, make_agent):
    _, token = make_agent("alice")
    response = admin_client.post(
        reverse("admin:arenas_agent_change", args=["alice"]),
        {"display_name": "Alice 🤖", "owner": "", **inline_management("tokens", 1)},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent = Agent.objects.get()
    assert (agent.display_name, agent.is_active) == ("Alice 🤖", False)
    assert agents.authenticate(token) is None


def test_agents_cannot_be_deleted(admin_client, make_agent):
    make_agent("alice")
    response = admin_client.post(
        reverse("admin:arenas_agent_delete", args=["alice"]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Agent.objects.filter(pk="alice").exists()


# --- arenas ----------------------------------------------------------------------------------


def add_arena(client, **fields):
    data = {"goal": "Map the coastline", "strategy": "peer", "total_steps": "5", "coordinator": ""}
    data.update(fields)
    return client.post(reverse("admin:arenas_arena_add"), data)


def test_adding_an_arena_creates_it_through_the_manager(admin_client, make_agent):
    make_agent("alice")
    response = add_arena(admin_client, coordinator="alice", goal=" Map the coastline 🌊 ")

    arena = Arena.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:arenas_arena_changelist")
    assert (arena.goal, arena.total_steps, arena.created_by_id) == (
        " Map the coastline 🌊 ",
        5,
        "alice",
    )
    assert event_types(arena.pk) == ["arena_created", "agent_joined"]
    assert Event.objects.get(arena=arena, seq=2).data == {
        "agent_id": "alice",
        "role": "coordinator",
        "permissions": dict.fromkeys(
            ("can_write_own_slot", "can_read_other_slots", "can_write_shared_memory", "can_merge"),
            True,
        ),
    }
    assert_replay_matches(arena.pk)


def test_an_arena_added_without_a_coordinator_has_no_creator(admin_client):
    assert add_arena(admin_client).status_code == 302
    arena = Arena.objects.get()
    assert arena.created_by is None
    assert [(e.type, e.actor) for e in Event.objects.filter(arena=arena)] == [
        ("arena_created", None)
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"total_steps": "4294967296"}, "total_steps"),
        ({"total_steps": "-1"}, "total_steps"),
        ({"goal": "🧪" * 4001}, "goal"),
        ({"goal": "   "}, "goal"),
        ({"strategy": "swarm"}, "strategy"),
    ],
)
def test_adding_an_arena_with_bad_values_shows_the_form_again(admin_client, fields, field):
    response = add_arena(admin_client, **fields)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Arena.objects.exists()


def test_the_lifecycle_actions_walk_an_arena_to_archived(admin_client, make_arena):
    arena_id = make_arena()
    for action, status in (("activate", "active"), ("settle", "settling"), ("archive", "archived")):
        shown = run_action(admin_client, "arena", action, [arena_id])
        assert shown == [f"Arena {arena_id}: now {status}."]
        assert Arena.objects.get(pk=arena_id).status == status
    changes = Event.objects.filter(arena_id=arena_id, type__in=["status_changed", "arena_settled"])
    assert {e.actor for e in changes} == {"staff:admin"}
    assert Arena.objects.get(pk=arena_id).settle_report is not None
    assert_replay_matches(arena_id)


def test_a_refused_action_is_reported_per_arena_and_changes_nothing(admin_client, make_arena):
    created = make_arena()
    active = make_arena(status="active")
    before = event_types(active)

    shown = run_action(admin_client, "arena", "activate", [created, active])

    assert f"Arena {created}: now active." in shown
    refusal = [m for m in shown if str(active) in m]
    assert refusal == [
        f"Arena {active}: activate refused: An arena cannot go from 'active' to 'active'."
    ]
    assert event_types(active) == before
    archive = run_action(admin_client, "arena", "archive", [active])
    assert archive == [
        f"Arena {active}: archive refused: An arena cannot go from 'active' to 'archived'."
    ]
    assert Arena.objects.get(pk=active).status == "active"


def test_the_change_page_offers_the_one_allowed_transition_as_a_button(admin_client, make_arena):
    arena_id = make_arena()
    change = reverse("admin:arenas_arena_change", args=[arena_id])
    for action, status in (("activate", "active"), ("settle", "settling"), ("archive", "archived")):
        page = admin_client.get(change)
        assert [a for a, _ in page.context["lifecycle_buttons"]] == [action]
        url = reverse("admin:arenas_arena_lifecycle", args=[arena_id, action])
        assert url in page.content.decode()
        response = admin_client.post(url, follow=True)
        assert response.redirect_chain == [(change, 302)]
        assert messages_of(response) == [f"Arena {arena_id}: now {status}."]
    assert admin_client.get(change).context["lifecycle_buttons"] == []
    assert Event.objects.filter(arena_id=arena_id).last().actor == "staff:admin"


def test_a_stale_lifecycle_button_reports_the_refusal(admin_client, make_arena):
    arena_id = make_arena(status="active")
    before = event_types(arena_id)
    url = reverse("admin:arenas_arena_lifecycle", args=[arena_id, "activate"])
    response = admin_client.post(url, follow=True)
    assert messages_of(response) == [
        f"Arena {arena_id}: activate refused: An arena cannot go from 'active' to 'active'."
    ]
    assert event_types(arena_id) == before
    assert admin_client.get(url).status_code == 405
    unknown = reverse("admin:arenas_arena_lifecycle", args=[arena_id, "explode"])
    assert "refused" in messages_of(admin_client.post(unknown, follow=True))[0]


def test_lifecycle_buttons_need_a_staff_user_with_change_permission(client, make_arena):
    arena_id = make_arena()
    url = reverse("admin:arenas_arena_lifecycle", args=[arena_id, "activate"])
    response = client.post(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    client.login(username="viewer", password="pw")
    assert client.post(url).status_code == 403
    assert Arena.objects.get(pk=arena_id).status == "created"


def test_editing_the_goal_goes_through_the_handle(admin_client, make_arena):
    arena_id = make_arena(status="active")
    url = reverse("admin:arenas_arena_change", args=[arena_id])
    assert admin_client.get(url).status_code == 200
    response = change_arena(admin_client, arena_id, "Steered goal ✍️")
    assert response.status_code == 302
    event = Event.objects.filter(arena_id=arena_id).last()
    assert (event.type, event.actor, event.data) == (
        "goal_updated",
        "staff:admin",
        {"new_goal": "Steered goal ✍️"},
    )
    assert Arena.objects.get(pk=arena_id).goal == "Steered goal ✍️"


def test_a_goal_the_domain_refuses_is_shown_on_the_form(admin_client, make_arena):
    arena_id = make_arena()
    response = change_arena(admin_client, arena_id, "  \n ")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["goal"] == ["This field may not be blank."]
    assert Arena.objects.get(pk=arena_id).goal == "Find the answer"


def test_saving_an_unchanged_arena_appends_nothing(admin_client, make_arena):
    arena_id = make_arena()
    before = event_types(arena_id)
    assert change_arena(admin_client, arena_id, "Find the answer").status_code == 302
    assert event_types(arena_id) == before


def test_the_goal_of_a_settling_arena_cannot_be_edited(admin_client, make_arena):
    arena_id = make_arena(status="settling")
    url = reverse("admin:arenas_arena_change", args=[arena_id])
    assert "goal" not in admin_client.get(url).context["adminform"].form.fields
    assert change_arena(admin_client, arena_id, "Too late").status_code == 302
    assert Arena.objects.get(pk=arena_id).goal == "Find the answer"
    assert "goal_updated" not in event_types(arena_id)


def test_new_participant_rows_join_through_the_handle(admin_client, make_arena, make_agent):
    arena_id = make_arena(status="active")
    make_agent("bob")
    make_agent("iso")
    response = change_arena(
        admin_client,
        arena_id,
        "Find the answer",
        {"agent": "bob", "role": "observer", "can_write_own_slot": "true"},
        {"agent": "iso", "role": "worker", "can_read_other_slots": "false"},
    )
    assert response.status_code == 302
    bob = Participant.objects.get(arena_id=arena_id, agent_id="bob")
    assert (bob.role, bob.can_write_own_slot, bob.can_write_shared_memory) == (
        "observer",
        True,
        False,
    )
    iso = Participant.objects.get(arena_id=arena_id, agent_id="iso")
    assert (iso.role, iso.can_read_other_slots, iso.can_write_own_slot) == ("worker", False, True)
    joined = Event.objects.filter(arena_id=arena_id, type="agent_joined", actor="staff:admin")
    assert [(e.data["agent_id"], e.data["role"]) for e in joined.order_by("seq")] == [
        ("bob", "observer"),
        ("iso", "worker"),
    ]
    assert [e.data["permissions"]["can_write_own_slot"] for e in joined.order_by("seq")] == [
        True,
        True,
    ]
    assert_replay_matches(arena_id)


def test_a_refused_row_undoes_the_whole_page(admin_client, make_arena, make_agent):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    make_agent("carol")
    before = event_types(arena_id)

    response = change_arena(
        admin_client,
        arena_id,
        "A goal that must not stick",
        {"agent": "carol", "role": "worker"},
        {"agent": "bob", "role": "observer"},
    )

    assert response.status_code == 200
    rows = response.context["inline_admin_formsets"][0].formset.forms
    assert any("already a participant" in str(form.errors) for form in rows)
    assert Arena.objects.get(pk=arena_id).goal == "Find the answer"
    assert not Participant.objects.filter(arena_id=arena_id, agent_id="carol").exists()
    assert event_types(arena_id) == before


def test_a_settling_arena_takes_no_new_participants(admin_client, make_arena, make_agent):
    arena_id = make_arena(status="settling")
    make_agent("bob")
    page = admin_client.get(reverse("admin:arenas_arena_change", args=[arena_id]))
    assert not page.context["inline_admin_formsets"][0].has_add_permission
    assert (
        change_arena(admin_client, arena_id, "x", {"agent": "bob", "role": "worker"}).status_code
        == 302
    )
    assert not Participant.objects.filter(arena_id=arena_id, agent_id="bob").exists()


def test_arenas_cannot_be_deleted(admin_client, make_arena):
    arena_id = make_arena()
    response = admin_client.post(
        reverse("admin:arenas_arena_delete", args=[arena_id]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Arena.objects.filter(pk=arena_id).exists()
    shown = admin_client.get(reverse("admin:arenas_arena_changelist"))
    assert "delete_selected" not in shown.content.decode()


def test_the_arena_list_shows_status_progress_and_participants(admin_client, make_arena, manager):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    manager.handle(arena_id, "bob").complete_step(1)
    page = admin_client.get(reverse("admin:arenas_arena_changelist")).content.decode()
    assert "1 / 10 (10%)" in page
    row = admin_client.get(reverse("admin:arenas_arena_changelist")).context["cl"].result_list[0]
    assert (row.status, row.current_participants) == ("active", 2)


def test_the_arena_lists_progress_is_rounded_down(admin_client, make_arena):
    arena_id = make_arena(total_steps=250)
    Arena.objects.filter(pk=arena_id).update(completed_steps=249)  # 99.6%
    page = admin_client.get(reverse("admin:arenas_arena_changelist")).content.decode()
    assert "249 / 250 (99%)" in page


def test_arenas_are_found_by_goal_and_by_id(admin_client, make_arena):
    wanted = make_arena(goal="Chart the Mariana trench")
    other = make_arena(goal="Something else")
    url = reverse("admin:arenas_arena_changelist")
    for term in ("mariana", str(wanted), str(wanted)[:8]):
        found = admin_client.get(url, {"q": term}).context["cl"].result_list
        assert [a.pk for a in found] == [wanted], term
    assert [
        a.pk for a in admin_client.get(url, {"status__exact": "created"}).context["cl"].result_list
    ] != []
    assert other != wanted


def test_the_arena_page_shows_participants_and_links_its_events(admin_client, make_arena):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "observer"}])
    page = admin_client.get(reverse("admin:arenas_arena_change", args=[arena_id]))
    assert page.status_code == 200
    inline = page.context["inline_admin_formsets"][0]
    assert [form.original.agent_id for form in inline if form.original] == ["alice", "bob"]
    events_url = reverse("admin:arenas_event_changelist") + f"?arena__id__exact={arena_id}"
    assert events_url in page.content.decode()
    listed = admin_client.get(events_url).context["cl"].result_list
    assert [e.seq for e in listed] == [1, 2, 3]


# --- claims ----------------------------------------------------------------------------------


@pytest.fixture
def claims_of_every_state(make_arena, manager):
    """An arena whose claims are: live (step 1, bob), released (step 2), lapsed without a
    recorded expiry (step 3, carol), completed (step 4); and another arena with a live
    claim of dave. Returns ({state: claim}, arena id, other arena id)."""
    arena_id = make_arena(
        status="active",
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
        ],
    )
    bob, carol = manager.handle(arena_id, "bob"), manager.handle(arena_id, "carol")
    live, _ = bob.claim_step(1)
    released, _ = bob.claim_step(2)
    bob.release_claim(released.claim_id)
    completed, _ = bob.claim_step(4)
    bob.complete_step(4, completed.claim_id)
    lapsed, _ = carol.claim_step(3)
    past = timezone.now() - timedelta(seconds=1)
    Claim.objects.filter(pk=lapsed.pk).update(expires_at=past)
    Arena.objects.filter(pk=arena_id).update(next_expiry_at=past)
    other = make_arena(status="active", participants=[{"agent_id": "dave", "role": "worker"}])
    elsewhere, _ = manager.handle(other, "dave").claim_step(5)
    found = {
        "live": live,
        "released": released,
        "completed": completed,
        "lapsed": lapsed,
        "elsewhere": elsewhere,
    }
    return {name: Claim.objects.get(pk=c.pk) for name, c in found.items()}, arena_id, other


def listed_claims(client, **query) -> list[int]:
    page = client.get(reverse("admin:arenas_claim_changelist"), query)
    assert page.status_code == 200
    return [claim.pk for claim in page.context["cl"].result_list]


def test_the_claim_list_filters_by_state_and_end_and_searches(admin_client, claims_of_every_state):
    claims, arena_id, other = claims_of_every_state
    pk = {name: claim.pk for name, claim in claims.items()}

    assert sorted(listed_claims(admin_client)) == sorted(pk.values())
    assert sorted(listed_claims(admin_client, state="live")) == sorted(
        [pk["live"], pk["elsewhere"]]
    )
    assert listed_claims(admin_client, state="lapsed") == [pk["lapsed"]]
    assert sorted(listed_claims(admin_client, state="ended")) == sorted(
        [pk["released"], pk["completed"]]
    )
    assert listed_claims(admin_client, end__exact="released") == [pk["released"]]
    assert listed_claims(admin_client, q="dave") == [pk["elsewhere"]]
    assert listed_claims(admin_client, q="carol") == [pk["lapsed"]]
    assert listed_claims(admin_client, q=str(other)) == [pk["elsewhere"]]
    in_order = listed_claims(admin_client, arena__id__exact=str(arena_id))
    assert in_order == sorted(
        (pk[n] for n in ("live", "released", "completed", "lapsed")),
        key=lambda p: Claim.objects.get(pk=p).claim_id,
    )
    html = admin_client.get(reverse("admin:arenas_claim_changelist")).content.decode()
    for state in ("Live", "Released", "Completed", "Lapsed (its expiry is not recorded yet)"):
        assert f'<td class="field-state">{state}</td>' in html


def test_the_arena_page_shows_its_live_claims_inline(admin_client, claims_of_every_state):
    claims, arena_id, _other = claims_of_every_state

    page = admin_client.get(reverse("admin:arenas_arena_change", args=[arena_id]))

    inline = page.context["inline_admin_formsets"][1]
    assert [form.original.pk for form in inline if form.original] == [claims["live"].pk]
    assert not inline.has_add_permission and not inline.has_change_permission
    claims_url = reverse("admin:arenas_claim_changelist") + f"?arena__id__exact={arena_id}"
    assert claims_url in page.content.decode()


def test_saving_the_arena_page_after_its_claims_changed_still_works(
    admin_client, claims_of_every_state, manager
):
    claims, arena_id, _other = claims_of_every_state
    manager.handle(arena_id, "bob").release_claim(claims["live"].claim_id)

    response = change_arena(admin_client, arena_id, "A new goal", claims=[claims["live"].pk])

    assert response.status_code == 302
    assert Arena.objects.get(pk=arena_id).goal == "A new goal"


def test_the_release_action_releases_through_the_domain_and_reports_refusals(
    admin_client, claims_of_every_state
):
    claims, arena_id, other = claims_of_every_state
    chosen = [claims[name] for name in ("live", "released", "lapsed", "elsewhere")]

    shown = run_action(admin_client, "claim", "release", [c.pk for c in chosen])

    live, released, lapsed, elsewhere = chosen
    outcomes = {
        live.pk: f"Arena {arena_id}: released claim {live.claim_id} of bob on step 1.",
        released.pk: f"Arena {arena_id}: releasing claim {released.claim_id} refused: "
        f"Claim {released.claim_id} on step 2 is no longer live (released).",
        lapsed.pk: f"Arena {arena_id}: releasing claim {lapsed.claim_id} refused: "
        f"Claim {lapsed.claim_id} on step 3 is no longer live (expired).",
        elsewhere.pk: f"Arena {other}: released claim {elsewhere.claim_id} of dave on step 5.",
    }
    by_arena = sorted(chosen, key=lambda c: (str(c.arena_id), c.claim_id))
    assert shown == [outcomes[c.pk] for c in by_arena]
    for claim in (live, elsewhere):
        event = Event.objects.filter(arena_id=claim.arena_id).latest("seq")
        assert (event.type, event.actor, event.data) == (
            "claim_released",
            "staff:admin",
            {"step": claim.step, "agent_id": claim.agent_id, "claim_id": claim.claim_id},
        )
        assert Claim.objects.get(pk=claim.pk).end == "released"
    # Releasing bob's claim was the arena's next write: it recorded carol's expiry first.
    assert Claim.objects.get(pk=lapsed.pk).end == "expired"
    assert [(e.type, e.actor) for e in Event.objects.filter(arena_id=arena_id).order_by("-seq")][
        :2
    ] == [("claim_released", "staff:admin"), ("claim_expired", None)]
    assert_replay_matches(arena_id)


def test_releasing_needs_the_permission_to_change_arenas(client, claims_of_every_state):
    claims, _arena_id, _other = claims_of_every_state
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_claim"))
    client.force_login(viewer)
    url = reverse("admin:arenas_claim_changelist")
    chosen = {"action": "release", ACTION_CHECKBOX_NAME: [claims["live"].pk]}

    page = client.get(url)
    client.post(url, chosen)

    assert page.status_code == 200 and page.context["action_form"] is None
    assert Claim.objects.get(pk=claims["live"].pk).ended_at is None
    viewer.user_permissions.add(Permission.objects.get(codename="change_arena"))
    client.post(url, chosen)
    assert Claim.objects.get(pk=claims["live"].pk).end == "released"


def test_claims_are_read_only_even_for_a_superuser(admin_client, claims_of_every_state):
    claims, _arena_id, _other = claims_of_every_state
    claim = claims["live"]
    change = reverse("admin:arenas_claim_change", args=[claim.pk])
    delete = reverse("admin:arenas_claim_delete", args=[claim.pk])

    page = admin_client.get(change)

    assert page.status_code == 200 and "Live" in page.content.decode()
    assert admin_client.get(reverse("admin:arenas_claim_add")).status_code == 403
    assert admin_client.post(change, {"step": 9, "agent": "carol"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    actions = admin_client.get(reverse("admin:arenas_claim_changelist")).context["action_form"]
    assert [name for name, _ in actions.fields["action"].choices if name] == ["release"]
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.step, stored.agent_id, stored.ended_at) == (1, "bob", None)


def test_the_agent_list_shows_presence(admin_client, make_agent):
    make_agent("alice")
    make_agent("bob")
    Agent.objects.filter(pk="alice").update(last_seen_at=timezone.now())

    page = admin_client.get(reverse("admin:arenas_agent_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:arenas_agent_change", args=["bob"]))

    assert '<td class="field-presence">online</td>' in page
    assert '<td class="field-presence">offline</td>' in page
    assert detail.status_code == 200 and "Presence" in detail.content.decode()


# --- the event log, artifacts and facts ---------------------------------------------------------


def test_the_event_log_is_read_only_even_for_a_superuser(admin_client, make_arena):
    arena_id = make_arena()
    event = Event.objects.get(arena_id=arena_id, seq=1)
    change = reverse("admin:arenas_event_change", args=[event.pk])

    assert admin_client.get(reverse("admin:arenas_event_changelist")).status_code == 200
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(reverse("admin:arenas_event_add")).status_code == 403
    assert admin_client.post(reverse("admin:arenas_event_add"), {"seq": 9}).status_code == 403
    assert admin_client.post(change, {"type": "goal_updated", "seq": 1}).status_code == 403
    delete = reverse("admin:arenas_event_delete", args=[event.pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        reverse("admin:arenas_event_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert Event.objects.get(pk=event.pk).type == "arena_created"
    assert Event.objects.filter(arena_id=arena_id).count() == 2


def test_artifacts_and_facts_are_viewable_and_read_only(admin_client, make_arena, manager):
    arena_id = make_arena(status="active")
    alice = manager.handle(arena_id, "alice")
    artifact = alice.publish_artifact("code", "main.py", "print('<b>hi</b>')", {"lines": 1})
    fact = alice.share_fact("<i>escaped</i> fact", 0.5, ["t"])
    for model, obj in (("artifact", artifact), ("fact", fact)):
        assert admin_client.get(reverse(f"admin:arenas_{model}_changelist")).status_code == 200
        page = admin_client.get(reverse(f"admin:arenas_{model}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert (
            "<b>hi</b>" not in page.content.decode() and "<i>escaped" not in page.content.decode()
        )
        assert admin_client.get(reverse(f"admin:arenas_{model}_add")).status_code == 403
        delete = reverse(f"admin:arenas_{model}_delete", args=[obj.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403


# --- requests for people ---------------------------------------------------------------------


@pytest.fixture
def requests_of_every_state(make_arena, manager):
    """An active arena of alice (coordinator) and bob (worker) with an open question, an
    answered one, a cancelled one and an open review: (arena id, {name: request})."""
    arena_id = make_arena(
        status="active",
        plan=[{"title": "Draft"}, {"title": "Check", "review": True}],
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    alice, bob = manager.handle(arena_id, "alice"), manager.handle(arena_id, "bob")
    asked = bob.ask("Which <b>colour</b>?", ["red", "<i>blue</i>"])
    answered = bob.ask("Ship it?", ["yes", "no"])
    alice.answer_request(answered.id, "yes", "Go <script>x</script>")
    cancelled = bob.ask("Never mind this one")
    bob.cancel_request(cancelled.id)
    review = bob.complete_step(2).request
    return arena_id, {"open": asked, "answered": answered, "cancelled": cancelled, "review": review}


def listed_requests(client, **query) -> set[str]:
    response = client.get(reverse("admin:arenas_inputrequest_changelist"), query)
    assert response.status_code == 200
    return {str(item.pk) for item in response.context["cl"].result_list}


def test_the_request_list_filters_by_status_kind_and_arena(admin_client, requests_of_every_state):
    arena_id, made = requests_of_every_state
    ids = {name: str(item.id) for name, item in made.items()}
    assert listed_requests(admin_client) == set(ids.values())
    assert listed_requests(admin_client, status__exact="open") == {ids["open"], ids["review"]}
    assert listed_requests(admin_client, kind__exact="review") == {ids["review"]}
    assert listed_requests(admin_client, status__exact="cancelled") == {ids["cancelled"]}
    assert listed_requests(admin_client, arena__id__exact=str(arena_id)) == set(ids.values())
    assert listed_requests(admin_client, q="colour") == {ids["open"]}
    page = admin_client.get(reverse("admin:arenas_inputrequest_changelist")).content.decode()
    assert "Which &lt;b&gt;colour&lt;/b&gt;?" in page and "<b>colour" not in page


def test_a_request_page_shows_its_answer_escaped(admin_client, requests_of_every_state):
    _arena_id, made = requests_of_every_state
    url = reverse("admin:arenas_inputrequest_change", args=[made["answered"].id])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "staff:" not in html  # answered by the coordinator alice
    assert "&quot;by&quot;: &quot;alice&quot;" in html
    assert "Go &lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    free = admin_client.get(
        reverse("admin:arenas_inputrequest_change", args=[made["cancelled"].id])
    )
    assert "free answer" in free.content.decode()


def test_requests_are_read_only_even_for_a_superuser(admin_client, requests_of_every_state):
    arena_id, made = requests_of_every_state
    asked = made["open"]
    change = reverse("admin:arenas_inputrequest_change", args=[asked.id])
    assert admin_client.get(reverse("admin:arenas_inputrequest_add")).status_code == 403
    response = admin_client.post(change, {"text": "Rewritten", "status": "answered"})
    assert response.status_code == 403
    delete = reverse("admin:arenas_inputrequest_delete", args=[asked.id])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    listing = admin_client.get(reverse("admin:arenas_inputrequest_changelist"))
    assert 'value="delete_selected"' not in listing.content.decode()
    asked.refresh_from_db()
    assert (asked.status, asked.text) == ("open", "Which <b>colour</b>?")
    missing = "00000000-0000-0000-0000-000000000000"
    admin_client.raise_request_exception = False
    gone = admin_client.get(
        reverse("admin:arenas_inputrequest_change", args=[missing]), follow=True
    )
    assert gone.status_code == 200
    assert any("doesn’t exist" in m for m in messages_of(gone))
    bad = admin_client.get("/admin/arenas/inputrequest/not-a-uuid/change/", follow=True)
    assert bad.status_code == 200
    assert any("doesn’t exist" in m for m in messages_of(bad))


def test_the_arena_page_shows_its_open_requests_inline(admin_client, requests_of_every_state):
    arena_id, made = requests_of_every_state
    page = admin_client.get(reverse("admin:arenas_arena_change", args=[arena_id]))
    assert page.status_code == 200
    inline = next(
        f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "requests"
    )
    shown = {str(form.instance.pk) for form in inline.formset.forms}
    assert shown == {str(made["open"].id), str(made["review"].id)}
    html = page.content.decode()
    link = reverse("admin:arenas_inputrequest_changelist") + f"?arena__id__exact={arena_id}"
    assert link in html
    assert "Which &lt;b&gt;colour&lt;/b&gt;?" in html and "<i>blue</i>" not in html
    # Saving the page with the inline as shown changes no request.
    response = change_arena(
        admin_client,
        arena_id,
        "Find the answer",
        requests=[made["review"].id, made["open"].id],
    )
    assert response.status_code == 302
    made["open"].refresh_from_db()
    assert made["open"].status == "open"


# --- hostile ids and filters -----------------------------------------------------------------

ADMIN_PATHS_WITH_NUL = [
    "/admin/arenas/agent/%00/change/",
    "/admin/arenas/agent/a%00b/history/",
    "/admin/arenas/arena/%00/change/",
    "/admin/arenas/event/%00/change/",
    "/admin/arenas/agenttoken/%00/change/",
    "/admin/arenas/artifact/%00/change/",
    "/admin/arenas/fact/%00/change/",
    "/admin/arenas/event/?type=%00",
    "/admin/arenas/event/?arena__id__exact=%00",
    "/admin/arenas/agenttoken/?agent__agent_id__exact=%00",
    "/admin/arenas/agent/?q=%00",
    "/admin/arenas/arena/?q=a%00&status=%00",
    "/admin/arenas/fact/?q=%00",
    "/admin/arenas/artifact/?kind=%00&q=%00",
    "/admin/arenas/claim/%00/change/",
    "/admin/arenas/claim/?q=%00&state=%00&end__exact=%00",
    "/admin/arenas/inputrequest/%00/change/",
    "/admin/arenas/inputrequest/a%00b/history/",
    "/admin/arenas/inputrequest/?q=%00&status__exact=%00&kind__exact=%00",
    "/admin/arenas/inputrequest/?arena__id__exact=%00",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ADMIN_PATHS_WITH_NUL)
def test_a_nul_in_an_admin_id_or_filter_is_refused_not_a_500(admin_client, path):
    """PostgreSQL text cannot hold NUL: such ids name nothing and such filters are
    refused the way the admin refuses any bad filter, before they reach the database."""
    admin_client.raise_request_exception = False
    response = admin_client.get(path, follow=True)
    assert response.status_code == 200, (path, response.status_code)
    if "/change/" in path or "/history/" in path:
        assert any("doesn’t exist" in m for m in messages_of(response)), path


def test_the_budget_is_set_in_the_admin_through_the_handle(admin_client, make_arena):
    arena_id = make_arena(status="active")
    url = reverse("admin:arenas_arena_change", args=[arena_id])
    data = {**inline_management("participants", 1), "participants-INITIAL_FORMS": "1"}
    data.update(inline_management("claims", 0))
    data.update(inline_management("requests", 0))
    data["goal"] = "Find the answer"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {**data, "budget": '{"cost_usd": "0.0000001"}'})
    assert response.status_code == 200
    assert "6 decimal places" in str(response.context["adminform"].form.errors["budget"])
    response = admin_client.post(url, {**data, "budget": '{"cost_usd": 12.5}'})
    assert response.status_code == 302
    assert Arena.objects.get(pk=arena_id).budget == {"cost_usd": "12.500000"}
    event = Event.objects.filter(arena_id=arena_id).last()
    assert (event.type, event.actor) == ("budget_changed", "staff:admin")
    assert "Every usage report of this arena" in admin_client.get(url).content.decode()


def test_usage_reports_are_read_only_in_the_admin(admin_client, make_arena, manager):
    arena_id = make_arena(status="active")
    row, _ = manager.handle(arena_id, "alice").report_usage(
        {"model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "cost_usd": "0.25"}
    )
    listing = admin_client.get(reverse("admin:arenas_usagereport_changelist"))
    assert "0.250000" in listing.content.decode()
    assert admin_client.get(reverse("admin:arenas_usagereport_add")).status_code == 403
    change = reverse("admin:arenas_usagereport_change", args=[row.pk])
    admin_client.post(change, {"model": "cheap"})
    assert row.__class__.objects.get(pk=row.pk).model == "gpt-4o"


def test_the_admin_names_requests_for_people_as_the_dashboard_does(admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert "Requests for people" in index and "Input requests" not in index
