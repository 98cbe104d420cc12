"""Fixtures of the webhook tests: a staff person, a real receiver, and running the
deliverer in this process until nothing is due."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from arenas.models import WebhookCursor, WebhookSubscription
from arenas.webhooks import deliverer, subscriptions
from tests.webhooks.receiver import Receiver


@pytest.fixture
def local_receivers(settings) -> None:
    """Receivers on 127.0.0.1 over plain http, as the suite's receiver is."""
    settings.ALEPH_WEBHOOK_ALLOW_HTTP = True
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("root", password="pw-root-123", is_staff=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def subscribe(staff, receiver) -> Callable[..., WebhookSubscription]:
    """subscribe(arenas=None, types=None, user=staff): a subscription to the receiver,
    whose secret the receiver verifies signatures with."""

    def make(arenas=None, types=None, user=None, url=None) -> WebhookSubscription:
        created = subscriptions.create(user or staff, url or receiver.url, arenas, types)
        receiver.secret = created.secret
        return created

    return make


def deliver() -> None:
    """Run a deliverer in this process until nothing is due."""
    async_to_sync(deliverer.deliver_due)()


def make_due(subscription: WebhookSubscription) -> None:
    """Let time pass: every retry of the subscription is due now."""
    WebhookCursor.objects.filter(subscription=subscription).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
