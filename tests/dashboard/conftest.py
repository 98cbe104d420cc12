"""Fixtures of the dashboard's tests through Django's test client (its pages and forms
without a browser; tests/browser/ drives Chromium against a live server): a signed-in staff
user, a signed-in person who owns agents, and the page messages an answer carries."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages


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
