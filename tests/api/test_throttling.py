"""Per-agent rate limits from settings.ALEPH_AGENT_THROTTLE_RATE: 429 `throttled` with
Retry-After once an agent is over its rate; other agents and `off` are unaffected."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from arenas.models import Arena
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


@override_settings(ALEPH_AGENT_THROTTLE_RATE="3/minute")
def test_an_agent_over_its_rate_gets_429_with_retry_after(client_for):
    alice, bob = client_for("alice"), client_for("bob")
    for _ in range(3):
        assert alice.get("/api/me/").status_code == 200
    response = alice.get("/api/me/")
    body = assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in body["detail"].lower()
    assert bob.get("/api/me/").status_code == 200


@override_settings(ALEPH_AGENT_THROTTLE_RATE="2/minute")
def test_writes_count_and_a_throttled_write_changes_nothing(client_for):
    alice = client_for("alice")
    assert alice.post(url(), {"goal": "one"}, format="json").status_code == 201
    assert alice.post(url(), {"goal": "two"}, format="json").status_code == 201
    assert_error(alice.post(url(), {"goal": "three"}, format="json"), 429, "throttled")
    assert sorted(Arena.objects.values_list("goal", flat=True)) == ["one", "two"]


@override_settings(ALEPH_AGENT_THROTTLE_RATE="off")
def test_off_disables_throttling(client_for):
    alice = client_for("alice")
    assert all(alice.get("/api/me/").status_code == 200 for _ in range(30))


@override_settings(ALEPH_AGENT_THROTTLE_RATE="1/minute")
def test_health_is_never_throttled():
    client = APIClient()
    assert all(client.get("/api/health/").status_code == 200 for _ in range(5))
