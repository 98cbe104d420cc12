"""Fixtures of the live-feed tests: channel layers fresh per test, a short catch-up poll, and
handshake headers for agents and browsers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture(autouse=True)
def live_settings(settings):
    """A short poll so lost doorbells are made up quickly (the guarantee, not the speed, is
    under test), and channel layers built anew on this test's event loop."""
    settings.ALEPH_LIVE_POLL_SECONDS = 0.2
    channel_layers.backends.clear()
    yield settings
    channel_layers.backends.clear()


@pytest.fixture
def make_user(transactional_db) -> Callable[..., Any]:
    def make(username: str, *, staff: bool = False) -> Any:
        # No password: these users log in by force_login, and hashing one is slow.
        return get_user_model().objects.create_user(username, password=None, is_staff=staff)

    return make


@pytest.fixture
def session_cookie(transactional_db) -> Callable[[Any], bytes]:
    """session_cookie(user) -> the `Cookie` header value of a logged-in browser."""

    def login(user: Any) -> bytes:
        client = Client()
        client.force_login(user)
        key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        return f"{django_settings.SESSION_COOKIE_NAME}={key}".encode()

    return login


@dataclass
class Scene:
    """An active arena of alice (coordinator) and bob (worker); mallory takes no part.
    Browsers: `root` is staff, `carol` owns bob, `dave` owns nothing."""

    arena: Any
    tokens: dict[str, str]
    cookies: dict[str, bytes]


@pytest.fixture
def scene(make_arena, make_agent, make_user, session_cookie) -> Scene:
    arena = make_arena(
        "alice", status="active", participants=[{"agent_id": "bob", "role": "worker"}]
    )
    users = {
        "root": make_user("root", staff=True),
        "carol": make_user("carol"),
        "dave": make_user("dave"),
    }
    tokens = {
        "alice": make_agent("alice")[1],
        "bob": make_agent("bob", owner=users["carol"])[1],
        "mallory": make_agent("mallory")[1],
    }
    return Scene(arena, tokens, {name: session_cookie(user) for name, user in users.items()})
