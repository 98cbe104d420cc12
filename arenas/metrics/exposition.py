"""`GET /metrics` and the recording of every HTTP request.

- The view answers Prometheus text to `Authorization: Bearer <ALEPH_METRICS_TOKEN>`, 401 to
  any other caller, and 404 while no token is set (the endpoint is off). Under several
  processes (`PROMETHEUS_MULTIPROC_DIR` set) it adds up every process's files, so any
  process answers for all of them; then the database's series (database.py).
- `record_requests`, first in MIDDLEWARE, records each request Django answers by its route
  template; `record_asgi_requests` does the same for the ASGI routes outside Django (/mcp).
"""

from __future__ import annotations

import glob
import hmac
import os
import re
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from arenas import metrics

from .database import DatabaseCollector

CHALLENGE = 'Bearer realm="metrics"'
UNMATCHED = "unmatched"

_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@lru_cache(maxsize=1024)
def route_template(route: str) -> str:
    """A resolved route as a template: `api/arenas/(?P<id>[^/]+)/steps/?$` becomes
    `/api/arenas/{id}/steps/`, `arenas/<uuid:arena_id>/` becomes `/arenas/{arena_id}/`."""
    template = _CONVERTER.sub(r"{\1}", _GROUP.sub(r"{\1}", route))
    return "/" + template.replace("^", "").replace("$", "").replace("/?", "/")


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return UNMATCHED if match is None else route_template(match.route)


@sync_and_async_middleware
def record_requests(get_response: Callable[[HttpRequest], Any]) -> Any:
    """Settings: first in MIDDLEWARE, so it times the whole chain and sees every answer."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await get_response(request)
            _record(request, response, started)
            return response

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = get_response(request)
            _record(request, response, started)
            return response

    return middleware


def _record(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    metrics.request_served(
        _route(request), request.method or "", response.status_code, time.perf_counter() - started
    )


def record_asgi_requests(application: Any, route: str) -> Any:
    """An ASGI HTTP application whose requests are recorded under `route`."""

    async def recorded(scope: dict, receive: Callable, send: Callable[[dict], Awaitable]) -> None:
        if not metrics.enabled():
            return await application(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def sending(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await application(scope, receive, sending)
        finally:
            metrics.request_served(route, scope["method"], status, time.perf_counter() - started)

    return recorded


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "ALEPH_METRICS_TOKEN", "")
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(
            "Use GET.\n", status=405, content_type="text/plain", headers={"Allow": "GET, HEAD"}
        )
    if not _authorized(request, token):
        return HttpResponse(
            "Send Authorization: Bearer <the metrics token>.\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def registry() -> CollectorRegistry:
    """What a scrape reports: every process's series (or this process's alone when not
    in multi-process mode) and the database's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        forget_dead_processes(directory)
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected, path=directory)
    else:
        collected = CollectorRegistry()
        collected.register(_Process())
    collected.register(DatabaseCollector())
    return collected


class _Process:
    """This process's own registry (single-process mode)."""

    def collect(self) -> Any:
        return REGISTRY.collect()


_LIVE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db$")


def forget_dead_processes(directory: str) -> None:
    """Remove the live gauges (open websockets, waiting MCP calls) of processes that are
    gone, even those killed without a chance to clean up: their values no longer hold."""
    for path in glob.glob(os.path.join(directory, "gauge_live*.db")):
        found = _LIVE_FILE.search(path)
        if found is None:
            continue
        pid = int(found.group(1))
        if not _running(pid):
            multiprocess.mark_process_dead(pid, directory)


def _running(pid: int) -> bool:
    """Whether the process is alive (a zombie, dead but not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
