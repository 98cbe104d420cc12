"""Fixtures of the REST API tests: clients that authenticate as an agent or as staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from django.core.cache import cache
from django.test import Client
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from tests.api.helpers import bearer


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Throttle counts live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for(make_agent) -> Callable[[str], APIClient]:
    """client_for("alice"): an APIClient with a fresh bearer token of that agent."""

    def make(agent_id: str) -> APIClient:
        _, token = make_agent(agent_id)
        return bearer(token)

    return make


@pytest.fixture
def staff_client(django_user_model) -> APIClient:
    """A logged-in staff user's client that sends its CSRF token as a browser does."""
    django_user_model.objects.create_user("root", password="pw-root-123", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="root", password="pw-root-123")
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    client.credentials(HTTP_X_CSRFTOKEN=secret)
    return client


@pytest.fixture
def team(make_arena, client_for):
    """An active open-ended arena of alice (coordinator), bob (worker), olive (observer)
    and iso (a worker that cannot read other slots), plus eve, who is not in it.

    Returns (arena_id, {agent id: client})."""
    arena_id = make_arena(
        creator="alice",
        status="active",
        total_steps=0,
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "olive", "role": "observer"},
            {"agent_id": "iso", "role": "worker", "can_read_other_slots": False},
        ],
    )
    clients = {name: client_for(name) for name in ("alice", "bob", "olive", "iso", "eve")}
    return arena_id, clients


@pytest.fixture(scope="session")
def openapi():
    """The API's own OpenAPI document, as schemathesis reads it."""
    document = Client().get("/api/schema/?format=json").json()
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(autouse=True)
def responses_match_the_schema(openapi, monkeypatch):
    """Every response an API test receives must be one the OpenAPI document describes:
    its status, content type, headers and body (server errors excepted: a test that
    provokes one checks it itself)."""
    original = APIClient.request

    def request(self, **environ):
        response = original(self, **environ)
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        operation = openapi.find_operation_by_path(method, path)
        if operation is not None and response.status_code < 500:
            received = httpx.Response(
                response.status_code,
                headers=list(response.items()),
                content=response.content,
                request=httpx.Request(method, "http://testserver" + quote(path)),
            )
            received.elapsed = timedelta(0)
            documented = operation.definition.raw["responses"].get(str(response.status_code))
            assert documented is not None, (method, path, response.status_code)
            for name, header in documented.get("headers", {}).items():
                assert not header.get("required") or name in response, (method, path, name)
            operation.validate_response(received)
        return response

    monkeypatch.setattr(APIClient, "request", request)
