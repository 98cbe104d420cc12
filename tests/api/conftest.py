"""Fixtures of the REST API tests: clients that authenticate as an agent or as staff."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
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
