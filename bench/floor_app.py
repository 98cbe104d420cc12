"""The fan-out floor: the least an ASGI application can do to broadcast an event to websockets,
for bench/fanout_floor.py to measure beside the arena feed under the same server and client.

- Any websocket path: accepted, sent a `snapshot` frame, then held until it closes.
- `POST` to any path (the writer posts `{"step": n}` to an arena's steps/ path): the next
  `seq`'s event, shaped like a `step_completed` event, encoded to its frame once, the same
  frame sent to every open websocket in turn, then `201 {"event": ...}`.
- `GET /api/health/`: `200 {"status": "ok"}` (the harness waits for it).

No Django, no database, no channel layer, no authentication, no ordering to keep: nothing the
arena feed could do with less.

    daphne bench.floor_app:application
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

ARENA_ID = str(uuid.uuid4())
SNAPSHOT = json.dumps({"type": "snapshot", "arena": {"id": ARENA_ID, "last_seq": 0}})

sockets: set[Any] = set()
seq = 0


def _event(step: int) -> dict[str, Any]:
    global seq
    seq += 1
    return {
        "arena_id": ARENA_ID,
        "seq": seq,
        "type": "step_completed",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "actor": "agent-00000",
        "step": step,
        "agent_id": "agent-00000",
        "completed_steps": step,
        "total_steps": 0,
    }


async def _respond(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] != "POST":
        return await _respond(send, 200, {"status": "ok"})
    try:
        step = int(json.loads(body or b"{}").get("step", 0))
    except (ValueError, AttributeError):
        step = 0
    event = _event(step)
    frame = {"type": "websocket.send", "text": json.dumps({"type": "event", "event": event})}
    for socket_send in list(sockets):
        await socket_send(frame)
    await _respond(send, 201, {"event": event})


async def _websocket(receive: Any, send: Any) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": SNAPSHOT})
    sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets.discard(send)


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "websocket":
        await _websocket(receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
