"""An arena's live feed (docs/live.md) as a program that never loses its place.

`FeedCursor` remembers the last `seq` it handed out and the newest snapshot. It connects to
`/ws/arenas/{id}/?after=<last seq>` with the bearer token (and no Origin), drops any event
it has handed out already, and after any dropped connection (a network failure, a server
restart, a closing handshake) connects again with `after=<last seq>`, waiting a backoff
with jitter between attempts, so that each event comes out exactly once and in `seq`
order. A close with a refusal code (4400, 4401, 4403, 4404) is final: it raises the
matching ArenaError.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from .core import Connect, Disconnect, Emit, Program, Receive, Retry, Sleep
from .errors import FEED_REFUSALS, error_class, error_from_close

if TYPE_CHECKING:
    from .api import Api
    from .types import ArenaDetail, Event

# The backoff between reconnections: 0.1 s doubling up to 5 s (each drawn from its upper
# half); it starts again from the bottom once a connection has delivered a message.
RECONNECT = Retry(backoff=0.1, max_backoff=5.0)
CONNECT_FAILURES = (OSError, TimeoutError, WebSocketException)


class FeedCursor:
    """The position of one feed: `last_seq` handed out (None: not yet known, the feed
    starts at the first snapshot) and the newest `snapshot` of the arena."""

    def __init__(self, api: Api, arena_id: str, after: int | None) -> None:
        scheme, rest = api.base_url.split("://", 1)
        self.url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws/arenas/{arena_id}/"
        self.headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
        self.last_seq = after
        self.snapshot: ArenaDetail | None = None
        self.socket: Any = None
        self.failures = 0

    def events(self) -> Program[None]:
        """Emits every event after `last_seq`, forever."""
        while True:
            event = yield from self.next_event()
            if event is not None:
                yield Emit(event)

    def next_event(self, timeout: float | None = None) -> Program[Event | None]:
        """The next event after `last_seq`, or None once `timeout` seconds have passed."""
        event: Event | None = yield from self._next("event", timeout)
        return event

    def open(self, timeout: float | None = None) -> Program[ArenaDetail | None]:
        """Connect, and the snapshot the connection starts with (None after `timeout`).
        Only for a cursor that has not handed out anything yet: no event comes before the
        snapshot, so none is skipped."""
        arena: ArenaDetail | None = yield from self._next("snapshot", timeout)
        return arena

    def _next(self, kind: str, timeout: float | None) -> Program[Any]:
        """What the next message of this kind carries (None after `timeout`)."""
        while True:
            message = yield from self.next_message(timeout)
            if message is None:
                return None
            if message["type"] == kind:
                return message["event" if kind == "event" else "arena"]

    def next_message(self, timeout: float | None) -> Program[dict[str, Any] | None]:
        """The next snapshot or new event, connecting first when needed; None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if self.socket is None:
                yield from self._connect(left)
                continue
            try:
                raw = yield Receive(self.socket, left)
            except TimeoutError:
                return None
            except ConnectionClosed as closed:
                yield from self._drop()
                refusal = closed.rcvd and error_from_close(closed.rcvd.code, closed.rcvd.reason)
                if refusal:
                    raise refusal from None
                yield from self._back_off(left)
                continue
            self.failures = 0
            message = yield from self._take(json.loads(raw))
            if message is not None:
                return message

    def _take(self, message: Any) -> Program[dict[str, Any] | None]:
        """The message if the caller should see it; a gap in `seq` reconnects."""
        if not isinstance(message, dict):
            return None
        if message.get("type") == "snapshot":
            self.snapshot = message["arena"]
            if self.last_seq is None:
                self.last_seq = message["arena"]["last_seq"]
            return message
        if message.get("type") != "event":
            return None  # a pong, or an error frame about something this client never sends
        seq = message["event"]["seq"]
        if self.last_seq is not None and seq <= self.last_seq:
            return None
        if self.last_seq is not None and seq > self.last_seq + 1:
            yield from self._drop()  # never skip: the log replays from last_seq
            return None
        self.last_seq = seq
        return message

    def _connect(self, left: float | None) -> Program[None]:
        url = self.url if self.last_seq is None else f"{self.url}?after={self.last_seq}"
        try:
            self.socket = yield Connect(url, self.headers)
        except InvalidURI:
            raise
        except InvalidStatus as refused:
            status = refused.response.status_code
            if status in FEED_REFUSALS.values():
                name = f"http_{status}"
                raise error_class(name, status)(name, status, str(refused)) from refused
            yield from self._back_off(left)
        except CONNECT_FAILURES:
            yield from self._back_off(left)

    def _drop(self) -> Program[None]:
        socket, self.socket = self.socket, None
        if socket is not None:
            yield Disconnect(socket)

    def _back_off(self, left: float | None) -> Program[None]:
        delay = RECONNECT.delay(self.failures)
        self.failures += 1
        yield Sleep(delay if left is None else max(0.0, min(delay, left)))


class FeedView:
    """A stream of a cursor's events (`Feed`, `AsyncFeed`) that shows where it stands."""

    def __init__(self, runner: Any, cursor: FeedCursor) -> None:
        super().__init__(runner, cursor.events())  # type: ignore[call-arg]  # the stream's
        self.cursor = cursor

    @property
    def snapshot(self) -> ArenaDetail | None:
        """The arena as the newest connection's snapshot showed it."""
        return self.cursor.snapshot

    @property
    def last_seq(self) -> int | None:
        """The `seq` of the last event handed out."""
        return self.cursor.last_seq
