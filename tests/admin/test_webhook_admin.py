"""Webhook subscriptions in the admin: added with the secret shown once, state, last error
and lag on the list and the page, disabled and resumed (from the cursors, or one arena from
a chosen seq), deleted, every write through the domain."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from arenas.models import WebhookCursor, WebhookDisabled, WebhookSubscription
from arenas.webhooks import subscriptions

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/aleph"


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def client(client, root):
    client.force_login(root)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_adding_a_subscription_shows_its_secret_once(client, make_arena):
    arena_id = make_arena()
    response = client.post(
        reverse("admin:arenas_webhooksubscription_add"),
        {"url": HOOK, "arena_ids": f"{arena_id}\n", "event_types": ["step_completed"]},
        follow=True,
    )
    created = WebhookSubscription.objects.get()
    assert created.arenas == [str(arena_id)] and created.types == ["step_completed"]
    assert created.created_by.username == "root"
    shown = [m for m in messages_of(response) if "shown this once" in m]
    assert shown and re.search(r"whsec_[A-Za-z0-9+/=]{40,}", shown[0])
    page = client.get(reverse("admin:arenas_webhooksubscription_change", args=[created.pk]))
    assert created.secret not in page.content.decode()


def test_an_unreachable_url_is_a_form_error(client):
    response = client.post(
        reverse("admin:arenas_webhooksubscription_add"), {"url": "https://127.0.0.1/x"}
    )
    assert response.status_code == 200
    assert "not a public one" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_state_last_error_and_lag_are_shown(client, root, manager, make_arena):
    arena_id = make_arena(status="active")
    subscription = subscriptions.create(root, HOOK, [str(arena_id)])
    manager.handle(arena_id, "alice").complete_step(1)
    WebhookCursor.objects.create(subscription=subscription, arena_id=arena_id, seq=3)
    subscriptions.disable(subscription, WebhookDisabled.GONE, "event 4: HTTP 410")
    listing = client.get(reverse("admin:arenas_webhooksubscription_changelist")).content.decode()
    assert "disabled: the receiver answered 410 gone" in listing
    assert "HTTP 410" in listing and "1 event(s) behind" in listing
    page = client.get(reverse("admin:arenas_webhooksubscription_change", args=[subscription.pk]))
    assert page.status_code == 200 and str(arena_id) in page.content.decode()


def test_resume_from_the_cursors_and_from_a_chosen_seq(client, root, manager, make_arena):
    arena_id = make_arena(status="active")
    subscription = subscriptions.create(root, HOOK, [str(arena_id)])
    WebhookCursor.objects.create(subscription=subscription, arena_id=arena_id, seq=3, attempts=8)
    subscriptions.disable(subscription, WebhookDisabled.RETRIES_EXHAUSTED)
    client.post(
        reverse("admin:arenas_webhooksubscription_changelist"),
        {"action": "resume", ACTION_CHECKBOX_NAME: [subscription.pk]},
    )
    subscription.refresh_from_db()
    cursor = WebhookCursor.objects.get()
    assert subscription.active and cursor.attempts == 0 and cursor.seq == 3

    resume = reverse("admin:arenas_webhooksubscription_resume", args=[subscription.pk])
    response = client.post(resume, {"arena": str(arena_id), "from_seq": "2"}, follow=True)
    assert any("from seq 2" in m for m in messages_of(response))
    cursor.refresh_from_db()
    assert cursor.seq == 1  # event 2 goes next

    response = client.post(resume, {"arena": str(arena_id), "from_seq": "999"}, follow=True)
    assert any(m.startswith("Not resumed") for m in messages_of(response))
    cursor.refresh_from_db()
    assert cursor.seq == 1


def test_disable_and_delete_go_through_the_domain(client, root):
    subscription = subscriptions.create(root, HOOK)
    client.post(
        reverse("admin:arenas_webhooksubscription_changelist"),
        {"action": "disable", ACTION_CHECKBOX_NAME: [subscription.pk]},
    )
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_reason == WebhookDisabled.STAFF
    client.post(
        reverse("admin:arenas_webhooksubscription_delete", args=[subscription.pk]), {"post": "yes"}
    )
    assert not WebhookSubscription.objects.exists()
