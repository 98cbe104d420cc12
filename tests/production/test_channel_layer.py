"""The Redis channel layer in production: Redis going away or hanging costs no write, and
feeds recover everything once it is back (issue 6). That several processes share
one live feed through Redis is shown in tests/live/test_servers.py.

Where it matters, the hub's catch-up poll is set to an hour, so a live event a feed
receives came through the Redis doorbell, not from a poll of the database.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from websockets.exceptions import WebSocketException

from tests.conftest import skip_or_fail
from tests.support.liveserver import free_port

from .client import feed, receive_events

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

DOORBELLS_ONLY = {"ALEPH_LIVE_POLL_SECONDS": "3600"}


class PrivateRedis:
    """A redis-server of this test alone, on a free port, that can be killed and restarted
    on the same port."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def private_redis(redis_url: str) -> Iterator[PrivateRedis]:
    executable = shutil.which("redis-server")
    if executable is None:
        skip_or_fail("needs redis-server on PATH to stop and restart Redis")
    server = PrivateRedis(executable)
    server.start()
    yield server
    server.kill()


class BlackHole:
    """A TCP port that accepts connections and never answers: a Redis host that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"

    def _hold(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def feed_during_outage(server, token: str, arena_id: str, after: int) -> list | None:
    """What a client trying to reconnect while Redis is down gets: everything after `after`,
    served from the log (None if it was turned away). It must not leave the server's Redis
    connections broken for the clients that come after it."""
    try:
        with feed(server, token, arena_id, after=after) as websocket:
            return receive_events(websocket, 10)
    except WebSocketException:
        return None


def layout(start_server, http_kind: str, **options):
    """(the server of the feeds, the server of the REST writes): one Daphne process, or, as
    in production, a process of `http_kind` beside it."""
    server = start_server(**options)
    return server, server if http_kind == "daphne" else start_server(kind=http_kind, **options)


def test_writes_succeed_while_redis_is_down_and_feeds_catch_up_when_it_returns(
    private_redis, start_server, http_kind, tokens, connect_agent
):
    server, http = layout(start_server, http_kind, redis_url=private_redis.url, **DOORBELLS_ONLY)
    lead = connect_agent(http, tokens["lead"])
    worker = connect_agent(http, tokens["worker-a"])
    arena_id = lead.create_active_arena(40, ["worker-a"])
    with feed(server, tokens["worker-a"], arena_id) as websocket:
        before = worker.complete_step(arena_id, 1)
        assert before.status_code == 201
        [seen] = receive_events(websocket, 1)
        assert seen == before.json()["event"]

    private_redis.kill()
    during = [worker.complete_step(arena_id, step) for step in range(2, 12)]
    assert [r.status_code for r in during] == [201] * 10
    log = http.log_path.read_text()
    assert log.count("The channel layer failed") == 1 and "Could not announce" not in log, log
    written = [r.json()["event"] for r in during]
    assert [e for e in lead.events(arena_id) if e["seq"] > seen["seq"]] == written

    assert feed_during_outage(server, tokens["worker-a"], arena_id, seen["seq"]) == written

    log = server.log_path.read_text()
    assert log.count("Unexpected exception in receive task") <= 1, log

    private_redis.start()
    with feed(server, tokens["worker-a"], arena_id, after=seen["seq"]) as websocket:
        assert receive_events(websocket, 10) == written
        if http is server:
            after = worker.complete_step(arena_id, 12)
            assert after.status_code == 201
            assert receive_events(websocket, 1) == [after.json()["event"]]
        else:
            assert doorbells_ring_again(worker, arena_id, websocket, first_step=12)


def doorbells_ring_again(worker, arena_id: str, websocket, first_step: int) -> bool:
    """A writing process that found Redis gone leaves it alone for a while before ringing
    through it again (docs/deploy.md), and the feed's process polls nothing here: write
    until a doorbell rings; the feed then reads the events whose doorbells were not rung
    from the log, so it receives every write, once, in order."""
    written, received = [], []
    deadline = time.monotonic() + 60
    while not received:
        response = worker.complete_step(arena_id, first_step + len(written))
        assert response.status_code == 201, response.text
        written.append(response.json()["event"])
        try:
            message = json.loads(websocket.recv(timeout=2.0))
        except TimeoutError:
            assert time.monotonic() < deadline, "no doorbell rang after Redis came back"
            continue
        assert message["type"] == "event", message
        received.append(message["event"])
    received += receive_events(websocket, len(written) - len(received))
    assert received == written
    return True


def test_a_hung_redis_delays_one_write_not_every_write(
    black_hole, start_server, http_kind, tokens, connect_agent
):
    server = start_server(redis_url=black_hole.url, kind=http_kind)
    lead = connect_agent(server, tokens["lead"])
    worker = connect_agent(server, tokens["worker-a"])
    arena_id = lead.create_active_arena(20, ["worker-a"])

    responses = [worker.complete_step(arena_id, step) for step in range(1, 11)]

    assert [r.status_code for r in responses] == [201] * 10
    stored = [e for e in lead.events(arena_id) if e["type"] == "step_completed"]
    assert stored == [r.json()["event"] for r in responses]
    # 14 events were written; none waited for the layer, and the outage is one line.
    deadline = time.monotonic() + 30
    while "The channel layer failed" not in server.log_path.read_text():
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.1)
    assert server.log_path.read_text().count("The channel layer failed") == 1


@pytest.mark.parametrize("outage", ["down", "hung"])
def test_a_feed_opened_while_redis_is_unreachable_is_served_from_the_log(
    outage, private_redis, black_hole, start_server, tokens, connect_agent
):
    """No doorbell can ring, so the feed opens anyway and the per-process poll brings each
    new event from the log (docs/live.md): nothing is missed, events arrive up to two poll
    intervals late, and the handshake never fails with an HTTP error."""
    url = private_redis.url if outage == "down" else black_hole.url
    server = start_server(redis_url=url, ALEPH_LIVE_POLL_SECONDS="0.5")
    lead = connect_agent(server, tokens["lead"])
    worker = connect_agent(server, tokens["worker-a"])
    if outage == "down":
        private_redis.kill()
    arena_id = lead.create_active_arena(10, ["worker-a"])
    first = worker.complete_step(arena_id, 1).json()["event"]

    with feed(server, tokens["worker-a"], arena_id, after=first["seq"] - 1) as websocket:
        assert receive_events(websocket, 1) == [first]
        later = [worker.complete_step(arena_id, step).json()["event"] for step in (2, 3)]
        assert receive_events(websocket, 2) == later
