"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against a real
Daphne server (`live_server`), a staff login, demo-sized arenas made through the REST API,
and screenshots under test-artifacts/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.tools import skip_or_fail_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
STAFF_USERNAME = "ada"
STAFF_PASSWORD = "correct-horse-battery-staple"
# Generous: a shared 2-core machine runs these next to other suites.
WAIT_MS = 15_000


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium, for one test. Sync Playwright runs an event loop in this thread while it
    is started, which makes Django refuse database access in the tests after it: so it
    never outlives its test."""
    if not os.path.exists(CHROMIUM):
        skip_or_fail_missing(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser) -> Iterator[Any]:
    """new_page(viewport=DESKTOP) -> a page in a fresh browser context (own cookies).
    Errors thrown by the page's scripts fail the test."""
    contexts = []
    errors: list[str] = []

    def make(viewport: dict[str, int] = DESKTOP):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"the page's scripts threw: {errors}"


@pytest.fixture
def staff(live_db) -> tuple[str, str]:
    """A staff login on the live server's database: (username, password)."""
    live_db.create_staff(STAFF_USERNAME, STAFF_PASSWORD)
    return STAFF_USERNAME, STAFF_PASSWORD


@dataclass
class Agent:
    """An agent of the live server, calling its REST API with its bearer token."""

    agent_id: str
    token: str
    base_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = httpx.request(
            method, self.base_url + path, json=body, headers=self.headers, timeout=30
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def create_arena(self, **config: Any) -> str:
        if "plan" not in config:
            config.setdefault("total_steps", 5)
        return self.call("POST", "/api/arenas/", config, expect=201)["id"]

    def act(self, arena_id: str, action: str) -> dict[str, Any]:
        return self.call("POST", f"/api/arenas/{arena_id}/{action}/", expect=200)

    def step(self, arena_id: str, number: int) -> dict[str, Any]:
        return self.call("POST", f"/api/arenas/{arena_id}/steps/", {"step": number}, expect=201)

    def say(self, arena_id: str, text: str) -> dict[str, Any]:
        body = {"text": text, "to": None}
        return self.call("POST", f"/api/arenas/{arena_id}/messages/", body, expect=201)


@pytest.fixture
def make_live_agent(live_db, live_server):
    """make_live_agent("lead", owner=None) -> an Agent of the live server."""

    def make(agent_id: str, owner: str | None = None) -> Agent:
        extra = ("--owner", owner) if owner else ()
        return Agent(agent_id, live_db.create_agent(agent_id, *extra), live_server.url)

    return make


def log_in(page, base_url: str, username: str, password: str, path: str = "/") -> None:
    """Open `path`, get sent to the login page, sign in and come back to `path`."""
    page.goto(base_url + path)
    page.wait_for_url(lambda url: "/accounts/login/?next=" in url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + path)


def wait_until_live(page) -> None:
    page.wait_for_function("document.getElementById('connection').dataset.state === 'connected'")


def wait_for_count(page, count: int) -> None:
    """Until the header's count of open requests shows `count`."""
    page.wait_for_function(
        "count => document.getElementById('requests-count').dataset.count === String(count)",
        arg=count,
    )
    assert page.locator("#requests-count").inner_text() == str(count)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
