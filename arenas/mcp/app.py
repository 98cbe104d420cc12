"""`/mcp/`: the MCP server over Streamable HTTP, an ASGI application beside Django
(`aleph_site/asgi.py` sends it `/mcp` and `/mcp/...`).

Before the protocol, each request passes the same doors as a REST request, and a refusal is
the error JSON:
- a `Host` that is not an allowed host: 400 `invalid` (as Django answers);
- an `Origin` that is not an allowed host: 403 `permission_denied` (a browser page of another
  site; agents send no `Origin`, which is fine);
- no valid bearer token: 401 `not_authenticated` with `WWW-Authenticate`, the REST API's
  challenge;
- over the agent's rate: 429 `throttled` with `Retry-After` (the REST API's throttle and
  counts: one budget per agent for both doors);
- a body over `ALEPH_MAX_BODY_BYTES`: 413 `payload_too_large`;
- a `Content-Type` other than `application/json` (or none): 415 `unsupported_media_type`;
- the database failing for a moment (checking the token): 503 `unavailable` with
  `Retry-After` (in a tool call: the tool error `unavailable: …`);
- any path other than `/mcp` or `/mcp/`: 404 `not_found`;
- a method other than POST: 405 `method_not_allowed` (the server sends nothing unasked, so
  it offers no stream to GET, and keeps no session to DELETE).
The authenticated agent travels to the tools in the ASGI scope (`server.AGENT`).

Stateless. The SDK's stateful mode keeps each session (and the task serving it) in the
memory of the process that opened it; with several processes behind one address, a request
that reaches another process answers 404 "Session not found". This server needs nothing a
session would carry: tools never ask the client anything back (no sampling, no elicitation),
and `wait_for_events` is an ordinary request whose response comes when events do. So it
runs the SDK's stateless mode: every request is served whole by whichever process gets it,
for the handshake-era protocol versions (whose `initialize` is answered but binds nothing)
and for 2026-07-28 (stateless by design). Responses are JSON, not SSE streams: one response
per request, nothing to keep open, nothing for a proxy to buffer.

The SDK's session manager runs its requests in a task group that must be started once, which
a server normally does on ASGI lifespan startup; Daphne sends no lifespan events. So it is
started on the first request of each event loop (one per server process), by a task of its
own that keeps it running; concurrent first requests all wait for that one start.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import deque
from typing import Any

from django.conf import settings
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from arenas import agents
from arenas.doors.access import (
    BAD_TOKEN,
    CHALLENGE,
    NO_TOKEN,
    bearer_token,
    error_body,
    host_allowed,
    origin_allowed,
)
from arenas.doors.rates import agent_retry_after
from arenas.errors import unavailable
from arenas.models import Agent

from .registry import in_thread
from .server import AGENT, server

PATHS = ("/mcp", "/mcp/")
JSON = "application/json"

Scope = dict[str, Any]
Message = dict[str, Any]


async def application(scope: Scope, receive: Any, send: Any) -> None:
    """The ASGI application of `/mcp/` (HTTP only)."""
    headers = _headers(scope)
    if scope["path"] not in PATHS:
        return await _refuse(send, 404, "not_found", "The MCP endpoint is /mcp/.")
    if not host_allowed(headers.get(b"host")):
        return await _refuse(send, 400, "invalid", "The Host header names no allowed host.")
    origin = headers.get(b"origin")
    if origin is not None and not origin_allowed(origin):
        return await _refuse(
            send, 403, "permission_denied", f"Requests from the origin {origin!r} are refused."
        )
    token = bearer_token(headers.get(b"authorization"))
    if not token:
        return await _refuse(send, 401, "not_authenticated", NO_TOKEN, _CHALLENGE)
    try:
        agent, wait = await in_thread(_admit, token)
    except Exception as error:
        if (down := unavailable(error)) is None:
            raise
        return await _refuse(
            send,
            down.status,
            down.code,
            down.detail,
            [(b"retry-after", str(down.retry_after).encode())],
        )
    if agent is None:
        return await _refuse(send, 401, "not_authenticated", BAD_TOKEN, _CHALLENGE)
    if wait is not None:
        return await _refuse(
            send,
            429,
            "throttled",
            f"Request was throttled. Expected available in {wait} seconds.",
            [(b"retry-after", str(wait).encode())],
        )
    if scope["method"] != "POST":
        return await _refuse(
            send,
            405,
            "method_not_allowed",
            "MCP messages are POSTed here; this server opens no stream to GET and keeps no "
            "session to DELETE.",
            [(b"allow", b"POST")],
        )
    received = await _read_body(receive, headers)
    if received is None:
        limit = settings.ALEPH_MAX_BODY_BYTES
        return await _refuse(
            send, 413, "payload_too_large", f"The request body is larger than {limit} bytes."
        )
    media_type = _media_type(headers.get(b"content-type"))
    if media_type != JSON:
        return await _refuse(
            send,
            415,
            "unsupported_media_type",
            f"MCP messages are JSON: send Content-Type: {JSON}"
            + (f" (not {media_type})." if media_type else "."),
        )

    hung_up = asyncio.Event()

    async def replay() -> Message:
        if received:
            return received.popleft()
        await hung_up.wait()
        return {"type": "http.disconnect"}

    manager = await session_manager()
    # The SDK compares the media type case-sensitively: hand it the lower-case one.
    scope = {**scope, "headers": _with_content_type(scope["headers"], JSON), AGENT: agent}
    await _until_hung_up(manager.handle_request(scope, replay, send), receive, hung_up)


_CHALLENGE = [(b"www-authenticate", CHALLENGE.encode())]


async def _until_hung_up(handling: Any, receive: Any, hung_up: asyncio.Event) -> None:
    """Serve the request (`handling`) unless its client hangs up first, and then stop at
    once: a `wait_for_events` call whose client is gone ends instead of running on to its
    timeout. Once the body is read, nothing but the client hanging up comes from `receive`
    (which is read here alone; the SDK is told through `hung_up`)."""
    serving = asyncio.current_task()
    served = False

    async def listen() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        hung_up.set()
        if not served:
            serving.cancel()

    listening = asyncio.ensure_future(listen())
    try:
        await handling
    except asyncio.CancelledError:
        if not hung_up.is_set() or serving.uncancel() > 0:
            raise
    finally:
        served = True
        listening.cancel()


def _headers(scope: Scope) -> dict[bytes, str]:
    """The request's headers by lower-case name (the first of each), decoded as latin-1."""
    found: dict[bytes, str] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name.lower(), value.decode("latin-1"))
    return found


def _with_content_type(headers: Any, media_type: str) -> list[tuple[bytes, bytes]]:
    """The request's headers with Content-Type's media type written as `media_type`."""
    out = []
    for name, value in headers:
        if name.lower() == b"content-type":
            _, sep, params = value.partition(b";")
            value = media_type.encode() + sep + params
        out.append((name, value))
    return out


def _media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower-cased, without its parameters."""
    return (content_type or "").partition(";")[0].strip().lower()


def _admit(token: str) -> tuple[Agent | None, int | None]:
    """The token's agent (None if it authenticates no one) and, when it is over its rate,
    the seconds it should wait."""
    agent = agents.authenticate(token)
    if agent is None:
        return None, None
    return agent, agent_retry_after(agent)


async def _read_body(receive: Any, headers: dict[bytes, str]) -> deque | None:
    """The request's body messages, read up to `ALEPH_MAX_BODY_BYTES` (None past it, said
    or sent), to be replayed to the SDK."""
    limit = settings.ALEPH_MAX_BODY_BYTES
    messages: deque[Message] = deque()
    declared = headers.get(b"content-length", "")
    # ASCII digits only (int() refuses "²" and numbers of thousands of digits).
    if declared.isascii() and declared.isdigit() and (len(declared) > 19 or int(declared) > limit):
        return None
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


async def _refuse(
    send: Any, status: int, code: str, detail: str, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(error_body(code, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the SDK's session manager, started once per event loop ------------------------------

_running: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop,
    tuple[asyncio.Task[None], asyncio.Future[StreamableHTTPSessionManager]],
] = weakref.WeakKeyDictionary()


async def session_manager() -> StreamableHTTPSessionManager:
    """The running session manager of this event loop, started by the first caller. No
    await comes between looking and starting, so concurrent first requests share one."""
    loop = asyncio.get_running_loop()
    running = _running.get(loop)
    if running is None or running[0].done():
        ready: asyncio.Future[StreamableHTTPSessionManager] = loop.create_future()
        running = _running[loop] = (loop.create_task(_serve(ready)), ready)
    return await asyncio.shield(running[1])


async def _serve(ready: asyncio.Future[StreamableHTTPSessionManager]) -> None:
    """Run a session manager until the event loop ends."""
    manager = StreamableHTTPSessionManager(
        app=server,
        stateless=True,
        json_response=True,
        max_request_body_size=settings.ALEPH_MAX_BODY_BYTES,
    )
    try:
        async with manager.run():
            ready.set_result(manager)
            await asyncio.Event().wait()
    except BaseException as error:
        if not ready.done():
            if isinstance(error, asyncio.CancelledError):
                ready.cancel()
            else:
                ready.set_exception(error)
        raise
