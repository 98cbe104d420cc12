"""Django under ASGI (`aleph_site/handlers.py`): the middleware chain and the view run in one
hand-over to the request's thread, and every kind of view is still served."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import SyncToAsync
from django.core.handlers.asgi import ASGIHandler
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from aleph_site.handlers import OneHopASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)

view_threads: list[str] = []


def sync_view(request):
    view_threads.append(threading.current_thread().name)
    return JsonResponse({"view": "sync"})


async def async_view(request):
    return JsonResponse({"view": "async"})


urlpatterns = [path("sync/", sync_view), path("async/", async_view)]


async def serve(handler, url: str, method: str = "GET", body: bytes = b"", headers=()):
    """One request through `handler` as a server calls it: (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays: the handler cancels this

    async def send(message):
        sent.append(message)

    await handler(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def hand_overs(monkeypatch) -> list[str]:
    """The names of the functions handed from the event loop to a thread, as they are."""
    handed: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        handed.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return handed


@override_settings(ROOT_URLCONF=__name__)
async def test_the_chain_and_the_view_take_one_hand_over(monkeypatch):
    handed = hand_overs(monkeypatch)
    assert await serve(OneHopASGIHandler(), "/sync/") == (200, b'{"view": "sync"}')
    ours = len(handed)
    handed.clear()
    assert await serve(ASGIHandler(), "/sync/") == (200, b'{"view": "sync"}')
    # Ours: the request_started signal, the chain with the view, the response's close.
    assert ours == 3, handed
    assert len(handed) > ours  # Django's own: the view is handed over once more


@override_settings(ROOT_URLCONF=__name__)
async def test_the_view_runs_in_the_requests_own_thread():
    view_threads.clear()
    for _ in range(2):
        await serve(OneHopASGIHandler(), "/sync/")
    assert threading.current_thread().name not in view_threads
    assert len(set(view_threads)) == 2  # a thread per request, as Django's handler does


@override_settings(ROOT_URLCONF=__name__)
async def test_an_asynchronous_view_is_still_served():
    assert await serve(OneHopASGIHandler(), "/async/") == (200, b'{"view": "async"}')


async def test_the_api_answers_through_it(make_agent):
    from asgiref.sync import sync_to_async

    _, token = await sync_to_async(make_agent)("alice")
    status, body = await serve(
        OneHopASGIHandler(),
        "/api/arenas/",
        "POST",
        json.dumps({"goal": "One hand-over", "total_steps": 3}).encode(),
        [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ],
    )
    assert status == 201, body
    assert json.loads(body)["goal"] == "One hand-over"
