"""`/metrics` in this process: behind its token (404 while unset), the series the
service records where the work happens, with bounded labels (route templates, never ids),
and the database's series read at scrape time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from arenas import metrics
from arenas.models import Claim
from arenas.webhooks import subscriptions

TOKEN = "scrape-me-0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.ALEPH_METRICS_TOKEN = TOKEN


def scrape() -> str:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """One sample of an exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, number = line.rpartition(" ")
        found = re.fullmatch(r"([^{]+)(?:\{(.*)\})?", sample)
        if found and found.group(1) == name:
            got = ",".join(sorted(part for part in (found.group(2) or "").split(",") if part))
            if got == wanted:
                return float(number)
    return 0.0


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_endpoint_is_off_without_a_token(settings):
    settings.ALEPH_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer"])
def test_other_callers_get_401(header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_requests_are_counted_by_route_template_never_by_id(make_arena, make_agent):
    arena_id = make_arena()
    _, token = make_agent("alice")
    route = "/api/arenas/{id}/"
    before = sample("aleph_http_requests_total", route=route, method="GET", status="200")
    for _ in range(3):
        Client().get(f"/api/arenas/{arena_id}/", HTTP_AUTHORIZATION=f"Bearer {token}")
    Client().get("/api/no/such/path/")
    text = scrape()
    assert value(text, "aleph_http_requests_total", route=route, method="GET", status="200") == (
        before + 3
    )
    assert value(text, "aleph_http_request_duration_seconds_count", route=route, method="GET") >= 3
    assert value(text, "aleph_http_requests_total", route="unmatched", method="GET", status="404")
    assert str(arena_id) not in text and "alice" not in text


def test_events_and_the_arena_lock_are_counted_when_the_write_commits(
    manager, make_arena, django_capture_on_commit_callbacks
):
    arena_id = make_arena(status="active")
    completed = sample("aleph_events_appended_total", type="step_completed")
    held = sample("aleph_arena_lock_held_seconds_count")
    waited = sample("aleph_arena_lock_wait_seconds_count")
    handle = manager.handle(arena_id, "alice")
    with django_capture_on_commit_callbacks(execute=True):
        handle.complete_step(1)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Exception, match="already"),
    ):
        handle.complete_step(1)  # refused and rolled back: not an event
    assert sample("aleph_events_appended_total", type="step_completed") == completed + 1
    assert sample("aleph_arena_lock_held_seconds_count") == held + 1
    assert sample("aleph_arena_lock_wait_seconds_count") == waited + 2


def test_an_answer_records_how_long_its_request_waited(
    manager, make_arena, django_capture_on_commit_callbacks
):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    asked = manager.handle(arena_id, "bob").ask("Which title?", ["A", "B"])
    before = sample("aleph_request_answer_wait_seconds_count")
    with django_capture_on_commit_callbacks(execute=True):
        manager.staff_handle(arena_id, "root").answer_request(asked.id, "A")
    assert sample("aleph_request_answer_wait_seconds_count") == before + 1


def test_database_facts_are_read_when_scraped(manager, make_arena, django_user_model):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    handle = manager.handle(arena_id, "bob")
    handle.claim_step(1)
    handle.claim_step(2)
    Claim.objects.filter(step=2).update(expires_at=timezone.now() - timedelta(seconds=1))
    handle.ask("Anyone?")
    staff = django_user_model.objects.create_user("root", is_staff=True)
    subscriptions.create(staff, "https://hooks.example.com/in", [str(arena_id)])
    manager.handle(arena_id, "alice").post_message("after the subscription")
    from arenas.webhooks import delivery

    delivery.lease_due(0)  # opens the arena's cursor (leases nothing)
    text = scrape()
    assert value(text, "aleph_claims_live") == 1
    assert value(text, "aleph_claims_lapsed") == 1
    assert value(text, "aleph_requests_open") == 1
    assert value(text, "aleph_requests_oldest_open_seconds") >= 0
    assert value(text, "aleph_arenas", status="active") == 1
    assert value(text, "aleph_webhook_subscriptions", state="active") == 1
    assert value(text, "aleph_webhook_backlog_events") == 1
    assert value(text, "aleph_webhook_lag_seconds") >= 0


def test_usage_is_labelled_by_priced_models_only():
    metrics.usage_reported("claude-x", True, 100, 20, 0, 0.25)
    metrics.usage_reported("my own fine-tune 42", False, 7, 3, 0, 0.0)
    assert sample("aleph_usage_tokens_total", model="claude-x", kind="input") >= 100
    assert sample("aleph_usage_tokens_total", model="unpriced", kind="input") >= 7
    assert "fine-tune" not in scrape()


def test_nothing_is_recorded_while_metrics_are_off(
    settings, manager, make_arena, django_capture_on_commit_callbacks
):
    settings.ALEPH_METRICS_TOKEN = ""
    arena_id = make_arena(status="active")
    before = sample("aleph_events_appended_total", type="step_completed")
    with django_capture_on_commit_callbacks(execute=True):
        manager.handle(arena_id, "alice").complete_step(1)
    assert sample("aleph_events_appended_total", type="step_completed") == before
