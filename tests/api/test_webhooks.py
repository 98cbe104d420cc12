"""`/api/webhooks/`: who may manage subscriptions (staff; an agent's owner for the
arenas its agents take part in; anonymous 401, agents and other people 403), the secret shown
once, the URL rules, and reading and deleting. Every response is checked against the OpenAPI
document (conftest.py)."""

from __future__ import annotations

import base64

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from arenas.models import WebhookSubscription
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/aleph"


def session(user) -> APIClient:
    """A person's logged-in client that sends the CSRF token, as a browser does."""
    client = APIClient(enforce_csrf_checks=True)
    client.default_format = "json"
    client.force_login(user)
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    client.credentials(HTTP_X_CSRFTOKEN=secret)
    return client


@pytest.fixture(autouse=True)
def json_bodies(staff_client):
    staff_client.default_format = "json"


@pytest.fixture
def owner(django_user_model, make_agent):
    person = django_user_model.objects.create_user("olga", password="pw-olga-123")
    make_agent("helper", owner=person)
    return person


@pytest.fixture
def owner_client(owner) -> APIClient:
    return session(owner)


def test_staff_subscribe_and_see_the_secret_once(staff_client, make_arena):
    arena_id = make_arena()
    created = staff_client.post(
        "/api/webhooks/", {"url": HOOK, "arenas": [str(arena_id)], "types": ["step_completed"]}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["url"] == HOOK and body["arenas"] == [str(arena_id)]
    assert body["types"] == ["step_completed"] and body["active"] is True
    assert body["created_by"] == "root" and body["disabled_reason"] is None

    shown = staff_client.get(f"/api/webhooks/{body['id']}/")
    assert shown.status_code == 200 and "secret" not in shown.json()
    listed = staff_client.get("/api/webhooks/").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]


def test_anonymous_callers_get_401(db):
    for method, path in (("get", "/api/webhooks/"), ("post", "/api/webhooks/")):
        response = getattr(APIClient(), method)(path, {"url": HOOK}, format="json")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_agents_get_403(client_for):
    alice = client_for("alice")
    assert_error(alice.get("/api/webhooks/"), 403, "permission_denied")
    assert_error(
        alice.post("/api/webhooks/", {"url": HOOK}, format="json"), 403, "permission_denied"
    )


def test_people_who_own_no_agent_get_403(django_user_model):
    person = django_user_model.objects.create_user("nobody", password="pw-nobody-123")
    client = session(person)
    assert_error(client.get("/api/webhooks/"), 403, "permission_denied")
    assert_error(
        client.post("/api/webhooks/", {"url": HOOK}, format="json"), 403, "permission_denied"
    )
    assert not WebhookSubscription.objects.exists()


def test_an_owner_subscribes_to_arenas_its_agents_take_part_in(owner_client, make_arena):
    theirs = make_arena(participants=[{"agent_id": "helper", "role": "worker"}])
    not_theirs = make_arena(creator="bob")
    created = owner_client.post("/api/webhooks/", {"url": HOOK, "arenas": [str(theirs)]})
    assert created.status_code == 201, created.content
    refused = owner_client.post("/api/webhooks/", {"url": HOOK, "arenas": [str(not_theirs)]})
    body = assert_error(refused, 400, "invalid")
    assert "arenas" in body["fields"]
    everything = owner_client.post("/api/webhooks/", {"url": HOOK, "arenas": None})
    assert everything.status_code == 201 and everything.json()["arenas"] is None


def test_people_see_their_own_subscriptions_and_staff_see_all(
    owner_client, staff_client, make_arena
):
    own = owner_client.post("/api/webhooks/", {"url": HOOK}).json()["id"]
    staffs = staff_client.post("/api/webhooks/", {"url": HOOK}).json()["id"]
    assert [s["id"] for s in owner_client.get("/api/webhooks/").json()["results"]] == [own]
    assert {s["id"] for s in staff_client.get("/api/webhooks/").json()["results"]} == {own, staffs}
    assert_error(owner_client.get(f"/api/webhooks/{staffs}/"), 404, "not_found")
    assert_error(owner_client.delete(f"/api/webhooks/{staffs}/"), 404, "not_found")
    assert staff_client.get(f"/api/webhooks/{own}/").status_code == 200


def test_delete_stops_a_subscription(staff_client):
    created = staff_client.post("/api/webhooks/", {"url": HOOK}).json()["id"]
    assert staff_client.delete(f"/api/webhooks/{created}/").status_code == 204
    assert_error(staff_client.get(f"/api/webhooks/{created}/"), 404, "not_found")
    assert_error(staff_client.get("/api/webhooks/not-a-uuid/"), 404, "not_found")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/aleph",  # http, not allowed here
        "https://user:secret@hooks.example.com/",  # credentials
        "/relative/path",
        "ftp://hooks.example.com/",
        "https://127.0.0.1/hook",  # loopback
        "https://10.1.2.3/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local
        "https://[::1]:8443/hook",
        "https://localhost/hook",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "",
    ],
)
def test_urls_that_may_not_be_reached_are_refused(staff_client, url):
    body = assert_error(staff_client.post("/api/webhooks/", {"url": url}), 400, "invalid")
    assert "url" in body["fields"]
    assert not WebhookSubscription.objects.exists()


def test_http_and_private_receivers_when_the_server_allows_them(staff_client, settings):
    settings.ALEPH_WEBHOOK_ALLOW_HTTP = True
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = True
    created = staff_client.post("/api/webhooks/", {"url": "http://127.0.0.1:9/hook"})
    assert created.status_code == 201, created.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("types", ["no_such_type"]),
        ("types", []),
        ("types", ["step_completed", "step_completed"]),
        ("arenas", []),
        ("arenas", ["not-a-uuid"]),
        ("arenas", ["00000000-0000-4000-8000-000000000000"]),
        ("arenas", "all"),
    ],
)
def test_bad_arenas_and_types_are_refused(staff_client, field, value):
    body = assert_error(
        staff_client.post("/api/webhooks/", {"url": HOOK, field: value}), 400, "invalid"
    )
    assert any(name.startswith(field) for name in body["fields"]), body


def test_a_session_write_needs_its_csrf_token(staff_client):
    staff_client.credentials()  # drop the X-CSRFToken header
    assert_error(staff_client.post("/api/webhooks/", {"url": HOOK}), 403, "permission_denied")
