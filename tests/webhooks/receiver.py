"""A real webhook receiver for the tests: an HTTP server in a thread on 127.0.0.1 that checks
every request's signature with the `standardwebhooks` library, records what it received,
and answers as the test tells it (`answer`: status, headers, body, delay before answering).

It also watches concurrency: `overlaps` lists every moment two deliveries of one arena were
in flight at once (one deliverer per subscription and arena at a time).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any] | None
    verified: bool
    at: float  # time.time() when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


class Receiver:
    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.answer: Callable[[Received], Answer] = lambda _: Answer()
        self.overlaps: list[str] = []
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                receiver._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        size = int(request.headers.get("Content-Length", "0"))
        body = request.rfile.read(size)
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified, event = False, None
        if self.secret is not None:
            try:
                event = Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                event = None
        if event is None:
            try:
                event = json.loads(body)
            except ValueError:
                event = None
        got = Received(headers, body, event, verified, time.time())
        arena = str((event or {}).get("arena_id"))
        with self._lock:
            self._in_flight[arena] = self._in_flight.get(arena, 0) + 1
            if self._in_flight[arena] > 1:
                self.overlaps.append(got.webhook_id)
            self.received.append(got)
        answering = True
        try:
            answer = self.answer(got)
            if answer.delay:
                time.sleep(answer.delay)
            # The delivery ends here: once the answer is written the sender may send the next
            # event at once, whose request another thread may take before this one goes on.
            with self._lock:
                self._in_flight[arena] -= 1
            answering = False
            try:
                request.send_response(answer.status)
                for name, value in answer.headers.items():
                    request.send_header(name, value)
                request.send_header("Content-Length", str(len(answer.body)))
                request.end_headers()
                request.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        finally:
            if answering:
                with self._lock:
                    self._in_flight[arena] -= 1

    def events(self, arena_id: Any = None) -> list[dict[str, Any]]:
        """What arrived (of one arena), in arrival order."""
        with self._lock:
            got = list(self.received)
        return [
            r.event
            for r in got
            if r.event and (arena_id is None or r.event["arena_id"] == str(arena_id))
        ]

    def seqs(self, arena_id: Any) -> list[int]:
        return [event["seq"] for event in self.events(arena_id)]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {[r.webhook_id for r in self.received]}")
            time.sleep(0.02)
