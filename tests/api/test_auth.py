"""Who may call the API: agents with a bearer token, staff with a session; everyone else
gets 401 with a Bearer challenge, never 403."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from arenas.agents import issue_token, revoke_token
from arenas.models import AgentToken, Arena, Event
from tests.api.helpers import OPERATIONS, assert_error, bearer, fill, url

pytestmark = pytest.mark.django_db


def assert_challenge(response) -> None:
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_health_answers_anyone_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "template"), OPERATIONS)
def test_every_operation_without_credentials_is_401_with_a_bearer_challenge(method, template):
    path = fill(template, id=uuid.uuid4(), agent_id="alice", artifact_id=uuid.uuid4())
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert_challenge(response)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer aa_not-a-real-token",
        "Bearer ",
        "Bearer",
        "bearer aa_" + "x" * 600,
        "Basic YWxpY2U6c2VjcmV0",
        "Token abc",
    ],
)
def test_a_header_that_is_not_a_valid_bearer_token_is_401(make_arena, header):
    make_arena()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_challenge(client.get("/api/me/"))


def test_a_revoked_token_is_401_and_the_agents_other_token_still_works(make_agent):
    agent, token = make_agent("alice")
    other, _ = issue_token(agent)
    revoke_token(AgentToken.objects.get(agent=agent, prefix=token[:10]))
    assert_challenge(bearer(token).get("/api/me/"))
    assert bearer(other).get("/api/me/").status_code == 200


def test_an_inactive_agents_token_is_401(make_agent):
    agent, token = make_agent("alice")
    agent.is_active = False
    agent.save()
    assert_challenge(bearer(token).get("/api/me/"))


def test_a_used_token_records_when_it_was_last_used(make_agent):
    agent, token = make_agent("alice")
    before = timezone.now()
    assert bearer(token).get("/api/me/").status_code == 200
    record = AgentToken.objects.get(agent=agent)
    assert record.last_used_at is not None and record.last_used_at >= before


def test_request_user_is_the_agent(client_for):
    response = client_for("alice").get("/api/me/")
    assert response.json() == {"agent_id": "alice", "display_name": "", "active_arenas": []}


def test_a_non_staff_session_is_not_a_credential(django_user_model, make_arena):
    arena_id = make_arena()
    django_user_model.objects.create_user("viewer", password="pw-view-123")
    client = APIClient()
    client.login(username="viewer", password="pw-view-123")
    assert_challenge(client.get("/api/arenas/"))
    assert_challenge(client.get(url(arena_id)))


def test_staff_read_every_arena_through_the_session(staff_client, make_arena):
    arena_id = make_arena()
    detail = staff_client.get(url(arena_id))
    assert detail.status_code == 200
    assert detail.json()["you"] == {
        "agent_id": None,
        "staff": "root",
        "role": "staff",
        "permissions": {
            "can_write_own_slot": False,
            "can_read_other_slots": False,
            "can_write_shared_memory": False,
            "can_merge": False,
        },
    }
    listing = staff_client.get("/api/arenas/").json()
    assert [a["id"] for a in listing["results"]] == [str(arena_id)]


def test_staff_manage_an_arena_and_act_as_staff_username(staff_client, make_arena):
    arena_id = make_arena()
    response = staff_client.post(url(arena_id, "activate"))
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    message = staff_client.post(url(arena_id, "messages"), {"text": "hello"}, format="json")
    assert message.status_code == 201
    assert message.json()["actor"] == "staff:root"
    assert message.json()["agent_id"] is None


def test_staff_writes_without_the_csrf_token_are_refused(staff_client, make_arena):
    arena_id = make_arena()
    staff_client.credentials()  # drops the X-CSRFToken header
    response = staff_client.post(url(arena_id, "activate"))
    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["detail"]
    assert Arena.objects.get(pk=arena_id).status == "created"


def test_staff_have_no_slot_to_write(staff_client, make_arena):
    arena_id = make_arena(status="active")
    response = staff_client.post(url(arena_id, "steps"), {"step": 1}, format="json")
    assert_error(response, 403, "permission_denied")
    assert not Event.objects.filter(arena_id=arena_id, type="step_completed").exists()


def test_me_is_for_agents_not_staff(staff_client):
    assert_error(staff_client.get("/api/me/"), 403, "permission_denied")


def test_a_bearer_token_wins_over_a_staff_session(staff_client, make_agent):
    _, token = make_agent("alice")
    staff_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert staff_client.get("/api/me/").json()["agent_id"] == "alice"
